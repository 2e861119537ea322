"""EncoderDims: the shape of the frame encoder, stored in every checkpoint. Kept apart from the
torch module (models.encoder) so that serving without torch (models.numpy_net) can read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class EncoderDims:
    """Everything needed to rebuild the network; stored in every checkpoint."""

    n_mels: int = 64  # input image height (must match PreprocessConfig.n_mels)
    channels: tuple[int, ...] = (16, 32, 32, 32)  # one conv block each; each halves the height
    embed_dim: int = 64  # per-frame embedding size
    context_layers: int = 2  # dilated temporal conv layers after the projection (widen context to a phoneme)
    context_kernel: int = 5  # frames per temporal conv tap
    band_norm: bool = True  # subtract each mel band's mean over the utterance (speaker/channel tilt)
    distance_power: float = 1.0  # pair distance = power mean of the aligned costs (2: a local mistake weighs more)

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, data: dict) -> "EncoderDims":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown EncoderDims fields: {sorted(unknown)}")
        kwargs = dict(data)
        kwargs["channels"] = tuple(int(c) for c in data["channels"])
        if "distance_power" in kwargs:
            kwargs["distance_power"] = float(kwargs["distance_power"])
        return cls(**kwargs)
