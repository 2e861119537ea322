"""The Siamese frame encoder: one small CNN, shared by both sides of a pair."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .dims import EncoderDims


def normalize_image(images: torch.Tensor, lengths: torch.Tensor | None, *, band_norm: bool) -> torch.Tensor:
    """Per-utterance normalisation of [B, F, T] images, ignoring padded columns.

    band_norm: each band minus its mean over time (cepstral-mean-style: removes the
    speaker's and microphone's static spectral colour), then divided by the utterance's
    std. Without it: centre [0, 1] on 0 as before.
    """
    if not band_norm:
        return images * 2.0 - 1.0
    b, f, t = images.shape
    if lengths is None:
        mask = images.new_ones(b, 1, t)
    else:
        mask = (torch.arange(t, device=images.device)[None, :] < lengths[:, None]).to(images.dtype)[:, None, :]
    count = mask.sum(dim=2, keepdim=True).clamp(min=1.0)
    mean = (images * mask).sum(dim=2, keepdim=True) / count
    centred = (images - mean) * mask
    var = centred.pow(2).sum(dim=(1, 2), keepdim=True) / (count * f)
    return centred / (var.sqrt() + 1e-3)


class FrameEncoder(nn.Module):
    """Grayscale mel image [B, n_mels, T] → unit-length frame embeddings [B, T, embed_dim].

    3×3 convolutions see ~±4 frames (±40 ms) of context; pooling runs over frequency
    only, so the time axis keeps one embedding per image column and the two sides of a
    pair can be aligned with DTW afterwards. Dilated temporal convolutions after the
    projection widen each frame's view to about a syllable (±150 ms with the defaults).
    """

    def __init__(self, dims: EncoderDims = EncoderDims()):
        super().__init__()
        self.dims = dims
        blocks, c_in, height = [], 1, dims.n_mels
        for c_out in dims.channels:
            blocks += [
                nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(kernel_size=(2, 1)),
            ]
            c_in, height = c_out, height // 2
        if height < 1:
            raise ValueError("too many conv blocks for the image height")
        self.conv = nn.Sequential(*blocks)
        self.project = nn.Linear(c_in * height, dims.embed_dim)
        self.context = nn.ModuleList(
            nn.Conv1d(
                dims.embed_dim,
                dims.embed_dim,
                kernel_size=dims.context_kernel,
                dilation=2**i,
                padding=(dims.context_kernel // 2) * 2**i,
            )
            for i in range(dims.context_layers)
        )

    def forward(self, images: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """images: float [B, n_mels, T] in [0, 1]; lengths: optional int [B] of real columns
        (the rest is padding). Returns [B, T, embed_dim]; padded frames are meaningless."""
        x = normalize_image(images, lengths, band_norm=self.dims.band_norm).unsqueeze(1)  # [B, 1, F, T]
        x = self.conv(x)  # [B, C, F', T]
        b, c, f, t = x.shape
        x = self.project(x.permute(0, 3, 1, 2).reshape(b, t, c * f))  # [B, T, D]
        if self.context:
            h = x.transpose(1, 2)  # [B, D, T]
            for layer in self.context:
                h = h + layer(torch.relu(h))  # residual: keeps the frame's own identity
            x = h.transpose(1, 2)
        return nn.functional.normalize(x, dim=-1)

    @torch.no_grad()
    def embed(self, image: np.ndarray) -> torch.Tensor:
        """One float32 [n_mels, T] image → unit-length embeddings [T, embed_dim], on the CPU
        (what serving asks of an encoder; models.numpy_net.NumpyEncoder answers the same)."""
        device = next(self.parameters()).device
        return self(torch.from_numpy(image).unsqueeze(0).to(device))[0].cpu()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
