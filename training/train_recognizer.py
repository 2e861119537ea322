"""`malsori train-phonemes`: the phoneme recognizer (CTC) that the scoring model consults.

Every file of a `make-corpus` corpus comes with the phonemes it says (training.targets):
the recognizer learns to spell them from the mel image, over all training voices, noises
and rooms. Early stopping watches what it is for: how well its pronunciation cost
(models.recognizer) separates correct takes from wrong ones on the validation pairs.
`malsori train --phonemes FILE` then puts it into the scoring checkpoint.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .dataset import ManifestError, load_images, read_manifest, usable

PHONEMES_FORMAT = "malsori-phonemes"


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
    channels: tuple[int, ...] = (16, 32, 32, 32)
    embed_dim: int = 64
    context_layers: int = 2
    threads: int = 2
    jobs: int = 2
    progress: bool = True

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}


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


def phoneme_data(cfg: PhonemeTrainConfig, pre) -> tuple:
    """(images, training files, their CTC targets, val pairs, symbols) of a make-corpus folder."""
    from .targets import phoneme_targets

    records = read_manifest(cfg.data)
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
    symbols = sorted({s for seq in spoken.values() for s in seq})
    ids = {s: k + 1 for k, s in enumerate(symbols)}  # 0: CTC blank
    targets = {p: [ids[s] for s in spoken[p]] for p in train_files}
    return images, train_files, targets, val_recs, symbols


def recognizer_epoch(cfg: PhonemeTrainConfig, recognizer, optimizer, images, train_files, targets, rng,
                     *, desc: str) -> float:
    """steps_per_epoch CTC steps on random training files; returns the mean loss."""
    from tqdm import tqdm

    from .batches import encode

    recognizer.train()
    losses = []
    bar = tqdm(range(cfg.steps_per_epoch), desc=desc, unit="step", disable=not cfg.progress, leave=False)
    for _ in bar:
        batch = [train_files[i] for i in rng.choice(len(train_files), cfg.batch_size)]
        _, logits = encode(recognizer, [images[p] for p in batch], chunks=4, device="cpu",
                           max_shift=cfg.freq_shift_bins, rng=rng)
        loss = ctc_loss(logits, [targets[p] for p in batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    return float(np.mean(losses))


def train_phonemes(cfg: PhonemeTrainConfig) -> dict:
    import torch
    from tqdm import tqdm

    from models import EncoderDims, count_parameters
    from models.recognizer import PhonemeRecognizer
    from preprocessing import PreprocessConfig

    from .metrics import validation_metrics

    torch.set_num_threads(max(1, cfg.threads))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    started = time.monotonic()
    pre = PreprocessConfig()
    images, train_files, targets, val_recs, symbols = phoneme_data(cfg, pre)
    dims = EncoderDims(n_mels=pre.n_mels, channels=cfg.channels, embed_dim=cfg.embed_dim,
                       context_layers=cfg.context_layers)
    recognizer = PhonemeRecognizer(dims, symbols)
    optimizer = torch.optim.Adam(recognizer.parameters(), lr=cfg.lr)
    best, best_state, bad, history, stop = -1.0, None, 0, [], "max_epochs"
    for epoch in range(1, cfg.max_epochs + 1):
        loss = recognizer_epoch(cfg, recognizer, optimizer, images, train_files, targets, rng, desc=f"epoch {epoch}")
        metrics = validation_metrics(val_recs, pair_costs(recognizer, val_recs, images))
        metrics.update(epoch=epoch, loss=loss, minutes=(time.monotonic() - started) / 60)
        history.append(metrics)
        improved = metrics["val_auc"] > best
        if improved:
            best, bad = metrics["val_auc"], 0
            best_state = {k: v.detach().clone() for k, v in recognizer.state_dict().items()}
        else:
            bad += 1
        tqdm.write(f"epoch {epoch}: CTC loss {metrics['loss']:.3f}  val AUC {metrics['val_auc']:.4f} "
                   f"(1-edit {metrics['auc_edit1']:.4f}, other word {metrics['auc_other']:.4f})"
                   f"{'  *best*' if improved else ''}  {metrics['minutes']:.1f} min")
        sys.stdout.flush()
        if bad >= cfg.patience:
            stop = "early_stopping"
            break
        per_epoch = (time.monotonic() - started) / 60 / epoch
        if (time.monotonic() - started) / 60 + per_epoch > cfg.max_minutes:
            stop = "time_cap"
            break
    recognizer.load_state_dict(best_state)
    best_epoch = max(history, key=lambda m: m["val_auc"])
    summary = {"best_epoch": best_epoch["epoch"], "epochs_run": len(history), "stop_reason": stop,
               "val_metrics": {k: best_epoch[k] for k in ("auc_edit1", "auc_other", "val_auc")},
               "minutes": (time.monotonic() - started) / 60, "parameters": count_parameters(recognizer),
               "symbols": len(symbols)}
    save_recognizer(Path(cfg.out), recognizer,
                    {"trainer": "malsori train-phonemes", "config": cfg.to_dict(), **summary, "history": history,
                     "torch": str(torch.__version__)})
    return summary


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = PhonemeTrainConfig(data="", out="")
    p.add_argument("--data", required=True, type=Path, help="corpus folder made by `malsori make-corpus`")
    p.add_argument("--out", required=True, type=Path, help="where to write the recognizer (.pt)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="files per step")
    p.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch)
    p.add_argument("--max-epochs", type=int, default=d.max_epochs)
    p.add_argument("--patience", type=int, default=d.patience)
    p.add_argument("--max-minutes", type=float, default=d.max_minutes, help="wall-clock cap of the run")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--freq-shift-bins", type=int, default=d.freq_shift_bins)
    p.add_argument("--channels", type=lambda s: tuple(int(c) for c in s.split(",")), default=d.channels)
    p.add_argument("--embed-dim", type=int, default=d.embed_dim)
    p.add_argument("--context-layers", type=int, default=d.context_layers)
    p.add_argument("--threads", type=int, default=d.threads, help="torch CPU threads")
    p.add_argument("--jobs", type=int, default=d.jobs, help="preprocessing worker processes")
    p.add_argument("--no-progress", dest="progress", action="store_false")


def run(args: argparse.Namespace) -> int:
    kwargs = {k: v for k, v in vars(args).items() if k in PhonemeTrainConfig.__dataclass_fields__}
    kwargs["data"], kwargs["out"] = str(Path(args.data).resolve()), str(Path(args.out).resolve())
    s = train_phonemes(PhonemeTrainConfig(**kwargs))
    m = s["val_metrics"]
    print(f"best epoch {s['best_epoch']} of {s['epochs_run']} ({s['stop_reason']}, {s['minutes']:.1f} min): "
          f"val AUC 1-edit {m['auc_edit1']:.3f}, other word {m['auc_other']:.3f}; "
          f"{s['parameters']:,} parameters, {s['symbols']} phonemes → {args.out}")
    return 0
