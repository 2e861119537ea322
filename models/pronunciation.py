"""The pronunciation cost of a pair, from the phoneme recognizer's log-probabilities (see
models.recognizer): torch tensors in training and evaluation, numpy arrays when serving
without torch (models.numpy_net). One formula for both."""

from __future__ import annotations

import numpy as np

from . import numpy_net


def greedy_phonemes(log_probs, blank_penalty: float = 0.0) -> list[int]:
    """Best symbol per frame (the blank handicapped by blank_penalty nats), repeats merged,
    blanks dropped: what the recognizer heard.

    CTC recognizers are peaky: a short vowel can lose every frame to the blank and vanish from
    the reading (fine-tuned recognizers read espeak-ng's 굴 as "g L"), which then counts as a
    mistake against every take that says it. With a penalty of 0.7 a symbol is read where it is
    at least e^-0.7 ≈ half as likely as the blank (`malsori train --blank-penalty`)."""
    if blank_penalty:
        log_probs = log_probs * 1  # a copy, torch tensor or numpy array
        log_probs[:, 0] -= blank_penalty
    best = log_probs.argmax(-1).tolist()
    return [s for k, s in enumerate(best) if s != 0 and (k == 0 or s != best[k - 1])]


def sequence_cost(log_probs, symbols: list[int]) -> float:
    """−log P(symbols | frames) summed over all CTC alignments (nats). log_probs: a torch
    tensor (training, evaluation) or a numpy array (serving without torch, same numbers)."""
    if isinstance(log_probs, np.ndarray):
        return numpy_net.ctc_cost(log_probs, symbols)
    if not symbols:
        return float(-log_probs[:, 0].sum())  # all blank
    import torch
    from torch import nn

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


# What an attempt too short to hold the target at all costs per phoneme (CTC needs a frame per
# phoneme, two for a doubled one): as much as another word's (사과 against 불: ~10 nats).
TOO_SHORT_COST = 10.0


def own_cost(attempt_lp, blank_penalty: float = 0.0) -> float:
    """What the attempt's own best reading (read with `blank_penalty`) costs it (nats)."""
    return sequence_cost(attempt_lp, greedy_phonemes(attempt_lp, blank_penalty))


def phoneme_cost(attempt_lp, target: list[int], blank_penalty: float = 0.0, own: float | None = None) -> float:
    """Nats per target phoneme by which the attempt prefers its own best reading (read with
    `blank_penalty`; `own`: its cost when already known) over `target`: 0 = says the target;
    one wrong phoneme of five adds about (its confidence) / 5; an attempt with fewer frames
    than the target needs, TOO_SHORT_COST (CTC would call that alignment impossible, and
    torch's zero_infinity would make it free)."""
    needed = len(target) + sum(1 for k in range(1, len(target)) if target[k] == target[k - 1])
    if attempt_lp.shape[0] < needed:
        return TOO_SHORT_COST
    if own is None:
        own = own_cost(attempt_lp, blank_penalty)
    return max(0.0, sequence_cost(attempt_lp, target) - own) / len(target)


def pronunciation_cost(reference_lp, attempt_lp, blank_penalty: float = 0.0, expected: list[int] | None = None) -> float:
    """The attempt judged against the phonemes heard in the reference (read with `blank_penalty`),
    and, when the text's phonemes are known (`expected`, models.text_phonemes), the mean of that
    and the attempt judged against them: a reference voice the recognizer mishears then weighs
    half. A reference in which nothing is heard costs 0 on its side (the DTW distance and the
    text then decide). The attempt's own reading is costed once for both (a CTC pass each)."""
    heard = greedy_phonemes(reference_lp, blank_penalty)
    own = own_cost(attempt_lp, blank_penalty) if heard or expected else None
    cost = phoneme_cost(attempt_lp, heard, blank_penalty, own) if heard else 0.0
    if expected:
        cost = (cost + phoneme_cost(attempt_lp, expected, blank_penalty, own)) / 2
    return cost
