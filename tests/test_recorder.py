"""The recorder, end to end through PortAudio and ALSA's file plugin (tests/fakemic.py).

The fake mic serves espeak-ng speech padded with known silence, rate-locked at 48 or
44.1 kHz like a USB mic's raw device. Timing is judged by sample positions: where the
take ends in the source audio against where the speech ends there.
"""

from __future__ import annotations

import os
import pty
import threading
import tty

import numpy as np
import pytest
import soundfile as sf
from fakemic import asoundrc_text, fake_mic, use_home, wait_for_closing_streams  # noqa: F401  (fixture)
from speech import SR, add_noise, pad, speak

from app.recorder import Endpointer, Recorder, level_from_rms, prune_takes
from preprocessing import PreprocessConfig
from core.errors import DeviceError

LEAD_S, TRAIL_S = 1.0, 2.0


@pytest.fixture(scope="module")
def speech():
    return speak("안녕하세요 반갑습니다")


def locate(take_audio: np.ndarray, speech: np.ndarray) -> int:
    """Where `speech` starts in the take (cross-correlation peak), in samples."""
    c = np.correlate(take_audio, speech, "valid")
    return int(np.argmax(c))


@pytest.mark.parametrize("native_sr", [48_000, 44_100])
def test_take_holds_the_speech_from_a_mic_that_only_records_at_its_native_rate(fake_mic, speech, tmp_path, native_sr):
    import sounddevice as sd

    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S), native_sr=native_sr)
    with pytest.raises(sd.PortAudioError):  # like a USB mic's hw: device, 16 kHz is refused
        sd.check_input_settings(samplerate=16_000, channels=1, dtype="int16")

    take = Recorder(save_dir=tmp_path / "takes").record()

    assert take.sr == 16_000 and take.device_sr == native_sr
    assert take.stopped_by == "speech-end" and take.speech_found
    at = locate(take.audio, speech)
    heard = take.audio[at : at + len(speech)]
    assert len(heard) == len(speech)  # the whole utterance is in the take
    assert np.corrcoef(heard, speech)[0, 1] > 0.99  # resampled back to 16 kHz faithfully
    assert abs(np.std(heard) / np.std(speech) - 1) < 0.02
    # the pre-roll before the onset is kept for the noise filter
    assert 0.25 <= at / SR <= 0.35
    assert take.speech_start_s == pytest.approx(at / SR, abs=0.04)


def test_auto_stop_fires_within_half_a_second_of_the_end_of_speech(fake_mic, speech, tmp_path):
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S), native_sr=48_000)
    take = Recorder(save_dir=tmp_path, max_seconds=8.0).record()
    at = locate(take.audio, speech)
    take_start_in_source = LEAD_S * SR - at
    stop_in_source = take_start_in_source + len(take.audio)
    speech_end = (LEAD_S * SR + len(speech))
    assert take.stopped_by == "speech-end"
    assert 0 <= (stop_in_source - speech_end) / SR <= 0.5


def test_the_take_goes_straight_into_the_engine_front_end(fake_mic, speech, tmp_path):
    from preprocessing import preprocess

    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S), native_sr=44_100)
    take = Recorder(save_dir=tmp_path).record()
    utt = preprocess(take.audio, sr=take.sr, cfg=PreprocessConfig())
    assert utt.speech_start_s == pytest.approx(take.speech_start_s, abs=0.04)
    assert utt.speech_duration_s == pytest.approx(len(speech) / SR, abs=0.08)


def test_the_take_is_saved_before_record_returns(fake_mic, speech, tmp_path, monkeypatch):
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "malsori"))
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    take = Recorder().record()  # default place: core.paths.recordings_dir()
    assert take.path is not None and take.path.parent == tmp_path / "malsori" / "recordings"
    saved, sr = sf.read(take.path, dtype="float32")
    assert sr == 16_000 and len(saved) == len(take.audio)
    assert np.max(np.abs(saved - take.audio)) < 1e-4  # 16-bit wav of the same samples


def test_only_the_newest_takes_are_kept_and_never_the_one_just_saved(fake_mic, speech, tmp_path):
    folder = tmp_path / "recordings"
    folder.mkdir()
    old = [folder / f"take-20260101-0000{i:02d}-000000.wav" for i in range(4)]
    for path in old:
        sf.write(path, np.zeros(160, np.float32), 16_000)
    (folder / "notes.txt").write_text("not a take")  # other files are left alone
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    take = Recorder(save_dir=folder, keep_takes=3).record()
    assert sorted(p.name for p in folder.iterdir()) == sorted([old[2].name, old[3].name, take.path.name, "notes.txt"])


def test_prune_never_deletes_the_spared_take_even_when_keeping_none(tmp_path):
    names = ["take-20260101-000000-000000.wav", "take-20260102-000000-000000.wav", "take-20260103-000000-000000.wav"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    spare = tmp_path / names[0]  # a clock set back: the take just saved sorts oldest
    deleted = prune_takes(tmp_path, keep=0, spare=spare)
    assert sorted(p.name for p in deleted) == names[1:]
    assert [p.name for p in tmp_path.iterdir()] == [names[0]]


def test_silence_runs_to_max_length_without_speech(fake_mic, tmp_path):
    fake_mic(np.zeros(SR * 4, np.float32))
    take = Recorder(save_dir=tmp_path, max_seconds=1.5).record()
    assert take.stopped_by == "max-length" and not take.speech_found
    assert len(take.audio) == pytest.approx(1.5 * SR, abs=2)


def test_without_auto_stop_it_keeps_recording_after_the_speech(fake_mic, speech, tmp_path):
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    take = Recorder(save_dir=tmp_path, auto_stop=False, max_seconds=5.0).record()
    assert take.stopped_by == "max-length" and take.speech_found
    assert len(take.audio) == pytest.approx(5.0 * SR, abs=2)
    assert locate(take.audio, speech) == pytest.approx(LEAD_S * SR, abs=2)  # nothing cut at the start


def test_stop_ends_the_take_early(fake_mic, speech, tmp_path):
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    recorder = Recorder(save_dir=tmp_path, on_level=lambda level: recorder.stop())
    take = recorder.record()
    assert take.stopped_by == "stopped"
    assert len(take.audio) < LEAD_S * SR  # ended before the speech began
    assert not take.speech_found


def test_a_stop_before_the_worker_starts_is_not_lost(fake_mic, speech, tmp_path):
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    recorder = Recorder(save_dir=tmp_path)
    recorder.stop()  # the learner left before the recording thread got going
    first = recorder.record()
    assert first.stopped_by == "stopped" and len(first.audio) < 0.1 * SR
    again = recorder.record()  # the stop belonged to that take only
    assert again.stopped_by == "speech-end" and again.speech_found


def test_level_readings_follow_the_speech(fake_mic, speech, tmp_path):
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=TRAIL_S))
    levels: list[float] = []
    Recorder(save_dir=tmp_path, auto_stop=False, max_seconds=4.0, on_level=levels.append).record()
    levels = np.array(levels)
    assert np.all((levels >= 0) & (levels <= 1))
    per_second = len(levels) / 4.0
    assert 20 <= per_second <= 60  # a few dozen readings per second of audio
    blocks_in_lead = int(LEAD_S * per_second) - 2
    assert np.all(levels[:blocks_in_lead] == 0)  # digital silence
    assert levels.max() > 0.7  # speech at about -6 dBFS


def test_level_mapping_is_dbfs_from_minus_60_to_0():
    assert level_from_rms(1.0) == 1.0
    assert level_from_rms(10 ** (-30 / 20)) == pytest.approx(0.5)
    assert level_from_rms(10 ** (-80 / 20)) == 0.0
    assert level_from_rms(0.0) == 0.0


def test_endpointer_ignores_a_click_and_waits_for_real_speech(speech):
    click = np.zeros(SR, np.float32)
    click[SR // 2 : SR // 2 + 160] = 0.8  # 10 ms: shorter than vad_min_run_ms
    y = np.concatenate([click, pad(speech, lead_s=0.5, trail_s=1.0)])
    ep = Endpointer(sr=SR, cfg=PreprocessConfig(), min_speech_s=0.2, end_silence_s=0.4)
    stop = ep.push(y)
    speech_end = SR + SR // 2 + len(speech)
    assert stop is not None and 0 <= stop - speech_end <= 0.5 * SR
    assert ep.onset_sample >= SR + SR // 2 - 0.06 * SR


@pytest.mark.parametrize("snr_db", [20, 10])
@pytest.mark.parametrize("colour", ["white", "pink"])
@pytest.mark.parametrize("text,voice", [("안녕하세요 반갑습니다", "ko"), ("사과 주세요", "ko+f2"), ("hello there", "en-us")])
def test_endpointer_stops_after_the_speech_in_room_noise(text, voice, colour, snr_db):
    # neither mid-phrase (a pause between the words) nor never: within half a second of the end
    y = speak(text, voice=voice)
    x = add_noise(pad(y, lead_s=1.0, trail_s=2.0), snr_db=snr_db, colour=colour)
    stop = Endpointer(sr=SR, cfg=PreprocessConfig(), min_speech_s=0.2, end_silence_s=0.4).push(x)
    speech_end = SR + len(y)
    assert stop is not None and 0 <= stop - speech_end <= 0.5 * SR


@pytest.mark.parametrize("colour", ["white", "pink"])
@pytest.mark.parametrize("text,voice", [("물", "ko+m3"), ("개", "ko+m1"), ("안녕하세요 반갑습니다", "ko")])
def test_auto_stop_ends_a_take_in_10_db_noise_soon_after_the_speech(fake_mic, tmp_path, text, voice, colour):
    # short words, and a phrase with a pause in it, with room noise at 10 dB SNR all through
    # the take: the take ends after the speech, not at max_seconds and not mid-phrase
    y = speak(text, voice=voice)
    fake_mic(add_noise(pad(y, lead_s=LEAD_S, trail_s=6.0), snr_db=10, seed=1, colour=colour), native_sr=48_000)
    take = Recorder(save_dir=tmp_path, max_seconds=5.0).record()
    assert take.stopped_by == "speech-end" and take.speech_found
    at = locate(take.audio, y)
    stop_in_source = LEAD_S * SR - at + len(take.audio)
    assert 0 <= (stop_in_source - (LEAD_S * SR + len(y))) / SR <= 0.5


def test_no_microphone_at_all_is_a_clear_error(tmp_path, monkeypatch):
    from app.devices import reinit_portaudio

    home = tmp_path / "empty-home"
    home.mkdir()
    # an ALSA whose only device is a card that does not exist, whatever cards this machine has
    conf = tmp_path / "alsa.conf"
    conf.write_text('pcm.!default { type hw; card "malsori_no_such_card" }\n')
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(conf))
    use_home(home, monkeypatch)
    try:
        with pytest.raises(DeviceError, match="no microphone"):
            Recorder(save_dir=tmp_path).record()
    finally:
        monkeypatch.undo()
        reinit_portaudio()


def _pty_mic(home, monkeypatch):
    """A fake mic fed through a pseudo-terminal: it delivers what we write, then blocks like a stuck device."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    home.mkdir()
    (home / ".asoundrc").write_text(asoundrc_text(os.ttyname(slave), native_sr=48_000))
    use_home(home, monkeypatch)
    return master, slave


def test_a_mic_that_stops_delivering_ends_the_take_as_device_lost_and_keeps_the_audio(tmp_path, monkeypatch, speech):
    from app.devices import reinit_portaudio
    from fakemic import to_raw_s16

    master, slave = _pty_mic(tmp_path / "home", monkeypatch)
    sent = to_raw_s16(np.concatenate([np.zeros(SR // 2, np.float32), speech]), sr=SR, native_sr=48_000)
    writer = threading.Thread(target=os.write, args=(master, sent), daemon=True)
    writer.start()
    try:
        take = Recorder(save_dir=tmp_path / "takes", max_seconds=30, no_data_timeout_s=0.3).record()
    finally:
        os.close(master)  # unblocks the device's reader so the stream can close
        os.close(slave)
        wait_for_closing_streams()
        monkeypatch.undo()
        reinit_portaudio()
    assert take.stopped_by == "device-lost"
    assert "no sound" in take.error
    assert take.path is not None and take.path.exists()  # the partial take is kept
    assert take.duration_s >= 0.9 * (0.5 + len(speech) / SR)
    with pytest.raises(DeviceError, match="partial take is saved"):
        take.raise_if_device_lost()


class _AudioThreadFailure(BaseException):
    """Not an Exception: it escapes the recorder's callback, as a failing device's error would."""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the failure, reported by cffi
def test_a_stream_that_ends_without_being_asked_is_a_lost_device(fake_mic, speech, tmp_path):
    # PortAudio ends a stream by itself when its device fails (an unplugged USB mic). Here the
    # audio thread fails on its 10th block, so PortAudio aborts the stream from within, the same way.
    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=1.0))  # then silence, for as long as it is read
    calls = []

    def on_level(level):
        calls.append(level)
        if len(calls) == 10:
            raise _AudioThreadFailure()

    take = Recorder(save_dir=tmp_path, max_seconds=120, auto_stop=False, on_level=on_level).record()
    assert take.stopped_by == "device-lost"
    assert "disappeared" in take.error
    assert take.path is not None and take.path.exists()  # the partial take is kept
    assert take.duration_s == pytest.approx(10 * 0.02, abs=0.001)  # exactly the blocks before the failure


def test_portaudio_is_never_reinitialised_under_an_open_stream(fake_mic, speech, tmp_path):
    """The one-off segfault (exit 139): re-initialising PortAudio (a test's teardown, the kiosk's
    microphone watcher) while a take's stream was open or closing. It now waits for the stream."""
    from app.devices import reinit_portaudio

    fake_mic(pad(speech, lead_s=LEAD_S, trail_s=1.0))
    recorder = Recorder(save_dir=tmp_path, max_seconds=600, auto_stop=False)
    takes = []
    worker = threading.Thread(target=lambda: takes.append(recorder.record()))
    worker.start()
    try:
        while recorder._stream is None and worker.is_alive():
            worker.join(0.001)
        with pytest.raises(DeviceError, match="still open"):
            reinit_portaudio(timeout_s=0.05)  # the take is still running: refused, not crashed
        threading.Timer(0.2, recorder.stop).start()
        reinit_portaudio(timeout_s=30)  # waits until the take's stream is closed, then re-initialises
    finally:
        recorder.stop()
        worker.join(30)
    assert takes and takes[0].stopped_by == "stopped"
    assert len(Recorder(save_dir=tmp_path, max_seconds=0.5, auto_stop=False).record().audio) > 0  # PortAudio works
