"""Contrastive loss (Hadsell, Chopra & LeCun 2006) on pair distances."""

from __future__ import annotations

import torch


def contrastive_loss(distance: torch.Tensor, same: torch.Tensor, *, margin: float) -> torch.Tensor:
    """Pull matching pairs (same=1) together, push others (same=0) beyond `margin`.

    distance, same: [B] tensors. Returns the mean loss.
    """
    same = same.to(distance.dtype)
    pull = same * distance.pow(2)
    push = (1.0 - same) * torch.clamp(margin - distance, min=0.0).pow(2)
    return 0.5 * (pull + push).mean()
