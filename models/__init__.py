"""The networks, their loss, the pair formula (models.pair), checkpoints and scoring.

Names are imported on first use (PEP 562), so `from models import Scorer` does not import
torch: serving runs the networks in numpy (models.numpy_net); training imports torch when it
asks for FrameEncoder, contrastive_loss, ….
"""

from importlib import import_module

_WHERE = {
    "Calibration": "calibration",
    "FORMAT_VERSION": "checkpoint", "Checkpoint": "checkpoint", "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "EncoderDims": "dims",
    "FrameEncoder": "encoder", "count_parameters": "encoder",
    "contrastive_loss": "loss",
    "Features": "pair", "PairDistance": "pair", "PairScorer": "pair",
    "ScoreResult": "scoring", "Scorer": "scoring",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    value = getattr(import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
