"""The pair formula is one object: its terms combine as documented, its weights are fitted to
what separates right from wrong, and the checkpoint keeps every part of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models import Calibration, Checkpoint, EncoderDims, FrameEncoder, PairScorer, Scorer, load_checkpoint, save_checkpoint
from models.pronunciation import pronunciation_cost
from models.recognizer import PhonemeRecognizer
from preprocessing import PreprocessConfig
from speech import SR, pad, speak


def _auc(correct: np.ndarray):
    """quality(distances) = P(a correct pair is nearer than a wrong one)."""
    def quality(d):
        return float(np.mean(d[correct][:, None] < d[~correct][None, :]))
    return quality


def test_fit_weights_takes_the_term_that_separates_and_leaves_one_that_does_not():
    rng = np.random.default_rng(0)
    correct = np.arange(200) < 100
    dtw = rng.normal(0.5, 0.1, 200)  # no help at all
    helpful = np.where(correct, 0.0, 1.0) + rng.normal(0, 0.3, 200)
    pair = PairScorer(FrameEncoder())
    assert pair.fit_weights({"dtw": dtw, "pronunciation": helpful}, _auc(correct)).weights["pronunciation"] > 0
    noise = rng.normal(0, 1.0, 200)
    dtw_good = np.where(correct, 0.2, 0.8) + rng.normal(0, 0.01, 200)
    assert pair.fit_weights({"dtw": dtw_good, "pronunciation": noise}, _auc(correct)).weights["pronunciation"] == 0
    assert pair.fit_weights({"dtw": dtw}, _auc(correct)) is pair  # no recognizer: nothing to fit


def test_a_saved_pair_scorer_scores_as_its_formula_says(tmp_path):
    torch.manual_seed(0)
    pair = PairScorer(FrameEncoder(), Calibration(0.4, 0.05), PhonemeRecognizer(EncoderDims(), ["a", "b", "s"]),
                      {"pronunciation": 0.2})
    back = load_checkpoint(save_checkpoint(tmp_path / "m.pt", Checkpoint(pair, PreprocessConfig()))).pair
    assert back.weights == {"pronunciation": 0.2} and back.calibration == pair.calibration
    scorer = Scorer(Checkpoint(back, PreprocessConfig()))
    ref = scorer.features((pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR))
    att = scorer.features((pad(speak("바다", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR))
    d = back.distance(ref, att)
    assert d.value == d.terms["dtw"] + 0.2 * d.terms["pronunciation"]
    result = scorer.score_pair(ref, att)
    assert result.distance == d.value and result.score == pytest.approx(pair.calibration.score(d.value))
    assert result.phoneme_cost == d.terms["pronunciation"]


def test_two_recognizers_travel_in_the_checkpoint_and_both_engines_score_as_the_formula(tmp_path):
    """The voices recognizer beside the first: its own term, weight and blank penalty, saved and
    read back by torch and by the numpy serving twin, which give the same score."""
    torch.manual_seed(1)
    symbols = ["ko:s", "ko:a", "ko:g", "ko:w", "ko:b"]
    pair = PairScorer(FrameEncoder(), Calibration(0.4, 0.05), PhonemeRecognizer(EncoderDims(), symbols),
                      {"pronunciation": 0.1, "voices": 0.3}, 1.8, PhonemeRecognizer(EncoderDims(), symbols), 0.8)
    path = save_checkpoint(tmp_path / "m.pt", Checkpoint(pair, PreprocessConfig()))
    ref_audio = (pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR)
    att_audio = (pad(speak("바다", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR)
    said = ("ko:s", "ko:a", "ko:g", "ko:w", "ko:a")
    results = {}
    for engine in ("torch", "numpy"):
        back = load_checkpoint(path, engine=engine).pair
        assert (back.blank_penalty, back.voices_blank_penalty) == (1.8, 0.8)
        assert back.weights == {"pronunciation": 0.1, "voices": 0.3}
        scorer = Scorer(Checkpoint(back, PreprocessConfig()))
        ref, att = scorer.features(ref_audio), scorer.features(att_audio)
        d = back.distance(ref, att, said)
        assert set(d.terms) == {"dtw", "pronunciation", "voices"} and d.terms["voices"] > 0
        # the voices term is the voices recognizer's reading, with its own blank penalty
        assert d.terms["voices"] == pytest.approx(pronunciation_cost(
            ref.voices_log_probs, att.voices_log_probs, 0.8, back.symbol_ids(said, back.voices)))
        assert d.terms["voices"] != pytest.approx(pronunciation_cost(
            ref.log_probs, att.log_probs, 0.8, back.symbol_ids(said)))
        assert d.value == pytest.approx(d.terms["dtw"] + 0.1 * d.terms["pronunciation"] + 0.3 * d.terms["voices"])
        results[engine] = scorer.score_pair(ref, att, expected=said)
        assert results[engine].voices_cost == d.terms["voices"] and results[engine].to_dict()["voices_cost"] is not None
        assert "voices-recognizer" in back.describe()
    assert results["numpy"].distance == pytest.approx(results["torch"].distance, rel=1e-4)
    assert results["numpy"].score == pytest.approx(results["torch"].score, abs=1e-2)
    # a model with the voices recognizer alone scores with it, told the text in its symbols
    only = dataclasses.replace(load_checkpoint(path).pair, recognizer=None, weights={"voices": 0.3})
    scorer = Scorer(Checkpoint(only, PreprocessConfig()))
    alone = scorer.score_pair(scorer.features(ref_audio), scorer.features(att_audio), expected=said)
    assert alone.phoneme_cost is None and alone.voices_cost == pytest.approx(results["torch"].voices_cost)
    assert alone.text_phonemes == said


def test_a_model_without_a_voices_recognizer_is_written_and_read_as_version_2(tmp_path):
    """Readers from before the voices recognizer take every file that has none."""
    torch.manual_seed(0)
    pair = PairScorer(FrameEncoder(), Calibration(0.4, 0.05), PhonemeRecognizer(EncoderDims(), ["a", "b"]),
                      {"pronunciation": 0.2})
    path = save_checkpoint(tmp_path / "m.pt", Checkpoint(pair, PreprocessConfig()))
    assert torch.load(path, weights_only=True)["format_version"] == 2
    for engine in ("torch", "numpy"):
        back = load_checkpoint(path, engine=engine).pair
        assert back.voices is None and back.recognizer is not None


def test_weights_for_people_take_the_voices_term_only_while_the_espeak_distinctions_hold():
    """fit_weights_for_people: the weights that rank real takes best, among those that keep the
    synthetic val AUCs within PEOPLE_HOLD of the formula without the voices term."""
    from training.dataset import PairRecord
    from training.train import fit_weights_for_people

    rng = np.random.default_rng(0)
    n = 300
    kinds = np.array(["correct", "edit1", "other"])[np.arange(n) % 3]
    records = [PairRecord(reference=f"r{i}", attempt=f"a{i}", target=float(k == "correct"), kind=k,
                          n_edits={"correct": 0, "edit1": 1, "other": -1}[k], word="w", voice="v", split="val",
                          snr_db=None, gain_db=0.0) for i, k in enumerate(kinds)]
    wrong = (kinds != "correct").astype(float)
    synthetic = {"dtw": wrong * 0.3 + rng.normal(0, 0.1, n), "pronunciation": wrong + rng.normal(0, 0.5, n),
                 "voices": rng.normal(0, 1.0, n)}  # the voices term hears nothing in espeak-ng's takes
    rows = [{"kind": k, "ref_voice": "espeak-ng:ko", "group": f"g{i // 3}"} for i, k in enumerate(kinds)]
    real = {"dtw": rng.normal(0, 0.1, n), "pronunciation": rng.normal(0, 1.0, n),
            "voices": wrong + rng.normal(0, 0.3, n)}  # …and tells people's right takes apart
    pair = PairScorer(FrameEncoder(), recognizer=object(), voices=object())
    fitted, people = fit_weights_for_people(pair, synthetic, records, rows, real)
    assert fitted.weights["voices"] > 0 and people["auc_other"] > 0.6
    # the same real gain, but the voices term now ruins the synthetic ranking: refused
    synthetic["voices"] = -wrong * 5 + rng.normal(0, 0.1, n)
    fitted, _ = fit_weights_for_people(pair, synthetic, records, rows, real)
    assert fitted.weights["voices"] == 0
