"""One module per `malsori` subcommand; each defines `register(subparsers)`.

A command module imports only argparse-level things at the top: heavy libraries
(torch, librosa, Qt) are imported inside its handler, so `malsori --help` is instant.
"""
