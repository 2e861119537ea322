"""Pairs from a manifest: reading, splitting, the preprocessed-image cache and balanced batches.

Two manifest shapes are accepted (DIR/manifest.csv, audio paths relative to DIR):

* the synthetic corpus (`malsori make-corpus`): reference, attempt, label, kind, n_edits,
  word, voice, split, snr_db, gain_db, … (see docs/data.md, "The corpus");
* a school's own recordings: at least reference, attempt and `label` (1 correct / 0 wrong)
  or `human_score` (0–100), optionally `split`. Without a split column each pair is put in
  train/val/test by a hash of its reference file, so one reference never straddles splits.

Images are made once by the same `preprocess()` the kiosk uses (train/serve parity) and
cached next to the manifest, keyed by the front-end config, the front end's code (a hash of
preprocessing/'s sources) and the files' paths, sizes and times.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from preprocessing import PreprocessConfig, load_audio, preprocess
from core.errors import ManifestError, MalsoriError

MANIFEST_NAME = "manifest.csv"
SPLITS = ("train", "val", "test")
HASH_SPLIT = (0.8, 0.1, 0.1)  # train/val/test shares when a manifest has no split column



@dataclass(frozen=True)
class PairRecord:
    """One (reference, attempt) pair from a manifest. Paths are absolute."""

    reference: str
    attempt: str
    target: float  # 1 = correct … 0 = wrong (human_score / 100 for real recordings)
    kind: str  # correct | edit | other_word | wrong (real data without a kind)
    n_edits: int  # 0 correct, 1–3 edits, -1 other word or unknown
    word: str
    voice: str
    split: str
    snr_db: float | None  # None = clean
    gain_db: float

    @property
    def label(self) -> int:
        return int(self.target >= 0.5)


def _hash_split(key: str) -> str:
    h = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < HASH_SPLIT[0] else "val" if h < HASH_SPLIT[0] + HASH_SPLIT[1] else "test"


def _float_or_none(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def read_manifest(data_dir: str | os.PathLike, *, missing_hint: str = "") -> list[PairRecord]:
    """DIR/manifest.csv → pair records (either manifest shape, see the module docstring).
    missing_hint: what to say when there is none (default: make a corpus, or write a manifest)."""
    data_dir = Path(data_dir)
    path = data_dir / MANIFEST_NAME
    if data_dir.is_file():
        raise ManifestError(f"{data_dir}: is a file; --data takes the folder that holds {MANIFEST_NAME}"
                            + (f" ({data_dir.parent})" if data_dir.name == MANIFEST_NAME else ""))
    if not path.is_file():
        raise ManifestError(f"{path} not found: " + (
            missing_hint or f"make a corpus with `malsori make-corpus --out {data_dir}` "
                            "or put a manifest.csv (reference, attempt, label or human_score) there"))
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ManifestError(f"{path} holds no pairs")
    columns = set(rows[0])
    missing = {"reference", "attempt"} - columns
    if missing or not ({"label", "human_score"} & columns):
        raise ManifestError(f"{path} needs columns reference, attempt and label or human_score "
                            f"(found: {', '.join(sorted(columns))})")
    records = []
    for line, row in enumerate(rows, start=2):
        try:
            if (row.get("label") or "").strip():
                target = float(row["label"])
            else:
                target = float(row["human_score"]) / 100.0
            if not 0.0 <= target <= 1.0:
                raise ValueError("label must be 0/1, human_score 0–100")
            kind = (row.get("kind") or "").strip() or ("correct" if target >= 0.5 else "wrong")
            n_edits_text = (row.get("n_edits") or "").strip()
            n_edits = int(float(n_edits_text)) if n_edits_text else (0 if kind == "correct" else -1)
            split = (row.get("split") or "").strip() or _hash_split(row["reference"])
            if split not in SPLITS:
                raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
            records.append(PairRecord(
                reference=str(data_dir / row["reference"]),
                attempt=str(data_dir / row["attempt"]),
                target=target,
                kind=kind,
                n_edits=n_edits,
                word=(row.get("word") or "").strip() or Path(row["reference"]).stem,
                voice=(row.get("voice") or "").strip(),
                split=split,
                snr_db=_float_or_none(row.get("snr_db")),
                gain_db=_float_or_none(row.get("gain_db")) or 0.0,
            ))
        except (KeyError, ValueError, TypeError) as exc:
            raise ManifestError(f"{path}, line {line}: {exc}") from exc
    return records


def dataset_hash(records: list[PairRecord]) -> str:
    """A short fingerprint of the pairs (paths relative to nothing: file names + targets)."""
    h = hashlib.sha256()
    for r in records:
        h.update(f"{Path(r.reference).name}|{Path(r.attempt).name}|{r.target}|{r.split}\n".encode())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- image cache


def _preprocess_file(job: tuple[str, PreprocessConfig]) -> tuple[str, np.ndarray | None, str]:
    path, cfg = job
    try:
        utt = preprocess(load_audio(path, sr=cfg.sample_rate), sr=cfg.sample_rate, cfg=cfg)
        return path, utt.image, ""
    except MalsoriError as exc:  # silent / too short takes are dropped, not fatal
        return path, None, str(exc)


def front_end_code_version(package: str | os.PathLike | None = None) -> str:
    """A short hash of the front end's .py sources (default: the installed preprocessing/ and
    core/audio.py, whose resampler every take at another rate goes through).

    Part of the image cache key: a front-end code change that leaves `PreprocessConfig`
    alone must not reuse images the old code made."""
    import core.audio
    import preprocessing

    if package is not None:
        sources = sorted(Path(package).glob("*.py"))
    else:
        sources = [*sorted(Path(preprocessing.__file__).parent.glob("*.py")), Path(core.audio.__file__)]
    h = hashlib.sha256()
    for source in sources:
        h.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _cache_key(paths: list[str], cfg: PreprocessConfig, code_version: str) -> str:
    h = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode())
    h.update(f"front end code {code_version}\n".encode())
    for p in paths:
        st = os.stat(p)
        h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def load_images(
    records: list[PairRecord],
    cfg: PreprocessConfig,
    *,
    cache_dir: Path | None,
    jobs: int = 1,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Every distinct audio file of `records` → its float32 [n_mels, T] image.

    Files the front end refuses (silence, too short) are left out with a count on stderr.
    With `cache_dir`, the images are stored once in an .npz there and reused.
    """
    from core.fileio import atomic_write_bytes

    paths = sorted({r.reference for r in records} | {r.attempt for r in records})
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise ManifestError(f"{len(missing)} audio files of the manifest are missing, e.g. {missing[0]}")
    key = _cache_key(paths, cfg, front_end_code_version())
    cache = cache_dir / f".malsori-images-{key}.npz" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            names, lengths, flat = list(data["names"]), data["lengths"], data["images"]
        ends = np.cumsum(lengths)
        return {n: flat[:, e - l : e] for n, l, e in zip(names, lengths, ends)}

    from tqdm import tqdm

    work = [(p, cfg) for p in paths]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(tqdm(pool.map(_preprocess_file, work, chunksize=16), total=len(work),
                                desc="preprocess", unit="file", disable=not progress))
    else:
        results = [_preprocess_file(w) for w in tqdm(work, desc="preprocess", unit="file", disable=not progress)]
    images = {p: img for p, img, _ in results if img is not None}
    refused = [(p, why) for p, img, why in results if img is None]
    if refused:
        import sys

        print(f"malsori: warning: {len(refused)} of {len(paths)} files refused by the front end "
              f"(e.g. {Path(refused[0][0]).name}: {refused[0][1]})", file=sys.stderr)
    if cache is not None and images:
        names = sorted(images)
        buf = io.BytesIO()
        np.savez(buf, names=np.array(names), lengths=np.array([images[n].shape[1] for n in names]),
                 images=np.concatenate([images[n] for n in names], axis=1))
        atomic_write_bytes(cache, buf.getvalue())
        _note_other_caches(cache)
    return images


def _note_other_caches(cache: Path) -> None:
    """Caches of other front-end versions or file sets are kept (another model or split may use
    them), but their disk space (~200 MB each for a 16-per-word corpus) is worth a line."""
    import sys

    others = [p for p in cache.parent.glob(".malsori-images-*.npz") if p != cache]
    if others:
        size = sum(p.stat().st_size for p in others) / 1e6
        print(f"malsori: note: {len(others)} other image cache(s) in {cache.parent} take {size:.0f} MB; "
              f"delete {cache.parent}/.malsori-images-*.npz to free them (remade when needed)", file=sys.stderr)


def usable(records: list[PairRecord], images: dict[str, np.ndarray]) -> list[PairRecord]:
    return [r for r in records if r.reference in images and r.attempt in images]


# ----------------------------------------------------------------------------- batches


def pad_images(images: list[np.ndarray]):
    """[n_mels, T_i] arrays → (float tensor [B, n_mels, T_max] zero-padded, int64 lengths [B])."""
    import torch

    lengths = torch.tensor([im.shape[1] for im in images], dtype=torch.int64)
    out = torch.zeros(len(images), images[0].shape[0], int(lengths.max()))
    for i, im in enumerate(images):
        out[i, :, : im.shape[1]] = torch.from_numpy(im)
    return out, lengths


@dataclass(frozen=True)
class BalanceConfig:
    """What a training batch is made of: half correct pairs, half wrong ones split by kind."""

    edit_share: float = 0.7  # of the wrong half: one-to-three-phoneme edits (the hard cases)
    # the rest of the wrong half: other words (and unlabelled-kind wrong takes from real data)


class BalancedPairSampler:
    """Draws batches of pair indices: half correct, half wrong (edits vs other words by
    `BalanceConfig`). Seeded; each call draws independently with replacement."""

    def __init__(self, records: list[PairRecord], *, balance: BalanceConfig, seed: int):
        self.rng = np.random.default_rng(seed)
        self.balance = balance
        self.correct = np.array([i for i, r in enumerate(records) if r.target >= 0.5])
        self.edits = np.array([i for i, r in enumerate(records) if r.target < 0.5 and r.n_edits > 0])
        self.others = np.array([i for i, r in enumerate(records) if r.target < 0.5 and r.n_edits <= 0])
        if len(self.correct) == 0 or len(self.edits) + len(self.others) == 0:
            raise ManifestError("the training split needs both correct and wrong pairs")
        # per reference: its correct, edited and other-word attempts (for same-word comparisons)
        by_ref: dict[str, tuple[list, list, list]] = {}
        for i, r in enumerate(records):
            group = by_ref.setdefault(r.reference, ([], [], []))
            group[0 if r.target >= 0.5 else 1 if r.n_edits > 0 else 2].append(i)
        self.groups = [g for g in by_ref.values() if g[0] and (g[1] or g[2])]

    def batch(self, size: int) -> np.ndarray:
        n_pos = size // 2
        n_neg = size - n_pos
        if len(self.edits) and len(self.others):
            n_edit = int(round(n_neg * self.balance.edit_share))
        else:
            n_edit = n_neg if len(self.edits) else 0
        parts = [self.rng.choice(self.correct, n_pos)]
        if n_edit:
            parts.append(self.rng.choice(self.edits, n_edit))
        if n_neg - n_edit:
            parts.append(self.rng.choice(self.others, n_neg - n_edit))
        return np.concatenate(parts)

    def matched(self, n: int) -> np.ndarray:
        """[n, 2] index pairs (correct attempt, wrong attempt) that share one reference:
        the same word said right and wrong, so the loss can rank them directly. Empty when
        no reference has both (e.g. real recordings with one take per reference)."""
        if not self.groups or n <= 0:
            return np.zeros((0, 2), dtype=np.int64)
        out = []
        for g in self.rng.choice(len(self.groups), n):
            correct, edits, others = self.groups[g]
            use_edit = edits and (not others or self.rng.random() < self.balance.edit_share)
            out.append((self.rng.choice(correct), self.rng.choice(edits if use_edit else others)))
        return np.array(out, dtype=np.int64)


def image_utterance(image: np.ndarray):
    """A cached mel image as the Utterance the pair scorer takes (its speech bounds are not
    known here and are not needed: only the image is scored)."""
    from preprocessing import Utterance

    return Utterance(image=image, speech_start_s=0.0, speech_end_s=image.shape[1] / 100, input_duration_s=0.0)
