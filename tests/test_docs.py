"""Every `malsori …` command the README and docs/ show still parses with the real parser,
and the README stays short enough to read on one screen."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]*\bmalsori [a-z][^`\n]*)`")
COMMAND = re.compile(r"(?:^|\s|/)malsori\s+([a-z-]+\b.*)$")  # `malsori …`, `.venv/bin/malsori …`


def _argv(text: str) -> list[str]:
    """A shown command line → argv: `# comments` and `…`/`...` dropped, `[OPTIONAL]` kept."""
    text = re.sub(r"\s#\s.*$", "", text)
    text = text.replace("[", " ").replace("]", " ")
    return [t for t in shlex.split(text) if t not in ("…", "...")]


def shown_commands() -> list[tuple[str, str, list[str]]]:
    """(page, line, argv) for every `malsori` command line in a fenced code block."""
    found = []
    for page in PAGES:
        for block in FENCE.findall(page.read_text(encoding="utf-8")):
            for line in block.splitlines():
                m = COMMAND.search(line)
                if m and not line.lstrip().startswith(("#", "torchrun")):
                    found.append((page.name, line.strip(), _argv(m.group(1))))
    return found


def inline_commands() -> list[tuple[str, str, list[str]]]:
    """(page, span, argv) for `malsori …` in running text (may omit required options)."""
    found = []
    for page in PAGES:
        text = FENCE.sub("", page.read_text(encoding="utf-8"))
        for span in INLINE.findall(text):
            m = COMMAND.search(span)
            if m:
                found.append((page.name, span, _argv(m.group(1))))
    return found


def _subparsers(parser):
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices


def test_every_shown_command_parses():
    parser = build_parser()
    commands = shown_commands()
    assert len(commands) > 40  # the pages do show commands: the pattern still finds them
    bad = []
    for page, line, argv in commands:
        try:
            parser.parse_args(argv)
        except SystemExit:
            bad.append(f"{page}: {line}")
    assert not bad, "commands that no longer parse:\n" + "\n".join(bad)


def test_every_command_named_in_text_exists_with_its_options():
    subs = _subparsers(build_parser())
    bad = []
    for page, span, argv in inline_commands():
        name, rest = argv[0], argv[1:]
        sub = subs.get(name)
        if sub is None:
            bad.append(f"{page}: `{span}`: no command {name!r}")
            continue
        known = {o for a in sub._actions for o in a.option_strings}
        for opt in (t.split("=")[0] for t in rest if t.startswith("--")):
            if opt not in known:
                bad.append(f"{page}: `{span}`: {name} has no option {opt}")
    assert not bad, "\n".join(bad)


def test_every_option_says_what_it_does():
    """`malsori CMD --help` gives every option a line of its own (what it does, and its default),
    not just its name: a training knob without help sends the user into the source."""
    bare = [f"{name} {action.option_strings[0]}" for name, sub in _subparsers(build_parser()).items()
            for action in sub._actions if action.option_strings and not action.help]
    assert not bare, "options without a help text: " + ", ".join(bare)


def test_a_renamed_option_would_be_caught():
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(_argv("score a.wav b.wav --no-such-option"))


def test_readme_fits_and_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for page in ("engine", "training", "kiosk-deployment", "operations", "data"):
        assert (ROOT / "docs" / f"{page}.md").is_file()
        assert f"docs/{page}.md" in readme


def test_relative_links_point_at_files():
    missing = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).exists():
                missing.append(f"{page.name}: {target}")
    assert not missing, missing
