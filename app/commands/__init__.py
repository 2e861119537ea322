"""One module per `malsori` subcommand; each defines `register(subparsers, *, summary)`
(app.cli holds the command table and imports a module only when its command is chosen).

A command module imports only argparse-level things at the top: heavy libraries
(torch, librosa, Qt) are imported inside its handler, so `malsori --help` is instant.
"""

from __future__ import annotations

import argparse
import importlib


def delegate(sub: argparse._SubParsersAction, name: str, *, summary: str, description: str, module: str) -> None:
    """A command whose options and handler live in `module` (its `add_arguments(parser)` and
    `run(args)`). Called only when the command was chosen, so `module` loads only then."""
    handler = importlib.import_module(module)
    p = sub.add_parser(name, help=summary, description=description)
    handler.add_arguments(p)
    p.set_defaults(func=handler.run)
