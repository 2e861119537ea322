"""The phoneme recognizer and the pronunciation cost it gives a pair.

The Siamese encoder compares two takes frame by frame; a voice far from the reference's
moves its distance as much as a wrong phoneme does. A recognizer trained (CTC) to spell
the phonemes of many voices hears *which* phonemes were said, whatever the voice. The
pair cost is a goodness-of-pronunciation score against the reference: the phonemes heard
in the reference, and how much less likely the attempt makes them than its own best
reading. Both sides still go through the same network, so any reference works (espeak-ng,
gTTS, a teacher's recording) and the word's spelling is never needed.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .encoder import EncoderDims, FrameEncoder
from .pronunciation import greedy_phonemes, pronunciation_cost, sequence_cost  # noqa: F401  (re-exported)

# Unit-length frame embeddings keep logits within ±|w|; a fixed scale lets the softmax be
# sharp at once instead of after the weights have grown (CTC otherwise idles on blanks).
LOGIT_SCALE = 10.0


class PhonemeRecognizer(nn.Module):
    """Mel image [B, n_mels, T] → (frame embeddings [B, T, D], logits [B, T, 1 + symbols]).

    Index 0 of the logits is the CTC blank; index k ≥ 1 is symbols[k - 1].
    """

    def __init__(self, dims: EncoderDims, symbols: tuple[str, ...] | list[str]):
        super().__init__()
        self.dims = dims
        self.symbols = tuple(symbols)
        self.encoder = FrameEncoder(dims)
        self.head = nn.Linear(dims.embed_dim, len(self.symbols) + 1)

    def forward(self, images: torch.Tensor, lengths: torch.Tensor | None = None):
        emb = self.encoder(images, lengths)
        return emb, self.head(emb * LOGIT_SCALE)

    @torch.no_grad()
    def log_probs(self, image: np.ndarray) -> torch.Tensor:
        """One float32 [n_mels, T] image → log-probabilities [T, 1 + symbols], on the CPU."""
        device = next(self.parameters()).device
        return self(torch.from_numpy(image).unsqueeze(0).to(device))[1][0].log_softmax(-1).cpu()
