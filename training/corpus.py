"""The synthetic mispronunciation corpus: reference/attempt pairs with known labels.

For each vocabulary entry (Korean first, then English): one clean reference in the
language's default espeak-ng voice, and `attempts_per_word` attempts, each one of

- correct    the same phonemes in another voice variant, speed and pitch (label 1);
- edit       1-3 realistic learner mistakes (`training.phoneme_edits`), each checked to be
             audible (label 0);
- other_word a different entry of the same language, kind and split, half of the time
             one of the phonetically closest (label 0);

every attempt then heard through `training.augment.augment` (noise, room, cheap mic, gain,
silence). Splits are by entry AND by voice: val/test entries and voices never occur in
train rows. Everything is a function of the seed: same seed, same vocabulary → same
manifest and the same audio bytes, whatever the number of worker processes.

Output (DIR): manifest.csv (columns `MANIFEST_FIELDS`, paths relative to DIR),
audio/ref/*.wav and audio/att/*.wav (16 kHz mono 16-bit), noise/babble_*.wav (the babble
bank, for on-the-fly augmentation), corpus.json (config, counts, content hash).
"""

from __future__ import annotations

import collections
import csv
import hashlib
import io
import json
import re
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import CorpusError, MalsoriError
from core.phonemes import base, is_phoneme, utterance_items

from .augment import AugmentKnobs, augment, mix_babble
from .engines import (
    ENGINES,
    FESTIVAL_VOICE_SPLIT,
    KOKORO_VOICE_SPLIT,
    check_engines,
    draw_kokoro_voice,
    festival_synthesize,
    kokoro_model_file,
    kokoro_speaker,
    world_warp,
)
from .phoneme_edits import (
    DEFAULT_CATEGORY_WEIGHTS,
    apply_edits,
    candidate_edits,
    draw_edits,
    format_edits,
    parse_edits,
    render,
)

MANIFEST_FIELDS = [
    "reference", "attempt", "label", "kind", "n_edits", "edits", "word", "attempt_text", "lang", "split", "voice",
    "speed_wpm", "pitch", "snr_db", "noise", "gain_db", "reverb", "mic", "lead_s", "trail_s", "seed",
    "engine", "ref_voice",
]
ENGINE_SPLITS = ("train", "val")  # the test split stays espeak-ng only: comparable across corpora
SPLITS = ("train", "val", "test")
KINDS = ("correct", "edit", "other_word")
REFERENCE_VOICES = {"ko": "ko", "en": "en-us"}  # the kiosk's offline reference voice (app.tts)
TRAINING_DIR = Path(__file__).resolve().parent
DEFAULT_VOCAB = (TRAINING_DIR / "vocab_ko.txt", TRAINING_DIR / "vocab_en.txt")
FORMAT_VERSION = 1

# espeak-ng variants per split: every one checked to sound different from all others
# (some names are aliases: klatt6 = caleb = klatt). Held-out splits mix male, female and klatt.
DEFAULT_VOICE_SPLIT = {
    "train": ("m1", "m2", "m4", "m5", "m7", "m8", "f1", "f3", "f4", "klatt", "klatt3", "klatt5", "adam", "Alex",
              "Alicia", "Andy", "Annie", "aunty", "boris", "david", "ed", "Gene", "Jacky", "john", "linda", "max",
              "Michael", "norbert", "paul", "quincy", "rob", "shelby", "steph", "travis", "grandma", "grandpa"),
    "val": ("m3", "f2", "klatt2", "Andrea", "Lee", "victor"),
    "test": ("m6", "f5", "klatt4", "belinda", "Mike", "robert", "anika"),
}



@dataclass(frozen=True)
class VocabEntry:
    text: str
    lang: str  # "ko" | "en"
    kind: str  # "word" | "sentence"


@dataclass(frozen=True)
class CorpusConfig:
    """Every knob of the corpus (saved in corpus.json)."""

    seed: int = 0  # drives every random choice (splits, voices, edits, augmentation)
    langs: tuple[str, ...] = ("ko", "en")  # languages to include, in this order
    attempts_per_word: int = 8  # attempts per vocabulary entry (each a row of the manifest)
    # chance of each attempt kind (an edit falls back to correct when no audible edit exists)
    kind_weights: dict = field(default_factory=lambda: {"correct": 0.45, "edit": 0.4, "other_word": 0.15})
    n_edits_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)  # chance of 1, 2, 3 edits in an edit attempt
    # per language, relative weight of each kind of mistake (0 = never; see training.phoneme_edits)
    category_weights: dict = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CATEGORY_WEIGHTS.items()})
    val_fraction: float = 0.1  # of each language's words (and, separately, sentences)
    test_fraction: float = 0.1
    # espeak-ng variants ("m3", "klatt") for attempts per split; no variant in two splits
    voice_split: dict = field(default_factory=lambda: {k: tuple(v) for k, v in DEFAULT_VOICE_SPLIT.items()})
    reference_speed_wpm: int = 160  # the reference: default voice, default speed/pitch, clean
    reference_pitch: int = 50
    speed_wpm: tuple[int, int] = (120, 210)  # attempts: uniform integer range, words per minute
    pitch: tuple[int, int] = (20, 80)  # attempts: espeak-ng pitch 0..99
    # An edit counts only if its audio differs from the correct rendering in the same voice:
    # `audible_distance` must reach this (identical audio gives 0, e.g. ㅅ/ㅆ; real edits
    # 0.49-2.9; 5 wpm faster or 5 pitch steps higher 0.4-0.7).
    min_audible_distance: float = 0.35
    # other_word attempts: this share picks one of the `similar_others` entries whose phonemes
    # are closest to the word (minimal pairs such as rice/lice: the hardest negatives); the rest
    # pick any entry of the same language, kind and split
    similar_other_fraction: float = 0.5
    similar_others: int = 3
    max_edit_tries: int = 6  # fresh draws of an attempt's edits before it becomes a correct attempt
    sr: int = 16_000  # sample rate of every wav written, Hz
    babble_clips: int = 12  # babble bank size (clips of several train-voice talkers saying corpus words)
    babble_talkers: tuple[int, int] = (3, 6)  # talkers per babble clip
    babble_s: float = 4.0  # length of a babble clip, seconds
    augment: AugmentKnobs = field(default_factory=AugmentKnobs)  # the kiosk-mic simulation (training.augment)
    # Voices beyond espeak-ng (`ENGINES`, training.engines): extra attempts per entry and engine,
    # train and val entries only, after the `attempts_per_word` espeak-ng ones (which stay exactly
    # those of a corpus without engines). {} = espeak-ng only.
    engines: dict = field(default_factory=dict)
    # per split, the Kokoro styles a voice is made of (alone or mixed; only training.engines.KOKORO_STYLES)
    kokoro_voice_split: dict = field(default_factory=lambda: {k: tuple(v) for k, v in KOKORO_VOICE_SPLIT.items()})
    kokoro_speed: tuple[float, float] = (0.8, 1.25)  # Kokoro attempts: uniform speed factor
    festival_voice_split: dict = field(default_factory=lambda: {k: tuple(v) for k, v in FESTIVAL_VOICE_SPLIT.items()})
    # of the extra attempts, this share is judged against a Kokoro reference of the word (a neural
    # reference, as gTTS gives the kiosk) instead of espeak-ng's; half of those are espeak-ng takes
    neural_reference_fraction: float = 0.25
    # warp attempts (pseudo-speakers): an espeak-ng or Kokoro take re-synthesised by WORLD with F0
    # times a factor and the spectral envelope stretched along frequency (≈ vocal-tract length)
    warp_f0: tuple[float, float] = (0.6, 1.7)
    warp_formant: tuple[float, float] = (0.82, 1.2)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # tuples → lists: what corpus.json holds


# --- vocabulary ------------------------------------------------------------------------------

_HANGUL = re.compile(r"[\uAC00-\uD7A3]")


def guess_lang(text: str) -> str:
    return "ko" if _HANGUL.search(text) else "en"


def load_vocab(path: str | Path) -> list[VocabEntry]:
    """A vocabulary file → entries, in file order, without duplicates.

    .txt: one word or sentence per line, "#" starts a comment; the language is Korean when
    the line has Hangul, else English; a line with a space or final .?! is a sentence.
    .csv: a kiosk word list (`core.wordlists`, columns text, lang, kind, ...).
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such vocabulary file")
    if path.suffix.lower() == ".csv":
        from core.wordlists import load_wordlist

        entries = [VocabEntry(e.text, e.lang, e.kind) for e in load_wordlist(path)]
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{path}: not a UTF-8 text file") from exc
        entries = []
        for line in lines:
            text = unicodedata.normalize("NFC", line.split("#", 1)[0].strip())
            if text:
                kind = "sentence" if (" " in text or text[-1] in ".?!") else "word"
                entries.append(VocabEntry(text, guess_lang(text), kind))
    seen, unique = set(), []
    for e in entries:
        if (e.lang, e.text) not in seen:
            seen.add((e.lang, e.text))
            unique.append(e)
    return unique


def split_entries(entries: list[VocabEntry], *, seed: int, val_fraction: float, test_fraction: float) -> list[str]:
    """The split of each entry: per (language, kind) a seeded shuffle, then test, val, train.

    A group of three or more entries gives val and test at least one each.
    """
    splits = ["train"] * len(entries)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, e in enumerate(entries):
        groups.setdefault((e.lang, e.kind), []).append(i)
    for (lang, kind), idx in sorted(groups.items()):
        key = int.from_bytes(hashlib.sha256(f"{lang}/{kind}".encode()).digest()[:4], "little")
        order = np.random.default_rng([seed, key]).permutation(len(idx))
        n = len(idx)
        n_test = max(1, round(n * test_fraction)) if n >= 3 and test_fraction > 0 else 0
        n_val = max(1, round(n * val_fraction)) if n >= 3 and val_fraction > 0 else 0
        for rank, j in enumerate(order):
            splits[idx[j]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


# --- audibility --------------------------------------------------------------------------------


def audible_distance(a: np.ndarray, b: np.ndarray, *, sr: int) -> float:
    """How different two renderings sound where they differ most: 0 for identical audio.

    MFCCs (c1..c19, 25 ms window, 10 ms hop, per-coefficient scale shared by both takes)
    aligned by DTW; the largest 50 ms mean of the aligned frame distances. Measured on
    espeak-ng: a real one-phoneme edit gives 0.49-2.9, the same phonemes 5 wpm faster or
    5 pitch steps higher 0.4-0.7, identical audio 0.
    """
    if len(a) == len(b) and np.array_equal(a, b):
        return 0.0
    return feature_distance(mfcc(a, sr=sr), mfcc(b, sr=sr))


def is_audible(y: np.ndarray, reference: np.ndarray, reference_feats: np.ndarray, *, sr: int,
               min_distance: float) -> bool:
    """Does rendering `y` sound different from `reference` (whose `mfcc` is `reference_feats`)?

    Identical audio never is; otherwise `feature_distance` must reach `min_distance`. The
    reference's features are passed in because one reference is compared with many edits.
    """
    if len(y) == len(reference) and np.array_equal(y, reference):
        return False
    return feature_distance(reference_feats, mfcc(y, sr=sr)) >= min_distance


def feature_distance(fa: np.ndarray, fb: np.ndarray) -> float:
    """`audible_distance` on precomputed `mfcc` features [frames, 19]."""
    from librosa.sequence import dtw

    scale = np.concatenate([fa, fb]).std(axis=0) + 1e-6
    fa, fb = fa / scale, fb / scale
    sq = (fa**2).sum(1)[:, None] + (fb**2).sum(1)[None, :] - 2.0 * fa @ fb.T
    cost = np.sqrt(np.maximum(sq, 0.0) / fa.shape[1])
    _, path = dtw(C=cost, backtrack=True)
    steps = cost[path[:, 0], path[:, 1]]
    width = min(5, len(steps))
    return float(np.convolve(steps, np.ones(width) / width, mode="valid").max())


def mfcc(y: np.ndarray, *, sr: int) -> np.ndarray:
    """float64 [frames, 19]: MFCC c1..c19 of y (40 mel bands, 25 ms Hann window, 10 ms hop)."""
    from scipy.fft import dct

    win, hop = int(0.025 * sr), sr // 100
    n_fft = 1 << (win - 1).bit_length()
    y = np.asarray(y, np.float64)
    if len(y) < win:
        y = np.pad(y, (0, win - len(y)))
    frames = np.lib.stride_tricks.sliding_window_view(y, win)[::hop] * np.hanning(win)
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2
    mel = np.log(power @ _mel_basis(sr, n_fft).T + 1e-10)
    return dct(mel, type=2, norm="ortho", axis=1)[:, 1:20]


@lru_cache(maxsize=4)
def _mel_basis(sr: int, n_fft: int) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=40, fmin=50.0, fmax=sr / 2 * 0.95)


# --- one entry (runs in a worker process) ----------------------------------------------------


@dataclass(frozen=True)
class EntryTask:
    index: int  # position in the vocabulary; names the files and seeds the randomness
    entry: VocabEntry
    items: tuple[str, ...]  # the entry's phoneme items in the reference voice (training.phoneme_edits)
    split: str
    others: tuple[tuple[VocabEntry, tuple[str, ...]], ...]  # same language, kind and split, with their items
    similar: tuple[int, ...]  # indices into `others` of the phonetically closest ones
    voices: tuple[str, ...]  # full espeak-ng voice names of this split ("ko+m3")


@dataclass
class EntryResult:
    index: int
    rows: list[dict]
    inaudible: dict  # category → number of candidate edits dropped as inaudible
    audible: dict  # category → number of candidate edits kept
    used: dict = field(default_factory=dict)  # category → number of edits in this entry's attempts
    error: str = ""  # why the entry was skipped (espeak-ng could not say it)
    failed_extra: list = field(default_factory=list)  # (engine, why) per extra-engine take left out


def attempt_seed(seed: int, index: int, k: int) -> int:
    """The seed of attempt k of entry `index` (written to the manifest's seed column)."""
    return int(np.random.SeedSequence([seed, index, k]).generate_state(1)[0])


def make_entry(task: EntryTask, *, cfg: CorpusConfig, out_dir: Path, babble: list[np.ndarray]) -> EntryResult:
    """Write one entry's reference and attempts; returns its manifest rows."""
    from core.espeak import synthesize
    from core.fileio import atomic_write_wav

    e, sr = task.entry, cfg.sr
    ref_voice = REFERENCE_VOICES[e.lang]
    stem = f"{e.lang}_{task.index:04d}"
    ref_path = f"audio/ref/{stem}.wav"
    reference = synthesize(e.text, voice=ref_voice, speed_wpm=cfg.reference_speed_wpm, pitch=cfg.reference_pitch, sr=sr)
    atomic_write_wav(out_dir / ref_path, reference, sr=sr)

    items = list(task.items)
    say = dict(speed_wpm=cfg.reference_speed_wpm, pitch=cfg.reference_pitch, sr=sr)
    correct_ref = synthesize(render(items), voice=ref_voice, **say)
    correct_feats = mfcc(correct_ref, sr=sr)

    # Keep only the candidate mistakes one can hear in the reference voice.
    audible, stats_in, stats_out = [], {}, {}
    for edit in candidate_edits(items, lang=e.lang):
        if cfg.category_weights.get(e.lang, {}).get(edit.category, 0) <= 0:
            continue
        y = synthesize(render(apply_edits(items, [edit])), voice=ref_voice, **say)
        if is_audible(y, correct_ref, correct_feats, sr=sr, min_distance=cfg.min_audible_distance):
            audible.append(edit)
            stats_in[edit.category] = stats_in.get(edit.category, 0) + 1
        else:
            stats_out[edit.category] = stats_out.get(edit.category, 0) + 1

    rows, used = [], {}
    out = _AttemptWriter(task, cfg=cfg, out_dir=out_dir, babble=babble, used=used)
    for k in range(cfg.attempts_per_word):
        seed = attempt_seed(cfg.seed, task.index, k)
        rng = np.random.default_rng(seed)
        kind = _draw_kind(rng, cfg.kind_weights, task, audible)
        voice, speed, pitch, speak = _espeak_speaker(task, rng, cfg)
        kind, y, attempt_text, edits = say_attempt(kind, task, audible, speak, rng=rng, cfg=cfg)
        rows.append(out.write(k, seed, rng, y, kind=kind, edits=edits, attempt_text=attempt_text, ref_path=ref_path,
                              voice=voice, speed=speed, pitch=pitch))
    failed: list = []
    if cfg.engines and task.split in ENGINE_SPLITS:
        rows += extra_attempts(task, audible, cfg=cfg, out=out, ref_path=ref_path, failed=failed)
    return EntryResult(task.index, rows, stats_out, stats_in, used, failed_extra=failed)


def _draw_kind(rng: np.random.Generator, weights: dict, task: EntryTask, audible: list) -> str:
    """An attempt's kind; "correct" where the entry has no other word or no audible edit to offer."""
    kind = _draw(rng, weights)
    if (kind == "other_word" and not task.others) or (kind == "edit" and not audible):
        return "correct"
    return kind


def say_attempt(kind: str, task: EntryTask, audible: list, speak, *, rng: np.random.Generator,
                cfg: CorpusConfig) -> tuple[str, np.ndarray, str, list]:
    """One attempt of `kind` in one voice → (kind, audio, attempt_text, edits).

    speak(items, text): the voice saying phoneme items (text: the entry's text when the items
    are an entry's own, None for edited items). An edit attempt that is inaudible in this
    voice after `cfg.max_edit_tries` draws becomes a correct attempt.
    """
    e, items, sr = task.entry, list(task.items), cfg.sr
    edits: list = []
    if kind == "other_word":
        pool = task.similar if task.similar and rng.random() < cfg.similar_other_fraction else range(len(task.others))
        other, other_items = task.others[pool[int(rng.integers(len(pool)))]]
        return kind, speak(list(other_items), other.text), other.text, edits
    correct = speak(items, e.text)
    y, attempt_text = correct, render(items)
    if kind == "edit":
        n = 1 + int(rng.choice(3, p=np.asarray(cfg.n_edits_weights) / sum(cfg.n_edits_weights)))
        for _ in range(cfg.max_edit_tries):
            edits = draw_edits(audible, n=n, rng=rng, weights=cfg.category_weights.get(e.lang, {}))
            edited = apply_edits(items, edits)
            y_edit = speak(edited, None)
            if audible_distance(correct, y_edit, sr=sr) >= cfg.min_audible_distance:
                return kind, y_edit, render(edited), edits
        kind, edits = "correct", []  # never audible in this voice: say it right instead
    return kind, y, attempt_text, edits


class _AttemptWriter:
    """Augments an attempt, writes its wav and makes its manifest row."""

    def __init__(self, task: EntryTask, *, cfg: CorpusConfig, out_dir: Path, babble: list[np.ndarray], used: dict):
        self.task, self.cfg, self.out_dir, self.babble, self.used = task, cfg, out_dir, babble, used
        self.stem = f"{task.entry.lang}_{task.index:04d}"

    def write(self, k: int, seed: int, rng: np.random.Generator, y: np.ndarray, *, kind: str, edits: list,
              attempt_text: str, ref_path: str, voice: str, speed, pitch, engine: str = "espeak-ng",
              ref_voice: str = "") -> dict:
        from core.fileio import atomic_write_wav

        e, task, sr = self.task.entry, self.task, self.cfg.sr
        for edit in edits:
            self.used[edit.category] = self.used.get(edit.category, 0) + 1
        y, info = augment(y, sr=sr, rng=rng, knobs=self.cfg.augment, babble=self.babble)
        att_path = f"audio/att/{self.stem}_{k:02d}.wav"
        atomic_write_wav(self.out_dir / att_path, y, sr=sr)
        return {
            "reference": ref_path, "attempt": att_path, "label": int(kind == "correct"), "kind": kind,
            "n_edits": {"correct": 0, "other_word": -1}.get(kind, len(edits)), "edits": format_edits(edits),
            "word": e.text, "attempt_text": attempt_text, "lang": e.lang, "split": task.split, "voice": voice,
            "speed_wpm": speed, "pitch": pitch, "snr_db": "" if info.snr_db is None else f"{info.snr_db:.1f}",
            "noise": info.noise, "gain_db": f"{info.gain_db:.1f}", "reverb": f"{info.reverb:.2f}", "mic": info.mic,
            "lead_s": f"{info.lead_s:.3f}", "trail_s": f"{info.trail_s:.3f}", "seed": seed,
            "engine": engine, "ref_voice": ref_voice or REFERENCE_VOICES[e.lang],
        }


# --- attempts in voices beyond espeak-ng (`cfg.engines`, training.engines) ---------------------


def _espeak_speaker(task, rng: np.random.Generator, cfg):
    from core.espeak import synthesize

    voice = task.voices[int(rng.integers(len(task.voices)))]
    speed = int(rng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1))
    pitch = int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1))
    return voice, speed, pitch, lambda items, _text: synthesize(render(list(items)), voice=voice, speed_wpm=speed,
                                                                pitch=pitch, sr=cfg.sr)


def _kokoro_speaker(task, rng: np.random.Generator, cfg):
    voice = draw_kokoro_voice(rng, tuple(cfg.kokoro_voice_split[task.split]))
    speed = round(float(rng.uniform(*cfg.kokoro_speed)), 2)
    return f"kokoro:{voice.name}@{speed:.2f}", "", "", kokoro_speaker(task.entry.lang, voice, speed, sr=cfg.sr)


def _festival_speaker(task, rng: np.random.Generator, cfg):
    voices = cfg.festival_voice_split.get(task.split, ())
    voice = voices[int(rng.integers(len(voices)))]

    def speak(_items, text):
        if text is None:
            raise CorpusError("festival reads text only: it cannot say an edited word")
        return festival_synthesize(text, voice=voice, sr=cfg.sr)

    return f"festival:{voice}", "", "", speak


def _warp_speaker(task, rng: np.random.Generator, cfg):
    base = _kokoro_speaker if rng.random() < 0.5 else _espeak_speaker
    name, speed, pitch, speak = base(task, rng, cfg)
    f0 = float(np.exp(rng.uniform(*np.log(cfg.warp_f0))))
    formant = float(np.exp(rng.uniform(*np.log(cfg.warp_formant))))
    return (f"warp:{name}/f0x{f0:.2f}/fx{formant:.2f}", speed, pitch,
            lambda items, text: world_warp(speak(items, text), sr=cfg.sr, f0_factor=f0, formant_factor=formant))


SPEAKERS = {"kokoro": _kokoro_speaker, "festival": _festival_speaker, "warp": _warp_speaker}
ENGINE_SEED_OFFSET = 1000  # extra attempt j of an entry has seed attempt_seed(seed, index, 1000 + j)


def _kokoro_reference(task, *, cfg, out_dir) -> tuple[str, str]:
    """The entry's Kokoro reference (a split style at speed 1, clean): (path in the corpus, voice)."""
    from core.fileio import atomic_write_wav

    rng = np.random.default_rng([cfg.seed, task.index, 0xC0C0])
    voice = draw_kokoro_voice(rng, tuple(cfg.kokoro_voice_split[task.split]))
    y = kokoro_speaker(task.entry.lang, voice, 1.0, sr=cfg.sr)(task.items, task.entry.text)
    path = f"audio/ref/{task.entry.lang}_{task.index:04d}_kokoro.wav"
    atomic_write_wav(out_dir / path, y, sr=cfg.sr)
    return path, f"kokoro:{voice.name}"


def extra_attempts(task: EntryTask, audible: list, *, cfg: CorpusConfig, out: _AttemptWriter,
                   ref_path: str, failed: list) -> list[dict]:
    """The entry's attempts in `cfg.engines`' voices (train and val entries): manifest rows.

    Kinds are drawn as for espeak-ng attempts; festival, which cannot say an edit, draws among
    correct and other-word only, and says English entries only. A share
    `cfg.neural_reference_fraction` of the rows has the entry's Kokoro reference instead of
    espeak-ng's, and half of those an espeak-ng take. A take an engine cannot make (festival
    silent on "€", a symbol Kokoro lacks) is left out and appended to `failed` as
    (engine, why), engine being the one that failed (kokoro for the Kokoro reference, espeak-ng
    for an espeak-ng take on it); the entry's other takes stay. The Kokoro reference is tried once
    per entry: every row drawn onto a reference that failed is left out without asking again.
    """
    e, rows, neural = task.entry, [], None
    j = 0
    for engine in ENGINES:
        for _ in range(int(cfg.engines.get(engine, 0))):
            k, j = cfg.attempts_per_word + j, j + 1
            seed = attempt_seed(cfg.seed, task.index, ENGINE_SEED_OFFSET + j - 1)
            rng = np.random.default_rng(seed)
            if engine == "festival" and (e.lang != "en" or not cfg.festival_voice_split.get(task.split)):
                continue  # festival speaks English only, and the split may have no festival voice
            weights = dict(cfg.kind_weights)
            if engine == "festival":
                weights.pop("edit", None)
            kind = _draw_kind(rng, weights, task, audible)
            ref, ref_voice, att_engine = ref_path, "", engine
            failing = engine  # the engine a failure is counted under: the one that was speaking
            try:
                if rng.random() < cfg.neural_reference_fraction and cfg.engines.get("kokoro"):
                    failing = "kokoro"
                    if neural is None:  # once per entry: a word Kokoro cannot say fails every row alike
                        try:
                            neural = _kokoro_reference(task, cfg=cfg, out_dir=out.out_dir)
                        except MalsoriError as exc:
                            neural = exc
                    if isinstance(neural, MalsoriError):
                        raise neural.with_traceback(None)
                    ref, ref_voice = neural
                    if rng.random() < 0.5:
                        att_engine = "espeak-ng"
                failing = att_engine
                if att_engine == "espeak-ng":
                    voice, speed, pitch, speak = _espeak_speaker(task, rng, cfg)
                else:
                    voice, speed, pitch, speak = SPEAKERS[att_engine](task, rng, cfg)
                kind, y, attempt_text, edits = say_attempt(kind, task, audible, speak, rng=rng, cfg=cfg)
            except MalsoriError as exc:  # this take only: the word and its espeak-ng takes stay
                failed.append((failing, _failure_reason(e.text, exc)))
                continue
            rows.append(out.write(k, seed, rng, y, kind=kind, edits=edits, attempt_text=attempt_text, ref_path=ref,
                                  voice=voice, speed=speed, pitch=pitch, engine=att_engine, ref_voice=ref_voice))
    return rows


def _failure_reason(text: str, exc: Exception) -> str:
    """"'€': why", naming the word once: festival's own message already says "could not say '€'"."""
    why = str(exc)
    return why if repr(text) in why else f"{text!r}: {why}"


def _draw(rng: np.random.Generator, weights: dict) -> str:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


# --- babble ----------------------------------------------------------------------------------


def make_babble_bank(entries: list[VocabEntry], *, cfg: CorpusConfig) -> list[np.ndarray]:
    """`cfg.babble_clips` clips of several train-voice talkers saying train words, unit RMS."""
    from core.espeak import synthesize

    rng = np.random.default_rng([cfg.seed, 0xBAB])
    voices = cfg.voice_split["train"]
    bank = []
    for _ in range(cfg.babble_clips):
        talkers = []
        for _ in range(int(rng.integers(cfg.babble_talkers[0], cfg.babble_talkers[1] + 1))):
            picks = [entries[int(i)] for i in rng.integers(len(entries), size=4)]
            lang = picks[0].lang
            text = " ".join(p.text for p in picks if p.lang == lang)
            voice = f"{REFERENCE_VOICES[lang]}+{voices[int(rng.integers(len(voices)))]}"
            talkers.append(synthesize(text, voice=voice, speed_wpm=int(rng.integers(140, 200)),
                                      pitch=int(rng.integers(20, 80)), sr=cfg.sr))
        bank.append(mix_babble(talkers, length=int(cfg.babble_s * cfg.sr), rng=rng))
    return bank


def load_babble_bank(corpus_dir: str | Path, *, sr: int = 16_000) -> list[np.ndarray]:
    """The babble clips a corpus saved (noise/babble_*.wav, peak 0.5), for `augment(..., babble=)`."""
    from preprocessing.audio import load_audio

    return [load_audio(p, sr=sr) for p in sorted(Path(corpus_dir, "noise").glob("babble_*.wav"))]


# --- the whole corpus ------------------------------------------------------------------------

_worker_state: dict = {}


def _init_worker(cfg: CorpusConfig, out_dir: str, babble: list[np.ndarray]) -> None:
    _worker_state.update(cfg=cfg, out_dir=Path(out_dir), babble=babble)  # once per worker process


def _run_task(task: EntryTask) -> EntryResult:
    s = _worker_state
    try:
        return make_entry(task, cfg=s["cfg"], out_dir=s["out_dir"], babble=s["babble"])
    except MalsoriError as exc:  # one unsayable entry should not cost the whole corpus
        return EntryResult(task.index, [], {}, {}, error=str(exc))


def entry_items(entry: VocabEntry) -> tuple[str, ...] | str:
    """The entry's phoneme items in its reference voice, or why espeak-ng could not give them."""
    from core.espeak import phoneme_tokens

    try:
        items = utterance_items(phoneme_tokens(entry.text, voice=REFERENCE_VOICES[entry.lang]), lang=entry.lang)
    except MalsoriError as exc:
        return str(exc)
    if any(item.startswith("(") for item in items):  # "(en)…(ko)": part of it is read in another language
        return "it mixes languages (espeak-ng reads part of it with another voice)"
    return tuple(items) if any(is_phoneme(p) for p in items) else "espeak-ng found no phonemes in it"


def edit_categories(word: str, edits: str, *, lang: str) -> list[str]:
    """The category of each edit of a manifest row ("laryngeal", "coda", "vowel", …), in order.

    word, edits, lang: the row's columns. Recomputed from espeak-ng's phonemes of the word,
    so an evaluator can report accuracy per kind of mistake.
    """
    found = entry_items(VocabEntry(word, lang, "word"))
    if isinstance(found, str):
        raise CorpusError(f"{word!r}: {found}")
    known = {(e.pos, e.old, e.new): e.category for e in candidate_edits(list(found), lang=lang)}
    return [known.get((pos, old, new), "unknown") for old, new, pos in parse_edits(edits)]


def phoneme_distance(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Levenshtein distance between two item lists, stress marks and boundaries ignored."""
    a = [base(x) for x in a if is_phoneme(x)]
    b = [base(x) for x in b if is_phoneme(x)]
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def order_entries(entries: list[VocabEntry], *, cfg: CorpusConfig) -> list[VocabEntry]:
    """The languages of cfg.langs in that order (Korean first); file order within a language."""
    return sorted((e for e in entries if e.lang in cfg.langs), key=lambda e: cfg.langs.index(e.lang))


def plan_tasks(entries: list[VocabEntry], items: list[tuple[str, ...]], *, cfg: CorpusConfig) -> list[EntryTask]:
    """One task per entry (ordered by `order_entries`), with its split, voices and other_word pool.

    items: each entry's phoneme items (`entry_items`), in the same order.
    """
    splits = split_entries(entries, seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    tasks = []
    for i, (e, split) in enumerate(zip(entries, splits)):
        others = tuple((o, it) for o, it, s in zip(entries, items, splits)
                       if s == split and o.lang == e.lang and o.kind == e.kind and o.text != e.text)
        by_distance = sorted(range(len(others)), key=lambda j: phoneme_distance(items[i], others[j][1]))
        voices = tuple(f"{REFERENCE_VOICES[e.lang]}+{v}" for v in cfg.voice_split[split])
        tasks.append(EntryTask(i, e, items[i], split, others, tuple(by_distance[: cfg.similar_others]), voices))
    return tasks


def make_corpus(
    out_dir: str | Path,
    *,
    cfg: CorpusConfig,
    vocab: list[VocabEntry],
    jobs: int = 1,
    progress: bool = False,
    force: bool = False,
) -> dict:
    """Write the corpus into out_dir; returns what corpus.json holds.

    force: replace an existing corpus there (its audio/ and noise/ folders are emptied first).
    """
    from core.fileio import atomic_write_json, atomic_write_text, atomic_write_wav

    start = time.monotonic()
    out_dir = Path(out_dir)
    _check_config(cfg)
    entries = order_entries(vocab, cfg=cfg)
    if not entries:
        raise CorpusError(f"the vocabulary has no entries in {', '.join(cfg.langs)}")
    _check_held_out(entries, cfg=cfg)
    _prepare_out_dir(out_dir, force=force)

    babble = []
    if cfg.augment.noise_weights.get("babble", 0) > 0:
        for i, clip in enumerate(make_babble_bank(entries, cfg=cfg)):
            atomic_write_wav(out_dir / "noise" / f"babble_{i:02d}.wav", 0.5 * clip / np.abs(clip).max(), sr=cfg.sr)
        babble = load_babble_bank(out_dir, sr=cfg.sr)  # read back: the trainer's bank is exactly this one

    if {"kokoro", "warp"} & {e for e, n in cfg.engines.items() if n > 0}:
        kokoro_model_file()  # once, here: workers assembling it together cut it
    skipped = []
    with _worker_pool(jobs, cfg=cfg, out_dir=out_dir, babble=babble) as pool:
        found = list(pool.imap(entry_items, entries, chunksize=8) if pool else map(entry_items, entries))
        skipped += [{"text": e.text, "lang": e.lang, "error": f} for e, f in zip(entries, found) if isinstance(f, str)]
        said = [(e, f) for e, f in zip(entries, found) if not isinstance(f, str)]
        if not said:
            raise CorpusError(f"espeak-ng could not say any vocabulary entry ({skipped[0]['error']})")
        tasks = plan_tasks([e for e, _ in said], [f for _, f in said], cfg=cfg)
        results = _run_tasks(tasks, pool, cfg=cfg, progress=progress)
    skipped += [{"text": tasks[r.index].entry.text, "lang": tasks[r.index].entry.lang, "error": r.error}
                for r in results if r.error]
    rows = [row for r in sorted(results, key=lambda r: r.index) for row in r.rows]

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    manifest = buf.getvalue()
    atomic_write_text(out_dir / "manifest.csv", manifest)

    summary = {
        "format_version": FORMAT_VERSION,
        "config": cfg.to_dict(),
        "vocabulary": {s: sorted({t.entry.text for t in tasks if t.split == s}) for s in SPLITS},
        "voices": {s: [f"+{v}" for v in cfg.voice_split[s]] for s in SPLITS},
        "engine_voices": {engine: {s: list(v) for s, v in split.items()} for engine, split in (
            ("kokoro", cfg.kokoro_voice_split), ("festival", cfg.festival_voice_split)) if cfg.engines.get(engine)},
        "counts": _counts(rows),
        "edit_candidates": {
            "audible": _sum_stats(r.audible for r in results),
            "inaudible": _sum_stats(r.inaudible for r in results),
            "used_in_attempts": _sum_stats(r.used for r in results),
        },
        "skipped": skipped,
        "failed_extra_attempts": _failed_extra(results),
        "espeak_ng": _espeak_version(),
        "generation_s": round(time.monotonic() - start, 1),
        "jobs": jobs,
        "content_hash": content_hash(out_dir, manifest),
    }
    atomic_write_json(out_dir / "corpus.json", summary)
    return summary


@contextmanager
def _worker_pool(jobs: int, *, cfg: CorpusConfig, out_dir: Path, babble: list[np.ndarray]):
    """A process pool whose workers hold cfg and the babble bank; None (work inline) for jobs <= 1."""
    if jobs <= 1:
        _init_worker(cfg, str(out_dir), babble)
        try:
            yield None
        finally:
            _worker_state.clear()
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no inherited state: a worker is a clean process
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(cfg, str(out_dir), babble)) as pool:
        yield pool


def _run_tasks(tasks: list[EntryTask], pool, *, cfg: CorpusConfig, progress: bool) -> list[EntryResult]:
    from tqdm import tqdm

    def planned(task: EntryTask) -> int:  # rows an entry is expected to give (the progress bar's unit)
        extra = sum(cfg.engines.values()) if task.split in ENGINE_SPLITS else 0
        return cfg.attempts_per_word + extra

    # longest entries (sentences) first, so no worker is left alone with one at the end
    order = sorted(tasks, key=lambda t: -len(t.items))
    results = pool.imap_unordered(_run_task, order) if pool else map(_run_task, order)
    out = []
    with tqdm(total=sum(planned(t) for t in tasks), unit="pair", disable=not progress, smoothing=0.1) as bar:
        for result in results:
            out.append(result)
            bar.update(planned(tasks[result.index]))
    return out


def content_hash(out_dir: Path, manifest: str) -> str:
    """sha256 over the manifest and every audio file it names (in manifest order): the data set's identity."""
    h = hashlib.sha256(manifest.encode("utf-8"))
    seen = set()
    for row in csv.DictReader(io.StringIO(manifest)):
        for rel in (row["reference"], row["attempt"]):
            if rel not in seen:
                seen.add(rel)
                h.update(rel.encode())
                h.update(hashlib.sha256((out_dir / rel).read_bytes()).digest())
    return h.hexdigest()


def read_manifest(corpus_dir: str | Path) -> list[dict]:
    """The manifest rows as dicts of strings (paths still relative to corpus_dir)."""
    path = Path(corpus_dir) / "manifest.csv"
    if not path.is_file():
        raise CorpusError(f"{path}: no corpus manifest (run `malsori make-corpus --out {corpus_dir}`)")
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _counts(rows: list[dict]) -> dict:
    out: dict = {"pairs": len(rows)}
    for split in SPLITS:
        in_split = [r for r in rows if r["split"] == split]
        out[split] = {"pairs": len(in_split), "words": len({(r["lang"], r["word"]) for r in in_split}),
                      **{kind: sum(r["kind"] == kind for r in in_split) for kind in KINDS}}
    out["n_edits"] = {str(n): sum(r["kind"] == "edit" and r["n_edits"] == n for r in rows) for n in (1, 2, 3)}
    out["engines"] = {}  # split → attempt engine → reference engine → kind → pairs
    for r in rows:
        ref_engine = r["ref_voice"].split(":", 1)[0] if ":" in r["ref_voice"] else "espeak-ng"
        per = out["engines"].setdefault(r["split"], {}).setdefault(r["engine"], {}).setdefault(ref_engine, {})
        per[r["kind"]] = per.get(r["kind"], 0) + 1
    out["noise"] = {}
    for r in rows:
        out["noise"][r["noise"]] = out["noise"].get(r["noise"], 0) + 1
    return out


def _failed_extra(results: list[EntryResult]) -> dict:
    """engine → {"attempts": extra takes left out, "example": the first one's word and reason}."""
    out: dict = {}
    for r in sorted(results, key=lambda r: r.index):
        for engine, why in r.failed_extra:
            entry = out.setdefault(engine, {"attempts": 0, "example": why})
            entry["attempts"] += 1
    return out


def _sum_stats(stats) -> dict:
    total: dict = {}
    for s in stats:
        for k, v in s.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items()))


def _espeak_version() -> str:
    import subprocess

    try:
        return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _check_config(cfg: CorpusConfig) -> None:
    from core.espeak import known_variants

    for lang in cfg.langs:
        if lang not in REFERENCE_VOICES:
            raise CorpusError(f"unsupported language {lang!r} (choose from {', '.join(REFERENCE_VOICES)})")
    for split in SPLITS:
        if not cfg.voice_split.get(split):
            raise CorpusError(f"no voices for the {split} split")
    known = known_variants()
    unknown = sorted({v for split in SPLITS for v in cfg.voice_split[split]} - known) if known else []
    if unknown:
        raise CorpusError(f"espeak-ng has no voice variant {', '.join(unknown)} "
                          "(see `espeak-ng --voices=variant`, the last column without '!v/')")
    seen: dict[str, str] = {}
    for split in SPLITS:
        for v in cfg.voice_split[split]:
            if seen.setdefault(v, split) != split:
                raise CorpusError(f"voice +{v} is in both the {seen[v]} and the {split} split")
    if cfg.attempts_per_word < 1:
        raise CorpusError("--attempts-per-word must be at least 1")
    if not 0 <= cfg.augment.clean_fraction <= 1:
        raise CorpusError("--clean-fraction must be between 0 and 1")
    if cfg.val_fraction + cfg.test_fraction >= 1:
        raise CorpusError("val and test fractions leave no training words")
    if cfg.engines:
        check_engines(cfg)


def _check_held_out(entries: list[VocabEntry], *, cfg: CorpusConfig) -> None:
    """Refuse a vocabulary whose split leaves val or test empty: `train` needs val pairs and
    `evaluate` test pairs, so such a corpus would only fail later (split_entries holds out
    words from a language and kind with three entries or more)."""
    splits = split_entries(entries, seed=cfg.seed, val_fraction=cfg.val_fraction, test_fraction=cfg.test_fraction)
    empty = [s for s in ("val", "test") if s not in splits]
    if empty:
        sizes = collections.Counter(f"{e.lang} {e.kind}s" for e in entries)
        found = ", ".join(f"{n} {k}" for k, n in sorted(sizes.items()))
        raise CorpusError(f"no {' and no '.join(empty)} words: {found}; "
                          "val and test take words only from a language and kind with 3 or more entries "
                          "(use --max-words 3 or more, or a longer --words file)")


def _prepare_out_dir(out_dir: Path, *, force: bool) -> None:
    import shutil

    if (out_dir / "manifest.csv").exists() or (out_dir / "corpus.json").exists():
        if not force:
            raise CorpusError(f"{out_dir} already holds a corpus; pass --force to replace it")
        from .channel_copies import COPIES_DIR

        for sub in ("audio", "noise", COPIES_DIR):  # the last: train-phonemes --channel-share's copies
            shutil.rmtree(out_dir / sub, ignore_errors=True)
    elif out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise CorpusError(f"{out_dir} is not empty; choose a new folder or pass --force")
    try:
        for sub in ("ref", "att"):
            (out_dir / "audio" / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where the folder should be, no permission: exit 15, not an internal error
        raise CorpusError(f"{out_dir}: cannot make the corpus folder here ({exc.strerror or exc})") from exc


def split_voices(variants: list[str], *, seed: int, held_out: int = 2) -> dict:
    """A custom voice list → {train, val, test}: a seeded shuffle, `held_out` voices each for val and test."""
    variants = [v.lstrip("+") for v in variants]
    if len(set(variants)) < 2 * held_out + 1:
        raise CorpusError(f"--voices needs at least {2 * held_out + 1} different variants (val and test hold out "
                          f"{held_out} each)")
    order = [variants[i] for i in np.random.default_rng([seed, 0x5EED]).permutation(len(variants))]
    return {"test": tuple(order[:held_out]), "val": tuple(order[held_out : 2 * held_out]),
            "train": tuple(order[2 * held_out :])}
