"""The full-screen practice kiosk (PyQt5). `malsori kiosk` / `python -m app` launch it.

- settings.py: what the operator chooses, stored in config.json (no Qt)
- services.py: the outside world (model, TTS, microphone, speaker) behind plain callables
- controller.py: the practice state machine (no widgets)
- main_window.py, pages.py, melview.py, operator.py: widgets only
"""
