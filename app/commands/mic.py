"""`malsori mic`: list microphones, pin the USB mic by card id, test it, record a take."""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from pathlib import Path

from core.errors import MalsoriError, UsageError

from . import positive_seconds, whole_number

CARDS_HELP = "read the sound cards from this file instead of /proc/asound/cards (for testing)"


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "mic",
        help=summary,
        description="Find the USB microphone, make it ALSA's default capture device by card id "
        "(survives reboots), test its level and record takes.",
    )
    actions = p.add_subparsers(dest="mic_command", metavar="ACTION", required=True)

    lst = actions.add_parser("list", help="sound cards and capture devices; which one the profile uses")
    lst.add_argument("--cards", type=Path, default=None, help=CARDS_HELP)
    lst.set_defaults(func=run_list)

    use = actions.add_parser(
        "use",
        help="make a mic the default capture device (writes ~/.asoundrc)",
        description="Write an ALSA profile that makes the sound card matching NAME (id, name or part of "
        "either; default: the only USB audio card) the default capture device, named by its card id. "
        "Playback is left as the system had it. The previous file is backed up once.",
    )
    use.add_argument("name", nargs="?", help="card id or part of its name (see `malsori mic list`)")
    use.add_argument("--system", action="store_true", help="write /etc/asound.conf for every user (needs root)")
    # ALSA has no negative device numbers: hw:CARD=x,DEV=-1 would be written as is
    use.add_argument("--device", type=whole_number(0), default=0, help="PCM device number on the card (default: 0)")
    use.add_argument("--playback", default="sysdefault",
                     help="ALSA device for playback (default: sysdefault, what the system used before)")
    use.add_argument("--cards", type=Path, default=None, help=CARDS_HELP)
    use.set_defaults(func=run_use)

    reset = actions.add_parser("reset", help="undo `mic use`: restore the previous ALSA config")
    reset.add_argument("--system", action="store_true", help="reset /etc/asound.conf (needs root)")
    reset.set_defaults(func=run_reset)

    test = actions.add_parser(
        "test",
        help="record a few seconds and report level, peak, clipping, noise floor and speech",
        description="Record SECONDS from the default microphone (say something) and report the speaking "
        "level, the peak, how much is clipped, the noise floor (all in dBFS: 0 is full scale) and "
        "whether speech was heard. Nothing is saved.",
    )
    test.add_argument("--seconds", type=float, default=3.0, help="how long to record (default: 3)")
    test.add_argument("--device", help="device index or name (default: the default input)")
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    test.set_defaults(func=run_test)

    rec = actions.add_parser(
        "record",
        help="record one take into a wav file",
        description="Record from the default microphone into OUT (16 kHz mono wav). Without --auto-stop "
        "it records until --max-seconds or Ctrl-C.",
    )
    rec.add_argument("out", type=Path, help="the wav file to write")
    rec.add_argument("--auto-stop", action="store_true", help="stop by itself when you stop speaking")
    rec.add_argument("--max-seconds", type=float, default=8.0, help="longest take (default: 8)")
    rec.add_argument("--device", help="device index or name (default: the default input)")
    rec.set_defaults(func=run_record)


def _device(value: str | None):
    if value is None:
        return None
    return int(value) if value.isdigit() else value


def _profile_path(args) -> Path:
    from app.alsa_profile import SYSTEM_PROFILE_PATH, user_profile_path

    return SYSTEM_PROFILE_PATH if args.system else user_profile_path()


def _cards(args):
    from app.devices import PROC_CARDS, read_alsa_cards

    return read_alsa_cards(args.cards or PROC_CARDS)


def run_list(args: argparse.Namespace) -> int:
    from app.alsa_profile import SYSTEM_PROFILE_PATH, profile_card, user_profile_path
    from app.devices import list_capture_devices

    profiles = [(p, profile_card(p)) for p in (user_profile_path(), SYSTEM_PROFILE_PATH)]
    profiles = [(p, card) for p, card in profiles if card]
    in_profile = {card: p for p, card in reversed(profiles)}  # the user's file wins, as in ALSA

    cards = _cards(args)
    print(f"Sound cards ({args.cards or '/proc/asound/cards'}):")
    if not cards:
        print("  none (no sound card, or no ALSA here)")
    for c in cards:
        mark = f"  <- microphone profile ({in_profile[c.id]})" if c.id in in_profile else ""
        print(f"  card {c.number}: id {c.id!r:14} {c.driver:10} {c.name}{mark}")

    print("Capture devices (PortAudio):")
    try:
        devices = list_capture_devices()
        if not devices:
            print("  none: no microphone can be opened")
    except MalsoriError as exc:
        print(f"  unavailable: {exc}")
        devices = []
    for d in devices:
        mark = "  (default)" if d.is_default else ""
        print(f"  [{d.index}] {d.name}: {d.max_input_channels} ch, {d.default_samplerate:.0f} Hz{mark}")

    for p, card in profiles:
        present = any(c.id == card for c in cards)
        state = "present" if present else "NOT FOUND: plug it in, or run `malsori mic use` for another mic"
        print(f"Profile {p}: card {card!r} ({state})")
    if not profiles:
        print("No microphone profile: run `malsori mic use NAME` to pin the USB mic.")
    return 0


def run_use(args: argparse.Namespace) -> int:
    from app.alsa_profile import read_config, remember_choice, write_profile
    from app.devices import pick_usb_mic
    from core.paths import config_path

    card = pick_usb_mic(_cards(args), args.name)
    path = _profile_path(args)
    read_config(config_path())  # a config we may not rewrite stops us before the ALSA file changes
    change = write_profile(card.id, path=path, device=args.device, playback_pcm=args.playback)
    remember_choice(config_path(), card_id=card.id, card_name=card.name, profile=path)
    if change.changed:
        print(f"{path}: card {card.id!r} ({card.name}) is now the default microphone, named by its card id")
    else:
        print(f"{path}: already makes card {card.id!r} ({card.name}) the default microphone; nothing changed")
    if change.backup:
        print(f"the previous file is saved as {change.backup} (`malsori mic reset` puts it back)")
    if change.replaced_default:
        print(f"note: {path} had its own default device; playback now goes to {args.playback!r}", file=sys.stderr)
    print("programs started from now on use it (restart the kiosk if it is running)")
    return 0


def run_reset(args: argparse.Namespace) -> int:
    from app.alsa_profile import backup_path, forget_choice, reset_profile
    from core.paths import config_path

    path = _profile_path(args)
    change = reset_profile(path)
    forget_choice(config_path())
    if change.restored:
        print(f"{path}: restored the file as it was before `malsori mic use`")
    elif change.kept_edits:
        print(f"{path}: removed malsori's microphone profile and kept the edits made since `malsori mic use`; "
              f"the file as it was before is still in {backup_path(path)}")
    elif change.changed:
        print(f"{path}: removed malsori's microphone profile")
    else:
        print(f"{path}: no malsori microphone profile; nothing changed")
    return 0


def _record(recorder) -> object:
    """Run recorder.record() in a worker thread so Ctrl-C can end the take cleanly."""
    result: dict = {}

    def work():
        try:
            result["take"] = recorder.record()
        except BaseException as exc:  # handed to the main thread, which raises it
            result["error"] = exc

    worker = threading.Thread(target=work, name="malsori-record", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        recorder.stop()
        worker.join()
    if "error" in result:
        raise result["error"]
    return result["take"]


def _progress(total_s: float):
    """A tqdm bar over recorded seconds with a live level meter; returns (bar, on_level)."""
    from tqdm import tqdm

    from app.recorder import BLOCK_S

    bar = tqdm(total=round(total_s, 2), desc="recording", unit="s", file=sys.stderr, disable=None,
               bar_format="{desc}: {n:.1f}/{total:.1f} s {postfix}")

    def on_level(level: float) -> None:  # audio thread; tqdm locks its own updates
        bar.update(BLOCK_S)
        bar.set_postfix_str("level " + "#" * round(level * 20) + "." * (20 - round(level * 20)), refresh=False)

    return bar, on_level


def _db(value: float) -> str:
    return "-inf" if math.isinf(value) else f"{value:.1f}"


def run_test(args: argparse.Namespace) -> int:
    from app.recorder import Recorder, level_report

    positive_seconds(args.seconds, "--seconds")
    bar, on_level = _progress(args.seconds)
    recorder = Recorder(device=_device(args.device), max_seconds=args.seconds, auto_stop=False,
                        on_level=on_level, save=False,  # the prompt once a microphone is recording, not before
                        on_start=lambda: bar.write(f"recording {args.seconds:g} s: say something", file=sys.stderr))
    try:
        take = _record(recorder)
    finally:
        bar.close()
    take.raise_if_device_lost()
    report = level_report(take.audio, sr=take.sr, speech_found=take.speech_found)
    if args.json:
        out = {
            "seconds": round(take.duration_s, 3),
            "device_sr": take.device_sr,
            "level_dbfs": None if math.isinf(report.level_dbfs) else round(report.level_dbfs, 1),
            "peak_dbfs": None if math.isinf(report.peak_dbfs) else round(report.peak_dbfs, 1),
            "clipped_fraction": round(report.clipped_fraction, 5),
            "noise_floor_dbfs": None if math.isinf(report.noise_floor_dbfs) else round(report.noise_floor_dbfs, 1),
            "speech_found": report.speech_found,
            "advice": report.advice(),
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"recorded:     {take.duration_s:.1f} s at {take.device_sr} Hz (resampled to {take.sr} Hz)")
    print(f"level:        {_db(report.level_dbfs)} dBFS (speaking level; -30 to -12 is good)")
    print(f"peak:         {_db(report.peak_dbfs)} dBFS")
    print(f"clipping:     {report.clipped_fraction:.2%} of samples at full scale")
    print(f"noise floor:  {_db(report.noise_floor_dbfs)} dBFS (below -50 is quiet)")
    print(f"speech found: {'yes' if report.speech_found else 'no'}")
    for tip in report.advice():
        print(f"tip: {tip}")
    return 0


def run_record(args: argparse.Namespace) -> int:
    from core.errors import OutputError
    from core.fileio import atomic_write_wav, check_writable
    from app.recorder import Recorder

    positive_seconds(args.max_seconds, "--max-seconds")
    if args.out.suffix.casefold() != ".wav":  # the file holds what its name says (as `tts -o` does)
        raise UsageError(f"{args.out}: a take is written as WAV; give a name ending in .wav")
    check_writable(args.out)  # before the take, not after: a take spoken for nothing is lost
    how = "stops when you stop speaking" if args.auto_stop else "Ctrl-C stops"
    print(f"recording (at most {args.max_seconds:g} s; {how})", file=sys.stderr)
    bar, on_level = _progress(args.max_seconds)
    recorder = Recorder(device=_device(args.device), max_seconds=args.max_seconds, auto_stop=args.auto_stop,
                        on_level=on_level, save=False)
    try:
        take = _record(recorder)
    finally:
        bar.close()
    if take.audio.size:
        try:
            atomic_write_wav(args.out, take.audio, sr=take.sr)
        except OutputError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    if take.stopped_by == "device-lost":
        from core.errors import DeviceError

        kept = f"; the {take.duration_s:.1f} s recorded so far are in {args.out}" if take.audio.size else ""
        raise DeviceError(f"{take.error}{kept}")
    if not take.audio.size:
        raise MalsoriError(f"nothing was recorded (stopped by {take.stopped_by}); {args.out} was not written")
    print(f"{args.out}: {take.duration_s:.2f} s, stopped by {take.stopped_by}, "
          f"speech {'found' if take.speech_found else 'NOT found'}")
    return 0
