"""Our numpy STFT + mel filterbank equal librosa's (the model was trained on either)."""

import librosa
import numpy as np
import pytest

from preprocessing import PreprocessConfig, mel_image
from preprocessing.mel import mel_filterbank, n_fft_for, power_spectrogram
from speech import SR, pad, speak

CFG = PreprocessConfig()


@pytest.mark.parametrize("sr, n_fft, n_mels, fmin, fmax", [(16000, 512, 64, 50.0, 7600.0), (22050, 1024, 80, 0.0, 11025.0)])
def test_filterbank_equals_librosa(sr, n_fft, n_mels, fmin, fmax):
    ours = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert np.allclose(ours, theirs, atol=1e-6 * theirs.max())


@pytest.mark.parametrize("n_samples", [100, 512, 16000, 16123])
def test_power_spectrogram_equals_librosa_stft(n_samples):
    y = np.random.default_rng(n_samples).standard_normal(n_samples).astype(np.float32)
    n_fft = n_fft_for(CFG)
    ours = power_spectrogram(y, n_fft=n_fft, hop_length=CFG.hop_length, win_length=CFG.win_length)
    theirs = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=CFG.hop_length, win_length=CFG.win_length,
                                 center=True, pad_mode="constant")) ** 2
    assert ours.shape == theirs.shape
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6 * theirs.max())


def test_mel_image_equals_the_librosa_chain():
    y = pad(speak("안녕하세요"), lead_s=0.1, trail_s=0.1)
    n_fft = n_fft_for(CFG)
    spec = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=CFG.hop_length, win_length=CFG.win_length)) ** 2
    mel = librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=CFG.n_mels, fmin=CFG.fmin_hz, fmax=CFG.fmax_hz) @ spec
    db = librosa.power_to_db(mel, ref=np.max, amin=1e-12, top_db=None)
    expected = np.clip(1.0 + db / CFG.top_db, 0.0, 1.0)
    assert np.abs(mel_image(y, sr=SR, cfg=CFG) - expected).max() < 1e-4
