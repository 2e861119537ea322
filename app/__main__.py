"""`python -m app` launches the kiosk (same as `malsori kiosk`)."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(["kiosk", *sys.argv[1:]]))
