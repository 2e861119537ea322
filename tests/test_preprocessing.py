"""The front end, stage by stage, on real espeak-ng speech."""

import numpy as np
import pytest

from preprocessing import PreprocessConfig, mel_image, preprocess, trim_silence
from preprocessing.denoise import noise_sample, reduce_noise
from core.errors import NoSpeechError, SpeechTooShortError
from preprocessing.vad import frame_length, speech_flags
from speech import SR, add_noise, pad, speak

CFG = PreprocessConfig()


@pytest.mark.parametrize("text", ["꽃", "사과", "안녕하세요", "감사합니다"])
@pytest.mark.parametrize("lead_s, trail_s", [(0.3, 0.5), (1.0, 0.2)])
def test_vad_finds_speech_within_50ms_of_its_known_bounds(text, lead_s, trail_s):
    word = speak(text)
    y = pad(word, lead_s=lead_s, trail_s=trail_s)
    trimmed, (start, end) = trim_silence(y, sr=SR, cfg=CFG)
    assert start == pytest.approx(lead_s, abs=0.05)
    assert end == pytest.approx(lead_s + len(word) / SR, abs=0.05)
    # the padding keeps onset and final consonant: all of the word survives the trim
    assert len(trimmed) >= len(word)


def test_a_one_syllable_word_is_not_eaten_by_the_vad():
    word = speak("꽃")
    _, (start, end) = trim_silence(pad(word, lead_s=0.5, trail_s=0.5), sr=SR, cfg=CFG)
    assert end - start >= 0.9 * len(word) / SR


@pytest.mark.parametrize("gain_db", [-20, 20])
def test_gain_of_20_db_barely_changes_the_image(gain_db):
    y = pad(speak("안녕하세요"), lead_s=0.3, trail_s=0.3)
    gained = y * 10 ** (gain_db / 20)  # float audio: +20 dB goes past 1.0 without clipping
    a = preprocess(y, sr=SR, cfg=CFG).image
    b = preprocess(gained.astype(np.float32), sr=SR, cfg=CFG).image
    assert a.shape == b.shape
    assert np.abs(a - b).mean() < 0.01


def test_image_is_grayscale_in_unit_range_with_fixed_height():
    u = preprocess(pad(speak("사과"), lead_s=0.2, trail_s=0.2), sr=SR, cfg=CFG)
    assert u.image.dtype == np.float32
    assert u.image.shape[0] == CFG.n_mels
    assert u.image.min() >= 0.0 and u.image.max() == pytest.approx(1.0)
    # one column per hop over the trimmed speech plus padding
    expected = (u.speech_duration_s + 2 * CFG.vad_pad_ms / 1000) / (CFG.hop_ms / 1000)
    assert abs(u.image.shape[1] - expected) <= 4


def _denoised(noisy):
    y = noisy / np.abs(noisy).max() * CFG.peak_level
    flags = speech_flags(y, sr=SR, cfg=CFG)
    noise = noise_sample(y, flags, frame_len=frame_length(sr=SR, cfg=CFG), sr=SR, cfg=CFG)
    return reduce_noise(y, sr=SR, noise=noise, cfg=CFG)


def test_noise_filter_moves_a_10_db_snr_image_towards_the_clean_one():
    clean = pad(speak("안녕하세요"), lead_s=0.5, trail_s=0.5)
    noisy = add_noise(clean, snr_db=10)
    reference = mel_image(clean, sr=SR, cfg=CFG)
    before = np.abs(mel_image(noisy, sr=SR, cfg=CFG) - reference).mean()
    after = np.abs(mel_image(_denoised(noisy), sr=SR, cfg=CFG) - reference).mean()
    assert after < 0.85 * before


def test_noise_filter_leaves_clean_speech_nearly_unchanged():
    clean = add_noise(pad(speak("안녕하세요"), lead_s=0.5, trail_s=0.5), snr_db=60)
    filtered = _denoised(clean)
    scaled = clean / np.abs(clean).max() * CFG.peak_level
    assert np.corrcoef(filtered, scaled)[0, 1] > 0.995
    assert np.abs(mel_image(filtered, sr=SR, cfg=CFG) - mel_image(scaled, sr=SR, cfg=CFG)).mean() < 0.02


def test_noisy_take_still_yields_the_whole_word():
    word = speak("감사합니다")
    u = preprocess(add_noise(pad(word, lead_s=0.5, trail_s=0.5), snr_db=10), sr=SR, cfg=CFG)
    assert u.speech_start_s == pytest.approx(0.5, abs=0.1)
    assert u.speech_end_s == pytest.approx(0.5 + len(word) / SR, abs=0.1)


@pytest.mark.parametrize(
    "noise",
    [
        np.zeros(32000, np.float32),
        (np.random.default_rng(0).standard_normal(32000) * 1e-4).astype(np.float32),
        (np.random.default_rng(1).standard_normal(32000) * 0.1).astype(np.float32),
        (0.3 * np.sin(2 * np.pi * 50 * np.arange(32000) / SR)).astype(np.float32),
    ],
    ids=["digital-silence", "quiet-room", "loud-hiss", "mains-hum"],
)
def test_silence_and_steady_noise_are_not_speech(noise):
    with pytest.raises(NoSpeechError):
        preprocess(noise, sr=SR, cfg=CFG)


def test_a_click_is_too_short_to_score():
    click = pad(speak("사과")[:1600], lead_s=0.5, trail_s=0.5)  # 0.1 s of speech
    with pytest.raises((SpeechTooShortError, NoSpeechError)):
        preprocess(click, sr=SR, cfg=CFG)


def test_any_input_rate_is_resampled_to_the_engine_rate():
    import librosa

    y = pad(speak("사과"), lead_s=0.3, trail_s=0.3)
    at_44k = librosa.resample(y, orig_sr=SR, target_sr=44100)
    a = preprocess(y, sr=SR, cfg=CFG).image
    b = preprocess(at_44k.astype(np.float32), sr=44100, cfg=CFG).image
    assert abs(a.shape[1] - b.shape[1]) <= 2
    n = min(a.shape[1], b.shape[1])
    assert np.abs(a[:, :n] - b[:, :n]).mean() < 0.03


def test_rumble_filter_removes_dc_and_hum_and_keeps_speech_in_place():
    from preprocessing.rumble import remove_rumble

    word = pad(speak("사과", voice="ko+m3"), lead_s=0.3, trail_s=0.3)
    t = np.arange(len(word)) / SR
    hum = 0.06 + 0.2 * np.sin(2 * np.pi * 50 * t)
    out = remove_rumble((word + hum).astype(np.float32), sr=SR, cfg=CFG)
    assert out.dtype == np.float32 and out.shape == word.shape
    lead = out[: int(0.25 * SR)]  # the silence before the word: what is left of DC and hum
    assert np.abs(lead).max() < 0.02  # from 0.26: ≥ 22 dB down
    # the speech itself goes through unshifted (zero phase): the waveforms still line up
    assert np.corrcoef(out, remove_rumble(word, sr=SR, cfg=CFG))[0, 1] > 0.99


def test_an_old_checkpoints_front_end_gets_the_rumble_filter():
    """A config saved before highpass_hz existed loads with the filter on."""
    old = {k: v for k, v in CFG.to_dict().items() if k != "highpass_hz"}
    assert PreprocessConfig.from_dict(old).highpass_hz == CFG.highpass_hz > 0


@pytest.mark.parametrize("seconds", [0.01, 0.05, 0.15])
def test_a_clip_shorter_than_a_word_is_too_little_speech_not_no_speech(seconds):
    clip = speak("사과")[: int(seconds * SR)]  # loud speech from its first sample
    with pytest.raises(SpeechTooShortError, match=f"only {seconds:.2f} s long"):
        preprocess(clip, sr=SR, cfg=CFG)


def test_the_reference_is_heard_through_an_attempts_channel_only_when_the_attempt_is_band_limited():
    from preprocessing.audio import resample
    from preprocessing.channel import through_channel
    from preprocessing.mel import hz_to_mel

    ref = preprocess(pad(speak("사과"), lead_s=0.3, trail_s=0.3), sr=SR, cfg=CFG).image
    take = pad(speak("사과", voice="ko+m3"), lead_s=0.3, trail_s=0.3)
    # full band, clean or in room noise: the reference stays as it is (no network reruns)
    assert through_channel(ref, preprocess(take, sr=SR, cfg=CFG).image) is None
    assert through_channel(ref, preprocess(add_noise(take, snr_db=10), sr=SR, cfg=CFG).image) is None
    # through an 8 kHz channel with a noise floor: the reference loses what the channel cannot
    # carry (above 4 kHz) and gets the attempt's floor under everything else
    narrow = resample(add_noise(take, snr_db=30), orig_sr=SR, sr=8000)
    att = preprocess(narrow, sr=8000, cfg=CFG).image
    heard = through_channel(ref, att)
    mels = np.linspace(hz_to_mel(CFG.fmin_hz), hz_to_mel(CFG.fmax_hz), CFG.n_mels + 2)[1:-1]
    above_4k = np.flatnonzero(mels > hz_to_mel(4100.0))
    assert heard.shape == ref.shape and np.all(heard[above_4k] == 0) and ref[above_4k].max() > 0.5
    below_3k = np.flatnonzero(mels < hz_to_mel(3000.0))
    assert np.all(heard[below_3k] >= ref[below_3k])  # nothing below the edge is taken away
    silent_cols = ref[below_3k].max(axis=0) == 0  # the reference's digital silence ...
    assert silent_cols.any() and heard[below_3k][:, silent_cols].min() > 0.1  # ... now holds the floor
