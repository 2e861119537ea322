"""`malsori train-phonemes`: the phoneme recognizer (CTC) that the scoring model consults.

Every file of a `make-corpus` corpus comes with the phonemes it says (training.targets):
the recognizer learns to spell them from the mel image, over all training voices, noises
and rooms. Early stopping watches what it is for: how well its pronunciation cost
(models.recognizer) separates correct takes from wrong ones on the validation pairs.
`malsori train --phonemes FILE` then puts it into the scoring checkpoint.

For voices espeak-ng does not have: `--real DIR` mixes a share of real human takes (a
`make-realset` folder's train split, training.real_phonemes) into every batch and adds that
folder's val pairs to early stopping; `--init` fine-tunes an existing recognizer; SpecAugment
masks and a frequency warp of the mel image (training.batches.augment_image) regularise.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.errors import UsageError

from .channel_copies import COPIES_DIR
from .dataset import ManifestError, load_images, read_manifest, usable
from .options import ARCHITECTURE, add_architecture_options, add_machine_options, add_run_options, architecture

PHONEMES_FORMAT = "malsori-phonemes"
REAL_DEFAULTS = {"real_share": 0.25, "real_val_weight": 0.5}  # PhonemeTrainConfig's None: not given


@dataclass(frozen=True)
class PhonemeTrainConfig:
    data: str
    out: str
    seed: int = 0
    batch_size: int = 64  # files per step
    steps_per_epoch: int = 250
    max_epochs: int = 40
    patience: int = 6  # epochs without a better validation AUC before stopping
    max_minutes: float = 30.0
    lr: float = 3e-3
    freq_shift_bins: int = 2  # random ± mel-band shift per image (as in `malsori train`)
    # augmentation of every training image (training.batches.augment_image); 0 = off
    freq_warp: float = 0.0  # mel axis stretched by a factor in [1 - w, 1 + w] (vocal tract length, pitch)
    time_stretch: float = 0.0  # time axis resampled by a factor in [1 - s, 1 + s] (speaking rate)
    time_masks: int = 0  # SpecAugment: masked runs of frames per image…
    time_mask_frames: int = 10  # …each up to this many frames (10 ms each)
    freq_masks: int = 0  # masked runs of mel bands per image…
    freq_mask_bands: int = 8  # …each up to this many bands
    # share of each batch's corpus files served as a narrow channel gives them (8 kHz, 8-bit dithered,
    # μ-law: training.channel_copies); validation then also scores the val pairs with a low-grade
    # attempt and with a low-grade reference
    channel_share: float = 0.0
    copies_per_file: int = 1  # low-grade copies per corpus file (each its own channel and dither); one served at random
    # a file of at most SHORT_PHONEMES phonemes is this many times as likely as a longer one to be served
    # low-grade (the mean share over the files stays channel_share): short words are where the dither wins
    short_weight: float = 1.0
    init: str = ""  # start from this recognizer (a train-phonemes file or a malsori checkpoint that has one)
    real: str = ""  # a make-realset folder: its train takes join the batches, its val pairs early stopping
    # with --real: the share of each batch drawn from its takes, and w in the early-stopping score
    # (1 - w) × synthetic val AUC + w × real val AUC. None: not given, REAL_DEFAULTS (real_options)
    real_share: float | None = None
    real_langs: tuple[str, ...] = ()  # only the real takes of these languages ("en", "de", …); empty = all
    real_val_weight: float | None = None
    # with --init: validate and save start + keep × (trained − start) (weight-space interpolation, as
    # WiSE-FT: the fine-tune's new voices with more of the start's espeak-ng skills); 1 = the trained weights
    keep: float = 1.0
    # from scratch: an epoch whose clean synthetic val AUC falls more than NO_REGRESSION under this
    # recognizer's is never kept (with --init the start plays that part)
    baseline: str = ""
    channels: tuple[int, ...] = (16, 32, 32, 32)
    embed_dim: int = 64
    context_layers: int = 2
    threads: int = 2
    jobs: int = 2
    progress: bool = True

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels), "real_langs": list(self.real_langs)}


def pair_costs(recognizer, records, images) -> np.ndarray:
    """models.recognizer.pronunciation_cost of every (reference, attempt) record."""
    import torch

    from models.recognizer import pronunciation_cost

    was_training = recognizer.training
    recognizer.eval()
    with torch.no_grad():
        lp = {p: recognizer.log_probs(images[p]) for p in sorted({r.reference for r in records} |
                                                                 {r.attempt for r in records})}
        costs = np.array([pronunciation_cost(lp[r.reference], lp[r.attempt]) for r in records])
    recognizer.train(was_training)
    return costs


def save_recognizer(path: Path, recognizer, provenance: dict) -> None:
    import torch

    from core.fileio import atomic_write_bytes

    buf = io.BytesIO()
    torch.save({"format": PHONEMES_FORMAT, "dims": recognizer.dims.to_dict(), "symbols": list(recognizer.symbols),
                "state_dict": recognizer.state_dict(), "provenance": provenance}, buf)
    atomic_write_bytes(path, buf.getvalue(), mode=0o644)


def load_recognizer(path: str | Path):
    """A file written by `malsori train-phonemes` → (PhonemeRecognizer in eval mode, its provenance)."""
    import torch

    from models import EncoderDims
    from models.recognizer import PhonemeRecognizer

    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if payload.get("format") != PHONEMES_FORMAT:
            raise ValueError("not a phoneme recognizer")
        recognizer = PhonemeRecognizer(EncoderDims.from_dict(payload["dims"]), payload["symbols"])
        recognizer.load_state_dict(payload["state_dict"])
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such phoneme recognizer (make one with `malsori train-phonemes`)") from None
    except Exception as exc:  # torch raises many types for a damaged file
        raise ManifestError(f"{path}: not a phoneme recognizer from `malsori train-phonemes` ({exc})") from exc
    return recognizer.eval(), dict(payload.get("provenance") or {})


def ctc_loss(logits: list, targets: list):
    """Mean CTC loss of the images that have phoneme targets (lists of symbol ids ≥ 1)."""
    import torch

    have = [i for i, t in enumerate(targets) if t]
    if not have:
        return None
    lengths = torch.tensor([logits[i].shape[0] for i in have])
    padded = torch.nn.utils.rnn.pad_sequence([logits[i] for i in have])  # [T, B, C]
    flat = torch.tensor([s for i in have for s in targets[i]], device=padded.device)
    target_lengths = torch.tensor([len(targets[i]) for i in have])
    return torch.nn.functional.ctc_loss(padded.log_softmax(-1), flat, lengths, target_lengths, zero_infinity=True)


def phoneme_data(cfg: PhonemeTrainConfig, pre, known: tuple[str, ...] | None = None) -> tuple:
    """(images, training files, their CTC targets, val pairs, symbols) of a make-corpus folder.

    known: the symbols of a recognizer to fine-tune (--init); files that say a phoneme it does
    not know are left out. None: the corpus's own symbols."""
    from .targets import phoneme_targets

    records = read_manifest(cfg.data, missing_hint=f"the recognizer trains on a corpus made by `malsori "
                                                   f"make-corpus --out {cfg.data}` (its phonemes come with it)")
    images = load_images(records, pre, cache_dir=Path(cfg.data), jobs=cfg.jobs, progress=cfg.progress)
    records = usable(records, images)
    spoken = phoneme_targets(cfg.data)
    if not spoken:
        raise ManifestError(f"{cfg.data}: no phonemes known for its files (a corpus from `malsori make-corpus` "
                            "has them; a folder of real recordings does not)")
    train_files = sorted({p for r in records if r.split == "train" for p in (r.reference, r.attempt)} & set(spoken))
    val_recs = [r for r in records if r.split == "val"]
    if not train_files or not val_recs:
        raise ManifestError(f"{cfg.data}: need files with phonemes in the train split and pairs in the val split")
    symbols = list(known) if known is not None else sorted({s for seq in spoken.values() for s in seq})
    ids = {s: k + 1 for k, s in enumerate(symbols)}  # 0: CTC blank
    train_files = [p for p in train_files if all(s in ids for s in spoken[p])]
    targets = {p: [ids[s] for s in spoken[p]] for p in train_files}
    return images, train_files, targets, val_recs, symbols


@dataclass
class LowGrade:
    """--channel-share: the low-grade copies' images (copy 0 under the file's own name, further
    copies under `others`' keys); with --init, what the recognizer read in each at the start of
    the epoch (symbol ids; None where it heard nothing); the val pairs as served with a low-grade
    attempt and with a low-grade reference (low_grade_pairs, made once, copy 0 only); each
    file's chance to be served low-grade where it is not channel_share (--short-weight)."""

    images: dict
    readings: dict
    val: dict = field(default_factory=dict)  # "attempt" / "reference" → (records, their images)
    others: dict = field(default_factory=dict)  # file → keys in `images` of its copies 1, 2, … (--copies-per-file)
    shares: dict = field(default_factory=dict)  # file → its chance to be served low-grade (--short-weight)


SHORT_PHONEMES = 3  # "short" for --short-weight: one syllable (이 "i", 새 "s E", 넷 "n e t")


def other_copy_key(path: str, index: int) -> str:
    return f"{path}#copy{index}"


def low_grade_shares(files: list[str], targets: dict, share: float, short_weight: float) -> dict:
    """Each file's chance to be served low-grade: `short_weight` times as high for a file of at
    most SHORT_PHONEMES phonemes as for a longer one, scaled so the mean stays `share` (capped at 1)."""
    weight = {p: short_weight if len(targets[p]) <= SHORT_PHONEMES else 1.0 for p in files}
    mean = float(np.mean(list(weight.values()))) if weight else 1.0
    return {p: min(1.0, share * w / mean) for p, w in weight.items()}


@dataclass
class RealData:
    """--real: the realset's train takes with targets, its val pairs, their images."""

    files: list[str]
    targets: dict[str, list[int]]
    val: list
    images: dict
    summary: dict


def real_data(cfg: PhonemeTrainConfig, pre, symbols: list[str]) -> RealData:
    """The make-realset folder's train takes (targets in the recognizer's symbol ids) and val
    pairs, preprocessed with the recognizer's front end (cached in that folder)."""
    from .real_phonemes import real_takes, real_val_records

    takes = real_takes(cfg.real, set(symbols), split="train", langs=cfg.real_langs)
    if not takes.targets:  # before preprocessing anything into the folder's cache
        langs = f" in {', '.join(cfg.real_langs)}" if cfg.real_langs else ""
        raise ManifestError(f"{cfg.real}: no train-split takes{langs} whose sounds the recognizer knows")
    val = real_val_records(cfg.real, split="val")
    from .realeval import realset_images

    images = realset_images(cfg.real, pre, jobs=cfg.jobs, progress=cfg.progress)  # the set's one cache
    ids = {s: k + 1 for k, s in enumerate(symbols)}
    files = sorted(p for p in takes.targets if p in images)
    val = usable(val, images)
    if not files or not val:
        raise ManifestError(f"{cfg.real}: need real takes with known phonemes in the train split and pairs in "
                            f"the val split (found {len(files)} takes, {len(val)} val pairs)")
    summary = {**takes.summary(), "files": len(files), "val_pairs": len(val)}
    return RealData(files, {p: [ids[s] for s in takes.targets[p]] for p in files}, val, images, summary)


def recognizer_epoch(cfg: PhonemeTrainConfig, recognizer, optimizer, images, train_files, targets, rng,
                     *, desc: str, real: RealData | None = None, low: LowGrade | None = None) -> float:
    """steps_per_epoch CTC steps on random training files (with --real, `real_share` of each
    batch from the real takes; with low-grade copies `low`, `channel_share` of the corpus files
    served as a narrow channel gives them, low_grade_variant); returns the mean loss."""
    from tqdm import tqdm

    from .batches import augment_image, encode

    recognizer.train()
    losses = []
    n_real = int(round(cfg.batch_size * cfg.real_share)) if real is not None else 0
    bar = tqdm(range(cfg.steps_per_epoch), desc=desc, unit="step", disable=not cfg.progress, leave=False)
    for _ in bar:
        batch = [(train_files[i], images, targets) for i in rng.choice(len(train_files), cfg.batch_size - n_real)]
        if n_real:
            batch += [(real.files[i], real.images, real.targets) for i in rng.choice(len(real.files), n_real)]
        pictures = [imgs[p] for p, imgs, _ in batch]
        said = [tg[p] for p, _, tg in batch]
        if low:
            for k, (p, imgs, _) in enumerate(batch):
                if imgs is images and p in low.images and rng.random() < low.shares.get(p, cfg.channel_share):
                    pictures[k], said[k] = low_grade_variant(p, images[p], said[k], low, rng)
        if augmenting(cfg):
            pictures = [augment_image(im, rng, freq_warp=cfg.freq_warp, time_stretch=cfg.time_stretch,
                                      time_masks=cfg.time_masks, time_mask_frames=cfg.time_mask_frames,
                                      freq_masks=cfg.freq_masks, freq_mask_bands=cfg.freq_mask_bands)
                        for im in pictures]
        _, logits = encode(recognizer, pictures, chunks=4, device="cpu", max_shift=cfg.freq_shift_bins, rng=rng)
        loss = ctc_loss(logits, said)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return float(np.mean(losses))


def copy_readings(recognizer, images: dict) -> dict:
    """What the recognizer reads in each low-grade copy now: symbol ids, None for nothing."""
    import torch

    from models.pronunciation import greedy_phonemes

    recognizer.eval()
    with torch.no_grad():
        out = {p: greedy_phonemes(recognizer.log_probs(im)) or None for p, im in images.items()}
    recognizer.train()
    return out


def low_grade_pairs(records, images: dict, low: dict, side: str) -> tuple[list, dict]:
    """The pairs whose `side` ("attempt" or "reference") has a low-grade copy, that side replaced
    by it and the other heard through its channel (as models.pair.PairScorer.distance serves
    them), with the images they need."""
    from dataclasses import replace

    from preprocessing.channel import through_channel

    other = "reference" if side == "attempt" else "attempt"
    recs, pictures = [], dict(images)
    for k, r in enumerate(records):
        narrow = getattr(r, side)
        if narrow not in low:
            continue
        pictures[f"low-grade:{narrow}"] = low[narrow]
        heard = through_channel(images[getattr(r, other)], low[narrow])
        if heard is not None:
            pictures[f"heard:{k}"] = heard
        recs.append(replace(r, **{side: f"low-grade:{narrow}",
                                  other: f"heard:{k}" if heard is not None else getattr(r, other)}))
    return recs, pictures


def low_grade_variant(path: str, image: np.ndarray, target: list[int], low, rng) -> tuple[np.ndarray, list[int]]:
    """A corpus file as a narrow channel gives it to the recognizer, and what to read in it: half
    the time its low-grade copy, on the file's phonemes; else the clean image heard through the
    copy's channel (what PairScorer makes of a take matched to a band-limited partner,
    preprocessing.channel), to be read as the recognizer reads the real copy — so both sides of
    a matched pair read alike, whichever one is the real low-grade file. A copy that is not
    band-limited (8-bit at full rate) is always itself. With more than one copy of the file
    (--copies-per-file), one of them at random."""
    from preprocessing.channel import through_channel

    key = path
    if low.others.get(path):
        choices = [path, *low.others[path]]
        key = choices[int(rng.integers(len(choices)))]
    heard = through_channel(image, low.images[key])
    if heard is None or low.readings.get(key) is None or rng.random() < 0.5:
        return low.images[key], target
    return heard, low.readings[key]


def augmenting(cfg: PhonemeTrainConfig) -> bool:
    return bool(cfg.freq_warp > 0 or cfg.time_stretch > 0 or cfg.time_masks > 0 or cfg.freq_masks > 0)


def validate(cfg: PhonemeTrainConfig, recognizer, val_recs, images, real: RealData | None,
             low: LowGrade | None = None) -> dict:
    """The pronunciation cost's validation AUCs; `score` (what early stopping keeps the best
    of) is the synthetic val AUC — with low-grade copies, the mean of it and the AUCs of the
    same pairs with a low-grade attempt and with a low-grade reference — or with --real its
    blend with the real val pairs' AUC
    (correct vs one edit and vs other item), so a recognizer that gains people but loses
    espeak-ng's distinctions is not kept."""
    from .metrics import validation_metrics

    m = validation_metrics(val_recs, pair_costs(recognizer, val_recs, images))
    m["score"] = m["val_auc"]
    if low:  # the val pairs as served with a low-grade attempt, and with a low-grade reference
        for side, (recs, pictures) in low.val.items():
            c = validation_metrics(recs, pair_costs(recognizer, recs, pictures))
            m.update({f"low_grade_{'' if side == 'attempt' else 'ref_'}{k}": v for k, v in c.items()})
        m["score"] = (m["val_auc"] + m["low_grade_val_auc"] + m["low_grade_ref_val_auc"]) / 3
    if real is not None:
        r = validation_metrics(real.val, pair_costs(recognizer, real.val, real.images))
        m.update({f"real_{k}": v for k, v in r.items()})
        m["score"] = (1 - cfg.real_val_weight) * m["score"] + cfg.real_val_weight * r["val_auc"]
    return m


def start_recognizer(cfg: PhonemeTrainConfig):
    """(recognizer or None, front-end config, the start's lineage or None): --init's recognizer,
    front end and provenance, or (None, default, None)."""
    from models.checkpoint import lineage
    from preprocessing import PreprocessConfig

    if not cfg.init:
        return None, PreprocessConfig(), None
    recognizer, pre, provenance = recognizer_in(cfg.init, "--init")
    return recognizer, pre, lineage(provenance)


def recognizer_in(path: str, option: str):
    """(recognizer, front-end config, its provenance) of a `train-phonemes` file or of a malsori
    checkpoint with one."""
    from core.errors import ModelError
    from models import load_checkpoint
    from preprocessing import PreprocessConfig

    try:
        recognizer, provenance = load_recognizer(path)
        return recognizer.train(), PreprocessConfig(), provenance
    except ManifestError:
        pass
    try:
        start = load_checkpoint(path)
    except ModelError as exc:
        raise ManifestError(f"{option} {path}: neither a recognizer from `malsori train-phonemes` nor a "
                            "malsori checkpoint (.pt file) with one") from exc
    if start.pair.recognizer is None:
        raise ManifestError(f"{option} {path}: this checkpoint has no phoneme recognizer")
    return start.pair.recognizer.train(), start.preprocess, start.provenance.get("phonemes") or {}


def describe(m: dict) -> str:
    text = f"val AUC {m['val_auc']:.4f} (1-edit {m['auc_edit1']:.4f}, other word {m['auc_other']:.4f})"
    if "low_grade_val_auc" in m:
        text += (f"; low-grade attempts {m['low_grade_val_auc']:.4f} (1-edit {m['low_grade_auc_edit1']:.4f}, "
                 f"other {m['low_grade_auc_other']:.4f}), references {m['low_grade_ref_val_auc']:.4f}")
    if "real_val_auc" in m:
        text += (f"; real val AUC {m['real_val_auc']:.4f} (1-edit {m['real_auc_edit1']:.4f}, "
                 f"other {m['real_auc_other']:.4f}); score {m['score']:.4f}")
    return text


def run_epochs(cfg: PhonemeTrainConfig, recognizer, optimizer, synthetic: tuple, real: RealData | None, rng,
               started: float, low: LowGrade | None = None) -> tuple[dict | None, list, str, dict]:
    """Train until max_epochs, early stopping or the time cap; leave the best weights in
    `recognizer` (with --init, the start itself if no epoch beats it). Returns (the start's
    validation metrics or None, per-epoch history, why it stopped, the kept weights' metrics
    with their epoch, 0 for the start). From scratch with --baseline, the first value is the
    baseline's metrics; if no epoch holds its synthetic val AUC, the last epoch is kept (epoch
    in the returned metrics, with "held_baseline": False)."""
    from tqdm import tqdm

    from .batches import weights_snapshot

    images, train_files, targets, val_recs = synthetic
    best, best_state, bad, history, stop, init_metrics = -1.0, None, 0, [], "max_epochs", None
    top = -1.0  # from scratch, patience counts from the best epoch of all: a run still climbing towards --baseline goes on
    start_state = weights_snapshot(recognizer) if cfg.init else None
    chosen = {"epoch": 0}
    if cfg.init:  # the start is a candidate too: a fine-tune that only loses is not kept
        init_metrics = validate(cfg, recognizer, val_recs, images, real, low)
        best, best_state = init_metrics["score"], start_state  # never modified in place
        chosen = {**init_metrics, "epoch": 0}
        tqdm.write(f"epoch 0 (--init): {describe(init_metrics)}")
        sys.stdout.flush()
    elif cfg.baseline:  # a guard, not a candidate: from scratch there is no start to fall back on
        baseline = recognizer_in(cfg.baseline, "--baseline")[0].eval()
        init_metrics = validate(cfg, baseline, val_recs, images, real, low)
        tqdm.write(f"baseline (--baseline, not a candidate): {describe(init_metrics)}")
        sys.stdout.flush()
    for epoch in range(1, cfg.max_epochs + 1):
        if low is not None and cfg.init:  # heard images learn to read as the copies are read now
            low.readings = copy_readings(recognizer, low.images)
        loss = recognizer_epoch(cfg, recognizer, optimizer, images, train_files, targets, rng,
                                desc=f"epoch {epoch}", real=real, low=low)
        trained = weights_snapshot(recognizer)
        if start_state is not None and cfg.keep != 1.0:
            recognizer.load_state_dict(interpolate(start_state, trained, cfg.keep))
        metrics = validate(cfg, recognizer, val_recs, images, real, low)
        metrics.update(epoch=epoch, loss=loss, minutes=(time.monotonic() - started) / 60)
        history.append(metrics)
        improved = metrics["score"] > best and not regressed(metrics, init_metrics)
        climbing = not cfg.init and metrics["score"] > top
        top = max(top, metrics["score"])
        if improved:
            best, chosen = metrics["score"], metrics
            best_state = weights_snapshot(recognizer)
        bad = 0 if improved or climbing else bad + 1
        recognizer.load_state_dict(trained)  # training goes on from the trained weights
        tqdm.write(f"epoch {epoch}: CTC loss {metrics['loss']:.3f}  {describe(metrics)}"
                   f"{'  *best*' if improved else ''}  {metrics['minutes']:.1f} min")
        sys.stdout.flush()
        if bad >= cfg.patience:
            stop = "early_stopping"
            break
        per_epoch = (time.monotonic() - started) / 60 / epoch
        if (time.monotonic() - started) / 60 + per_epoch > cfg.max_minutes:
            stop = "time_cap"
            break
    if best_state is not None:
        recognizer.load_state_dict(best_state)
    elif history:  # from scratch, no epoch held --baseline: the last one, said so
        chosen = {**history[-1], "held_baseline": False}
        tqdm.write(f"no epoch held the --baseline's synthetic val AUC; the last epoch ({len(history)}) is saved")
    return init_metrics, history, stop, chosen


NO_REGRESSION = 0.005  # with --init, an epoch may lose at most this much synthetic (clean) val AUC


def regressed(metrics: dict, start: dict | None) -> bool:
    """Whether a fine-tune's epoch lost the start's espeak-ng distinctions (clean synthetic val
    AUC more than NO_REGRESSION under the start's): such an epoch is never kept, whatever its
    blended score gained on people or low-grade audio."""
    return start is not None and metrics["val_auc"] < start["val_auc"] - NO_REGRESSION


def interpolate(start: dict, trained: dict, keep: float) -> dict:
    """start + keep × (trained − start), tensor by tensor (integer buffers: the trained ones)."""
    return {k: start[k] + keep * (v - start[k]) if v.is_floating_point() else v for k, v in trained.items()}


def real_options(cfg: PhonemeTrainConfig) -> PhonemeTrainConfig:
    """`cfg` with real_share and real_val_weight not given (None) set to REAL_DEFAULTS, so the
    run and its provenance read numbers. An option for --real's takes given without --real is
    refused, even at its default value, rather than ignored without a word."""
    if not cfg.real:
        for option, given, use in (
                ("--real-langs", bool(cfg.real_langs), "chooses among the takes of --real DIR"),
                ("--real-share", cfg.real_share is not None, "sets the share of --real DIR's takes in each batch"),
                ("--real-val-weight", cfg.real_val_weight is not None,
                 "weighs --real DIR's val pairs in early stopping")):
            if given:
                raise UsageError(f"{option} {use}: pass --real too")
    return replace(cfg, **{k: v for k, v in REAL_DEFAULTS.items() if getattr(cfg, k) is None})


def check_options(cfg: PhonemeTrainConfig) -> None:
    """Refuse option values that would crash a run or quietly train on nonsense (UsageError)."""
    ranges = {  # option: (value, lowest, highest, inclusive highest)
        "--real-share": (cfg.real_share, 0.0, 1.0, False),  # 1 would leave no synthetic file in a batch
        "--real-val-weight": (cfg.real_val_weight, 0.0, 1.0, True),
        "--channel-share": (cfg.channel_share, 0.0, 1.0, True),
        "--keep": (cfg.keep, 0.0, 1.0, True),
        "--freq-warp": (cfg.freq_warp, 0.0, 1.0, False),  # a factor 1 - W must stay above 0
        "--time-stretch": (cfg.time_stretch, 0.0, 1.0, False),
    }
    if cfg.copies_per_file < 1:
        raise UsageError(f"--copies-per-file must be 1 or more, not {cfg.copies_per_file}")
    if not (0 < cfg.short_weight < math.inf):  # nan fails too: it would serve every file low-grade
        raise UsageError(f"--short-weight must be a number above 0, not {cfg.short_weight:g}")
    if cfg.channel_share == 0 and (cfg.copies_per_file != 1 or cfg.short_weight != 1.0):
        raise UsageError("--copies-per-file and --short-weight shape the low-grade copies of --channel-share: pass it too")
    for name, (value, low, high, closed) in ranges.items():
        if not (low <= value <= high if closed else low <= value < high):
            raise UsageError(f"{name} must lie in [{low:g}, {high:g}{']' if closed else ')'}, not {value:g}")
    for name, value in (("--time-masks", cfg.time_masks), ("--freq-masks", cfg.freq_masks),
                        ("--time-mask-frames", cfg.time_mask_frames), ("--freq-mask-bands", cfg.freq_mask_bands)):
        if value < 0:
            raise UsageError(f"{name} must be 0 or more, not {value}")
    if cfg.baseline and cfg.init:
        raise UsageError("--baseline guards a run from scratch; with --init the start is the baseline already")
    if cfg.keep != 1.0 and not cfg.init:
        raise UsageError("--keep interpolates from the --init start: pass --init CKPT too")
    if cfg.batch_size < 1:
        raise UsageError(f"--batch-size must be 1 or more, not {cfg.batch_size}")
    if cfg.real and cfg.real_share > 0 and round(cfg.batch_size * cfg.real_share) < 1:
        raise UsageError(f"--real-share {cfg.real_share:g} of a batch of {cfg.batch_size} is no real take at all: "
                         "raise --real-share or --batch-size")


def train_phonemes(cfg: PhonemeTrainConfig) -> dict:
    import torch

    from models import EncoderDims, count_parameters
    from models.recognizer import PhonemeRecognizer

    from core.fileio import check_writable

    cfg = real_options(cfg)
    check_options(cfg)
    check_writable(cfg.out)  # an unwritable --out is said now, not after the training it would lose
    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.monotonic()
    recognizer, pre, started_from = start_recognizer(cfg)
    images, train_files, targets, val_recs, symbols = phoneme_data(
        cfg, pre, recognizer.symbols if recognizer is not None else None)
    real = real_data(cfg, pre, symbols) if cfg.real else None
    low = None
    if cfg.channel_share > 0:
        from .channel_copies import low_grade_images

        low_images = low_grade_images(cfg.data, sorted(set(train_files) | {p for r in val_recs for p in (r.reference, r.attempt)}), pre,
                                      jobs=cfg.jobs, progress=cfg.progress)
        val = {side: low_grade_pairs(val_recs, images, low_images, side) for side in ("attempt", "reference")}
        others: dict = {}
        for index in range(1, cfg.copies_per_file):  # further copies: training only (val keeps copy 0)
            for p, im in low_grade_images(cfg.data, train_files, pre, jobs=cfg.jobs, progress=cfg.progress,
                                          index=index).items():
                low_images[other_copy_key(p, index)] = im
                others.setdefault(p, []).append(other_copy_key(p, index))
        shares = (low_grade_shares([p for p in train_files if p in low_images], targets, cfg.channel_share,
                                   cfg.short_weight) if cfg.short_weight != 1.0 else {})
        low = LowGrade(low_images, {}, val, others, shares)  # readings: filled before each epoch (run_epochs), with --init
    if recognizer is None:
        dims = EncoderDims(n_mels=pre.n_mels, channels=cfg.channels, embed_dim=cfg.embed_dim,
                           context_layers=cfg.context_layers)
        recognizer = PhonemeRecognizer(dims, symbols)
    optimizer = torch.optim.Adam(recognizer.parameters(), lr=cfg.lr)
    init_metrics, history, stop, chosen = run_epochs(cfg, recognizer, optimizer,
                                                     (images, train_files, targets, val_recs), real, rng, started, low)
    keys = [k for k in ("auc_edit1", "auc_other", "val_auc", "low_grade_auc_edit1", "low_grade_auc_other",
                        "low_grade_val_auc", "low_grade_ref_val_auc", "real_auc_edit1", "real_auc_other", "real_val_auc", "score") if k in chosen]
    summary = {"best_epoch": chosen["epoch"], "epochs_run": len(history), "stop_reason": stop,
               "held_baseline": chosen.get("held_baseline", True) if cfg.baseline else None,
               "val_metrics": {k: chosen[k] for k in keys}, "init_metrics": init_metrics,
               "minutes": (time.monotonic() - started) / 60, "parameters": count_parameters(recognizer),
               "symbols": len(symbols), "synthetic_files": len(train_files),
               "real": real.summary if real is not None else None,
               "low_grade_files": len(low.images) - sum(map(len, low.others.values())) if low is not None else None,
               "low_grade_copies": len(low.images) if low is not None else None}
    save_recognizer(Path(cfg.out), recognizer,
                    {"trainer": "malsori train-phonemes", "config": cfg.to_dict(), **summary, "history": history,
                     "torch": str(torch.__version__), "started_from": started_from})
    return summary


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = PhonemeTrainConfig(data="", out="")
    p.add_argument("--data", required=True, type=Path, help="corpus folder made by `malsori make-corpus`")
    p.add_argument("--out", required=True, type=Path, help="where to write the recognizer (.pt)")
    add_run_options(p, d, batch_unit="files")
    p.add_argument("--init", default=d.init, metavar="CKPT",
                   help="fine-tune this recognizer: a `train-phonemes` file or a malsori checkpoint with one "
                        "(e.g. assets/models/malsori.pt: its first, espeak-ng recognizer; the voices recognizer is "
                        "assets/models/candidates/voices-recognizer.pt); its symbols and front end are kept, corpus files with "
                        "other phonemes are left out; the start itself is kept if no epoch beats it, and an epoch "
                        "whose clean val AUC falls more than 0.005 under the start's is never kept")
    p.add_argument("--baseline", default=d.baseline, metavar="CKPT",
                   help="from scratch: an epoch whose clean synthetic val AUC falls more than 0.005 under this "
                        "recognizer's (e.g. assets/models/malsori.pt) is never kept, whatever it gains on people "
                        "or low-grade audio; the baseline itself is not a candidate")
    p.add_argument("--real", default=d.real, metavar="DIR",
                   help="a `make-realset` folder: its train-split takes (every language espeak-ng speaks; "
                        "targets are espeak-ng's phonemes of the take's text mapped onto the recognizer's "
                        "symbols, takes with unknown sounds skipped and counted) join each batch, and its val "
                        "pairs join early stopping (a front-end image cache is written into DIR)")
    p.add_argument("--real-langs", nargs="+", default=list(d.real_langs), metavar="LANG",
                   help="train on the real takes of these languages only (e.g. en); default: every language")
    # default None: given at all without --real is refused (real_options), even at the default value
    p.add_argument("--real-share", type=float, default=d.real_share,
                   help="share of each batch drawn from the real takes, in [0, 1) (with --real; default: "
                        f"{REAL_DEFAULTS['real_share']})")
    p.add_argument("--real-val-weight", type=float, default=d.real_val_weight,
                   help="early stopping keeps the epoch with the best (1 - W) × synthetic val AUC + "
                        f"W × real val AUC (with --real; default: {REAL_DEFAULTS['real_val_weight']})")
    p.add_argument("--keep", type=float, default=d.keep,
                   help="with --init: validate and save start + KEEP × (trained - start), a weight-space "
                        "interpolation that keeps more of the start's skills, in [0, 1] (1 = the trained weights; default: %(default)s)")
    p.add_argument("--freq-warp", type=float, default=d.freq_warp,
                   help="vocal-tract-length / pitch warp: stretch each image's mel axis by a random factor "
                        "in [1 - W, 1 + W] (0 = off; e.g. 0.1)")
    p.add_argument("--time-stretch", type=float, default=d.time_stretch,
                   help="resample each image in time by a random factor in [1 - S, 1 + S] (0 = off)")
    p.add_argument("--time-masks", type=int, default=d.time_masks,
                   help="SpecAugment: this many masked runs of frames per image (0 = off)")
    p.add_argument("--time-mask-frames", type=int, default=d.time_mask_frames,
                   help="longest time mask, in frames (capped at a fifth of the take; default: %(default)s)")
    p.add_argument("--freq-masks", type=int, default=d.freq_masks,
                   help="SpecAugment: this many masked runs of mel bands per image (0 = off)")
    p.add_argument("--freq-mask-bands", type=int, default=d.freq_mask_bands, help="widest frequency mask, in bands (default: %(default)s)")
    p.add_argument("--channel-share", type=float, default=d.channel_share, metavar="S",
                   help="share of the corpus files in each batch served as a low-grade copy (one per file, or --copies-per-file: 8 kHz "
                   "8-bit dithered, 8 kHz 16-bit, 8 kHz μ-law or 16 kHz 8-bit dithered; written once into DATA/%s); early stopping then scores the mean of the clean "
                   "val AUC and the val AUCs with low-grade attempts and with low-grade references (default: "
                   "%%(default)s, off)" % COPIES_DIR)
    p.add_argument("--copies-per-file", type=int, default=d.copies_per_file, metavar="N",
                   help="with --channel-share: N low-grade copies of each training file, each with its own channel "
                        "and dither (copy 0 is the one a run without this option makes; the others are named "
                        "…-c1.wav, …-c2.wav), one of them served at random; val uses copy 0 (default: %(default)s)")
    p.add_argument("--short-weight", type=float, default=d.short_weight, metavar="W",
                   help=f"with --channel-share: a file of at most {SHORT_PHONEMES} phonemes is W times as likely as a "
                        "longer one to be served low-grade, the mean share staying S (default: %(default)s)")
    add_architecture_options(p, d)
    add_machine_options(p, d)


def run(args: argparse.Namespace) -> int:
    names = set(PhonemeTrainConfig.__dataclass_fields__) - set(ARCHITECTURE)  # as train.config_from_args
    kwargs = {k: v for k, v in vars(args).items() if k in names and v is not None} | architecture(args)
    kwargs["data"], kwargs["out"] = str(Path(args.data).resolve()), str(Path(args.out).resolve())
    kwargs["real_langs"] = tuple(kwargs.get("real_langs") or ())
    for key in ("init", "real", "baseline"):
        kwargs[key] = str(Path(kwargs[key]).resolve()) if kwargs.get(key) else ""
    s = train_phonemes(PhonemeTrainConfig(**kwargs))
    m = s["val_metrics"]
    if s["real"] is not None:
        r = s["real"]
        print(f"real takes: {r['takes']} files of {sum(r['by_lang'].values())} takes in {len(r['by_lang'])} "
              f"languages; {r['skipped']} takes skipped (a sound the recognizer has no symbol for)")
    real = (f"; real val AUC 1-edit {m['real_auc_edit1']:.3f}, other {m['real_auc_other']:.3f}"
            if "real_auc_edit1" in m else "")
    if "low_grade_val_auc" in m:
        real += (f"; low-grade attempts' val AUC 1-edit {m['low_grade_auc_edit1']:.3f}, other "
                 f"{m['low_grade_auc_other']:.3f}, low-grade references' {m['low_grade_ref_val_auc']:.3f}")
    print(f"best epoch {s['best_epoch']} of {s['epochs_run']} ({s['stop_reason']}, {s['minutes']:.1f} min): "
          f"val AUC 1-edit {m['auc_edit1']:.3f}, other word {m['auc_other']:.3f}{real}; "
          f"{s['parameters']:,} parameters, {s['symbols']} phonemes → {args.out}")
    return 0
