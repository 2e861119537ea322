"""Checkpoint = the pair scorer (encoder weights and dims, optional phoneme recognizers — the
espeak-ng one under "phonemes", the voices one under "voices" — term weights, calibration)
+ PreprocessConfig + provenance + format version.

A model can only ever be served with the front end it was trained on: the front-end
config travels inside the file. Anything wrong with a file is a ModelError that says what.

`load_checkpoint(path, engine="numpy")` reads the same file without torch (models.numpy_net):
the kiosk and the CLI serve that way; training and evaluation keep the torch networks.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from preprocessing.config import PreprocessConfig
from core.errors import ModelError
from core.fileio import atomic_write_bytes

from .calibration import Calibration
from .dims import EncoderDims
from .pair import PairScorer

ENGINES = ("torch", "numpy")  # the networks' library: torch (training, evaluation) or numpy (serving)

FORMAT = "malsori-siamese"
FORMAT_VERSION = 3  # 2: EncoderDims gained context layers and band normalisation; 3: the voices recognizer
WITHOUT_VOICES = 2  # a file without a voices recognizer is written as version 2: older readers take it
READS = (WITHOUT_VOICES, FORMAT_VERSION)


@dataclass
class Checkpoint:
    pair: PairScorer  # encoder, optional recognizers, term weights, calibration: the pair formula
    preprocess: PreprocessConfig
    provenance: dict = field(default_factory=dict)  # data set hash, epochs, metrics, …


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> Path:
    """Write atomically: a reader sees the old checkpoint or the new one, never half."""
    pair = ckpt.pair
    if pair.encoder.dims.n_mels != ckpt.preprocess.n_mels:
        raise ValueError("model input height and PreprocessConfig.n_mels differ")
    if pair.calibration is None:
        raise ValueError("a checkpoint needs a calibrated pair scorer")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION if pair.voices is not None else WITHOUT_VOICES,
        "dims": pair.encoder.dims.to_dict(),
        "state_dict": _cpu_state(pair.encoder),
        "preprocess": ckpt.preprocess.to_dict(),
        "calibration": pair.calibration.to_dict(),
        "provenance": ckpt.provenance,
        "term_weights": {k: float(v) for k, v in pair.weights.items()},
    }
    if pair.recognizer is not None:
        payload["phonemes"] = {
            "dims": pair.recognizer.dims.to_dict(),
            "symbols": list(pair.recognizer.symbols),
            "state_dict": _cpu_state(pair.recognizer),
            "weight": float(pair.weights.get("pronunciation", 0.0)),  # what readers before term_weights read
            "blank_penalty": float(pair.blank_penalty),
        }
    if pair.voices is not None:
        payload["voices"] = {
            "dims": pair.voices.dims.to_dict(),
            "symbols": list(pair.voices.symbols),
            "state_dict": _cpu_state(pair.voices),
            "blank_penalty": float(pair.voices_blank_penalty),
        }
    import torch

    buf = io.BytesIO()
    torch.save(payload, buf)
    # mode 0644: the kiosk user must read what training wrote
    return atomic_write_bytes(path, buf.getvalue(), mode=0o644)


def _cpu_state(module) -> dict:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def load_checkpoint(path: str | os.PathLike, *, engine: str = "torch") -> Checkpoint:
    """The checkpoint at `path`, its networks as torch modules or (engine="numpy") as numpy twins."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a directory; --model takes a checkpoint file (a .pt that `malsori train` writes)")
    if not path.is_file():
        raise ModelError(
            f"no trained model is installed at {path}: train one with `malsori train`, "
            "or give the path of a model file with --model PATH"
        )
    try:
        payload = _read_payload(path, engine)
    except Exception as exc:  # torch (and zipfile, pickle) raise many types for a damaged file
        raise ModelError(f"{path}: not a readable malsori checkpoint (corrupt or truncated)") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not a malsori checkpoint")
    version = payload.get("format_version")
    if version not in READS:
        raise ModelError(
            f"{path}: checkpoint format version {version}, this malsori reads versions "
            f"{', '.join(map(str, READS))}"
        )
    try:
        preprocess = PreprocessConfig.from_dict(payload["preprocess"])
        pair = _pair_scorer(payload) if engine == "torch" else _numpy_pair_scorer(payload)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: incompatible checkpoint ({exc})") from exc
    if pair.encoder.dims.n_mels != preprocess.n_mels:
        raise ModelError(f"{path}: model expects {pair.encoder.dims.n_mels} mel bands, "
                         f"its front end makes {preprocess.n_mels}")
    return Checkpoint(pair, preprocess, dict(payload.get("provenance") or {}))


def _read_payload(path: Path, engine: str) -> dict:
    if engine == "numpy":
        from .numpy_net import read_torch_file

        return read_torch_file(path)
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def _term_weights(payload: dict) -> dict[str, float]:
    weights = {k: float(v) for k, v in (payload.get("term_weights") or {}).items()}
    if payload.get("phonemes"):
        weights.setdefault("pronunciation", float(payload["phonemes"]["weight"]))  # checkpoints before term_weights
    return weights


def _blank_penalty(part: dict | None) -> float:
    """How a recognizer of the checkpoint reads a take; 0 for files written before the setting (as made)."""
    return float((part or {}).get("blank_penalty", 0.0))


def _numpy_pair_scorer(payload: dict) -> PairScorer:
    from .numpy_net import NumpyEncoder, NumpyRecognizer

    def recognizer(part: dict):
        return NumpyRecognizer(EncoderDims.from_dict(part["dims"]), part["symbols"], part["state_dict"])

    return _assembled(payload, NumpyEncoder(EncoderDims.from_dict(payload["dims"]), payload["state_dict"]), recognizer)


def _pair_scorer(payload: dict) -> PairScorer:
    from .encoder import FrameEncoder
    from .recognizer import PhonemeRecognizer

    encoder = FrameEncoder(EncoderDims.from_dict(payload["dims"]))
    encoder.load_state_dict(payload["state_dict"])

    def recognizer(part: dict):
        network = PhonemeRecognizer(EncoderDims.from_dict(part["dims"]), part["symbols"])
        network.load_state_dict(part["state_dict"])
        return network.eval()

    return _assembled(payload, encoder.eval(), recognizer)


def _assembled(payload: dict, encoder, recognizer) -> PairScorer:
    """The pair scorer a payload describes, its networks built by `recognizer(part)` (torch or numpy)."""
    parts = [payload.get("phonemes"), payload.get("voices")]
    first, voices = (recognizer(part) if part else None for part in parts)
    return PairScorer(encoder, Calibration.from_dict(payload["calibration"]), first, _term_weights(payload),
                      _blank_penalty(parts[0]), voices, _blank_penalty(parts[1]))


def lineage(provenance: dict) -> dict:
    """What a fine-tune records of the file it started from: that file's provenance without its
    per-epoch history. Its own `started_from` stays, so a chain of fine-tunes reads back to the
    run from scratch."""
    return {k: v for k, v in provenance.items() if k != "history"}
