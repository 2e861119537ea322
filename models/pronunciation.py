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


def sequence_costs(log_probs, sequences: list[list[int]]) -> list[float]:
    """−log P(symbols | frames) summed over all CTC alignments (nats), for each sequence.
    log_probs: a torch tensor (training, evaluation) or a numpy array (serving without torch,
    same numbers); either way the sequences are costed in one batch."""
    if isinstance(log_probs, np.ndarray):
        return numpy_net.ctc_costs(log_probs, sequences)
    return _torch_ctc_costs(log_probs, sequences)


def sequence_cost(log_probs, symbols: list[int]) -> float:
    """sequence_costs for one sequence."""
    return sequence_costs(log_probs, [symbols])[0]


def _torch_ctc_costs(log_probs, sequences: list[list[int]]) -> list[float]:
    """torch's ctc_loss over a batch of the sequences against the same frames (each batch entry
    is computed on its own: the same numbers as one call per sequence)."""
    costs = [float(-log_probs[:, 0].sum())] * len(sequences)  # an empty sequence: all blank
    rows = [k for k, symbols in enumerate(sequences) if symbols]
    if not rows:
        return costs
    import torch
    from torch import nn

    width = max(len(sequences[k]) for k in rows)
    targets = torch.tensor([sequences[k] + [0] * (width - len(sequences[k])) for k in rows])
    losses = nn.functional.ctc_loss(
        log_probs[:, None].expand(-1, len(rows), -1),
        targets,
        torch.full((len(rows),), log_probs.shape[0], dtype=torch.long),
        torch.tensor([len(sequences[k]) for k in rows]),
        reduction="none",
        zero_infinity=True,
    )
    for r, k in enumerate(rows):
        costs[k] = float(losses[r])
    return costs


# What an attempt too short to hold the target at all costs per phoneme (CTC needs a frame per
# phoneme, two for a doubled one): as much as another word's (사과 against 불: ~10 nats).
TOO_SHORT_COST = 10.0


def fits(attempt_lp, target: list[int]) -> bool:
    """Whether the attempt has the frames CTC needs for the target: one per phoneme, two for a
    doubled one (fewer: CTC calls the alignment impossible, and torch's zero_infinity would
    make it free)."""
    needed = len(target) + sum(1 for k in range(1, len(target)) if target[k] == target[k - 1])
    return attempt_lp.shape[0] >= needed


def target_costs(attempt_lp, targets: list[list[int]], blank_penalty: float = 0.0) -> list[float]:
    """For each (non-empty) target, nats per phoneme by which the attempt prefers its own best
    reading (read with `blank_penalty`) over it: 0 = says the target; one wrong phoneme of
    five adds about (its confidence) / 5; an attempt too short to hold it, TOO_SHORT_COST.
    Every CTC cost (the attempt's own reading, each target it can hold) comes from one pass."""
    held = []
    for target in targets:
        if fits(attempt_lp, target) and target not in held:
            held.append(target)
    costs = sequence_costs(attempt_lp, [greedy_phonemes(attempt_lp, blank_penalty), *held]) if held else []

    def judged(target: list[int]) -> float:
        if target not in held:
            return TOO_SHORT_COST
        return max(0.0, costs[1 + held.index(target)] - costs[0]) / len(target)

    return [judged(target) for target in targets]


def pronunciation_cost(reference_lp, attempt_lp, blank_penalty: float = 0.0, expected: list[int] | None = None,
                       reference_as_made_lp=None) -> float:
    """The attempt judged (`target_costs`) against the phonemes heard in the reference (read
    with `blank_penalty`), and, when the text's phonemes are known (`expected`,
    models.text_phonemes), the mean of that and the attempt judged against them: a reference
    voice the recognizer mishears then weighs half. A reference in which nothing is heard
    costs 0 on its side (the DTW distance and the text then decide).
    reference_as_made_lp: when reference_lp is the reference heard through a low-grade
    attempt's channel (models.pair), the reference as made; the attempt is then judged against
    the nearer of the two readings, as either may be the one the recognizer gets right (the
    band-limited copy loses a short vowel, the full-band one keeps an ㅅ the attempt cannot)."""
    readings = [greedy_phonemes(reference_lp, blank_penalty)]
    if reference_as_made_lp is not None:
        readings.append(greedy_phonemes(reference_as_made_lp, blank_penalty))
    heard = [reading for reading in readings if reading]
    judged = target_costs(attempt_lp, heard + ([expected] if expected else []), blank_penalty)
    cost = min(judged[: len(heard)]) if heard else 0.0
    if expected:
        cost = (cost + judged[-1]) / 2
    return cost
