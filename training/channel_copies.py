"""Low-grade copies of a corpus's takes (`malsori train-phonemes --channel-share`).

Each file gets one copy (or, with `--copies-per-file N`, N) as a cheap channel would store it
(training.augment.low_grade: 8 kHz, 8-bit with sox's dither, μ-law): written once as a real file
under the corpus folder, then through the front end like any take (image cache included, one per
copy index). A copy's name, channel and dither depend only on the file's name, its bytes and the
copy's index, so every run, whatever its seed, trains on the same copies and reuses their
images, changed audio gets new copies, and copy 0 is the very copy every run made before
copies had an index (its name has no index suffix).
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from .dataset import ManifestError, PairRecord, load_images

COPIES_DIR = ".low-grade-v1"  # bump when training.augment.low_grade changes what it makes
# Every copy starts from its file at this rate, whatever rate the file has: low_grade keeps it for
# the full-band channel, so it is the "16k" of training.augment.LOW_GRADE_CHANNELS, not a corpus
# rate. make-corpus writes 16 kHz (CorpusConfig.sr): those files are read as they are.
SOURCE_SR = 16_000


def copy_path(data: Path, original: str, content: bytes, index: int = 0) -> Path:
    """Where copy `index` of `original` (whose bytes are `content`) lives: named by the file and its
    bytes, so a corpus made again (`make-corpus --force`) never reuses a copy of the old audio;
    copies after the first carry their index (`-c1`, `-c2`, …), so their seeds differ."""
    digest = hashlib.sha1(os.fsencode(os.path.basename(original)) + b"\0" + content).hexdigest()[:16]
    return data / COPIES_DIR / f"{Path(original).stem}-{digest}{f'-c{index}' if index else ''}.wav"


def make_copy(data: Path, original: str, index: int = 0) -> Path:
    """Low-grade copy `index` of one corpus file, at 8 kHz or SOURCE_SR whatever the file's own rate
    (written atomically, unless it exists)."""
    import io

    import soundfile as sf

    from core.fileio import atomic_write_bytes
    from preprocessing import load_audio

    from .augment import low_grade

    out = copy_path(data, original, Path(original).read_bytes(), index)
    if not out.is_file():
        y = load_audio(original, sr=SOURCE_SR)
        rng = np.random.default_rng(zlib.crc32(out.name.encode()))  # the channel and dither follow the name
        x, out_sr, subtype = low_grade(y, sr=SOURCE_SR, rng=rng)
        buf = io.BytesIO()
        sf.write(buf, x, out_sr, subtype=subtype, format="WAV")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(out, buf.getvalue(), mode=0o644)
        except OSError as exc:
            raise ManifestError(f"cannot write the low-grade copies into {out.parent}: "
                                f"{exc.strerror or exc}") from exc
    return out


def low_grade_images(data: str | Path, files: list[str], pre, *, jobs: int, progress: bool,
                     index: int = 0) -> dict[str, np.ndarray]:
    """{corpus file: the front end's image of its low-grade copy `index`}; copies the front end
    refuses (speech lost under the dither) are left out."""
    from tqdm import tqdm

    data = Path(data)
    copies = {f: str(make_copy(data, f, index)) for f in tqdm(files, desc=f"low-grade copies{f' #{index}' if index else ''}",
                                                              unit="file", disable=not progress)}
    records = [PairRecord(c, c, 1.0, "correct", 0, "", "", "train", None, 0.0) for c in copies.values()]
    images = load_images(records, pre, cache_dir=data / COPIES_DIR, jobs=jobs, progress=progress)
    return {f: images[c] for f, c in copies.items() if c in images}
