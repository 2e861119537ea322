"""Mini-batches for the networks: length-sorted padding and a cheap vocal-tract-length
perturbation. Shared by `malsori train` and `malsori train-phonemes`."""

from __future__ import annotations

import numpy as np

from .dataset import pad_images


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
