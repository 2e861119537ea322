"""Record one take from the microphone: native rate in, 16 kHz out, stops when speech ends.

USB mics often refuse 16 kHz on their raw device (PortAudio error -9997), so the device
is opened at a rate it accepts (its native rate first) and the audio is resampled here,
block by block (soxr, streaming). webrtcvad listens to the resampled stream; once at
least `min_speech_s` of speech was heard and `end_silence_s` of non-speech follows, the
take ends by itself, so a learner never has to press "stop". A short pre-roll before the
speech onset is kept: the engine's noise filter takes its noise profile from it.

The take is written to disk (core.paths.recordings_dir(), atomically) before `record()`
returns, so nothing the learner said is lost, even when the device disappears mid-take.

No Qt here. `record()` blocks: call it from a worker thread; `stop()` may be called from
any thread. `on_level` is called from PortAudio's audio thread (never the GUI thread) with
a level in [0, 1] (dBFS mapped from -60..0) about 50 times a second.
"""

from __future__ import annotations

import functools
import math
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from preprocessing.config import PreprocessConfig
from core.errors import DeviceError
from preprocessing.pipeline import clipped_fraction

BLOCK_S = 0.02  # one callback (and one level reading) per 20 ms
LEVEL_FLOOR_DB = -60.0  # level 0 on the meter; 0 dBFS is level 1
# Tried after the device's own default rate; the first one it accepts is its native rate.
RATE_CANDIDATES = (48_000, 44_100, 32_000, 16_000, 96_000, 22_050, 8_000)
VAD_RATES = (8_000, 16_000, 32_000, 48_000)  # what webrtcvad accepts
# End-of-speech detection in noise (Endpointer): see its docstring for why each exists.
SPEECH_BAND_HZ = (150.0, 4000.0)  # where the endpointer measures a frame's energy
FLOOR_FRAMES = 3  # the noise floor: the quietest stretch of this many frames (90 ms) so far
HOLD_FRACTION = 0.3  # once speech began: this share of the floor-to-peak range keeps it going
HOLD_MIN_DB = 5.0  # ... but never less above the floor than this


@dataclass(frozen=True)
class Take:
    """One recording, already saved."""

    audio: np.ndarray  # float32 mono at sr, (samples,)
    sr: int  # 16000
    path: Path | None  # where the take was saved (None: saving was off or failed, see error)
    stopped_by: str  # "speech-end" | "max-length" | "stopped" | "device-lost"
    speech_found: bool  # at least min_speech_s of speech was heard
    device_sr: int = 0  # the rate the device recorded at (its native rate)
    speech_start_s: float | None = None  # first speech in `audio` (after the pre-roll), if any
    error: str | None = None  # a message a person can act on (device lost, take not saved)

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sr

    def raise_if_device_lost(self) -> None:
        """DeviceError when the microphone vanished mid-take (the partial take is saved)."""
        if self.stopped_by == "device-lost":
            saved = f"; the partial take is saved in {self.path}" if self.path else ""
            raise DeviceError(f"{self.error or 'the microphone stopped delivering sound'}{saved}")


def level_from_rms(rms: float) -> float:
    """RMS amplitude (full scale 1.0) → meter level in [0, 1], linear in dBFS from -60 to 0."""
    if rms <= 0:
        return 0.0
    db = 20 * math.log10(rms)
    return min(1.0, max(0.0, (db - LEVEL_FLOOR_DB) / -LEVEL_FLOOR_DB))


class Endpointer:
    """Streaming end-of-speech detection with webrtcvad on `sr`-Hz float32 audio.

    Uses the engine's VAD rule (preprocessing.vad.speech_flags): webrtcvad with
    cfg.vad_aggressiveness on cfg.vad_frame_ms frames, AND the frame cfg.vad_energy_gate_db
    above the noise floor, runs shorter than cfg.vad_min_run_ms are clicks. A stream has no
    future, so the floor and the gate differ from the offline rule where noise needs it:

    - Frame energy is measured in the speech band (SPEECH_BAND_HZ): rumble and hiss outside
      it (pink noise's low end) make 30 ms frames jump by ±5 dB and look like speech.
    - The floor is the quietest FLOOR_FRAMES-frame stretch so far (lower than the take's
      typical noise, so a stop comes late rather than mid-word; a take opens with a little
      room noise before anyone speaks).
    - Once speech began, a frame need only stand HOLD_FRACTION of the way from the floor to
      the loudest frame so far (at least HOLD_MIN_DB, at most the onset gate) above the
      floor to keep the speech going. In 10 dB noise the quiet half of a word is less than
      10 dB above the noise: with the onset gate throughout, a pause-length stretch of it
      ended the take mid-phrase, and a short word never gathered `min_speech_s` of speech,
      so the take ran to its maximum length. In quiet rooms the floor is far below the
      speech, the hold gate equals the onset gate and nothing changes.

    Feed audio with `push`; it returns the sample index (counted from the first sample
    pushed) where the take should end once `min_speech_s` of speech was followed by
    `end_silence_s` of non-speech, else None.
    """

    def __init__(self, *, sr: int, cfg: PreprocessConfig, min_speech_s: float, end_silence_s: float):
        import webrtcvad

        if sr not in VAD_RATES:
            raise ValueError(f"sr must be one of {VAD_RATES} for webrtcvad")
        self.sr = sr
        self.frame_len = sr * cfg.vad_frame_ms // 1000
        frame_s = cfg.vad_frame_ms / 1000
        self._vad = webrtcvad.Vad(cfg.vad_aggressiveness)
        self._gate_db = cfg.vad_energy_gate_db
        self._band = _band_weights(self.frame_len, sr)
        self._recent: list[float] = []  # the last FLOOR_FRAMES frame powers
        self._floor_db = math.inf
        self._peak_db = -math.inf
        self._min_run = max(1, -(-cfg.vad_min_run_ms // cfg.vad_frame_ms))
        self._min_speech_frames = max(1, math.ceil(min_speech_s / frame_s - 1e-9))
        self._end_frames = max(1, round(end_silence_s / frame_s))
        self._pending = np.zeros(0, np.float32)
        self._frame = 0  # frames seen
        self._run = 0  # current run of speech frames
        self._speech_frames = 0  # frames in runs of at least min_run
        self._last_speech_end: int | None = None  # frame index after the last confirmed speech frame
        self.onset_sample: int | None = None  # first sample of the first confirmed speech run

    @property
    def speech_found(self) -> bool:
        return self._speech_frames >= self._min_speech_frames

    def push(self, y: np.ndarray) -> int | None:
        buf = np.concatenate([self._pending, np.asarray(y, np.float32)])
        n = len(buf) // self.frame_len
        self._pending = buf[n * self.frame_len :]
        frames = buf[: n * self.frame_len].reshape(n, self.frame_len)
        pcm = (np.clip(frames, -1.0, 1.0) * 32767).astype("<i2")
        power = band_power(frames, self._band)
        for i in range(n):
            stop = self._step(pcm[i].tobytes(), float(power[i]))
            if stop is not None:
                return stop
        return None

    def _gate(self) -> float:
        """dB above the floor a frame must reach: the onset gate until speech began, then the hold gate."""
        if self.onset_sample is None:
            return self._gate_db
        hold = HOLD_FRACTION * (self._peak_db - self._floor_db)
        return min(self._gate_db, max(HOLD_MIN_DB, hold))

    def _step(self, frame: bytes, power: float) -> int | None:
        energy_db = _power_db(power)
        self._recent = (self._recent + [power])[-FLOOR_FRAMES:]
        if len(self._recent) == FLOOR_FRAMES or self._frame == 0:
            self._floor_db = min(self._floor_db, _power_db(sum(self._recent) / len(self._recent)))
        self._peak_db = max(self._peak_db, energy_db)
        voiced = self._vad.is_speech(frame, self.sr)  # every frame: webrtcvad adapts to what it hears
        if voiced and energy_db > self._floor_db + self._gate():
            self._run += 1
            if self._run == self._min_run:  # the run just became speech, not a click
                self._speech_frames += self._run
                if self.onset_sample is None:
                    self.onset_sample = (self._frame - self._run + 1) * self.frame_len
            elif self._run > self._min_run:
                self._speech_frames += 1
            if self._run >= self._min_run:
                self._last_speech_end = self._frame + 1
        else:
            self._run = 0
        self._frame += 1
        if (
            self.speech_found
            and self._last_speech_end is not None
            and self._frame - self._last_speech_end >= self._end_frames
        ):
            return self._frame * self.frame_len
        return None


def _power_db(power: float) -> float:
    """A frame's mean power in dB, floored at -100 (digital silence)."""
    return max(10.0 * math.log10(max(power, 1e-12)), -100.0)


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    """np.hanning(n), made once per frame length (band_power runs on every pushed block); read-only."""
    window = np.hanning(n)
    window.flags.writeable = False
    return window


def _band_weights(frame_len: int, sr: int) -> np.ndarray:
    """Per rfft bin of a frame: Hann window power correction inside SPEECH_BAND_HZ, 0 outside."""
    f = np.fft.rfftfreq(frame_len, 1.0 / sr)
    window = _hann(frame_len)
    inside = (f >= SPEECH_BAND_HZ[0]) & (f <= SPEECH_BAND_HZ[1])
    # a full-band white signal of mean power p reads p · (band share): one scale for every frame
    return inside / (np.sum(window**2) * frame_len / 2)


def band_power(frames: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean power of each frame (rows of `frames`, float) inside the speech band: float64 [n]."""
    if not len(frames):
        return np.zeros(0)
    spec = np.fft.rfft(frames.astype(np.float64) * _hann(frames.shape[1]), axis=1)
    return (spec.real**2 + spec.imag**2) @ weights


@dataclass
class _StreamState:
    """Shared between the audio callback and the consuming thread."""

    max_frames: int
    frames: int = 0
    ended_by_us: bool = False
    halt: bool = False
    level_error: BaseException | None = None
    blocks: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)


class Recorder:
    """Records takes from one input device (default: ALSA's default, i.e. the mic profile).

    device: a sounddevice device index or name (None: the default input device).
    sr: output rate (16000 for the engine; must be a webrtcvad rate).
    max_seconds: the longest take, counted from the start of recording.
    auto_stop: end the take when speech ends; keep `preroll_s` before the speech onset.
    save_dir: where takes are saved (None: core.paths.recordings_dir()); save=False keeps
      them in memory only.
    no_data_timeout_s: a device that delivers nothing for this long counts as lost.
    keep_takes: after saving, delete the oldest takes in the save folder beyond this many
      (None: keep every take). The take just saved is never deleted.
    on_start: called (on the recording thread) once the device is open and recording, e.g. to
      prompt "say something" only when there is a microphone to say it to.
    """

    def __init__(
        self,
        *,
        device=None,
        sr: int = 16_000,
        max_seconds: float = 8.0,
        auto_stop: bool = True,
        on_level: Callable[[float], None] | None = None,
        save_dir: Path | None = None,
        cfg: PreprocessConfig | None = None,
        save: bool = True,
        preroll_s: float = 0.3,
        end_silence_s: float = 0.4,
        min_speech_s: float | None = None,
        no_data_timeout_s: float = 2.0,
        keep_takes: int | None = None,
        on_start: Callable[[], None] | None = None,
    ):
        if sr not in VAD_RATES:
            raise ValueError(f"sr must be one of {VAD_RATES}")
        if max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        self.device = device
        self.sr = sr
        self.max_seconds = max_seconds
        self.auto_stop = auto_stop
        self.on_level = on_level
        self.save_dir = save_dir
        self.cfg = cfg or PreprocessConfig()
        self.save = save
        self.preroll_s = preroll_s
        self.end_silence_s = end_silence_s
        self.min_speech_s = self.cfg.min_speech_s if min_speech_s is None else min_speech_s
        self.no_data_timeout_s = no_data_timeout_s
        self.keep_takes = keep_takes
        self.on_start = on_start
        self._stop_requested = threading.Event()
        self._stream = None

    def stop(self) -> None:
        """End the current take early (thread-safe); record() returns with stopped_by="stopped"."""
        self._stop_requested.set()

    # -- recording ---------------------------------------------------------------------

    def record(self) -> Take:
        """Record one take (blocking) and save it. Raises DeviceError when no device opens.

        A stop() that comes before record() starts (a worker thread not yet running) is
        honoured: the take ends at once with stopped_by="stopped".
        """
        try:
            return self._record()
        finally:
            self._stop_requested.clear()  # the next take starts fresh

    def _record(self) -> Take:
        from app.devices import _sounddevice, hold_portaudio

        sd = _sounddevice()
        release = hold_portaudio()  # PortAudio is not re-initialised under this take's stream
        try:
            info = self._input_device(sd)
            native_sr, channels = self._native_format(sd, info)
            state = _StreamState(max_frames=math.ceil(self.max_seconds * native_sr))
            stream = self._open_stream(sd, info, native_sr, channels, state)
        except BaseException:
            release()
            raise
        try:
            if self.on_start is not None:
                self.on_start()
            audio, stopped_by, onset, speech_found, error = self._consume(state, native_sr)
        finally:
            state.halt = True
            self._stream = None
            _close_in_background(stream, sd, release=release)

        speech_start_s = None
        if onset is not None:
            start = max(0, onset - round(self.preroll_s * self.sr)) if (self.auto_stop and speech_found) else 0
            audio = audio[start:]
            speech_start_s = (onset - start) / self.sr
        path, save_error = self._save(audio)
        take = Take(
            audio=audio,
            sr=self.sr,
            path=path,
            stopped_by=stopped_by,
            speech_found=speech_found,
            device_sr=native_sr,
            speech_start_s=speech_start_s,
            error=error or save_error,
        )
        if state.level_error is not None:  # a bug in the caller's meter; the take is saved
            raise state.level_error
        return take

    def _input_device(self, sd) -> dict:
        try:
            if self.device is None:
                info = sd.query_devices(kind="input")
            else:
                info = sd.query_devices(self.device)
        except (ValueError, sd.PortAudioError) as exc:
            what = "no microphone found" if self.device is None else f"no audio device {self.device!r}"
            raise DeviceError(
                f"{what}: plug in the USB microphone, then check `malsori mic list` and `malsori mic use`"
            ) from exc
        if info["max_input_channels"] < 1:
            raise DeviceError(f"{info['name']!r} cannot record (it has no input channels)")
        return info

    def _native_format(self, sd, info: dict) -> tuple[int, int]:
        """The first rate (device default first) and channel count (mono first) it accepts."""
        rates = [int(info["default_samplerate"])] + [r for r in RATE_CANDIDATES if r != int(info["default_samplerate"])]
        channel_options = [1] + ([2] if info["max_input_channels"] >= 2 else [])
        for channels in channel_options:
            for rate in rates:
                try:
                    sd.check_input_settings(device=info["index"], channels=channels, dtype="int16", samplerate=rate)
                except (ValueError, sd.PortAudioError):
                    continue
                return rate, channels
        raise DeviceError(
            f"{info['name']!r} accepts none of the sample rates "
            f"{', '.join(str(r) for r in rates)} Hz: is another program using the microphone?"
        )

    def _open_stream(self, sd, info: dict, native_sr: int, channels: int, state: _StreamState):
        stop_requested = self._stop_requested
        on_level = self.on_level

        def callback(indata, frames, time_info, status):  # audio thread: copy, measure, queue
            if state.halt:  # record() is done with this take: no more levels or blocks
                state.ended_by_us = True
                raise sd.CallbackStop
            block = indata.copy()
            state.blocks.put(block)
            state.frames += frames
            if on_level is not None and state.level_error is None:
                rms = float(np.sqrt(np.mean(np.square(block, dtype=np.float64)))) / 32768.0
                try:
                    on_level(level_from_rms(rms))
                except Exception as exc:  # re-raised by record() after the take is saved
                    state.level_error = exc
            if state.frames >= state.max_frames or stop_requested.is_set() or state.halt:
                state.ended_by_us = True
                raise sd.CallbackStop

        stream = None
        try:
            stream = sd.InputStream(
                device=info["index"],
                samplerate=native_sr,
                channels=channels,
                dtype="int16",  # int16 returns the device's samples exactly (see ARCHITECTURE.md)
                blocksize=max(1, round(native_sr * BLOCK_S)),
                callback=callback,
                finished_callback=lambda: state.blocks.put(None),
            )
            self._stream = stream  # the open stream, while record() runs
            stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            if stream is not None:
                stream.close(ignore_errors=True)
            raise DeviceError(f"cannot open the microphone {info['name']!r} at {native_sr} Hz: {exc}") from exc
        return stream

    def _consume(self, state: _StreamState, native_sr: int):
        """Drain the audio thread's blocks: resample, listen for the end of speech, decide when to stop.

        Returns (audio at self.sr, stopped_by, onset sample or None, speech_found, error message).
        """
        import soxr

        resampler = None if native_sr == self.sr else soxr.ResampleStream(native_sr, self.sr, 1, dtype="float32")
        endpointer = Endpointer(sr=self.sr, cfg=self.cfg, min_speech_s=self.min_speech_s, end_silence_s=self.end_silence_s)
        chunks: list[np.ndarray] = []
        native_count = 0
        stop_at = None
        stopped_by = None
        error = None
        while stopped_by is None:
            if self._stop_requested.is_set():
                stopped_by = "stopped"
                break
            try:
                block = state.blocks.get(timeout=self.no_data_timeout_s)
            except queue.Empty:
                stopped_by = "device-lost"
                error = (
                    f"the microphone sent no sound for {self.no_data_timeout_s:g} s "
                    "(unplugged or stuck?): check the cable and `malsori mic list`"
                )
                break
            if block is None:  # the stream ended: by our own request, or because the device went away
                if self._stop_requested.is_set():
                    stopped_by = "stopped"
                elif state.ended_by_us:
                    stopped_by = "max-length"
                else:
                    stopped_by = "device-lost"
                    error = "the microphone disappeared during the recording (unplugged?): plug it in and try again"
                break
            mono = (block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]).astype(np.float32) / 32768.0
            native_count += len(mono)
            y = resampler.resample_chunk(mono) if resampler else mono
            chunks.append(y)
            stop = endpointer.push(y)
            if self.auto_stop and stop is not None:
                stopped_by, stop_at = "speech-end", stop
            elif native_count >= state.max_frames:
                stopped_by = "max-length"
        if resampler is not None:
            chunks.append(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        # exactly the input's duration (the resampler's flush may add a sample or lose one)
        n_out = min(len(audio), round(native_count * self.sr / native_sr))
        if stop_at is not None:
            n_out = min(n_out, stop_at)
        return audio[:n_out].astype(np.float32), stopped_by, endpointer.onset_sample, endpointer.speech_found, error

    def _save(self, audio: np.ndarray) -> tuple[Path | None, str | None]:
        if not self.save or audio.size == 0:
            return None, None
        from core.fileio import atomic_write_wav
        from core.paths import recordings_dir

        folder = Path(self.save_dir) if self.save_dir is not None else recordings_dir()
        name = f"take-{datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.wav"
        try:
            path = atomic_write_wav(folder / name, audio, sr=self.sr)
        except OSError as exc:
            return None, f"the take could not be saved in {folder}: {exc.strerror or exc}"
        if self.keep_takes is not None:
            prune_takes(folder, keep=self.keep_takes, spare=path)
        return path, None


TAKE_GLOB = "take-*.wav"  # Recorder's names: take-YYYYmmdd-HHMMSS-ffffff.wav, so name order is time order


def prune_takes(folder: Path, *, keep: int, spare: Path | None = None) -> list[Path]:
    """Delete the oldest takes in `folder` so that at most `keep` remain; `spare` (the take just
    saved) is never deleted. Returns the deleted paths; a file that cannot be deleted is skipped."""
    takes = sorted(Path(folder).glob(TAKE_GLOB), key=lambda p: p.name, reverse=True)  # newest first
    if spare is not None:
        takes = [p for p in takes if p != Path(spare)]
        keep -= 1
    deleted = []
    for path in takes[max(keep, 0):]:
        try:
            path.unlink()
        except OSError:
            continue  # retention must never cost the learner a take
        deleted.append(path)
    return deleted


def _close_in_background(stream, sd, *, wait_s: float = 1.0, release=None) -> None:
    """Abort and close the stream without ever hanging the caller on a stuck device;
    `release` (app.devices.hold_portaudio's) is called once the stream is closed."""

    def close():
        try:
            stream.abort()
            stream.close()
        except sd.PortAudioError:
            pass  # the device is gone; nothing left to release
        finally:
            if release is not None:
                release()

    closer = threading.Thread(target=close, name="malsori-close-stream", daemon=True)
    closer.start()
    closer.join(wait_s)


@dataclass(frozen=True)
class LevelReport:
    """How a take sounds to the engine: what `malsori mic test` prints (dBFS: 0 is full scale)."""

    level_dbfs: float  # RMS over the loudest half of the frames (the speaking level)
    peak_dbfs: float
    clipped_fraction: float  # samples at or above cfg.clip_level
    noise_floor_dbfs: float  # 10th-percentile frame energy: the room and the mic's own hiss
    speech_found: bool

    def advice(self) -> list[str]:
        """Things a person can fix, in words."""
        tips = []
        if self.clipped_fraction > 0.001:
            tips.append("the sound is clipped: move the mic further away or lower its gain (alsamixer)")
        if self.speech_found and self.level_dbfs < -35:
            tips.append("speech is quiet: move closer or raise the mic gain (alsamixer, F4 for capture)")
        if self.noise_floor_dbfs > -45:
            tips.append("the room or the mic is noisy: the noise filter will work hard")
        if not self.speech_found:
            tips.append("no speech was heard: speak while the test records")
        return tips


def level_report(audio: np.ndarray, *, sr: int, cfg: PreprocessConfig | None = None, speech_found: bool) -> LevelReport:
    """Level, peak, clipping and noise floor of `audio` (float32 mono at `sr`)."""
    cfg = cfg or PreprocessConfig()
    y = np.asarray(audio, np.float64)
    if y.size == 0:
        return LevelReport(-math.inf, -math.inf, 0.0, -math.inf, speech_found)
    n = max(1, sr * cfg.vad_frame_ms // 1000)
    frames = y[: max(n, len(y) // n * n)].reshape(-1, min(n, len(y)))
    energy = np.mean(frames**2, axis=1)

    def db(power: float) -> float:
        return 10 * math.log10(power) if power > 0 else -math.inf

    loud = np.sort(energy)[len(energy) // 2 :]
    return LevelReport(
        level_dbfs=db(float(np.mean(loud))),
        peak_dbfs=db(float(np.max(y**2))),
        clipped_fraction=clipped_fraction(y, cfg=cfg),
        noise_floor_dbfs=db(float(np.percentile(energy, 10))),
        speech_found=speech_found,
    )
