"""Which microphones are there? Capture devices (PortAudio) and ALSA sound cards.

ALSA numbers its cards in the order the kernel finds them, which changes between boots
(a USB mic is card 1 one day and card 2 the next); a card's *id* ("Device", "Mic",
"AK5371") stays the same. So the persistent profile (app.alsa_profile) names the card by
id, and this module maps a name the user types to that id.

PortAudio reads the ALSA configuration (~/.asoundrc) once, when it initialises; after
changing HOME or the profile in a running process call `reinit_portaudio()`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Callable
from pathlib import Path

from core.errors import DeviceError

PROC_CARDS = Path("/proc/asound/cards")
USB_DRIVER = "USB-Audio"

# " 1 [Device         ]: USB-Audio - USB PnP Sound Device"
_CARD_LINE = re.compile(r"^\s*(\d+)\s+\[([^\]\s]+)\s*\]:\s+(.*?)\s+-\s+(.*?)\s*$")


@dataclass(frozen=True)
class AlsaCard:
    """One line pair of /proc/asound/cards."""

    number: int  # changes between boots; never store it
    id: str  # stable across boots: what the profile uses (hw:CARD=<id>)
    driver: str  # "USB-Audio" for USB microphones
    name: str  # short name, e.g. "USB PnP Sound Device"
    long_name: str = ""  # vendor, product and USB port

    @property
    def is_usb(self) -> bool:
        return self.driver == USB_DRIVER

    def matches(self, query: str) -> bool:
        """Case-insensitive substring match on id, name or long name."""
        q = query.casefold()
        return any(q in text.casefold() for text in (self.id, self.name, self.long_name))


@dataclass(frozen=True)
class CaptureDevice:
    """A PortAudio input device as sounddevice reports it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    default_samplerate: float  # Hz; for a raw hw: device, its native rate
    is_default: bool


def parse_alsa_cards(text: str) -> list[AlsaCard]:
    """Parse the text of /proc/asound/cards (each card: a header line, then its long name)."""
    cards: list[AlsaCard] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _CARD_LINE.match(line)
        if not m:
            continue
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        long_name = "" if _CARD_LINE.match(following) else following
        cards.append(AlsaCard(int(m[1]), m[2], m[3], m[4], long_name))
    return cards


def read_alsa_cards(path: Path = PROC_CARDS) -> list[AlsaCard]:
    """The sound cards the kernel knows now; [] when there is no ALSA (or no card at all)."""
    try:
        return parse_alsa_cards(Path(path).read_text(encoding="utf-8", errors="replace"))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DeviceError(f"cannot read the list of sound cards ({path}): {exc.strerror}") from exc


def find_card(cards: list[AlsaCard], query: str) -> AlsaCard:
    """The one card whose id, name or long name contains `query` (case-insensitive).

    An exact id match wins over substring matches; among several substring matches a
    single USB card wins (a USB mic next to the Pi's built-in audio). Raises DeviceError
    when nothing or more than one card fits.
    """
    exact = [c for c in cards if c.id.casefold() == query.casefold()]
    if len(exact) == 1:
        return exact[0]
    found = [c for c in cards if c.matches(query)]
    if len(found) > 1:
        usb = [c for c in found if c.is_usb]
        found = usb if len(usb) == 1 else found
    if not found:
        known = ", ".join(f"{c.id} ({c.name})" for c in cards) or "none"
        raise DeviceError(f"no sound card matches {query!r}; cards found: {known}")
    if len(found) > 1:
        names = ", ".join(f"{c.id} ({c.name})" for c in found)
        raise DeviceError(f"{query!r} matches several cards: {names}; give the card id instead")
    return found[0]


def pick_usb_mic(cards: list[AlsaCard], query: str | None = None) -> AlsaCard:
    """The USB microphone: the card matching `query`, else the only USB audio card."""
    if query:
        return find_card(cards, query)
    usb = [c for c in cards if c.is_usb]
    if len(usb) == 1:
        return usb[0]
    if not usb:
        raise DeviceError("no USB microphone found: plug it in, then run `malsori mic list`")
    names = ", ".join(f"{c.id} ({c.name})" for c in usb)
    raise DeviceError(f"several USB audio cards ({names}): say which one, e.g. `malsori mic use {usb[0].id}`")


def _sounddevice():
    """sounddevice, or a DeviceError when PortAudio itself is missing."""
    try:
        import sounddevice
    except OSError as exc:  # the PortAudio library is not installed
        raise DeviceError(
            "the audio library PortAudio is missing: run `bash deploy/setup.sh` (apt package libportaudio2)"
        ) from exc
    return sounddevice


def list_capture_devices() -> list[CaptureDevice]:
    """Every device PortAudio can record from, with its native rate and the default marked."""
    sd = _sounddevice()
    try:
        default_in = sd.default.device[0]
        if default_in is None or default_in < 0:
            default_in = sd.query_devices(kind="input")["index"]
    except (sd.PortAudioError, ValueError):
        default_in = -1
    hostapis = sd.query_hostapis()
    devices = []
    for info in sd.query_devices():
        if info["max_input_channels"] <= 0:
            continue
        devices.append(
            CaptureDevice(
                index=int(info["index"]),
                name=str(info["name"]),
                hostapi=str(hostapis[info["hostapi"]]["name"]),
                max_input_channels=int(info["max_input_channels"]),
                default_samplerate=float(info["default_samplerate"]),
                is_default=int(info["index"]) == default_in,
            )
        )
    return devices


# Streams in use (from opening to closing, in any thread) and the lock that re-initialising
# PortAudio takes: terminating PortAudio under a stream that is still open or still being
# closed frees memory the stream's thread then uses — a segfault (exit 139), seen once in a
# kiosk test when a test's teardown re-initialised PortAudio while a take's stream closed.
_streams = threading.Condition()
_streams_in_use = 0


def hold_portaudio() -> Callable[[], None]:
    """Mark a stream as in use (call before opening it); returns its release (call once it is
    closed; calling it again does nothing). reinit_portaudio waits for every holder."""
    global _streams_in_use
    with _streams:
        _streams_in_use += 1
    released = threading.Event()

    def release() -> None:
        global _streams_in_use
        if released.is_set():
            return
        released.set()
        with _streams:
            _streams_in_use -= 1
            _streams.notify_all()

    return release


def reinit_portaudio(*, timeout_s: float = 10.0) -> None:
    """Make PortAudio re-read the ALSA configuration (after HOME or ~/.asoundrc changed).

    Terminating and re-initialising PortAudio also makes ALSA drop its cached config,
    so the next device query sees the new ~/.asoundrc. Waits until no stream is open or
    closing (hold_portaudio), and keeps new streams from opening meanwhile; DeviceError when
    a stream stays open longer than timeout_s.
    """
    sd = _sounddevice()
    with _streams:
        if not _streams.wait_for(lambda: _streams_in_use == 0, timeout=timeout_s):
            raise DeviceError(f"an audio stream is still open after {timeout_s:.0f} s: PortAudio was not re-initialised")
        sd._terminate()
        sd._initialize()


SND_PCM_STREAM_CAPTURE = 1
SND_PCM_NONBLOCK = 1
_alsa = None  # (libasound, its silenced error handler): loaded once


def _libasound():
    """libasound via ctypes, with its error printer silenced (a poll every few seconds would
    fill the journal with "cannot find card"); None when ALSA is not installed."""
    global _alsa
    if _alsa is None:
        import ctypes
        import ctypes.util

        try:
            lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
        except OSError:
            return None
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.c_char_p)
        quiet = handler_type(lambda *args: None)
        lib.snd_lib_error_set_handler(quiet)
        lib.snd_strerror.restype = ctypes.c_char_p
        _alsa = (lib, quiet)  # the handler must outlive every ALSA call
    return _alsa[0]


def microphone_problem(pcm: str = "default") -> str:
    """"" when ALSA can open `pcm` for recording now, else a sentence saying why not.

    Asks ALSA itself rather than PortAudio, whose device list is fixed when it initialises:
    a microphone plugged in later, or a new profile, is seen here at once. A device busy
    recording counts as present. Cheap (a config parse, an open and a close); call it while
    no audio stream is being opened.
    """
    import ctypes
    import errno

    lib = _libasound()
    if lib is None:
        return "the ALSA library (libasound2) is missing"
    # ALSA keeps its parsed configuration; ~/.asoundrc (the persistent profile `malsori mic
    # use` writes) is only re-read after this. Open devices keep their own reference to it.
    lib.snd_config_update_free_global()
    handle = ctypes.c_void_p()
    rc = lib.snd_pcm_open(ctypes.byref(handle), pcm.encode(), SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK)
    if rc == -errno.EBUSY:
        return ""
    if rc < 0:
        return f"no microphone: ALSA cannot open {pcm!r} for recording ({lib.snd_strerror(rc).decode(errors='replace')})"
    lib.snd_pcm_close(handle)
    return ""


def portaudio_sees_input() -> bool:
    """Does PortAudio (as initialised) have a default input device?"""
    sd = _sounddevice()
    try:
        sd.query_devices(kind="input")
    except (sd.PortAudioError, ValueError):
        return False
    return True
