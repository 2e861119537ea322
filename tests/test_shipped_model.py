"""The shipped model (`assets/models/malsori.pt`, as it is in git) keeps the product's promises.

Real audio, made once per session with espeak-ng: Korean and English words said by the kiosk's
offline reference voice, and by other voices at other speeds saying the word right, saying
another word, or with one, two or three vowels swapped (a known, audible mistake). These tests
assert what a learner relies on — the right word beats every wrong one, a wrong word is never
passed, more mistakes cost more — not today's exact numbers, so a retrained model that keeps
the promises passes and one that breaks them fails here before it ships.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.espeak import phoneme_tokens, synthesize
from core.paths import REPO_ROOT

SHIPPED = REPO_ROOT / "assets" / "models" / "malsori.pt"
SR = 16_000
# The kiosk's offline reference voice per language (app.tts.ESPEAK_VOICES) and three learners:
# other voice variants (male, high female, a different synthesiser) at other speaking rates.
LANGS = {
    "ko": ("ko", ("고양이", "자동차", "어머니", "도서관", "바나나"), (("ko+m3", 140), ("ko+f5", 180), ("ko+klatt4", 160))),
    "en": ("en-us", ("tomato", "elephant", "umbrella"),
           (("en-us+m3", 140), ("en-us+f5", 180), ("en-us+klatt4", 160))),
}
# A vowel for a clearly different one, in espeak-ng's phoneme mnemonics (stress marks kept).
VOWEL_SWAP = {
    "ko": {"a": "u", "o": "i", "u": "a", "i": "o", "e": "u", "@": "i"},
    "en": {"@": "a", "eI": "i:", "oU": "aI", "E": "u:", "I": "a", "V": "i:"},
}
MAX_EDITS = 3  # every word above has at least three vowels


def vowel_edit(text: str, *, lang: str, voice: str, n: int) -> str:
    """`text` with its first `n` vowels swapped, as espeak-ng phoneme input "[[...]]"."""
    swap = VOWEL_SWAP[lang]
    tokens, done = list(phoneme_tokens(text, voice=voice)[0]), 0
    for i, token in enumerate(tokens):
        core = token.lstrip("',")
        if core in swap and done < n:
            tokens[i] = token[: len(token) - len(core)] + swap[core]
            done += 1
    assert done == n, f"{text}: fewer than {n} vowels to swap in {tokens}"
    return "[[" + "".join(tokens) + "]]"


def take(text: str, *, voice: str, speed_wpm: int = 160) -> np.ndarray:
    """espeak-ng speech as a take: peak 0.5, a little silence either side (float32, 16 kHz)."""
    y = synthesize(text, voice=voice, speed_wpm=speed_wpm, sr=SR)
    pad = np.zeros(int(0.3 * SR), np.float32)
    return np.concatenate([pad, 0.5 * y / np.abs(y).max(), pad]).astype(np.float32)


@pytest.fixture(scope="session")
def shipped():
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED} is missing: the shipped model is part of the product")
    from models import Scorer

    return Scorer.load(SHIPPED)  # the kiosk's and the CLI's loader: the engine users are served by


@pytest.fixture(scope="session")
def scores(shipped):
    return score_table(shipped)  # made once per session


def score_table(scorer) -> dict:
    """Every (word, learner) pair's score against the word's reference.

    {lang: {word: {"correct": [..], "other": {other_word: [..]}, 1: [..], 2: [..], 3: [..],
                   "dtw": {"correct": [..], "other": [..]}}}}: each list one value per learner
    voice (per other word and voice in "dtw"/"other"); "dtw" holds the encoder's DTW term alone.
    """
    shipped, out = scorer, {}
    for lang, (ref_voice, words, learners) in LANGS.items():
        features = {}
        for word in words:
            features[word, "ref"] = shipped.features((take(word, voice=ref_voice), SR))
            for voice, speed in learners:
                features[word, voice] = shipped.features((take(word, voice=voice, speed_wpm=speed), SR))
                for n in range(1, MAX_EDITS + 1):
                    edited = take(vowel_edit(word, lang=lang, voice=ref_voice, n=n), voice=voice, speed_wpm=speed)
                    features[word, voice, n] = shipped.features((edited, SR))
        out[lang] = {}
        for word in words:
            ref = features[word, "ref"]
            row = {"correct": [shipped.score_pair(ref, features[word, v]).score for v, _ in learners],
                   "other": {o: [shipped.score_pair(ref, features[o, v]).score for v, _ in learners]
                             for o in words if o != word}}
            for n in range(1, MAX_EDITS + 1):
                row[n] = [shipped.score_pair(ref, features[word, v, n]).score for v, _ in learners]
            dtw = lambda key: shipped.pair.distance(ref, features[key]).terms["dtw"]  # noqa: E731
            row["dtw"] = {"correct": [dtw((word, v)) for v, _ in learners],
                          "other": [dtw((o, v)) for o in words if o != word for v, _ in learners]}
            out[lang][word] = row
    return out


def _bands(strictness: str) -> tuple[float, float]:
    from app.kiosk.controller import BANDS

    return BANDS[strictness]


@pytest.mark.parametrize("lang", LANGS)
def test_the_right_word_in_another_voice_scores_above_every_wrong_word(scores, lang):
    for word, row in scores[lang].items():
        worst_right = min(row["correct"])
        best_wrong = max(max(s) for s in row["other"].values())
        assert worst_right > best_wrong, (word, row["correct"], row["other"])


@pytest.mark.parametrize("lang", LANGS)
def test_a_wrong_word_is_red_even_for_a_gentle_operator_and_a_right_one_is_not(scores, lang):
    """The colour a learner sees: another word never passes (below amber at the gentlest
    strictness); the right word said by another voice is at least amber at normal strictness."""
    gentle_amber = _bands("gentle")[1]
    normal_amber = _bands("normal")[1]
    for word, row in scores[lang].items():
        for other, got in row["other"].items():
            assert max(got) < gentle_amber, (word, other, got)
        assert min(row["correct"]) >= normal_amber, (word, row["correct"])


@pytest.mark.parametrize("lang", LANGS)
def test_the_encoder_alone_puts_the_right_word_clearly_nearer_than_any_other_word(scores, lang):
    """The frame encoder's DTW distance (which also draws the kiosk's "differs most here" band)
    is speaker-robust by itself: every other word is at least 1.5 times as far from the
    reference as the right word in any learner's voice, before the phoneme recognizer adds its
    cost. (An encoder with random weights manages about 0.6-1.2: it hears the voice, not the word.)"""
    for word, row in scores[lang].items():
        assert min(row["dtw"]["other"]) >= 1.5 * max(row["dtw"]["correct"]), (word, row["dtw"])


def test_more_mistakes_score_lower_on_average(scores):
    rows = [row for lang in scores.values() for row in lang.values()]
    means = [np.mean([s for row in rows for s in row["correct"]])]
    means += [np.mean([s for row in rows for s in row[n]]) for n in range(1, MAX_EDITS + 1)]
    assert all(a > b for a, b in zip(means, means[1:])), f"mean score for 0..{MAX_EDITS} vowel swaps: {means}"
    assert means[0] - means[-1] >= 50, means  # three wrong vowels of a three-vowel word is no near miss


@pytest.fixture(scope="session")
def wavs(tmp_path_factory):
    import soundfile as sf

    d = tmp_path_factory.mktemp("shipped-wavs")
    files = {"ref": take("자동차", voice="ko"), "right": take("자동차", voice="ko+f5", speed_wpm=180),
             "wrong": take("어머니", voice="ko+m3", speed_wpm=140)}
    for name, y in files.items():
        sf.write(d / f"{name}.wav", y, SR, subtype="PCM_16")
    return {name: d / f"{name}.wav" for name in files}


@pytest.mark.parametrize("attempt", ["right", "wrong"])
def test_score_json_fields_agree_with_the_score(shipped, wavs, attempt, capsys):
    from app.cli import main

    argv = ["score", str(wavs["ref"]), str(wavs[attempt]), "--model", str(SHIPPED)]
    assert main(argv) == 0
    plain = float(capsys.readouterr().out)
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)

    assert plain == pytest.approx(result["score"], abs=0.051)  # "{:.1f}" of the same score
    # the score is the checkpoint's calibration of the printed distance, nothing else
    assert shipped.pair.score(result["distance"]) == pytest.approx(result["score"], abs=0.01)
    assert result["phoneme_cost"] is not None and result["phoneme_cost"] >= 0.0  # the recognizer ran
    assert result["voices_cost"] is not None and result["voices_cost"] >= 0.0  # and the voices recognizer
    start, end = result["worst_segment_s"]
    assert 0.0 <= start < end <= len(result["deviation"]) * result["hop_s"] + 1e-6
    # and the number means what the kiosk shows: the right word passes, the wrong one is red
    band_of = {"right": "green", "wrong": "red"}
    green, amber = _bands("normal")
    band = "green" if result["score"] >= green else "amber" if result["score"] >= amber else "red"
    assert band == band_of[attempt], result["score"]


def test_the_phoneme_recognizer_makes_a_vowel_swap_cost_more(shipped):
    """The shipped pair distance hears phonemes: with the recognizer's weight at 0 (DTW alone) a
    one-vowel mistake is closer to the reference than with the shipped weight, and closer still
    than with a doubled one; an identical take stays at distance 0 whatever the weight."""
    from models import Scorer

    ckpt = shipped.checkpoint
    weight = ckpt.pair.weights.get("pronunciation", 0.0)
    assert ckpt.pair.recognizer is not None and weight > 0
    ref = shipped.features((take("바나나", voice="ko"), SR))
    wrong = shipped.features((take(vowel_edit("바나나", lang="ko", voice="ko", n=1), voice="ko+m3", speed_wpm=140), SR))
    variants = [Scorer(dataclasses.replace(ckpt, pair=dataclasses.replace(
        ckpt.pair, weights={**ckpt.pair.weights, "pronunciation": w}))) for w in (0.0, weight, 2 * weight)]
    assert shipped.score_pair(ref, wrong).phoneme_cost > 0.0
    distances = [v.score_pair(ref, wrong).distance for v in variants]
    assert distances[0] < distances[1] < distances[2], distances
    assert all(v.score_pair(ref, ref).distance == pytest.approx(0.0, abs=1e-4) for v in variants)


@pytest.mark.parametrize("damage", ["dc offset 0.06", "50 Hz hum 0.2", "60 Hz hum with harmonics"])
def test_a_dc_offset_or_mains_hum_costs_a_correct_take_under_10_points(shipped, damage):
    """A cheap microphone's DC offset or hum as loud as the speech: the rumble filter before
    the VAD keeps the take a take (it was "no speech was heard")."""
    ref = shipped.features((take("사과", voice="ko"), SR))
    y = take("사과", voice="ko+m3", speed_wpm=140)
    t = np.arange(len(y)) / SR
    noise = {"dc offset 0.06": np.full_like(y, 0.06),
             "50 Hz hum 0.2": 0.2 * np.sin(2 * np.pi * 50 * t),
             "60 Hz hum with harmonics": 0.2 * np.sin(2 * np.pi * 60 * t) + 0.05 * np.sin(2 * np.pi * 120 * t + 1)}
    clean = shipped.score_pair(ref, (y, SR)).score
    damaged = shipped.score_pair(ref, ((y + noise[damage]).astype(np.float32), SR)).score
    assert abs(damaged - clean) <= 10



# Words that open on ㅅ/ㅆ, which espeak-ng puts mostly above 4 kHz where an 8 kHz take has
# nothing: before the reference was heard through the attempt's channel these dithered takes
# scored 7–69 against 95–97 clean, 90–96 with the channel match (issue-14 model), 90–95 now.
# Not every word gets there: bench/low_grade_audio.py counts the ones that still lose more than 20 points.
LOW_GRADE = (("사", "ko+m1"), ("사과", "ko+m3"), ("서울", "ko+f1"), ("산", "ko+m7"), ("쓰다", "ko+Annie"))


def low_grade(y: np.ndarray, path) -> str:
    """The take as `sox take.wav -r 8000 -b 8 -e unsigned x.wav` leaves it: 8 kHz, 8 bits,
    dithered (sox's default; -R seeds the dither so the file is the same on every run)."""
    import subprocess

    import soundfile as sf

    sf.write(path.with_suffix(".clean.wav"), y, SR, subtype="PCM_16")
    subprocess.run(["sox", "-R", str(path.with_suffix(".clean.wav")), "-r", "8000", "-b", "8", "-e", "unsigned",
                    str(path)], check=True, capture_output=True)
    return str(path)


def score_against_a_narrow_reference(scorer, word: str, voice: str, tmp) -> tuple[float, float, object]:
    """A teacher's phone recording as the reference: (`voice`'s take of `word` scored against the
    reference voice's clean take, against that take as an 8 kHz 8-bit dithered file, the dithered
    reference's features for more pairs) — also what bench/candidate_checks.py runs on a candidate."""
    y = take(word, voice=voice)
    clean = scorer.score_pair(scorer.features((take(word, voice="ko"), SR)), (y, SR)).score
    ref = scorer.features(low_grade(take(word, voice="ko"), tmp / "ref.wav"))
    return clean, scorer.score_pair(ref, (y, SR)).score, ref


# Takes that lost 35–72 points as 8 kHz 8-bit dithered files before the recognizer was fine-tuned
# on such copies (`train-phonemes --channel-share`, REPORT.md "Low-grade audio"); at most ~9 now.
# Not every take gets there: bench/low_grade_audio.py counts the rest (새 by ko+f4 still loses 52).
LOW_GRADE_HARDEST = (("새", "ko+m5"), ("찾다", "ko+klatt3"), ("셋", "ko+klatt3"), ("왜", "ko+klatt3"), ("꽃", "ko+f4"))


@pytest.mark.parametrize("word,voice", LOW_GRADE + LOW_GRADE_HARDEST)
def test_an_8_khz_8_bit_dithered_take_scores_within_20_points_of_the_clean_take(shipped, tmp_path, word, voice):
    ref = shipped.features((take(word, voice="ko"), SR))
    y = take(word, voice=voice)
    clean = shipped.score_pair(ref, (y, SR)).score
    assert clean - shipped.score_pair(ref, low_grade(y, tmp_path / "take.wav")).score <= 20


# Takes as espeak-ng makes them (no pause either side, so the noise filter has no hiss to learn):
# the reference heard through their channel read "ㅈ" or "ㄴ" as another sound (사진 by ko+klatt3
# 94 → 68, 넷 by ko+f1 94 → 62); judged against the nearer of its two readings (as made and as the
# channel carries it, models.pronunciation), they lose ~11.
LOW_GRADE_PAUSELESS = (("사진", "ko+klatt3"), ("넷", "ko+f1"))


@pytest.mark.parametrize("word,voice", LOW_GRADE_PAUSELESS)
def test_a_pause_less_8_khz_8_bit_take_scores_within_20_points_of_the_clean_take(shipped, tmp_path, word, voice):
    ref = shipped.features((synthesize(word, voice="ko", sr=SR), SR))
    y = synthesize(word, voice=voice, sr=SR)
    clean = shipped.score_pair(ref, (y, SR)).score
    assert clean - shipped.score_pair(ref, low_grade(y, tmp_path / "take.wav")).score <= 20


def test_through_an_8_khz_channel_a_wrong_word_still_scores_far_below_the_right_one(shipped, tmp_path):
    """Hearing the reference through the attempt's channel must not pass everything that channel
    carries: the reference keeps every sound below the band edge."""
    ref = shipped.features((take("사과", voice="ko"), SR))
    right = shipped.score_pair(ref, low_grade(take("사과", voice="ko+m3"), tmp_path / "right.wav")).score
    for other in ("자동차", "수박", "바나나"):
        wrong = shipped.score_pair(ref, low_grade(take(other, voice="ko+m3"), tmp_path / f"{other}.wav")).score
        assert wrong < min(50, right - 30), (other, wrong, right)


@pytest.mark.parametrize("word,voice", LOW_GRADE[:3])
def test_a_reference_recorded_at_8_khz_judges_a_full_band_take_like_a_clean_one(shipped, tmp_path, word, voice):
    """A teacher's phone recording as the reference: the attempt is heard through its channel
    (before, 사 by ko+m1 against an 8 kHz dithered reference scored 0.0, against the clean one
    96.8; 96.5 with the channel match, 88 with the stop-14 recognizer)."""
    clean, narrow, ref = score_against_a_narrow_reference(shipped, word, voice, tmp_path)
    assert clean - narrow <= 30
    wrong = shipped.score_pair(ref, (take("바나나", voice=voice), SR)).score
    assert wrong < 20, wrong


if __name__ == "__main__":
    # Check a candidate before copying it in: python -m tests.test_shipped_model [MODEL.pt]
    import sys

    from models import Scorer

    table = score_table(Scorer.load(sys.argv[1] if len(sys.argv) > 1 else SHIPPED))
    rows = [row for lang in table.values() for row in lang.values()]
    for lang, by_word in table.items():
        for word, row in by_word.items():
            print(f"{lang} {word}: right {min(row['correct']):.1f}-{max(row['correct']):.1f}, "
                  f"best other word {max(max(s) for s in row['other'].values()):.1f}, "
                  f"encoder: nearest other word {min(row['dtw']['other']) / max(row['dtw']['correct']):.2f}"
                  " times as far as the farthest right take")
    means = [np.mean([s for row in rows for s in row[k]]) for k in ("correct", *range(1, MAX_EDITS + 1))]
    print("mean score for 0..3 swapped vowels: " + " / ".join(f"{m:.1f}" for m in means))
