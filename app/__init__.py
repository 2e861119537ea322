"""malsori application layer: CLI, kiosk, audio devices, text-to-speech, user files."""
