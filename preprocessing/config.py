"""The one set of front-end parameters, shared by the kiosk, the CLI and training."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class PreprocessConfig:
    """Every knob of load → noise filter → VAD trim → grayscale mel image.

    A checkpoint stores this next to its weights, so a model is always served with the
    front end it was trained on.
    """

    sample_rate: int = 16_000  # Hz; everything downstream runs at this rate

    # Input validation
    min_speech_s: float = 0.2  # shorter detected speech is an error, not a score
    max_duration_s: float = 30.0  # longer input is refused before any work
    clip_level: float = 0.999  # |sample| at or above this counts as clipped
    clip_warn_fraction: float = 0.001  # warn when more samples than this are clipped

    # DC offset and rumble (hum, handling noise) removed before level and VAD; 0: DC only.
    # Checkpoints saved before this field existed load with this default (it helps them too).
    highpass_hz: float = 80.0

    # Level: peak-normalise first so VAD, noise filter and image ignore input gain
    peak_level: float = 0.9

    # Noise filter (noisereduce, stationary, noise profile from non-speech frames)
    denoise: bool = True
    denoise_prop_decrease: float = 0.8  # < 1 leaves a little noise rather than eat speech
    denoise_min_noise_s: float = 0.1  # less noise sample than this: skip the filter
    denoise_quiet_fraction: float = 0.2  # if the VAD hears speech everywhere, the quietest frames are the noise

    # Voice activity detection (webrtcvad)
    vad_frame_ms: int = 30  # 10, 20 or 30
    vad_aggressiveness: int = 1  # 0..3; 3 eats short words (see shared/DATA.md)
    vad_min_run_ms: int = 60  # speech runs shorter than this are clicks, not speech
    vad_pad_ms: int = 120  # kept around detected speech so onsets/final consonants survive
    # webrtcvad calls steady noise and hum "speech"; a frame must also stand this far above
    # the take's noise floor (its 10th-percentile frame energy)
    vad_energy_gate_db: float = 10.0
    min_peak_dbfs: float = -50.0  # a quieter take is silence (a muted or unplugged mic)

    # Grayscale mel image
    n_mels: int = 64  # image height
    win_ms: float = 25.0
    hop_ms: float = 10.0  # one image column per hop
    fmin_hz: float = 50.0
    fmax_hz: float = 7600.0
    top_db: float = 80.0  # dynamic range mapped onto [0, 1]

    def __post_init__(self) -> None:
        if self.vad_frame_ms not in (10, 20, 30):
            raise ValueError("vad_frame_ms must be 10, 20 or 30")
        if not 0 <= self.vad_aggressiveness <= 3:
            raise ValueError("vad_aggressiveness must be 0..3")
        if self.sample_rate not in (8000, 16000, 32000, 48000):
            raise ValueError("sample_rate must be one webrtcvad accepts (8/16/32/48 kHz)")
        if not 0 <= self.highpass_hz < self.fmin_hz * 4:
            raise ValueError("highpass_hz must be 0 (off) or a low cut-off below the speech band")

    @property
    def hop_length(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def win_length(self) -> int:
        return round(self.sample_rate * self.win_ms / 1000)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "PreprocessConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown PreprocessConfig fields: {sorted(unknown)}")
        return cls(**data)
