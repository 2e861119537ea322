"""Which time axis should the grayscale mel image have? Measure, don't guess.

    .venv/bin/python bench/width_choice.py

Training-free comparison on espeak-ng Korean minimal pairs (불/풀, 달/딸, 말/물, …): the
reference is the default voice, attempts are other voices and speeds. Positive = the same
word, negative = its minimal-pair partner. For each way of giving images a common width,
the ROC AUC of "distance separates positives from negatives" (0.5 = chance):

- resize: squeeze every image to 100 columns (the 2024 prototype), mean |a - b|
- pad:    zero-pad every image to a fixed 200 columns (left-aligned), mean |a - b|
- dtw:    keep the natural width, align columns with DTW, mean |a - b| along the path
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from core import espeak  # noqa: E402
from preprocessing import PreprocessConfig, preprocess  # noqa: E402

MINIMAL_PAIRS = [
    ("불", "풀"), ("달", "딸"), ("말", "물"), ("감", "검"), ("공", "콩"), ("방", "빵"), ("집", "짐"),
    ("발", "팔"), ("거리", "고리"), ("바다", "파다"), ("사자", "사장"), ("개", "게"), ("나무", "너무"),
    ("자다", "차다"), ("굴", "글"), ("소리", "서리"), ("다리", "타리"), ("시장", "지장"),
]
ATTEMPT_VOICES = [("ko+m3", 160), ("ko+f2", 160), ("ko+f4", 190), ("ko+m7", 130), ("ko+klatt", 170)]
CFG = PreprocessConfig()
SR = CFG.sample_rate


def image(text: str, voice: str = "ko", speed: int = 160) -> np.ndarray:
    y = espeak.synthesize(text, voice=voice, speed_wpm=speed)
    return preprocess(y, sr=SR, cfg=CFG).image


def resize(img: np.ndarray, width: int = 100) -> np.ndarray:
    x = np.linspace(0, img.shape[1] - 1, width)
    return np.stack([np.interp(x, np.arange(img.shape[1]), row) for row in img])


def pad(img: np.ndarray, width: int = 200) -> np.ndarray:
    out = np.zeros((img.shape[0], width), np.float32)
    n = min(width, img.shape[1])
    out[:, :n] = img[:, :n]
    return out


def dtw_cost(a: np.ndarray, b: np.ndarray) -> float:
    from models.distance import dtw_path

    cost = np.abs(a[:, :, None] - b[:, None, :]).mean(axis=0)  # same metric as the others
    path = dtw_path(cost)
    return float(cost[path[:, 0], path[:, 1]].mean())


def auc(pos: list[float], neg: list[float]) -> float:
    """P(distance of a negative > distance of a positive), ties count half."""
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((n > p) + 0.5 * (n == p)))


METHODS = {
    "resize to 100 columns": lambda a, b: float(np.abs(resize(a) - resize(b)).mean()),
    "zero-pad to 200 columns": lambda a, b: float(np.abs(pad(a) - pad(b)).mean()),
    "natural width + DTW": dtw_cost,
}


def main() -> None:
    scores = {name: ([], []) for name in METHODS}
    for w1, w2 in MINIMAL_PAIRS:
        for ref_word, other in ((w1, w2), (w2, w1)):
            ref = image(ref_word)
            for voice, speed in ATTEMPT_VOICES:
                same, wrong = image(ref_word, voice, speed), image(other, voice, speed)
                for name, dist in METHODS.items():
                    scores[name][0].append(dist(ref, same))
                    scores[name][1].append(dist(ref, wrong))
    n = len(next(iter(scores.values()))[0])
    print(f"{len(MINIMAL_PAIRS)} minimal pairs x 2 directions x {len(ATTEMPT_VOICES)} voices = {n} positives, {n} negatives")
    print("| time axis | ROC AUC same word vs minimal-pair partner |")
    print("|---|---|")
    for name, (pos, neg) in scores.items():
        print(f"| {name} | {auc(pos, neg):.3f} |")


if __name__ == "__main__":
    main()
