"""Scoring speed and memory: per-stage medians for a 1.5 s pair, cold start, batch throughput.

    .venv/bin/python bench/score_latency.py [--model PATH] [--pairs 200]

Uses the shipped model (assets/models/malsori.pt) when present; otherwise an untrained
network of the same architecture, which costs exactly the same time.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from core import espeak  # noqa: E402
from core.paths import default_model_path  # noqa: E402
from models import Calibration, Checkpoint, FrameEncoder, PairScorer, Scorer, load_checkpoint, save_checkpoint  # noqa: E402
from models.distance import deviation_curve, dtw_distance  # noqa: E402
from models.recognizer import pronunciation_cost  # noqa: E402
from preprocessing import PreprocessConfig, load_audio, mel_image  # noqa: E402
from preprocessing.denoise import noise_sample, reduce_noise  # noqa: E402
from preprocessing.pipeline import check_audio, normalize_peak  # noqa: E402
from preprocessing.rumble import remove_rumble  # noqa: E402
from preprocessing.vad import frame_length, speech_flags, trim_silence  # noqa: E402

SR = 16_000


def make_take(text: str, voice: str, seconds: float, seed: int) -> np.ndarray:
    """Speech centred in `seconds` of audio with a little room noise (so the filter works)."""
    y = espeak.synthesize(text, voice=voice)
    total = int(seconds * SR)
    y = y[:total]
    lead = (total - len(y)) // 2
    out = np.zeros(total, np.float32)
    out[lead : lead + len(y)] = y
    out += np.random.default_rng(seed).standard_normal(total).astype(np.float32) * 0.003
    return out


def timed(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, result


def stage_times(scorer: Scorer, ref_path: Path, att_path: Path, repeats: int) -> dict:
    cfg: PreprocessConfig = scorer.cfg
    times = {}
    times["load wav (both)"], (ref, att) = timed(lambda: (load_audio(ref_path), load_audio(att_path)), repeats)

    def front(y):
        check_audio(y, sr=SR, cfg=cfg)
        return normalize_peak(remove_rumble(y, sr=SR, cfg=cfg), cfg=cfg)

    times["validate + rumble + level (both)"], (r, a) = timed(lambda: (front(ref), front(att)), repeats)
    times["VAD pass 1 (both)"], (fr, fa) = timed(
        lambda: (speech_flags(r, sr=SR, cfg=cfg), speech_flags(a, sr=SR, cfg=cfg)), repeats
    )
    n = frame_length(sr=SR, cfg=cfg)

    def denoise(y, f):
        return reduce_noise(y, sr=SR, noise=noise_sample(y, f, frame_len=n, sr=SR, cfg=cfg), cfg=cfg)

    times["noise filter (both)"], (cr, ca) = timed(lambda: (denoise(r, fr), denoise(a, fa)), repeats)
    times["VAD pass 2 + trim (both)"], (tr, ta) = timed(
        lambda: (trim_silence(cr, sr=SR, cfg=cfg)[0], trim_silence(ca, sr=SR, cfg=cfg)[0]), repeats
    )
    times["mel image (both)"], (ir, ia) = timed(
        lambda: (mel_image(tr, sr=SR, cfg=cfg), mel_image(ta, sr=SR, cfg=cfg)), repeats
    )
    pair = scorer.pair
    embed = pair.encoder.embed
    times["encoder (both)"], (er, ea) = timed(lambda: (embed(ir), embed(ia)), repeats)

    def align():
        d, path, cost = dtw_distance(er, ea, power=pair.encoder.dims.distance_power)
        return deviation_curve(np.asarray(cost), path, n_attempt=ia.shape[1]), pair.score(float(d))

    times["DTW + deviation + score"], _ = timed(align, repeats)
    recognizers = {"phoneme recognizer + cost": (pair.recognizer, pair.blank_penalty),
                   "voices recognizer + cost": (pair.voices, pair.voices_blank_penalty)}
    for name, (recognizer, penalty) in recognizers.items():
        if recognizer is not None:
            times[name], _ = timed(lambda r=recognizer, p=penalty: pronunciation_cost(r.log_probs(ir), r.log_probs(ia), p),
                                   repeats)
    times["WHOLE PAIR from wav files"], _ = timed(lambda: scorer.score_pair(ref_path, att_path), repeats)
    times["WHOLE PAIR from arrays"], _ = timed(lambda: scorer.score_pair((ref, SR), (att, SR)), repeats)
    told = scorer.text_phonemes("사과", lang="ko")  # the kiosk's word: espeak-ng asked once, then cached
    times["WHOLE PAIR from arrays, told the word"], _ = timed(
        lambda: scorer.score_pair((ref, SR), (att, SR), expected=told), repeats)
    prepared = scorer.features((ref, SR), side="reference")  # the kiosk prepares its word's reference once
    times["attempt vs prepared reference, told (kiosk)"], _ = timed(
        lambda: scorer.score_pair(prepared, (att, SR), expected=told), repeats)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--pairs", type=int, default=200, help="pairs in the batch test")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = args.model
        if model.is_file():
            label = f"{model} ({load_checkpoint(model).provenance.get('name', 'trained')})"
        else:
            model = tmp / "untrained.pt"
            save_checkpoint(model, Checkpoint(PairScorer(FrameEncoder(), Calibration(0.3, 0.05)), PreprocessConfig(), {}))
            label = "untrained network of the shipped architecture (no model installed)"
        ref_path, att_path = tmp / "ref.wav", tmp / "att.wav"
        sf.write(ref_path, make_take("사과", "ko", 1.5, 0), SR, subtype="PCM_16")
        sf.write(att_path, make_take("사과", "ko+f2", 1.5, 1), SR, subtype="PCM_16")

        print(f"model: {label}")
        print(f"machine: {os.cpu_count()} cores, torch threads {torch.get_num_threads()}")
        print("\nwarm, 1.5 s reference + 1.5 s attempt, median of", args.repeats)
        scorer = Scorer.from_path(model, engine="numpy")  # the networks the kiosk and the CLI serve with
        scorer.score_pair(ref_path, att_path)  # warm-up: imports, numba cache, filterbank
        for name, ms in stage_times(scorer, ref_path, att_path, args.repeats).items():
            print(f"  {name:34s} {ms:7.2f} ms")

        env = {**os.environ, "MALSORI_MODEL": str(model), "MALSORI_HOME": str(tmp / "home")}
        malsori = [sys.executable, "-m", "app.cli"]
        colds = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run([*malsori, "score", str(ref_path), str(att_path)], env=env, check=True,
                           capture_output=True, cwd=ROOT)
            colds.append(time.perf_counter() - t)
        print(f"\nfresh process to first score (`malsori score`, median of 3): {statistics.median(colds):.2f} s")

        pairs_csv = tmp / "pairs.csv"
        with open(pairs_csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["reference", "attempt"])
            w.writerows([["ref.wav", "att.wav"]] * args.pairs)
        t = time.perf_counter()
        n_in = min(args.pairs, 100)
        for _ in range(n_in):
            scorer.score_pair(ref_path, att_path)
        print(f"batch, in one process, warm: {n_in / (time.perf_counter() - t):.0f} pairs/s")
        for jobs in (1, os.cpu_count() or 1):
            t = time.perf_counter()
            subprocess.run([*malsori, "score", "--pairs", str(pairs_csv), "--out", str(tmp / "out.csv"),
                            "--jobs", str(jobs)], env=env, check=True, capture_output=True, cwd=ROOT)
            dt = time.perf_counter() - t
            print(f"batch, `malsori score --pairs` ({args.pairs} pairs, --jobs {jobs}, incl. start-up): "
                  f"{args.pairs / dt:.0f} pairs/s")

    # A child's ru_maxrss can count the memory of this (torch-holding) process it was forked from,
    # so the figure for a `malsori score` process comes from bench/score_memory.py, not from here.
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS: this process {self_rss:.0f} MB (a `malsori score` process: bench/score_memory.py)")


if __name__ == "__main__":
    main()
