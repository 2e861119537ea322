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


def greedy_phonemes(log_probs: torch.Tensor) -> list[int]:
    """Best symbol per frame, repeats merged, blanks dropped: what the recognizer heard."""
    best = log_probs.argmax(-1).tolist()
    return [s for k, s in enumerate(best) if s != 0 and (k == 0 or s != best[k - 1])]


def sequence_cost(log_probs: torch.Tensor, symbols: list[int]) -> float:
    """−log P(symbols | frames) summed over all CTC alignments (nats)."""
    if not symbols:
        return float(-log_probs[:, 0].sum())  # all blank
    return float(
        nn.functional.ctc_loss(
            log_probs[:, None],
            torch.tensor([symbols]),
            torch.tensor([log_probs.shape[0]]),
            torch.tensor([len(symbols)]),
            reduction="sum",
            zero_infinity=True,
        )
    )


def pronunciation_cost(reference_lp: torch.Tensor, attempt_lp: torch.Tensor) -> float:
    """Nats per reference phoneme by which the attempt prefers its own best reading over the
    phonemes heard in the reference. 0 = says what the reference says; one wrong phoneme of
    five adds about (its confidence) / 5. A reference in which nothing is heard costs 0
    (the DTW distance alone then decides)."""
    heard = greedy_phonemes(reference_lp)
    if not heard:
        return 0.0
    own = sequence_cost(attempt_lp, greedy_phonemes(attempt_lp))
    return max(0.0, sequence_cost(attempt_lp, heard) - own) / len(heard)
