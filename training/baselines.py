"""The two baselines `malsori evaluate` runs next to the model.

* MFCC-DTW: no training. MFCCs are the DCT of the model's own log-mel image (so the
  front end is identical), c1..c13 (c0 = loudness dropped), Euclidean DTW, mean cost
  along the path.
* Naive Siamese, a re-creation of the 2024 prototype: the mel image squeezed to 100×100,
  flattened, one dense 10,000 → 4,000 layer (40 M parameters) and a 64-d embedding;
  Euclidean distance, contrastive loss. Trained briefly on the same train split.
"""

from __future__ import annotations

import time

import numpy as np

from .dataset import BalanceConfig, BalancedPairSampler, PairRecord

N_MFCC = 13


def mfcc_from_image(image: np.ndarray) -> np.ndarray:
    """float32 [n_mels, T] log-mel image → [T, N_MFCC] cepstra (c1..c13)."""
    from scipy.fft import dct

    return dct(image, type=2, axis=0, norm="ortho")[1 : N_MFCC + 1].T.astype(np.float64)


def mfcc_dtw_distance(ref_image: np.ndarray, att_image: np.ndarray) -> float:
    """Mean Euclidean MFCC cost along the DTW path (0 = identical)."""
    from librosa.sequence import dtw
    from scipy.spatial.distance import cdist

    a, b = mfcc_from_image(ref_image), mfcc_from_image(att_image)
    cost = cdist(a, b)
    _, path = dtw(C=cost, backtrack=True)
    return float(cost[path[:, 0], path[:, 1]].mean())


class NaiveSiamese:
    """The prototype's network, wrapped with its own training and distance."""

    SIDE = 100  # the prototype squeezed every mel image to 100×100
    HIDDEN = 4000  # 10,000 × 4,000 weights: the 40 M-parameter dense head
    EMBED = 64

    def __init__(self, *, seed: int = 0):
        import torch
        from torch import nn

        torch.manual_seed(seed)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.SIDE * self.SIDE, self.HIDDEN),
            nn.ReLU(),
            nn.Linear(self.HIDDEN, self.EMBED),
        )
        self.seed = seed
        self.train_seconds = 0.0
        self.train_steps = 0

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def _squeeze(self, images: list[np.ndarray]):
        import torch

        batch = [
            torch.nn.functional.interpolate(
                torch.from_numpy(im)[None, None], size=(self.SIDE, self.SIDE), mode="bilinear", align_corners=False
            )[0, 0]
            for im in images
        ]
        return torch.stack(batch)

    def embed(self, images: list[np.ndarray]):
        return self.net(self._squeeze(images))

    def fit(self, records: list[PairRecord], images: dict[str, np.ndarray], *, seconds: float,
            batch_size: int = 32, margin: float = 1.0, lr: float = 1e-4, progress: bool = False) -> None:
        """Train on balanced pairs for at most `seconds` of wall-clock time."""
        import torch
        from tqdm import tqdm

        from models.loss import contrastive_loss

        sampler = BalancedPairSampler(records, balance=BalanceConfig(), seed=self.seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.net.train()
        start = time.monotonic()
        bar = tqdm(desc="naive Siamese", unit="step", disable=not progress, leave=False)
        while time.monotonic() - start < seconds:
            recs = [records[i] for i in sampler.batch(batch_size)]
            ea = self.embed([images[r.reference] for r in recs])
            eb = self.embed([images[r.attempt] for r in recs])
            dist = (ea - eb).pow(2).sum(dim=1).add(1e-9).sqrt()
            loss = contrastive_loss(dist, torch.tensor([r.target for r in recs]), margin=margin)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.train_steps += 1
            bar.update(1)
        bar.close()
        self.train_seconds = time.monotonic() - start
        self.net.eval()

    def distance(self, ref_image: np.ndarray, att_image: np.ndarray) -> float:
        import torch

        with torch.no_grad():
            e = self.embed([ref_image, att_image])
        return float((e[0] - e[1]).norm())
