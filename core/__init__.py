"""The bottom layer: what the app, the models and training all need, and nothing else.

errors (the typed errors and their exit codes), fileio (atomic writes), paths (where files
live), audio (resampling), espeak (the espeak-ng wrapper), wordlists (the kiosk's word
lists), threads (BLAS thread set-up). Imports nothing from app/, models/, preprocessing/
or training/.
"""
