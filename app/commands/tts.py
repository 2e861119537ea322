"""`malsori tts`: make one reference voice, pre-cache word lists, check and add lists."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from core.errors import MalsoriError, TTSError, UsageError

from . import positive_seconds, text_language

GIVE_UP_AFTER_GTTS_FAILURES = 3  # in a row: Google is down or rate-limiting; stop asking
DEFAULT_GTTS_TIMEOUT_S = 5.0


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "tts",
        help=summary,
        description="Make the reference recording of TEXT, or pre-cache the references of word lists "
        "so the kiosk works offline. gTTS is used when it answers within --timeout seconds, "
        "espeak-ng otherwise (engine auto).",
    )
    p.add_argument("text", nargs="?", help="the word or sentence to speak")
    p.add_argument("--lang", help="language of TEXT: ko or en (default: from its letters, Hangul → ko, Latin → en)")
    p.add_argument("-o", "--output", type=Path, help="write the reference here, 16 kHz mono, in the format its name ends in: "
                   ".wav, .flac, .ogg or .mp3")
    p.add_argument("--engine", choices=["auto", "gtts", "espeak"],  # None: not given (auto), see _check_unused
                   help="auto: cache, then gTTS, then espeak-ng (default); gtts or espeak: only that engine")
    p.add_argument("--slow", action="store_true", help="a slower reading")
    p.add_argument("--voice", help="espeak-ng voice variant, e.g. ko+f2 (default: the language's voice)")
    p.add_argument("--timeout", type=float, help="seconds gTTS may take before falling back (default: 5)")
    p.add_argument("--cache-dir", type=Path, help="the reference cache to use (default: the user cache)")
    p.add_argument("--list", dest="lists", nargs="+", action="extend", metavar="LIST",
                   help="word lists (CSV paths or names of available lists) for --precache or --check")
    p.add_argument("--precache", action="store_true", help="make and cache the reference of every entry of --list")
    p.add_argument("--check", action="store_true", help="check that espeak-ng reads every entry of --list as words")
    p.add_argument("--add-list", type=Path, metavar="CSV",
                   help="validate a word list, install it for the kiosk and cache its espeak-ng references")
    p.add_argument("--show-lists", action="store_true", help="print the available word lists")
    p.set_defaults(func=run)


def _check_options(args: argparse.Namespace) -> None:
    """One thing per run: an option the chosen action would silently ignore is refused."""
    if args.timeout is not None:
        positive_seconds(args.timeout, "--timeout")
    if args.text is not None and not args.text.strip():
        raise UsageError("TEXT is empty: give the word or sentence to say")
    actions = [name for name, given in (("TEXT", args.text), ("--list", args.lists), ("--add-list", args.add_list),
                                        ("--show-lists", args.show_lists)) if given]
    if len(actions) > 1:
        raise UsageError(f"give one of TEXT, --list, --add-list or --show-lists, not {' and '.join(actions)}")
    if args.output and not args.text:
        raise UsageError("-o/--output goes with TEXT (a word list's references go to the cache)")
    if actions:
        _check_unused(args, actions[0])
    args.engine, args.timeout = args.engine or "auto", args.timeout or DEFAULT_GTTS_TIMEOUT_S


def _check_unused(args: argparse.Namespace, action: str) -> None:
    """A voice option the action would not use is refused, not silently dropped."""
    given = [name for name, value in (("--engine", args.engine), ("--slow", args.slow), ("--voice", args.voice),
                                      ("--timeout", args.timeout), ("--cache-dir", args.cache_dir)) if value]
    makes_references = action in ("TEXT", "--add-list") or (action == "--list" and args.precache)
    if given and not makes_references:
        raise UsageError(f"{', '.join(given)}: only for making references (TEXT, --list --precache or --add-list)")
    if action == "--add-list" and ({"--engine", "--timeout"} & set(given)) and args.engine != "espeak":
        raise UsageError("--add-list caches espeak-ng references (offline): upgrade them to gTTS later with "
                         "`malsori tts --list NAME --precache --engine gtts`")
    if args.engine == "gtts" and args.voice:
        raise UsageError("--voice is an espeak-ng voice: gTTS has one voice per language")
    if args.engine == "espeak" and args.timeout is not None:
        raise UsageError("--timeout is how long gTTS may take: --engine espeak never asks gTTS")


def run(args: argparse.Namespace) -> int:
    _check_options(args)
    if args.show_lists:
        return _show_lists()
    if args.voice:
        from core.espeak import voice_problem

        problem = voice_problem(args.voice)
        if problem:
            raise UsageError(f"--voice {args.voice}: {problem}")
    if args.add_list:
        return _add_list(args)
    if args.lists:
        if not (args.precache or args.check):
            raise UsageError("--list needs --precache or --check")
        if args.lang:
            raise UsageError("--lang goes with TEXT (a word list gives each entry's language)")
        status = _check(args.lists) if args.check else 0
        if args.precache:
            status = max(status, _precache(args.lists, args))
        return status
    if args.precache or args.check:
        raise UsageError("--precache and --check need --list LIST")
    if not args.text:
        raise UsageError("give TEXT to speak, or --list LIST --precache (see malsori tts --help)")
    return _one(args)


def _check_voice_language(voice: str | None, texts: list[tuple[str, str]]) -> None:
    """--voice speaks one language: a text in another would be read with the wrong sounds."""
    from core.espeak import espeak_voice

    if not voice:
        return
    speaks = voice.partition("+")[0].casefold().split("-")[0]  # "en-us+f2" → "en"
    other = [(text, lang) for text, lang in texts if lang != speaks]
    if other:
        text, lang = other[0]
        raise UsageError(f"--voice {voice} speaks {speaks}, but {text!r} is {lang}"
                         + (f" (and {len(other) - 1} more entries)" if len(other) > 1 else "")
                         + f": choose a voice of that language, e.g. {espeak_voice(lang)}+f2")


def _one(args: argparse.Namespace) -> int:
    from app.tts import get_reference
    from core.fileio import check_writable

    lang = text_language(args.text, args.lang)
    _check_voice_language(args.voice, [(args.text, lang)])
    if args.output:
        output_format(args.output)  # a name we cannot honour is refused before any work
        check_writable(args.output)

    ref = get_reference(args.text, lang=lang, engine=args.engine, slow=args.slow, cache_dir=args.cache_dir,
                        gtts_timeout_s=args.timeout, voice=args.voice)
    if ref.fallback_reason:
        print(f"malsori: note: used espeak-ng because {ref.fallback_reason}", file=sys.stderr)
    where = ref.path
    if args.output:
        where = _write_audio(args.output, ref)
    origin = "cache" if ref.from_cache else "new"
    print(f"{where}\t{ref.engine}\t{ref.voice}\t{ref.duration_s:.2f} s\t{origin}")
    return 0


# -o's file name ending → (soundfile format, subtype): the file holds what its name says.
OUTPUT_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS"),
                  ".mp3": ("MP3", "MPEG_LAYER_III")}


def output_format(path: Path) -> tuple[str, str]:
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"-o {path}: give a name ending in {', '.join(OUTPUT_FORMATS)} "
                         "(the file is written in the format its name asks for)")
    return fmt


def _write_audio(path: Path, ref) -> Path:
    """Write the reference as the format the name asks for; OutputError (exit 13) when the
    file cannot be written (the message names the path once)."""
    import io

    import soundfile as sf

    from core.fileio import atomic_write_bytes

    fmt, subtype = output_format(path)
    buf = io.BytesIO()
    try:
        sf.write(buf, ref.audio, ref.sr, format=fmt, subtype=subtype)
    except (sf.LibsndfileError, ValueError, TypeError) as exc:  # an old system libsndfile without mp3
        raise UsageError(f"-o {path}: this system's libsndfile cannot write {fmt} ({exc}); use .wav or .flac") from exc
    return atomic_write_bytes(path, buf.getvalue())


def _entries(lists: list[str]):
    from core.wordlists import find_wordlist, load_wordlist

    entries = []
    for name in lists:
        entries += load_wordlist(find_wordlist(name))
    return entries


def _precache(lists: list[str], args: argparse.Namespace) -> int:
    """Cache every entry's reference; a summary per engine; exit 1 when some entries failed."""
    from tqdm import tqdm

    from app.tts import default_cache_dir, default_shipped_dirs, get_reference, gtts_reachable

    entries = _entries(lists)
    _check_voice_language(args.voice, [(e.text, e.lang) for e in entries])
    engine = args.engine
    if engine in ("auto", "gtts") and not gtts_reachable(timeout_s=min(args.timeout, 2.0)):
        if engine == "gtts":
            raise TTSError("gTTS is unreachable (no connection to translate.google.com); "
                           "use --engine espeak for offline references")
        print("malsori: note: gTTS is unreachable; references not yet cached are made by espeak-ng",
              file=sys.stderr)
        engine = "espeak"

    made: Counter = Counter()  # (engine, "new" | "cached") → count
    where = Path(args.cache_dir or default_cache_dir())
    shipped = 0  # of the cached ones, found in the shipped set (assets/references), not in `where`
    failures: list[str] = []
    gtts_failures_in_a_row = 0
    bar = tqdm(entries, desc="references", unit="entry", file=sys.stderr, disable=None)
    for entry in bar:
        try:
            ref = get_reference(entry.text, lang=entry.lang, engine=engine, slow=args.slow,
                                cache_dir=args.cache_dir, gtts_timeout_s=args.timeout, voice=args.voice)
        except TTSError as exc:
            failures.append(f"{entry.text}: {exc}")
            gtts_failures_in_a_row += engine == "gtts"
            if gtts_failures_in_a_row >= GIVE_UP_AFTER_GTTS_FAILURES:
                bar.write(f"malsori: gTTS failed {gtts_failures_in_a_row} times in a row ({exc}); stopping",
                          file=sys.stderr)
                break
            continue
        made[ref.engine, "cached" if ref.from_cache else "new"] += 1
        shipped += ref.from_cache and not ref.path.is_relative_to(where)
        gtts_failures_in_a_row = gtts_failures_in_a_row + 1 if ref.fallback_reason else 0
        if engine == "auto" and gtts_failures_in_a_row >= GIVE_UP_AFTER_GTTS_FAILURES:
            bar.write(f"malsori: note: gTTS failed {gtts_failures_in_a_row} times in a row "
                      f"({ref.fallback_reason}); using espeak-ng for the rest", file=sys.stderr)
            engine = "espeak"
        bar.set_postfix(gtts=made["gtts", "new"] + made["gtts", "cached"],
                        espeak=made["espeak", "new"] + made["espeak", "cached"], failed=len(failures))
    bar.close()

    done = sum(made.values())
    parts = [f"{name} {made[name, 'new'] + made[name, 'cached']} ({made[name, 'new']} new, "
             f"{made[name, 'cached']} already cached)" for name in ("gtts", "espeak")]
    found = f"in {where}"
    if shipped:  # read from the shipped set where they lie, never copied into the cache
        found = f"({done - shipped} in {where}, {shipped} shipped in {default_shipped_dirs()[0]})"
    print(f"{done} of {len(entries)} references ready {found}: {', '.join(parts)}; {len(failures)} failed")
    for line in failures[:10]:
        print(f"malsori: failed: {line}", file=sys.stderr)
    return 1 if done < len(entries) else 0


def _check(lists: list[str]) -> int:
    from core.wordlists import check_renders

    entries = _entries(lists)
    problems = check_renders(entries)
    for entry, why in problems.items():
        print(f"{entry.text}\t{entry.lang}\t{why}")
    print(f"{len(entries) - len(problems)} of {len(entries)} entries read as words by espeak-ng")
    return 1 if problems else 0


def _add_list(args: argparse.Namespace) -> int:
    from core.wordlists import add_wordlist, load_wordlist

    # a --voice of another language is refused before the list is installed, not after
    _check_voice_language(args.voice, [(e.text, e.lang) for e in load_wordlist(args.add_list)])
    target = add_wordlist(args.add_list)
    print(f"installed {target}")
    args.engine = "espeak"  # offline and fast; `--list NAME --precache --engine gtts` upgrades later
    return _precache([str(target)], args)


def _show_lists() -> int:
    from core.wordlists import available_lists, load_wordlist

    for path in available_lists():
        entries = load_wordlist(path)
        langs = ",".join(sorted({e.lang for e in entries}))
        words = sum(e.kind == "word" for e in entries)
        print(f"{path.stem}\t{langs}\t{words} words, {len(entries) - words} sentences\t{path}")
    return 0
