"""Checkpoint = weights + model dims + PreprocessConfig + calibration + provenance + version
(+ an optional phoneme recognizer and its weight in the pair distance).

A model can only ever be served with the front end it was trained on: the front-end
config travels inside the file. Anything wrong with a file is a ModelError that says what.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from preprocessing.config import PreprocessConfig
from preprocessing.errors import ModelError
from preprocessing.fileio import atomic_write_bytes

from .calibration import Calibration
from .encoder import EncoderDims, FrameEncoder
from .phonemes import PhonemeRecognizer

FORMAT = "malsori-siamese"
FORMAT_VERSION = 2  # 2: EncoderDims gained context layers and band normalisation


@dataclass
class Checkpoint:
    model: FrameEncoder
    preprocess: PreprocessConfig
    calibration: Calibration
    provenance: dict = field(default_factory=dict)  # data set hash, epochs, metrics, …
    # optional phoneme recognizer: pair distance = DTW distance + phoneme_weight × pronunciation cost
    phonemes: PhonemeRecognizer | None = None
    phoneme_weight: float = 0.0


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> Path:
    """Write atomically: a reader sees the old checkpoint or the new one, never half."""
    if ckpt.model.dims.n_mels != ckpt.preprocess.n_mels:
        raise ValueError("model input height and PreprocessConfig.n_mels differ")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dims": ckpt.model.dims.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in ckpt.model.state_dict().items()},
        "preprocess": ckpt.preprocess.to_dict(),
        "calibration": ckpt.calibration.to_dict(),
        "provenance": ckpt.provenance,
    }
    if ckpt.phonemes is not None:
        payload["phonemes"] = {
            "dims": ckpt.phonemes.dims.to_dict(),
            "symbols": list(ckpt.phonemes.symbols),
            "state_dict": {k: v.detach().cpu() for k, v in ckpt.phonemes.state_dict().items()},
            "weight": float(ckpt.phoneme_weight),
        }
    buf = io.BytesIO()
    torch.save(payload, buf)
    # mode 0644: the kiosk user must read what training wrote
    return atomic_write_bytes(path, buf.getvalue(), mode=0o644)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"no trained model is installed at {path}: train one with `malsori train` "
            "or pass --model PATH"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ModelError(f"{path}: not a readable malsori checkpoint (corrupt or truncated)") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path}: not a malsori checkpoint")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"{path}: checkpoint format version {version}, this malsori reads version {FORMAT_VERSION}"
        )
    try:
        dims = EncoderDims.from_dict(payload["dims"])
        preprocess = PreprocessConfig.from_dict(payload["preprocess"])
        calibration = Calibration.from_dict(payload["calibration"])
        model = FrameEncoder(dims)
        model.load_state_dict(payload["state_dict"])
        phonemes, weight = None, 0.0
        if payload.get("phonemes"):
            ph = payload["phonemes"]
            phonemes = PhonemeRecognizer(EncoderDims.from_dict(ph["dims"]), ph["symbols"])
            phonemes.load_state_dict(ph["state_dict"])
            phonemes.eval()
            weight = float(ph["weight"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: incompatible checkpoint ({exc})") from exc
    if dims.n_mels != preprocess.n_mels:
        raise ModelError(f"{path}: model expects {dims.n_mels} mel bands, its front end makes {preprocess.n_mels}")
    model.eval()
    return Checkpoint(model, preprocess, calibration, dict(payload.get("provenance") or {}), phonemes, weight)
