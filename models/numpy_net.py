"""The serving networks in numpy: read a checkpoint and run the encoder, the recognizer and the
CTC cost without importing torch.

Why: `import torch` alone costs ~280 MB of memory and ~2 s of start-up — more than the whole
rest of a score — and a Raspberry Pi has 1–2 GB and a slow card. The networks are small
(a few 3×3 convolutions, a linear projection, two dilated 1-D convolutions), so numpy runs
them in a few milliseconds. Training and evaluation keep torch (`models.encoder`,
`models.recognizer`); these functions mirror those modules' `forward` step by step, and
tests/test_numpy_net.py holds the two to the same numbers on the shipped model.

Everything here is float32 [channels, height, time] without a batch axis: serving scores
one take at a time.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

LOGIT_SCALE = 10.0  # models.recognizer.LOGIT_SCALE (kept equal by a test; importing it would import torch)

_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class _StorageType:
    def __init__(self, dtype):
        self.dtype = dtype


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """torch._utils._rebuild_tensor_v2 for a contiguous CPU tensor → numpy array (a copy)."""
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride)).copy()


class _Unpickler(pickle.Unpickler):
    """Only what a malsori checkpoint holds: plain containers, numbers, strings and tensors
    (like torch.load(weights_only=True), nothing else is constructed)."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str):
        super().__init__(file)
        self.archive, self.prefix = archive, prefix

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _StorageType(_DTYPES[name])
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"unexpected object in a checkpoint: {module}.{name}")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, _numel = pid
        if kind != "storage" or not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        data = self.archive.read(f"{self.prefix}data/{key}")
        return np.frombuffer(data, dtype=storage_type.dtype)


def read_torch_file(path: str | Path):
    """What `torch.load(path, weights_only=True)` returns, with numpy arrays for tensors.

    Reads the zip format torch.save has written since torch 1.6 (little-endian). Raises
    ValueError (or zipfile/pickle errors) for anything else.
    """
    with zipfile.ZipFile(path) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
        if pkl is None:
            raise ValueError("not a torch zip file (no data.pkl)")
        prefix = pkl[: -len("data.pkl")]
        if prefix + "byteorder" in archive.namelist() and archive.read(prefix + "byteorder") != b"little":
            raise ValueError("big-endian checkpoint")
        with archive.open(pkl) as f:
            return _Unpickler(f, archive, prefix).load()


# --- the networks' forward passes ----------------------------------------------------------

def normalize_image(image: np.ndarray, *, band_norm: bool) -> np.ndarray:
    """models.encoder.normalize_image for one unpadded image [F, T]."""
    if not band_norm:
        return image * np.float32(2.0) - np.float32(1.0)
    centred = image - image.mean(axis=1, keepdims=True)
    var = np.square(centred).sum() / np.float32(image.shape[0] * image.shape[1])
    return centred / (np.sqrt(var) + np.float32(1e-3))


def conv2d_3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """[C, H, W] * [O, C, 3, 3] with padding 1 → [O, H, W] (as one matrix product over the
    nine shifted copies of the input, each copied whole: cheaper than a sliding-window view's
    element-by-element gather)."""
    c, h, w = x.shape
    padded = np.zeros((c, h + 2, w + 2), dtype=x.dtype)
    padded[:, 1:-1, 1:-1] = x
    cols = np.empty((3, 3, c, h, w), dtype=x.dtype)
    for dy in range(3):
        for dx in range(3):
            cols[dy, dx] = padded[:, dy : dy + h, dx : dx + w]
    taps = weight.transpose(0, 2, 3, 1).reshape(weight.shape[0], 9 * c)  # in the order of cols
    return (taps @ cols.reshape(9 * c, h * w) + bias[:, None]).reshape(-1, h, w)


def conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, dilation: int) -> np.ndarray:
    """[C, T] * [O, C, K] with 'same' padding and the given dilation → [O, T]."""
    c, t = x.shape
    k = weight.shape[2]
    pad = (k // 2) * dilation
    padded = np.zeros((c, t + 2 * pad), dtype=x.dtype)
    padded[:, pad : pad + t] = x
    taps = np.concatenate([padded[:, i * dilation: i * dilation + t] for i in range(k)], axis=0)  # [K*C, T]
    return weight.transpose(0, 2, 1).reshape(weight.shape[0], -1) @ taps + bias[:, None]


def encode(weights: dict, dims, image: np.ndarray, *, prefix: str = "") -> np.ndarray:
    """models.encoder.FrameEncoder for one image float32 [n_mels, T] → unit-length [T, embed_dim].

    weights: the encoder's state dict (numpy arrays); prefix: "encoder." inside a recognizer.
    """
    x = normalize_image(np.asarray(image, dtype=np.float32), band_norm=dims.band_norm)[None]  # [1, F, T]
    for i in range(len(dims.channels)):
        k = 3 * i  # conv, ReLU, MaxPool per block in the nn.Sequential
        x = np.maximum(conv2d_3x3(x, weights[f"{prefix}conv.{k}.weight"], weights[f"{prefix}conv.{k}.bias"]), 0)
        c, h, t = x.shape
        x = x[:, : h // 2 * 2].reshape(c, h // 2, 2, t).max(axis=2)
    c, f, t = x.shape
    x = x.transpose(2, 0, 1).reshape(t, c * f) @ weights[f"{prefix}project.weight"].T + weights[f"{prefix}project.bias"]
    h = x.T  # [D, T]
    for i in range(dims.context_layers):
        h = h + conv1d(np.maximum(h, 0), weights[f"{prefix}context.{i}.weight"], weights[f"{prefix}context.{i}.bias"],
                       dilation=2**i)
    x = h.T
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), np.float32(1e-12))


def recognizer_log_probs(weights: dict, dims, image: np.ndarray) -> np.ndarray:
    """models.recognizer.PhonemeRecognizer.log_probs: image [n_mels, T] → [T, 1 + symbols]."""
    emb = encode(weights, dims, image, prefix="encoder.")
    logits = (emb * np.float32(LOGIT_SCALE)) @ weights["head.weight"].T + weights["head.bias"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def ctc_costs(log_probs: np.ndarray, sequences: list[list[int]]) -> list[float]:
    """−log P(symbols | frames) over all CTC alignments, blank = 0, for each symbol sequence
    (torch's ctc_loss with reduction='sum' and zero_infinity=True: an impossible alignment
    costs 0). The sequences share one pass over the frames: the loop over time is what costs
    (a few numpy calls a frame), not the width of each step."""
    lp = np.asarray(log_probs, dtype=np.float64)
    costs = [float(-lp[:, 0].sum())] * len(sequences)  # an empty sequence: all blank
    rows = [k for k, symbols in enumerate(sequences) if symbols]
    if not rows:
        return costs
    width = 2 * max(len(sequences[k]) for k in rows) + 1
    ext = np.zeros((len(rows), width), dtype=np.int64)  # blank, s1, blank, s2, …, blank; padded with blanks
    live = np.zeros((len(rows), width), dtype=bool)
    for r, k in enumerate(rows):
        ext[r, 1 : 2 * len(sequences[k]) : 2] = sequences[k]
        live[r, : 2 * len(sequences[k]) + 1] = True
    emit = np.where(live, lp[:, ext], -np.inf)  # [T, rows, width]: padding is never reached
    # a skip over a blank is allowed into a symbol that differs from the one two back
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    alpha = np.full(ext.shape, -np.inf)
    alpha[:, :2] = emit[0, :, :2]
    never = np.full((len(rows), 2), -np.inf)
    for t in range(1, lp.shape[0]):
        prev1 = np.concatenate((never[:, :1], alpha[:, :-1]), axis=1)
        prev2 = np.where(skip, np.concatenate((never, alpha[:, :-2]), axis=1), -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, prev1), prev2) + emit[t]
    for r, k in enumerate(rows):
        end = 2 * len(sequences[k])
        total = np.logaddexp(alpha[r, end], alpha[r, end - 1])
        costs[k] = 0.0 if not np.isfinite(total) else float(-total)
    return costs


# --- the networks as objects with the torch modules' serving methods ------------------------

def encoder_shapes(dims, prefix: str = "") -> dict[str, tuple[int, ...]]:
    """The state-dict entries FrameEncoder(dims) has, with their shapes."""
    shapes, c_in, height = {}, 1, dims.n_mels
    for i, c_out in enumerate(dims.channels):
        shapes[f"{prefix}conv.{3 * i}.weight"], shapes[f"{prefix}conv.{3 * i}.bias"] = (c_out, c_in, 3, 3), (c_out,)
        c_in, height = c_out, height // 2
    shapes[f"{prefix}project.weight"], shapes[f"{prefix}project.bias"] = (dims.embed_dim, c_in * height), (dims.embed_dim,)
    for i in range(dims.context_layers):
        shapes[f"{prefix}context.{i}.weight"] = (dims.embed_dim, dims.embed_dim, dims.context_kernel)
        shapes[f"{prefix}context.{i}.bias"] = (dims.embed_dim,)
    return shapes


def checked_weights(state_dict: dict, shapes: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """float32 copies of the state dict, or ValueError when it does not fit the network (what
    torch's load_state_dict refuses, refused here too)."""
    missing = sorted(set(shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(shapes))
    if missing or unexpected:
        raise ValueError(f"weights do not fit the network (missing {missing}, unexpected {unexpected})")
    wrong = [k for k, shape in shapes.items() if tuple(np.shape(state_dict[k])) != shape]
    if wrong:
        raise ValueError(f"weights of the wrong shape: {wrong}")
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state_dict.items()}


class NumpyEncoder:
    """`FrameEncoder`'s serving twin: `embed(image)` gives the same unit-length frame embeddings."""

    def __init__(self, dims, state_dict: dict):
        self.dims = dims
        self.weights = checked_weights(state_dict, encoder_shapes(dims))

    def embed(self, image: np.ndarray) -> np.ndarray:
        """float32 [n_mels, T] → unit-length embeddings float32 [T, embed_dim]."""
        return encode(self.weights, self.dims, image)


class NumpyRecognizer:
    """`PhonemeRecognizer`'s serving twin: `log_probs(image)` → float32 [T, 1 + symbols]."""

    def __init__(self, dims, symbols, state_dict: dict):
        self.dims = dims
        self.symbols = tuple(symbols)
        shapes = {**encoder_shapes(dims, "encoder."), "head.weight": (len(self.symbols) + 1, dims.embed_dim),
                  "head.bias": (len(self.symbols) + 1,)}
        self.weights = checked_weights(state_dict, shapes)

    def log_probs(self, image: np.ndarray) -> np.ndarray:
        return recognizer_log_probs(self.weights, self.dims, image)
