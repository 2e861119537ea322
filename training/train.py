"""`malsori train`: a Siamese frame encoder on manifest pairs, with early stopping and calibration.

One process by default (CPU, or the GPU when there is one). For more data than one machine
handles, the same script runs under torchrun with DistributedDataParallel:

    torchrun --nproc_per_node=4 -m training.train --data DIR --out model.pt

Every rank draws its own balanced batches (seed + rank); gradients are averaged by DDP;
all ranks validate the identical model and rank 0 alone writes files.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .dataset import (
    BalanceConfig,
    BalancedPairSampler,
    ManifestError,
    PairRecord,
    dataset_hash,
    load_images,
    pad_images,
    read_manifest,
    usable,
)


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; saved in the checkpoint's provenance."""

    data: str
    out: str
    seed: int = 0
    batch_size: int = 32  # pairs per step (half correct, half wrong)
    steps_per_epoch: int = 100
    max_epochs: int = 60
    patience: int = 8  # epochs without a better validation AUC before stopping
    max_minutes: float = 40.0  # wall-clock cap for the whole run (the shipped model: ≤ 45 min on 2 cores)
    lr: float = 2e-3
    lr_decay: str = "none"  # none | cosine (to zero over max_epochs: late epochs refine instead of jitter)
    weight_decay: float = 0.0
    margin: float = 0.5  # contrastive margin on the DTW distance (cosine units, 0..2)
    rank_weight: float = 1.0  # weight of the same-word ranking loss (0 = contrastive only)
    rank_margin: float = 0.1  # a wrong take of a word must be this much further than a right one
    matched_share: float = 0.5  # share of a batch drawn as (right, wrong) takes of the same reference
    # share of pairs whose left side is another *correct take* of the word instead of its reference:
    # both sides then vary in voice, speed and noise (many more speaker pairings than reference-only)
    take_anchor_share: float = 0.0
    distance_power: float = 2.0  # pair distance = power mean of aligned costs (see models.distance)
    edit_margin: tuple[float, float, float] = (0.6, 0.8, 0.9)  # share of `margin` for 1/2/3-edit pairs
    freq_shift_bins: int = 2  # random ± mel-band shift per image (a cheap vocal-tract-length perturbation)
    val_max_pairs: int = 1500  # validation pairs (a fixed, seeded subset)
    length_chunks: int = 4  # a batch is encoded in this many length-sorted groups (less padding)
    channels: tuple[int, ...] = (16, 32, 32, 32)
    embed_dim: int = 64
    context_layers: int = 2
    band_norm: bool = True
    good_score: float = 90.0  # calibration: this score at the 80th percentile of correct distances…
    edit_score: float = 30.0  # …and this at the median one-edit (or wrong) distance
    threads: int = 2
    device: str = "auto"  # auto | cpu | cuda
    jobs: int = 2  # preprocessing worker processes
    resume: bool = False
    init: str = ""  # start from this checkpoint's weights and dimensions (fine-tune, e.g. on a school's takes)
    # a recognizer from `malsori train-phonemes` to put into the checkpoint; its weight in the pair
    # distance is chosen on the validation pairs (0 when it does not help)
    phonemes: str = ""
    progress: bool = True

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"], d["edit_margin"] = list(self.channels), list(self.edit_margin)
        return d


def state_path(out: Path) -> Path:
    """Where the resumable training state lives next to the model file."""
    return out.with_name(out.name + ".state")


# ----------------------------------------------------------------------------- distances


def encode(net, images: list[np.ndarray], *, chunks: int, device, max_shift: int = 0, rng=None):
    """Images [n_mels, T_i] → (embeddings [T_i, D], phoneme logits [T_i, C] or None) per image,
    with gradients, in `chunks` length-sorted groups so that short takes are not padded to the
    longest one of the batch."""
    order = np.argsort([im.shape[1] for im in images])
    emb_out, logit_out = [None] * len(images), [None] * len(images)
    for group in np.array_split(order, max(1, min(chunks, len(images)))):
        if len(group) == 0:
            continue
        batch, lengths = pad_images([images[i] for i in group])
        if max_shift and rng is not None:
            batch = _shift_bands(batch, max_shift, rng)
        out = net(batch.to(device), lengths.to(device))  # an encoder: embeddings; a recognizer: (embeddings, logits)
        emb, logits = out if isinstance(out, tuple) else (out, None)
        for k, i in enumerate(group):
            emb_out[i] = emb[k, : int(lengths[k])]
            logit_out[i] = None if logits is None else logits[k, : int(lengths[k])]
    return emb_out, logit_out


def take_anchors(recs: list[PairRecord], n_matched: int, correct_takes: dict, *, share: float, rng) -> list[str]:
    """The left side of each pair: its reference, or (with chance `share`) another correct take
    of the same word. recs starts with `n_matched` (right, wrong) couples that keep one anchor
    between them so that their ranking stays a comparison against the same thing."""
    left = [r.reference for r in recs]
    k = 0
    while k < len(recs):
        width = 2 if k < 2 * n_matched else 1
        r = recs[k]
        others = [a for a in correct_takes.get(r.reference, ()) if a != r.attempt]
        if others and rng.random() < share:
            left[k : k + width] = [others[int(rng.integers(len(others)))]] * width
        k += width
    return left


def pair_distances(emb, lengths, pairs: list[tuple[int, int]], *, power: float = 1.0):
    """Mean cosine cost along the DTW path for each (i, j) pair of embeddings.

    emb: a padded [N, T, D] tensor with `lengths`, or a list of [T_i, D] tensors (lengths
    None). Returns a [P] tensor with gradients (the path itself is chosen without them)."""
    import torch

    from models.distance import dtw_distance

    if lengths is not None:
        emb = [emb[i, : lengths[i]] for i in range(len(lengths))]
    return torch.stack([dtw_distance(emb[i], emb[j], power=power)[0] for i, j in pairs])


def auc(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting half (Mann–Whitney)."""
    from scipy.stats import rankdata

    pos, neg = np.asarray(pos_scores, float), np.asarray(neg_scores, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def embed_all(model, images: dict[str, np.ndarray], names: list[str], device) -> dict:
    """One image at a time, unpadded: exactly what Scorer.embed computes."""
    import torch

    out = {}
    with torch.no_grad():
        for n in names:
            out[n] = model(torch.from_numpy(images[n]).unsqueeze(0).to(device))[0].cpu()
    return out


def validation_distances(model, records: list[PairRecord], images, device) -> np.ndarray:
    from models.distance import dtw_distance

    was_training = model.training
    model.eval()
    emb = embed_all(model, images, sorted({r.reference for r in records} | {r.attempt for r in records}), device)
    power = model.dims.distance_power
    d = np.array([float(dtw_distance(emb[r.reference], emb[r.attempt], power=power)[0]) for r in records])
    model.train(was_training)
    return d


def validation_metrics(records: list[PairRecord], distances: np.ndarray) -> dict:
    """AUCs on -distance: correct vs one edit, correct vs other word, correct vs all wrong.

    `val_auc` (the early-stopping metric) is the mean of the edit and other-word AUCs that exist.
    """
    score = -distances
    correct = np.array([r.target >= 0.5 for r in records])
    edit1 = np.array([r.target < 0.5 and r.n_edits == 1 for r in records])
    other = np.array([r.target < 0.5 and r.n_edits <= 0 for r in records])
    m = {
        "auc_edit1": auc(score[correct], score[edit1]),
        "auc_other": auc(score[correct], score[other]),
        "auc_wrong": auc(score[correct], score[~correct]),
    }
    parts = [v for k, v in m.items() if k != "auc_wrong" and not math.isnan(v)]
    m["val_auc"] = float(np.mean(parts)) if parts else m["auc_wrong"]
    return m


PHONEME_WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def fit_phoneme_weight(records: list[PairRecord], distances: np.ndarray, costs: np.ndarray) -> float:
    """The weight w of `distance + w × phoneme cost` with the best validation AUC (ties: smaller w)."""
    scored = [(validation_metrics(records, distances + w * costs)["val_auc"], -w) for w in PHONEME_WEIGHTS]
    return -max(scored)[1]


def fit_calibration(records: list[PairRecord], distances: np.ndarray, *, good_score: float, edit_score: float):
    """Correct pairs' 80th-percentile distance → good_score; median one-edit distance (or
    median wrong distance when there are no edits) → edit_score."""
    from models.calibration import Calibration, calibration_through

    correct = np.array([r.target >= 0.5 for r in records])
    edit1 = np.array([r.target < 0.5 and r.n_edits == 1 for r in records])
    wrong = distances[edit1] if edit1.any() else distances[~correct]
    d_good = float(np.percentile(distances[correct], 80))
    d_bad = float(np.median(wrong))
    if not d_good < d_bad:  # a model that does not separate: fall back to medians
        return Calibration.fit(distances[correct], distances[~correct], good_score=good_score)
    return calibration_through(d_good, good_score, d_bad, edit_score)


# ----------------------------------------------------------------------------- the run


def _setup_distributed():
    """(rank, world_size); initialises torch.distributed when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch
    import torch.distributed as dist

    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), world


def _pick_device(name: str, rank: int):
    import torch

    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", rank % max(1, torch.cuda.device_count()))
    return torch.device("cpu")


def _shift_bands(images, max_shift: int, rng: np.random.Generator):
    """Roll each image by a random ±max_shift mel bands (edges repeat): VTLN-style augmentation."""
    import torch

    if max_shift <= 0:
        return images
    out = images.clone()
    for i, s in enumerate(rng.integers(-max_shift, max_shift + 1, size=len(images))):
        if s > 0:
            out[i, s:] = images[i, :-s]
            out[i, :s] = images[i, :1]
        elif s < 0:
            out[i, :s] = images[i, -s:]
            out[i, s:] = images[i, -1:]
    return out


def train(cfg: TrainConfig) -> dict:
    """Run training; writes cfg.out (best model, calibrated) and cfg.out + '.state' (resumable).

    Returns a summary dict (best epoch, validation metrics, seconds, …).
    """
    import torch
    from tqdm import tqdm

    from models import Checkpoint, EncoderDims, FrameEncoder, contrastive_loss, count_parameters, save_checkpoint
    from preprocessing import PreprocessConfig

    torch.set_num_threads(max(1, cfg.threads))
    rank, world = _setup_distributed()
    device = _pick_device(cfg.device, rank)
    torch.manual_seed(cfg.seed + rank)
    rng = np.random.default_rng(cfg.seed + rank)
    started = time.monotonic()
    out = Path(cfg.out)
    show = cfg.progress and rank == 0

    records = read_manifest(cfg.data)
    pre = PreprocessConfig()
    images = load_images(records, pre, cache_dir=Path(cfg.data), jobs=cfg.jobs, progress=show)
    records = usable(records, images)
    train_recs = [r for r in records if r.split == "train"]
    val_recs = [r for r in records if r.split == "val"]
    if not train_recs or not val_recs:
        raise ManifestError(f"{cfg.data}: need pairs in both the train and the val split "
                            f"(found {len(train_recs)} train, {len(val_recs)} val)")
    if len(val_recs) > cfg.val_max_pairs:
        keep = np.random.default_rng(cfg.seed).choice(len(val_recs), cfg.val_max_pairs, replace=False)
        val_recs = [val_recs[i] for i in sorted(keep)]
    sampler = BalancedPairSampler(train_recs, balance=BalanceConfig(), seed=cfg.seed + rank)
    correct_takes: dict[str, list[str]] = {}
    for r in train_recs:
        if r.target >= 0.5:
            correct_takes.setdefault(r.reference, []).append(r.attempt)
    dims = EncoderDims(n_mels=pre.n_mels, channels=cfg.channels, embed_dim=cfg.embed_dim,
                       context_layers=cfg.context_layers, band_norm=cfg.band_norm,
                       distance_power=cfg.distance_power)
    if cfg.init:
        from models import load_checkpoint

        start_from = load_checkpoint(cfg.init)
        dims = start_from.model.dims
        model = start_from.model.to(device).train()
        carried = (start_from.phonemes, start_from.provenance.get("phonemes") or {})  # refitted below
    else:
        model = FrameEncoder(dims).to(device)
        carried = (None, {})
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    epoch, best, best_state, bad_epochs, history = 0, -1.0, None, 0, []
    spath = state_path(out)
    if cfg.resume:
        if not spath.is_file():
            raise ManifestError(f"--resume: no training state at {spath}")
        state = torch.load(spath, map_location="cpu", weights_only=False)
        if EncoderDims.from_dict(state["dims"]) != dims:
            raise ManifestError(f"--resume: {spath} was trained with other model dimensions")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        epoch, best, best_state = state["epoch"], state["best"], state["best_state"]
        bad_epochs, history = state["bad_epochs"], state["history"]
        rng = np.random.default_rng(cfg.seed + rank + 1000 * epoch)
        sampler.rng = np.random.default_rng(cfg.seed + rank + 1000 * epoch + 1)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def step() -> float:
        # a batch: `matched_share` as (right, wrong) takes of one reference, the rest balanced
        n_groups = int(cfg.batch_size * cfg.matched_share) // 2 if cfg.rank_weight > 0 else 0
        matched = sampler.matched(n_groups)
        idx = np.concatenate([matched.reshape(-1), sampler.batch(cfg.batch_size - 2 * len(matched))])
        recs = [train_recs[i] for i in idx]
        n = len(recs)
        left = [r.reference for r in recs]
        if cfg.take_anchor_share > 0:
            left = take_anchors(recs, len(matched), correct_takes, share=cfg.take_anchor_share, rng=rng)
        paths = left + [r.attempt for r in recs]
        emb, _ = encode(net, [images[p] for p in paths],
                        chunks=cfg.length_chunks if world == 1 else 1,  # DDP: one forward per backward
                        device=device, max_shift=cfg.freq_shift_bins, rng=rng)
        dist = pair_distances(emb, None, [(i, n + i) for i in range(n)], power=cfg.distance_power)
        same = torch.tensor([r.target for r in recs], device=device)
        margins = torch.tensor(
            [cfg.margin * (cfg.edit_margin[min(r.n_edits, 3) - 1] if r.n_edits > 0 else 1.0) for r in recs],
            device=device,
        )
        loss = contrastive_loss(dist, same, margin=margins)
        if len(matched):
            right, wrong = dist[0 : 2 * len(matched) : 2], dist[1 : 2 * len(matched) : 2]
            loss = loss + cfg.rank_weight * torch.clamp(right - wrong + cfg.rank_margin, min=0.0).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    stop_reason = "max_epochs"
    while epoch < cfg.max_epochs:
        net.train()
        if cfg.lr_decay == "cosine":
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / cfg.max_epochs))
        losses = []
        bar = tqdm(range(cfg.steps_per_epoch), desc=f"epoch {epoch + 1}", unit="step", disable=not show,
                   leave=False)
        for _ in bar:
            losses.append(step())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        epoch += 1
        metrics = validation_metrics(val_recs, validation_distances(model, val_recs, images, device))
        metrics.update(epoch=epoch, loss=float(np.mean(losses)), minutes=(time.monotonic() - started) / 60)
        history.append(metrics)
        improved = metrics["val_auc"] > best
        if improved:
            best, bad_epochs = metrics["val_auc"], 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        if rank == 0:  # one line per epoch, with or without progress bars
            tqdm.write(f"epoch {epoch}: loss {metrics['loss']:.4f}  val AUC {metrics['val_auc']:.4f} "
                       f"(1-edit {metrics['auc_edit1']:.4f}, other word {metrics['auc_other']:.4f})"
                       f"{'  *best*' if improved else ''}  {metrics['minutes']:.1f} min")
            sys.stdout.flush()  # a log file under nohup sees each epoch as it ends
        if rank == 0:
            from preprocessing.fileio import atomic_write_bytes
            import io

            buf = io.BytesIO()
            torch.save({"config": cfg.to_dict(), "dims": dims.to_dict(), "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "epoch": epoch, "best": best,
                        "best_state": best_state, "bad_epochs": bad_epochs, "history": history}, buf)
            atomic_write_bytes(spath, buf.getvalue())
        if bad_epochs >= cfg.patience:
            stop_reason = "early_stopping"
            break
        per_epoch = (time.monotonic() - started) / 60 / max(1, len(history))
        if (time.monotonic() - started) / 60 + per_epoch > cfg.max_minutes:
            stop_reason = "time_cap"
            break

    if best_state is not None:  # None: --max-epochs 0, the --init model as it is
        model.load_state_dict(best_state)
    model.eval()
    val_d = validation_distances(model, val_recs, images, device)
    best_epoch = max(history, key=lambda m: m["val_auc"]) if history else {"epoch": 0, **validation_metrics(val_recs, val_d)}
    phoneme_weight, phoneme_summary = 0.0, {}
    if cfg.phonemes:
        from .phones import load_recognizer

        phonemes, phoneme_provenance = load_recognizer(cfg.phonemes)
    else:  # --init: the recognizer of the model it starts from, if any
        phonemes, phoneme_provenance = carried
    if phonemes is not None:
        from .phones import pair_costs

        costs = pair_costs(phonemes, val_recs, images)
        phoneme_weight = fit_phoneme_weight(val_recs, val_d, costs)
        val_d = val_d + phoneme_weight * costs
        combined = validation_metrics(val_recs, val_d)
        phoneme_summary = {"phoneme_weight": phoneme_weight,
                           "val_metrics_with_phonemes": {k: combined[k] for k in ("auc_edit1", "auc_other", "auc_wrong",
                                                                                  "val_auc")},
                           "phonemes": {k: phoneme_provenance.get(k) for k in ("config", "best_epoch", "val_metrics",
                                                                               "minutes", "parameters")}}
    calibration = fit_calibration(val_recs, val_d, good_score=cfg.good_score, edit_score=cfg.edit_score)
    summary = {
        "best_epoch": best_epoch["epoch"],
        "val_metrics": {k: best_epoch[k] for k in ("auc_edit1", "auc_other", "auc_wrong", "val_auc")},
        **phoneme_summary,
        "epochs_run": epoch,
        "stop_reason": stop_reason,
        "minutes": (time.monotonic() - started) / 60,
        "parameters": count_parameters(model) + (count_parameters(phonemes) if phonemes is not None else 0),
        "train_pairs": len(train_recs),
        "val_pairs": len(val_recs),
        "dataset_hash": dataset_hash(records),
        "world_size": world,
        "device": str(device),
    }
    if rank == 0:
        provenance = {"trainer": "malsori train", "config": cfg.to_dict(), **summary, "history": history,
                      "torch": str(torch.__version__)}
        save_checkpoint(out, Checkpoint(model.cpu(), pre, calibration, provenance, phonemes, phoneme_weight))
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return summary


# ----------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig(data="", out="")
    p.add_argument("--data", required=True, type=Path, help="corpus folder with manifest.csv")
    p.add_argument("--out", required=True, type=Path, help="where to write the trained checkpoint (.pt)")
    p.add_argument("--resume", action="store_true", help="continue from OUT.state (written after each epoch)")
    p.add_argument("--init", type=str, default="", metavar="CHECKPOINT",
                   help="start from this model's weights (fine-tuning, e.g. the shipped model on a school's takes)")
    p.add_argument("--phonemes", type=str, default="", metavar="RECOGNIZER",
                   help="put this recognizer (from `malsori train-phonemes`) into the model; its weight is fitted "
                   "on the val split. With --init and --max-epochs 0: add it to a trained model without training")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="pairs per step")
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch)
    p.add_argument("--max-epochs", type=int, default=d.max_epochs)
    p.add_argument("--patience", type=int, default=d.patience, help="epochs without a better val AUC before stopping")
    p.add_argument("--max-minutes", type=float, default=d.max_minutes, help="wall-clock cap of the run")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--lr-decay", choices=("none", "cosine"), default=d.lr_decay)
    p.add_argument("--margin", type=float, default=d.margin)
    p.add_argument("--rank-weight", type=float, default=d.rank_weight, help="same-word ranking loss weight")
    p.add_argument("--rank-margin", type=float, default=d.rank_margin)
    p.add_argument("--matched-share", type=float, default=d.matched_share)
    p.add_argument("--take-anchor-share", type=float, default=d.take_anchor_share,
                   help="share of pairs compared against another correct take of the word instead of its reference")
    p.add_argument("--distance-power", type=float, default=d.distance_power)
    p.add_argument("--channels", type=lambda s: tuple(int(c) for c in s.split(",")), default=d.channels,
                   help="conv channels, comma-separated (default: 16,32,32,32)")
    p.add_argument("--embed-dim", type=int, default=d.embed_dim)
    p.add_argument("--context-layers", type=int, default=d.context_layers)
    p.add_argument("--no-band-norm", dest="band_norm", action="store_false")
    p.add_argument("--freq-shift-bins", type=int, default=d.freq_shift_bins)
    p.add_argument("--val-max-pairs", type=int, default=d.val_max_pairs)
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d.device)
    p.add_argument("--jobs", type=int, default=d.jobs, help="preprocessing worker processes")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = set(TrainConfig.__dataclass_fields__)
    kwargs = {k: v for k, v in vars(args).items() if k in names}
    kwargs["data"], kwargs["out"] = str(Path(args.data).resolve()), str(Path(args.out).resolve())
    for key in ("init", "phonemes"):
        if kwargs.get(key):
            kwargs[key] = str(Path(kwargs[key]).resolve())
    return TrainConfig(**kwargs)


def run(args: argparse.Namespace) -> int:
    summary = train(config_from_args(args))
    if int(os.environ.get("RANK", "0")) == 0:
        m = summary["val_metrics"]
        print(f"best epoch {summary['best_epoch']} of {summary['epochs_run']} ({summary['stop_reason']}, "
              f"{summary['minutes']:.1f} min): val AUC 1-edit {m['auc_edit1']:.3f}, other word {m['auc_other']:.3f}; "
              f"{summary['parameters']:,} parameters → {args.out}")
        if "phoneme_weight" in summary:
            m = summary["val_metrics_with_phonemes"]
            print(f"with the phoneme recognizer (weight {summary['phoneme_weight']:g}): "
                  f"val AUC 1-edit {m['auc_edit1']:.3f}, other word {m['auc_other']:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m training.train` (and torchrun)."""
    from app.cli import configure_threads

    configure_threads()
    p = argparse.ArgumentParser(prog="python -m training.train", description="Train the malsori Siamese encoder.")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
