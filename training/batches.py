"""Mini-batches for the networks: length-sorted padding and a cheap vocal-tract-length
perturbation. Shared by `malsori train` and `malsori train-phonemes`."""

from __future__ import annotations

import numpy as np

from .dataset import pad_images


def weights_snapshot(net) -> dict:
    """A copy of the network's weights on the CPU, untouched by later optimizer steps (the best
    epoch, the start of a fine-tune)."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


def encode(net, images: list[np.ndarray], *, chunks: int, device, max_shift: int = 0, rng=None):
    """Images [n_mels, T_i] → (embeddings [T_i, D], phoneme logits [T_i, C] or None) per image,
    with gradients, in `chunks` length-sorted groups so that short takes are not padded to the
    longest one of the batch."""
    order = np.argsort([im.shape[1] for im in images])
    emb_out, logit_out = [None] * len(images), [None] * len(images)
    for group in np.array_split(order, max(1, min(chunks, len(images)))):
        if len(group) == 0:
            continue
        batch, lengths = pad_images([images[i] for i in group])
        if max_shift and rng is not None:
            batch = shift_bands(batch, max_shift, rng)
        out = net(batch.to(device), lengths.to(device))  # an encoder: embeddings; a recognizer: (embeddings, logits)
        emb, logits = out if isinstance(out, tuple) else (out, None)
        for k, i in enumerate(group):
            emb_out[i] = emb[k, : int(lengths[k])]
            logit_out[i] = None if logits is None else logits[k, : int(lengths[k])]
    return emb_out, logit_out


def shift_bands(images, max_shift: int, rng: np.random.Generator):
    """Roll each image by a random ±max_shift mel bands (edges repeat): VTLN-style augmentation."""
    import torch

    if max_shift <= 0:
        return images
    out = images.clone()
    for i, s in enumerate(rng.integers(-max_shift, max_shift + 1, size=len(images))):
        if s > 0:
            out[i, s:] = images[i, :-s]
            out[i, :s] = images[i, :1]
        elif s < 0:
            out[i, :s] = images[i, -s:]
            out[i, s:] = images[i, -1:]
    return out


def augment_image(image: np.ndarray, rng: np.random.Generator, *, freq_warp: float = 0.0,
                  time_stretch: float = 0.0, time_masks: int = 0, time_mask_frames: int = 0,
                  freq_masks: int = 0, freq_mask_bands: int = 0) -> np.ndarray:
    """One float32 [n_mels, T] image, perturbed the way other voices and rooms differ.

    freq_warp w: the mel axis stretched by a random factor in [1 − w, 1 + w] about its lowest
    band (a vocal-tract-length / pitch warp: every formant moves up or down in proportion);
    time_stretch s: the time axis resampled by a factor in [1 − s, 1 + s] (speaking rate);
    SpecAugment masks: `time_masks` runs of up to `time_mask_frames` frames (at most a fifth of
    the take) set to each band's mean, `freq_masks` runs of up to `freq_mask_bands` bands set to
    the image's mean — after band-mean normalisation both carry nothing. Each knob at 0 draws
    no random number, so a run without augmentation keeps its random stream.
    """
    out = image
    if freq_warp > 0:
        out = _stretch(out, rng.uniform(1.0 - freq_warp, 1.0 + freq_warp), axis=0)
    if time_stretch > 0:
        out = _stretch(out, rng.uniform(1.0 - time_stretch, 1.0 + time_stretch), axis=1, resize=True)
    if time_masks > 0 or freq_masks > 0:
        out = out.copy()
    n_mels, frames = out.shape
    for _ in range(time_masks):
        width = int(rng.integers(0, min(time_mask_frames, frames // 5) + 1))
        start = int(rng.integers(0, frames - width + 1))
        out[:, start : start + width] = out.mean(axis=1, keepdims=True)
    for _ in range(freq_masks):
        width = int(rng.integers(0, min(freq_mask_bands, n_mels) + 1))
        start = int(rng.integers(0, n_mels - width + 1))
        out[start : start + width] = out.mean()
    return out


def _stretch(image: np.ndarray, factor: float, *, axis: int, resize: bool = False) -> np.ndarray:
    """Linear resampling along `axis`: position k of the result reads position k / factor
    (clamped at the edge). resize: the axis becomes round(length × factor) long (time); else
    it keeps its length (mel bands)."""
    n = image.shape[axis]
    m = max(1, int(round(n * factor))) if resize else n
    src = np.clip(np.arange(m) / factor, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (src - lo).astype(np.float32)
    a, b = np.take(image, lo, axis=axis), np.take(image, hi, axis=axis)
    frac = frac[:, None] if axis == 0 else frac[None, :]
    return (a * (1 - frac) + b * frac).astype(np.float32)
