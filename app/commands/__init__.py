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


def whole_number(minimum: int):
    """An argparse type: a whole number of at least `minimum`, else a one-line usage error."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more")
        return value

    return parse


def positive_seconds(value: float, option: str) -> float:
    """A duration option's value, or UsageError: nan and inf pass a plain `<= 0` test."""
    import math

    from core.errors import UsageError

    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{option} must be a positive number of seconds")
    return value


def text_language(text: str, lang: str | None, *, given_by: str = "--lang", note: bool = True) -> str:
    """The language to speak a reference TEXT in: --lang when given (one malsori speaks), else the
    one its script points to, said in a note on stderr (unless `note` is False). UsageError when
    the language cannot be told, or when its voice would not read TEXT as words (the word-list
    check, core.wordlists). given_by: where the language comes from, for the messages."""
    import sys
    import unicodedata

    from core.errors import UsageError
    from core.espeak import VOICES, available
    from core.wordlists import guess_lang, script_langs, text_problem

    choices = ", ".join(VOICES)
    if lang is not None:
        lang = lang.strip().casefold()  # "KO" is ko, as a pairs file's lang column reads it
    if lang is None:
        lang = guess_lang(text)
        if lang is None and script_langs(text) == {"ko", "en"}:
            raise UsageError(f"{text!r} mixes Hangul and Latin letters: a reference speaks one language, "
                             f"so give the text in one of them")
        if lang is None:
            raise UsageError(f"cannot tell the language of {text!r} from its letters: give {given_by} ({choices})")
        guessed = "Hangul" if lang == "ko" else "Latin letters"
    elif lang not in VOICES:
        raise UsageError(f"{given_by} {lang}: not a language malsori speaks (choose from {choices})")
    else:
        guessed = None
    if available():  # without espeak-ng (gTTS only) the reading cannot be checked
        why = text_problem(" ".join(unicodedata.normalize("NFC", text).split()), lang=lang)
        if why:
            raise UsageError(f"{text!r} with {given_by} {lang}: {why}")
    if guessed and note:
        print(f"malsori: note: speaking it as --lang {lang} (the text is in {guessed})", file=sys.stderr)
    return lang
