"""The networks, their loss, the pair formula (models.pair), checkpoints and scoring."""

from .calibration import Calibration
from .checkpoint import FORMAT_VERSION, Checkpoint, load_checkpoint, save_checkpoint
from .encoder import EncoderDims, FrameEncoder, count_parameters
from .loss import contrastive_loss
from .pair import Features, PairDistance, PairScorer
from .scoring import ScoreResult, Scorer

__all__ = [
    "FORMAT_VERSION",
    "Calibration",
    "Checkpoint",
    "EncoderDims",
    "Features",
    "FrameEncoder",
    "PairDistance",
    "PairScorer",
    "ScoreResult",
    "Scorer",
    "contrastive_loss",
    "count_parameters",
    "load_checkpoint",
    "save_checkpoint",
]
