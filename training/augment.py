"""Make a clean take sound like a kiosk microphone heard it.

`augment(y, sr=, rng=, knobs=, babble=)` is a pure function of its inputs (the generator
`rng` included): the corpus generator uses it offline, and the trainer may reuse it for
on-the-fly augmentation. Order, as in a room: leading/trailing silence → room reverb →
additive noise (over the whole take, silence included) → cheap-mic band limit → gain →
clip at full scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

NOISE_COLOURS = ("white", "pink", "brown", "babble")
NOMINAL_PEAK = 0.1  # the take is scaled to this peak (-20 dBFS) before gain_db is applied


@dataclass(frozen=True)
class AugmentKnobs:
    """Every augmentation knob. Probabilities are per take; ranges are uniform [lo, hi]."""

    clean_fraction: float = 0.15  # takes left exactly as synthesised (no silence, noise, room, mic, gain)
    lead_s: tuple[float, float] = (0.0, 0.5)  # silence added before the speech, seconds
    trail_s: tuple[float, float] = (0.0, 0.5)  # silence added after the speech, seconds
    noise_prob: float = 0.85  # chance of additive noise (given the take is not clean)
    snr_db: tuple[float, float] = (0.0, 30.0)  # speech power / noise power, dB (speech = the unpadded take)
    # relative weights of the noise colours; babble needs a babble bank (else its weight is ignored)
    noise_weights: dict = field(default_factory=lambda: {"white": 1.0, "pink": 1.0, "brown": 0.5, "babble": 1.5})
    reverb_prob: float = 0.35  # chance of a simulated room
    rt60_s: tuple[float, float] = (0.15, 0.8)  # room reverberation time (60 dB decay), seconds
    reverb_wet: tuple[float, float] = (0.3, 1.0)  # reverberant part relative to the direct sound
    cheap_mic_prob: float = 0.5  # chance of a band-limited cheap-mic response
    mic_low_hz: tuple[float, float] = (150.0, 400.0)  # high-pass corner of the cheap mic
    mic_high_hz: tuple[float, float] = (3000.0, 6000.0)  # low-pass corner of the cheap mic
    mic_order: tuple[int, int] = (1, 4)  # Butterworth order range (steeper = cheaper-sounding)
    gain_db: tuple[float, float] = (-20.0, 20.0)  # gain around NOMINAL_PEAK; +20 dB clips the loud parts

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AugmentInfo:
    """What `augment` did, in the manifest's terms (snr_db None = no noise)."""

    snr_db: float | None = None
    noise: str = "none"
    gain_db: float = 0.0
    reverb: float = 0.0  # RT60 in seconds, 0 = no room
    mic: str = "full"
    lead_s: float = 0.0
    trail_s: float = 0.0


def augment(
    y: np.ndarray,
    *,
    sr: int,
    rng: np.random.Generator,
    knobs: AugmentKnobs,
    babble: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, AugmentInfo]:
    """float32 mono take at `sr` → (augmented float32 take in [-1, 1], what was done).

    babble: clips of several talkers at the same `sr` (see `make_babble_bank`) to cut babble
    noise from; without it babble is never chosen.
    """
    y = np.asarray(y, dtype=np.float32)
    if rng.random() < knobs.clean_fraction:
        return y.copy(), AugmentInfo()
    lead = float(rng.uniform(*knobs.lead_s))
    trail = float(rng.uniform(*knobs.trail_s))
    speech_power = float(np.mean(y.astype(np.float64) ** 2)) or 1e-12
    x = np.concatenate([np.zeros(int(lead * sr), np.float32), y, np.zeros(int(trail * sr), np.float32)])

    rt60 = 0.0
    if rng.random() < knobs.reverb_prob:
        rt60 = float(rng.uniform(*knobs.rt60_s))
        x = add_reverb(x, sr=sr, rt60_s=rt60, wet=float(rng.uniform(*knobs.reverb_wet)), rng=rng)

    snr, colour = None, "none"
    if rng.random() < knobs.noise_prob:
        colours = [c for c in NOISE_COLOURS if knobs.noise_weights.get(c, 0) > 0 and (c != "babble" or babble)]
        if colours:
            p = np.array([knobs.noise_weights[c] for c in colours], dtype=float)
            colour = colours[int(rng.choice(len(colours), p=p / p.sum()))]
            snr = float(rng.uniform(*knobs.snr_db))
            noise = babble_noise(len(x), rng=rng, bank=babble) if colour == "babble" else \
                coloured_noise(len(x), colour=colour, rng=rng)
            x = x + scale_to_snr(noise, speech_power=speech_power, snr_db=snr)

    mic = "full"
    if rng.random() < knobs.cheap_mic_prob:
        x = cheap_mic(
            x, sr=sr, low_hz=float(rng.uniform(*knobs.mic_low_hz)), high_hz=float(rng.uniform(*knobs.mic_high_hz)),
            order=int(rng.integers(knobs.mic_order[0], knobs.mic_order[1] + 1)),
        )
        mic = "cheap"

    gain = float(rng.uniform(*knobs.gain_db))
    peak = float(np.abs(x).max()) or 1.0
    x = np.clip(x * (NOMINAL_PEAK / peak) * 10 ** (gain / 20), -1.0, 1.0).astype(np.float32)
    return x, AugmentInfo(snr_db=snr, noise=colour, gain_db=gain, reverb=rt60, mic=mic, lead_s=lead, trail_s=trail)


def coloured_noise(n: int, *, colour: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise, float32 [n]: white (flat), pink (1/f power), brown (1/f² power)."""
    white = rng.standard_normal(n)
    if colour == "white" or n < 2:
        out = white
    else:
        exponent = {"pink": 0.5, "brown": 1.0}[colour]  # amplitude ∝ f^-exponent
        spec = np.fft.rfft(white)
        f = np.fft.rfftfreq(n)
        f[0] = f[1]  # no infinite DC
        out = np.fft.irfft(spec / f**exponent, n)
    out = out - out.mean()
    return (out / (out.std() or 1.0)).astype(np.float32)


def babble_noise(n: int, *, rng: np.random.Generator, bank: list[np.ndarray]) -> np.ndarray:
    """Unit-RMS babble, float32 [n]: a random stretch of a random bank clip (looped if short)."""
    clip = bank[int(rng.integers(len(bank)))]
    reps = int(np.ceil((n + len(clip)) / len(clip)))
    start = int(rng.integers(len(clip)))
    out = np.tile(clip, reps)[start : start + n].astype(np.float64)
    return (out / (out.std() or 1.0)).astype(np.float32)


def scale_to_snr(noise: np.ndarray, *, speech_power: float, snr_db: float) -> np.ndarray:
    """Noise scaled so that speech_power / noise power = snr_db."""
    power = float(np.mean(noise.astype(np.float64) ** 2)) or 1e-12
    return (noise * np.sqrt(speech_power / (power * 10 ** (snr_db / 10)))).astype(np.float32)


def room_impulse_response(*, sr: int, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: direct sound, then exponentially decaying noise (-60 dB at rt60_s), float32."""
    n = max(2, int(rt60_s * sr))
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60_s)  # ln(1000) = 6.9078: 60 dB in amplitude
    pre_delay = int(0.004 * sr)  # first reflections arrive a few ms after the direct sound
    tail[:pre_delay] = 0.0
    return (tail / (np.sqrt(np.sum(tail**2)) or 1.0)).astype(np.float32)


def add_reverb(x: np.ndarray, *, sr: int, rt60_s: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    """Direct sound + `wet` × the room's reverberant tail (same length as x, float32)."""
    from scipy.signal import fftconvolve

    ir = room_impulse_response(sr=sr, rt60_s=rt60_s, rng=rng)
    tail = fftconvolve(x, ir)[: len(x)]
    dry_rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    tail_rms = float(np.sqrt(np.mean(tail**2))) or 1.0
    return (x + wet * tail * (dry_rms / tail_rms)).astype(np.float32)


def cheap_mic(x: np.ndarray, *, sr: int, low_hz: float, high_hz: float, order: int) -> np.ndarray:
    """Butterworth band-pass low_hz..high_hz (a cheap USB microphone's response), float32."""
    from scipy.signal import butter, sosfilt

    high_hz = min(high_hz, 0.45 * sr)
    sos = butter(order, [low_hz, high_hz], btype="bandpass", fs=sr, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def mix_babble(talkers: list[np.ndarray], *, length: int, rng: np.random.Generator) -> np.ndarray:
    """Several talkers (float32 arrays) at random offsets and levels over `length` samples, unit RMS."""
    out = np.zeros(length, np.float64)
    for y in talkers:
        y = np.asarray(y, np.float64)
        y = y / (np.sqrt(np.mean(y**2)) or 1.0) * 10 ** (rng.uniform(-6, 0) / 20)
        pos = -int(rng.integers(0, len(y)))  # already talking when the clip starts
        while pos < length:  # and keeps talking (looped, short gaps) to its end
            start, end = max(pos, 0), min(length, pos + len(y))
            out[start:end] += y[start - pos : end - pos]
            pos += len(y) + int(rng.integers(0, len(y) // 4 + 1))
    return (out / (out.std() or 1.0)).astype(np.float32)


# A take as a cheap channel stores it (issue 15, point 3): (rate, sample format) of old phones,
# telephony and `sox -r 8000 -b 8 -e unsigned`, which dithers. The recognizer trains on such copies
# (`malsori train-phonemes --channel-share`) so that a dither floor does not read as a sound.
LOW_GRADE_CHANNELS = ("8k-u8-dither", "8k-s16", "8k-ulaw", "16k-u8-dither")


def low_grade(y: np.ndarray, *, sr: int, rng: np.random.Generator, channel: str = "") -> tuple[np.ndarray, int, str]:
    """float32 take at `sr` → (the take as `channel` stores it, its rate, soundfile subtype).

    channel: one of LOW_GRADE_CHANNELS, or "" for a random one. 8-bit channels add TPDF
    dither of ±1 step before rounding, as sox does; μ-law is left to the file writer.
    """
    from core.audio import resample

    channel = channel or LOW_GRADE_CHANNELS[int(rng.integers(len(LOW_GRADE_CHANNELS)))]
    rate, fmt = channel.split("-", 1)
    out_sr = 8000 if rate == "8k" else sr
    x = resample(np.asarray(y, np.float32), orig_sr=sr, sr=out_sr)
    x = np.clip(x, -1.0, 1.0)
    if fmt == "u8-dither":
        dither = rng.random(len(x)) - rng.random(len(x))  # triangular in (-1, 1) steps
        x = np.clip(np.round(x * 128 + dither), -128, 127) / 128
        return x.astype(np.float32), out_sr, "PCM_U8"
    return x.astype(np.float32), out_sr, {"s16": "PCM_16", "ulaw": "ULAW"}[fmt]
