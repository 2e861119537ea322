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

from .batches import encode, weights_snapshot
from .dataset import (
    BalanceConfig,
    BalancedPairSampler,
    ManifestError,
    PairRecord,
    dataset_hash,
    image_utterance,
    load_images,
    read_manifest,
    usable,
)
from .metrics import fit_calibration, validation_metrics
from .options import ARCHITECTURE, add_architecture_options, add_machine_options, add_run_options, architecture
from .targets import reference_symbols


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
    # calibration (val split): this score at this percentile of the correct distances… The
    # kiosk's normal bands: 75 green, 50 amber. Graded, not 0-or-100: 3 in 4 right takes are
    # green, a median one-sound mistake sits at the amber/red edge, and a real person's right
    # take (further from espeak-ng than any synthetic voice) keeps some points instead of 0
    # (the former 90/30 map put them all at 0: assets/models/REPORT.md, "Real voices").
    good_score: float = 75.0
    good_percentile: float = 75.0
    edit_score: float = 50.0  # …and this at the median one-edit (or wrong) distance
    threads: int = 2
    device: str = "auto"  # auto | cpu | cuda
    jobs: int = 2  # preprocessing worker processes
    resume: bool = False
    init: str = ""  # start from this checkpoint's weights and dimensions (fine-tune, e.g. on a school's takes)
    # a recognizer from `malsori train-phonemes` to put into the checkpoint; its weight in the pair
    # distance is chosen on the validation pairs (0 when it does not help)
    phonemes: str = ""
    # how the recognizer reads a take: nats taken off the CTC blank before the best symbol per frame
    # is chosen (models.pronunciation.greedy_phonemes); stored in the checkpoint. None: the --init
    # model's (0 without --init)
    blank_penalty: float | None = None
    # a second recognizer, trained for many voices and people (`train-phonemes` on a voices corpus
    # with real takes), beside the first: the "voices" term; its weight is fitted as the first's
    voices: str = ""
    voices_blank_penalty: float | None = None  # how it reads a take (None: the --init model's, else 0)
    # a `make-realset` folder: the term weights are then judged on its val split too (fit_weights_for_people)
    real_val: str = ""
    progress: bool = True

    def to_dict(self) -> dict:
        d = asdict(self)
        d["channels"], d["edit_margin"] = list(self.channels), list(self.edit_margin)
        return d


def state_path(out: Path) -> Path:
    """Where the resumable training state lives next to the model file."""
    return out.with_name(out.name + ".state")


# ----------------------------------------------------------------------------- distances


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


def validation_terms(pair, records: list[PairRecord], images, said: dict | None = None) -> dict[str, np.ndarray]:
    """Every term of the pair formula (models.pair) for each record, one array per term: the
    encoder in eval mode, one image at a time, unpadded — exactly what scoring computes. said:
    reference file → the phonemes of its word (targets.reference_symbols), as the kiosk is told."""
    was_training = pair.encoder.training
    pair.encoder.eval()
    names = sorted({r.reference for r in records} | {r.attempt for r in records})
    feats = {n: pair.features(image_utterance(images[n])) for n in names}
    said = said or {}
    rows = [pair.terms(feats[r.reference], feats[r.attempt], said.get(r.reference)) for r in records]
    pair.encoder.train(was_training)
    return {name: np.array([row[name] for row in rows]) for name in rows[0]}


def validation_distances(model, records: list[PairRecord], images) -> np.ndarray:
    """The encoder's pair distances (no recognizer: it does not change while the encoder trains)."""
    from models import PairScorer

    pair = PairScorer(model)
    return pair.combine(validation_terms(pair, records, images))


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


@dataclass
class TrainingData:
    """What a run trains and validates on: the manifest's usable pairs and their images."""

    records: list[PairRecord]
    images: dict
    train: list[PairRecord]
    val: list[PairRecord]
    correct_takes: dict[str, list[str]]  # reference → its correct takes in train (take anchors)


@dataclass
class TrainState:
    """Everything the epoch loop changes; saved after each epoch for --resume."""

    epoch: int = 0
    best: float = -1.0
    best_state: dict | None = None
    bad_epochs: int = 0
    history: list = field(default_factory=list)


def load_training_data(cfg: TrainConfig, pre, *, show: bool) -> TrainingData:
    """Read the manifest, preprocess every file with `pre` (cached), split train/val."""
    records = read_manifest(cfg.data)
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
    correct_takes: dict[str, list[str]] = {}
    for r in train_recs:
        if r.target >= 0.5:
            correct_takes.setdefault(r.reference, []).append(r.attempt)
    return TrainingData(records, images, train_recs, val_recs, correct_takes)


def start_model(cfg: TrainConfig):
    """(encoder, front-end config, (the --init pair scorer uncalibrated or None: its recognizers
    and blank penalties, {"phonemes"/"voices": each recognizer's provenance}), the start's
    lineage or None) to start from.

    --init: the start model's weights, dimensions, recognizer *and front end* — its images
    must be made the way it was trained; a fine-tuned model saved with another front end
    would silently mis-score."""
    from models import EncoderDims, FrameEncoder, load_checkpoint
    from models.checkpoint import lineage
    from preprocessing import PreprocessConfig

    if cfg.init:
        start = load_checkpoint(cfg.init)
        carried = (replace(start.pair, calibration=None, weights={}),
                   {k: start.provenance.get(k) or {} for k in ("phonemes", "voices")})
        return start.pair.encoder.train(), start.preprocess, carried, lineage(start.provenance)
    pre = PreprocessConfig()
    dims = EncoderDims(n_mels=pre.n_mels, channels=cfg.channels, embed_dim=cfg.embed_dim,
                       context_layers=cfg.context_layers, band_norm=cfg.band_norm,
                       distance_power=cfg.distance_power)
    return FrameEncoder(dims), pre, (None, {}), None


def resume_state(cfg: TrainConfig, model, optimizer, spath: Path) -> TrainState:
    """The state saved after the last finished epoch (same model dimensions required)."""
    import torch

    from models import EncoderDims

    if not spath.is_file():
        raise ManifestError(f"--resume: no training state at {spath}")
    state = torch.load(spath, map_location="cpu", weights_only=False)
    if EncoderDims.from_dict(state["dims"]) != model.dims:
        raise ManifestError(f"--resume: {spath} was trained with other model dimensions")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return TrainState(state["epoch"], state["best"], state["best_state"], state["bad_epochs"], state["history"])


def save_state(spath: Path, cfg: TrainConfig, model, optimizer, st: TrainState) -> None:
    import io

    import torch

    from core.fileio import atomic_write_bytes

    buf = io.BytesIO()
    torch.save({"config": cfg.to_dict(), "dims": model.dims.to_dict(), "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "epoch": st.epoch, "best": st.best,
                "best_state": st.best_state, "bad_epochs": st.bad_epochs, "history": st.history}, buf)
    atomic_write_bytes(spath, buf.getvalue())


def train_step(cfg: TrainConfig, net, optimizer, data: TrainingData, sampler, rng, *, device, world: int,
               power: float) -> float:
    """One optimiser step on a batch: `matched_share` as (right, wrong) takes of one reference
    (ranked by a margin loss), the rest balanced (contrastive loss). Returns the loss."""
    import torch

    from models import contrastive_loss

    n_groups = int(cfg.batch_size * cfg.matched_share) // 2 if cfg.rank_weight > 0 else 0
    matched = sampler.matched(n_groups)
    idx = np.concatenate([matched.reshape(-1), sampler.batch(cfg.batch_size - 2 * len(matched))])
    recs = [data.train[i] for i in idx]
    n = len(recs)
    left = [r.reference for r in recs]
    if cfg.take_anchor_share > 0:
        left = take_anchors(recs, len(matched), data.correct_takes, share=cfg.take_anchor_share, rng=rng)
    paths = left + [r.attempt for r in recs]
    emb, _ = encode(net, [data.images[p] for p in paths],
                    chunks=cfg.length_chunks if world == 1 else 1,  # DDP: one forward per backward
                    device=device, max_shift=cfg.freq_shift_bins, rng=rng)
    # the model's own power (with --init, the start model's), as scoring uses
    dist = pair_distances(emb, None, [(i, n + i) for i in range(n)], power=power)
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


def run_epochs(cfg: TrainConfig, model, net, optimizer, data: TrainingData, st: TrainState, step, *,
               rank: int, started: float, show: bool, spath: Path) -> str:
    """Train until max_epochs, early stopping or the time cap; keep the best epoch's weights
    in `st`. Returns why it stopped."""
    from tqdm import tqdm

    while st.epoch < cfg.max_epochs:
        net.train()
        if cfg.lr_decay == "cosine":
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * st.epoch / cfg.max_epochs))
        losses = []
        bar = tqdm(range(cfg.steps_per_epoch), desc=f"epoch {st.epoch + 1}", unit="step", disable=not show,
                   leave=False)
        for _ in bar:
            losses.append(step())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        st.epoch += 1
        metrics = validation_metrics(data.val, validation_distances(model, data.val, data.images))
        metrics.update(epoch=st.epoch, loss=float(np.mean(losses)), minutes=(time.monotonic() - started) / 60)
        st.history.append(metrics)
        improved = metrics["val_auc"] > st.best
        if improved:
            st.best, st.bad_epochs = metrics["val_auc"], 0
            st.best_state = weights_snapshot(model)
        else:
            st.bad_epochs += 1
        if rank == 0:  # one line per epoch, with or without progress bars
            tqdm.write(f"epoch {st.epoch}: loss {metrics['loss']:.4f}  val AUC {metrics['val_auc']:.4f} "
                       f"(1-edit {metrics['auc_edit1']:.4f}, other word {metrics['auc_other']:.4f})"
                       f"{'  *best*' if improved else ''}  {metrics['minutes']:.1f} min")
            sys.stdout.flush()  # a log file under nohup sees each epoch as it ends
            save_state(spath, cfg, model, optimizer, st)
        if st.bad_epochs >= cfg.patience:
            return "early_stopping"
        per_epoch = (time.monotonic() - started) / 60 / max(1, len(st.history))
        if (time.monotonic() - started) / 60 + per_epoch > cfg.max_minutes:
            return "time_cap"
    return "max_epochs"


def pair_to_fit(cfg: TrainConfig, model, carried) -> tuple:
    """The pair scorer that training will fit, made and checked before any epoch (a mistake found
    after an hour of epochs would lose them): the encoder being trained, with the recognizers of
    --phonemes/--voices or those --init brought, read with --blank-penalty/--voices-blank-penalty
    or as they were. Refused: a blank penalty without its recognizer; two recognizers spelling
    different symbols (a text's phonemes are mapped once, models.text_phonemes); --real-val
    without a recognizer to weigh, or whose val split lacks a kind of pair it ranks.
    Returns (pair scorer, {"phonemes"/"voices": each recognizer's provenance})."""
    from core.errors import UsageError
    from models import PairScorer

    start, provenances = carried
    pair = replace(start, encoder=model) if start is not None else PairScorer(model)
    provenances = dict(provenances)
    if cfg.phonemes or cfg.voices:
        from .train_recognizer import load_recognizer

        if cfg.phonemes:
            recognizer, provenances["phonemes"] = load_recognizer(cfg.phonemes)
            pair = replace(pair, recognizer=recognizer)
        if cfg.voices:
            voices, provenances["voices"] = load_recognizer(cfg.voices)
            pair = replace(pair, voices=voices)
    for penalty, option, network, which in ((cfg.blank_penalty, "--blank-penalty", pair.recognizer, "--phonemes"),
                                            (cfg.voices_blank_penalty, "--voices-blank-penalty", pair.voices,
                                             "--voices")):
        if penalty and network is None:
            raise UsageError(f"{option} sets how a phoneme recognizer reads a take, and this model has none: "
                             f"add one with {which} (or --init a model that has one)")
    if cfg.blank_penalty is not None:
        pair = replace(pair, blank_penalty=cfg.blank_penalty)
    if cfg.voices_blank_penalty is not None:
        pair = replace(pair, voices_blank_penalty=cfg.voices_blank_penalty)
    if pair.recognizer is not None and pair.voices is not None and pair.recognizer.symbols != pair.voices.symbols:
        raise UsageError("the voices recognizer spells other phoneme symbols than the first one: train both on "
                         "the same vocabulary (training/vocab_*.txt)")
    if cfg.real_val:
        if pair.text_symbols() is None:
            raise UsageError("--real-val chooses the phoneme recognizers' weights, and this model has none: add one "
                             "with --phonemes or --voices")
        from .realeval import check_val_split

        check_val_split(cfg.real_val)
    return pair, provenances


def fit_pair_scorer(cfg: TrainConfig, pair, pre, data: TrainingData) -> tuple:
    """The trained encoder's pair scorer (`pair_to_fit`) → calibrated: the recognizers' weights
    fitted on val (with --real-val: on people too), then the distance → score calibration on the
    synthetic val split. Returns (pair scorer, val metrics with the recognizers or None)."""
    pair.encoder.eval()
    # weights and calibration fitted as the kiosk scores: told each reference's word
    terms = validation_terms(pair, data.val, data.images, reference_symbols(pair, cfg.data))
    people = None
    if cfg.real_val and len(terms) > 1:
        from .realeval import split_terms

        real_rows, real = split_terms(pair, cfg.real_val, "val", pre, jobs=cfg.jobs, progress=cfg.progress)
        pair, people = fit_weights_for_people(pair, terms, data.val, real_rows, real)
    else:
        pair = pair.fit_weights(terms, lambda d: validation_metrics(data.val, d)["val_auc"])
    val_d = pair.combine(terms)
    pair = pair.with_calibration(fit_calibration(data.val, val_d, good_score=cfg.good_score,
                                                 edit_score=cfg.edit_score, good_percentile=cfg.good_percentile))
    combined = None
    if len(terms) > 1:
        combined = validation_metrics(data.val, val_d)
        if people is not None:
            combined = {**combined, "real_val": people}
    return pair, combined


# How much synthetic val AUC (1 edit, other word) the weights chosen for people may give up
# against the formula without the voices term: the espeak-ng distinctions stay.
PEOPLE_HOLD = 0.005


def fit_weights_for_people(pair, terms: dict, records: list[PairRecord], real_rows: list[dict],
                           real: dict) -> tuple:
    """The extra terms' weights judged on people as well as on espeak-ng: the formula without
    the voices term is fitted on the synthetic val pairs (`PairScorer.fit_weights`); among every
    grid combination whose synthetic val AUCs stay within PEOPLE_HOLD of it, the one that ranks
    the real-voice val pairs best (mean AUC of a right take vs another word and vs one edit;
    ties: the smaller weights). Returns (pair scorer, its real val AUCs)."""
    from .realeval import real_metrics

    def quality(d):
        return validation_metrics(records, d)["val_auc"]

    base = replace(pair, weights={}).fit_weights({k: v for k, v in terms.items() if k != "voices"}, quality)
    floor = validation_metrics(records, base.combine(terms))
    best = None
    for weights in pair.weight_options(terms):
        trial = replace(pair, weights=weights)
        m = validation_metrics(records, trial.combine(terms))
        if m["auc_edit1"] < floor["auc_edit1"] - PEOPLE_HOLD or m["auc_other"] < floor["auc_other"] - PEOPLE_HOLD:
            continue
        r = real_metrics(real_rows, np.zeros(len(real_rows)), trial.combine(real))
        ranking = (r["auc_other"] + r["auc_edit1"]) / 2
        if best is None or ranking > best[0]:
            best = (ranking, trial, {k: r[k] for k in ("auc_other", "auc_edit1", "top1")})
    return best[1], best[2]


def summarize(cfg: TrainConfig, st: TrainState, pair, data: TrainingData, *, stop_reason: str, started: float,
              recognizer_info: tuple, world: int, device) -> dict:
    """The run in numbers: best epoch, validation metrics, sizes, data set hash."""
    provenances, combined = recognizer_info
    if st.history:
        best_epoch = max(st.history, key=lambda m: m["val_auc"])
    else:  # --max-epochs 0: the --init model as it is
        best_epoch = {"epoch": 0, **validation_metrics(data.val, validation_distances(pair.encoder, data.val,
                                                                                      data.images))}
    keys = ("auc_edit1", "auc_other", "auc_wrong", "val_auc")
    extra = {}
    if combined is not None:
        extra = {"val_metrics_with_phonemes": {k: combined[k] for k in keys}}
        if pair.recognizer is not None:
            extra |= {"phoneme_weight": pair.weights.get("pronunciation", 0.0), "blank_penalty": pair.blank_penalty}
        if "real_val" in combined:
            extra["real_val_metrics_with_phonemes"] = combined["real_val"]
        for name, network in (("phonemes", pair.recognizer), ("voices", pair.voices)):
            if network is not None:
                extra[name] = {k: (provenances.get(name) or {}).get(k) for k in
                               ("config", "best_epoch", "val_metrics", "minutes", "parameters", "started_from")}
        if pair.voices is not None:
            extra |= {"voices_weight": pair.weights.get("voices", 0.0),
                      "voices_blank_penalty": pair.voices_blank_penalty}
    return {
        "best_epoch": best_epoch["epoch"],
        "val_metrics": {k: best_epoch[k] for k in keys},
        **extra,
        "epochs_run": st.epoch,
        "stop_reason": stop_reason,
        "minutes": (time.monotonic() - started) / 60,
        "parameters": pair.parameters(),
        "train_pairs": len(data.train),
        "val_pairs": len(data.val),
        "dataset_hash": dataset_hash(data.records),
        "world_size": world,
        "device": str(device),
    }


def train(cfg: TrainConfig) -> dict:
    """Run training; writes cfg.out (best model, calibrated) and cfg.out + '.state' (resumable).

    Returns a summary dict (best epoch, validation metrics, seconds, …).
    """
    import torch

    from models import Checkpoint, save_checkpoint

    from core.fileio import check_writable

    check_writable(cfg.out)  # an unwritable --out is said now, not after the training it would lose
    torch.set_num_threads(max(1, cfg.threads))
    rank, world = _setup_distributed()
    device = _pick_device(cfg.device, rank)
    torch.manual_seed(cfg.seed + rank)
    rng = np.random.default_rng(cfg.seed + rank)
    started = time.monotonic()
    out, show = Path(cfg.out), cfg.progress and rank == 0

    model, pre, carried, started_from = start_model(cfg)
    pair, provenances = pair_to_fit(cfg, model, carried)
    data = load_training_data(cfg, pre, show=show)
    sampler = BalancedPairSampler(data.train, balance=BalanceConfig(), seed=cfg.seed + rank)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    spath = state_path(out)
    st = TrainState()
    if cfg.resume:
        st = resume_state(cfg, model, optimizer, spath)
        rng = np.random.default_rng(cfg.seed + rank + 1000 * st.epoch)
        sampler.rng = np.random.default_rng(cfg.seed + rank + 1000 * st.epoch + 1)
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def step() -> float:
        return train_step(cfg, net, optimizer, data, sampler, rng, device=device, world=world,
                          power=model.dims.distance_power)

    stop_reason = run_epochs(cfg, model, net, optimizer, data, st, step, rank=rank, started=started, show=show,
                             spath=spath)
    if st.best_state is not None:  # None: --max-epochs 0, the --init model as it is
        model.load_state_dict(st.best_state)
    pair, combined = fit_pair_scorer(cfg, pair, pre, data)
    summary = summarize(cfg, st, pair, data, stop_reason=stop_reason, started=started,
                        recognizer_info=(provenances, combined), world=world, device=device)
    if rank == 0:
        provenance = {"trainer": "malsori train", "config": cfg.to_dict(), **summary, "history": st.history,
                      "torch": str(torch.__version__), "started_from": started_from}
        pair.encoder.cpu()
        save_checkpoint(out, Checkpoint(pair, pre, provenance))
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    return summary


# ----------------------------------------------------------------------------- command line


# (field, option) that set up a new encoder beside the shape options (EncoderDims): a fine-tune keeps its start's
NETWORK = (("distance_power", "--distance-power"), ("band_norm", "--no-band-norm"))


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
    p.add_argument("--blank-penalty", type=float, default=d.blank_penalty, metavar="NATS",
                   help="how the recognizer reads a take: nats taken off the CTC blank before each frame's best "
                   "symbol is chosen, so short sounds are not lost to the blank (default: the --init model's, "
                   "else 0)")
    p.add_argument("--voices", type=str, default="", metavar="RECOGNIZER",
                   help="put a second recognizer (from `malsori train-phonemes`, trained for many voices and "
                   "people) beside the first: the pair distance's 'voices' term, its weight fitted as --phonemes'")
    p.add_argument("--voices-blank-penalty", type=float, default=d.voices_blank_penalty, metavar="NATS",
                   help="--blank-penalty for the --voices recognizer (default: the --init model's, else 0)")
    p.add_argument("--real-val", type=str, default="", metavar="REALSET",
                   help="a `malsori make-realset` folder: choose the term weights that rank its val split's real "
                   "takes best while the synthetic val AUCs stay within 0.005 of the formula without --voices")
    add_run_options(p, d, batch_unit="pairs")
    p.add_argument("--lr-decay", choices=("none", "cosine"), default=d.lr_decay,
                   help="cosine: the learning rate falls to 0 over --max-epochs (default: %(default)s)")
    p.add_argument("--margin", type=float, default=d.margin,
                   help="contrastive margin on the pair distance, in cosine units 0-2 (default: %(default)s)")
    p.add_argument("--rank-weight", type=float, default=d.rank_weight,
                   help="same-word ranking loss weight, 0 = contrastive only (default: %(default)s)")
    p.add_argument("--rank-margin", type=float, default=d.rank_margin,
                   help="how much further a wrong take must be than a right one (default: %(default)s)")
    p.add_argument("--matched-share", type=float, default=d.matched_share,
                   help="share of a batch drawn as a right and a wrong take of one reference (default: %(default)s)")
    p.add_argument("--take-anchor-share", type=float, default=d.take_anchor_share,
                   help="share of pairs compared against another correct take of the word instead of its reference "
                        "(default: %(default)s)")
    p.add_argument("--val-max-pairs", type=int, default=d.val_max_pairs,
                   help="validation pairs at most (a fixed, seeded subset; default: %(default)s)")
    add_architecture_options(p, d)
    # default None (not given), as the shape options: refused with --init (config_from_args)
    p.add_argument("--distance-power", type=float, default=None,
                   help="pair distance = power mean of the aligned frame costs, this power; without --init "
                        f"(default: {d.distance_power})")
    p.add_argument("--no-band-norm", dest="band_norm", action="store_const", const=False, default=None,
                   help="keep each mel band's level instead of subtracting its mean over the take, without --init")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d.device,
                   help="auto: cuda when torch sees a GPU, else cpu (default: %(default)s)")
    add_machine_options(p, d)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = set(TrainConfig.__dataclass_fields__) - set(ARCHITECTURE) - {name for name, _ in NETWORK}
    kwargs = {k: v for k, v in vars(args).items() if k in names} | architecture(args, more=NETWORK)
    for key in ("blank_penalty", "voices_blank_penalty"):
        if kwargs.get(key) is not None and not 0 <= kwargs[key] < 10:
            from core.errors import UsageError

            raise UsageError(f"--{key.replace('_', '-')} must lie in [0, 10) nats, not {kwargs[key]:g}")
    kwargs["data"], kwargs["out"] = str(Path(args.data).resolve()), str(Path(args.out).resolve())
    for key in ("init", "phonemes", "voices", "real_val"):
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
        if "val_metrics_with_phonemes" in summary:
            m = summary["val_metrics_with_phonemes"]
            parts = [f"{summary[w]:g} × {name} (blank penalty {summary[b]:g})"
                     for w, b, name in (("phoneme_weight", "blank_penalty", "phoneme recognizer"),
                                        ("voices_weight", "voices_blank_penalty", "voices recognizer")) if w in summary]
            print(f"with {' + '.join(parts)}: val AUC 1-edit {m['auc_edit1']:.3f}, other word {m['auc_other']:.3f}")
        if "real_val_metrics_with_phonemes" in summary:
            m = summary["real_val_metrics_with_phonemes"]
            print(f"real-voice val: AUC vs other {m['auc_other']:.3f}, vs one edit {m['auc_edit1']:.3f}, "
                  f"top-1 {m['top1']:.0%}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m training.train` (and torchrun)."""
    from core.threads import configure_threads

    configure_threads()
    p = argparse.ArgumentParser(prog="python -m training.train", description="Train the malsori Siamese encoder.")
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
