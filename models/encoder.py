"""The Siamese frame encoder: one small CNN, shared by both sides of a pair."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class EncoderDims:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    n_mels: int = 64  # input image height (must match PreprocessConfig.n_mels)
    channels: tuple[int, ...] = (16, 32, 32, 32)  # one conv block each; each halves the height
    embed_dim: int = 64  # per-frame embedding size

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "EncoderDims":
        return cls(n_mels=int(data["n_mels"]), channels=tuple(data["channels"]), embed_dim=int(data["embed_dim"]))


class FrameEncoder(nn.Module):
    """Grayscale mel image [B, n_mels, T] → unit-length frame embeddings [B, T, embed_dim].

    3×3 convolutions see ~±4 frames (±40 ms) of context per block stack; pooling runs over
    frequency only, so the time axis keeps one embedding per image column and the two
    sides of a pair can be aligned with DTW afterwards.
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

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.unsqueeze(1) * 2.0 - 1.0  # [B, 1, F, T], centred around 0
        x = self.conv(x)  # [B, C, F', T]
        b, c, f, t = x.shape
        x = x.permute(0, 3, 1, 2).reshape(b, t, c * f)
        return nn.functional.normalize(self.project(x), dim=-1)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
