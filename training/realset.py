"""Real voices: a pair set from human recordings that Debian ships (`malsori make-realset`).

Every number of the synthetic corpus comes from espeak-ng voices; this set measures the model
on people. Each human *take* (a recording with a known transcript) is paired with references
made from text:

- correct         TTS of the take's own text: espeak-ng's default voice of the language, and
                  for English words and phrases also two festival voices (kal, slt);
- other           espeak-ng saying another item of the same language and kind (two of them);
- edit1, edit2    espeak-ng saying the take's phonemes with one or two substitutions
                  (`training.phoneme_edits`), kept only when audible, as `make-corpus` does;
- correct_narrow  the correct espeak-ng pair again, the take band-limited to a telephone band.

Sources (apt packages, installed by `bash deploy/setup.sh --dev`): klettres-data (letters and
syllables by native speakers, every language espeak-ng speaks except Spanish, which is
reserved for an independent check), asterisk-core-sounds-en-wav with the transcripts of
asterisk-core-sounds-en (English prompts of 1-4 words; other languages are reserved), and
pocketsphinx-testdata (a few English phrases). Splits go by source and speaker: train, val
and test share no recording and no speaker.

Output (DIR): pairs.csv (`PAIR_FIELDS`, paths relative to DIR), takes/ and takes_narrow/
(16 kHz mono 16-bit wav), refs/ (references; a rerun reuses every file that exists),
realset.json (counts, refused takes, skipped sources).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import time
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.errors import MalsoriError, RealsetError

PAIR_FIELDS = ["reference", "attempt", "kind", "edits", "lang", "source", "speaker", "group", "split",
               "text", "ref_voice", "ref_text"]
KINDS = ("correct", "correct_narrow", "other", "edit1", "edit2")
SPLITS = ("train", "val", "test")
SOURCES = ("klettres", "asterisk", "pocketsphinx")
SR = 16_000
FORMAT_VERSION = 1

# klettres folder → espeak-ng voice. Spanish (es) is reserved for an independent check; nds and
# nn have no espeak-ng voice (and nn, like id, ships no recordings).
KLETTRES_VOICES = {
    "ar": "ar", "cs": "cs", "da": "da", "de": "de", "en": "en-us", "en_GB": "en-gb", "fr": "fr", "he": "he",
    "hu": "hu", "id": "id", "it": "it", "lt": "lt", "ml": "ml", "nb": "nb", "nl": "nl", "pt_BR": "pt-br",
    "ru": "ru", "tn": "tn", "uk": "uk",
}
RESERVED = {"klettres": {"es"}}
PACKAGES = {
    "klettres": "klettres-data",
    "asterisk-text": "asterisk-core-sounds-en",
    "asterisk-wav": "asterisk-core-sounds-en-wav",
    "pocketsphinx": "pocketsphinx-testdata",
    "festival": "festival",
    "kal": "festvox-kallpc16k",
    "slt": "festvox-us-slt-hts",
}
KLETTRES_DIR = "usr/share/klettres"
ASTERISK_TEXT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
ASTERISK_WAV_DIR = "usr/share/asterisk/sounds/en"
POCKETSPHINX_CARDS = "usr/share/pocketsphinx/test/data/cards"
# festival voices: name → (scheme call that selects it, apt package, folder it installs)
FESTIVAL_VOICES = {
    "kal": ("(voice_kal_diphone)", "festvox-kallpc16k", "usr/share/festival/voices/english/kal_diphone"),
    "slt": ("(voice_cmu_us_slt_arctic_hts)", "festvox-us-slt-hts", "usr/share/festival/voices/us/cmu_us_slt_arctic_hts"),
}
FESTIVAL_KINDS = ("word", "phrase")  # festival reads words; a bare letter or syllable it would guess at
TELEPHONE_BAND_HZ = (300.0, 3400.0)


@dataclass(frozen=True)
class RealsetConfig:
    seed: int = 0  # drives the split, the "other" items and the edits chosen
    langs: tuple[str, ...] = ()  # languages to include ("fr", "en", …); empty = all
    sources: tuple[str, ...] = SOURCES
    others_per_take: int = 2
    max_takes_per_speaker: int = 200  # klettres ml has 521 takes: one language must not dominate
    max_words: int = 4  # asterisk / pocketsphinx transcripts longer than this are left out
    test_fraction: float = 0.3  # of the takes, at least (whole speakers are moved)
    val_fraction: float = 0.15
    min_test_langs: int = 3
    # always in test: the one source of English words and phrases (the kiosk's kind of item, and
    # the voice of the issue that asked for this set); the seeded draw adds speakers around it
    test_speakers: tuple[str, ...] = ("asterisk-en",)
    min_audible_distance: float = 0.35  # as make-corpus (training.corpus.CorpusConfig)
    max_edit_tries: int = 10  # candidate edits rendered per item, at most
    festival: bool = True  # festival references for English words and phrases

    def to_dict(self) -> dict:
        return json.loads(json.dumps(asdict(self)))


@dataclass(frozen=True)
class Take:
    """One human recording with its transcript."""

    id: str  # unique and file-safe: "klettres-fr-alpha-a-0"
    path: str  # the source recording (absolute)
    text: str  # what is said, as espeak-ng should read it
    lang: str  # "fr", "en", "pt", …
    voice: str  # espeak-ng voice of its references ("fr", "en-gb", "pt-br")
    kind: str  # letter | syllable | word | phrase
    source: str  # klettres | asterisk | pocketsphinx
    speaker: str  # "klettres-fr": one speaker per source folder, as far as is known

    @property
    def item(self) -> tuple[str, str]:
        return (self.voice, self.text)


# ----------------------------------------------------------------------------- sources


def _missing(package: str, what: str) -> RealsetError:
    return RealsetError(f"{what} not found: install the Debian package {package} "
                        f"(apt-get install {package}, or bash deploy/setup.sh --dev)")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def klettres_takes(root: Path, *, skipped: list[dict]) -> list[Take]:
    """Letters and syllables of every klettres language espeak-ng speaks (Spanish reserved)."""
    base = root / KLETTRES_DIR
    if not base.is_dir():
        raise _missing(PACKAGES["klettres"], f"{base}")
    takes, seen = [], set()
    for folder in sorted(p for p in base.iterdir() if (p / "sounds.xml").is_file()):
        name = folder.name
        if name in RESERVED["klettres"]:
            skipped.append({"source": "klettres", "what": name, "why": "reserved for an independent check"})
            continue
        if name not in KLETTRES_VOICES:
            skipped.append({"source": "klettres", "what": name, "why": "espeak-ng has no voice for it"})
            continue
        try:
            tree = ET.parse(folder / "sounds.xml")
        except ET.ParseError as exc:
            raise RealsetError(f"{folder / 'sounds.xml'}: not readable XML ({exc})") from exc
        lang = name.split("_")[0].lower()
        n_missing = 0
        for section, kind in (("alphabet", "letter"), ("syllables", "syllable")):
            for sound in tree.iter(section):
                for s in sound.iter("sound"):
                    text, rel = (s.get("name") or "").strip(), (s.get("file") or "").strip()
                    path = base / rel
                    if not text or not rel or path in seen:
                        continue
                    seen.add(path)
                    if not path.is_file():
                        n_missing += 1
                        continue
                    # lower case: espeak-ng spells a word in capitals ("LA" → "el ay") letter by letter
                    takes.append(Take(
                        id=f"klettres-{_safe(name)}-{_safe(str(Path(rel).with_suffix('').relative_to(name)))}",
                        path=str(path), text=unicodedata.normalize("NFC", text.lower()), lang=lang,
                        voice=KLETTRES_VOICES[name], kind=kind, source="klettres", speaker=f"klettres-{name}"))
        if n_missing:
            skipped.append({"source": "klettres", "what": name, "why": f"{n_missing} listed recordings not shipped"})
    return takes


def asterisk_takes(root: Path, *, max_words: int, skipped: list[dict]) -> list[Take]:
    """English asterisk prompts of 1..max_words words (tones, silences and other languages left out)."""
    text_path, wav_dir = root / ASTERISK_TEXT, root / ASTERISK_WAV_DIR
    if not text_path.is_file():
        raise _missing(PACKAGES["asterisk-text"], f"the asterisk prompt transcripts {text_path}")
    if not wav_dir.is_dir():
        raise _missing(PACKAGES["asterisk-wav"], f"the asterisk English recordings {wav_dir}")
    with gzip.open(text_path, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    takes, too_long, no_file = [], 0, 0
    for line in lines:
        line = line.strip()
        if not line or line.startswith(";") or ":" not in line:
            continue
        name, text = (part.strip() for part in line.split(":", 1))
        if not text or text[0] in "[(":  # "[beep tone]", "(1 second of silence)"
            continue
        n_words = len(re.findall(r"[A-Za-z0-9']+", text))
        if not 1 <= n_words <= max_words:
            too_long += 1
            continue
        path = wav_dir / f"{name}.wav"
        if not path.is_file():
            no_file += 1
            continue
        kind = "letter" if name.startswith("letters/") else "word" if n_words == 1 else "phrase"
        takes.append(Take(id=f"asterisk-{_safe(name)}", path=str(path), text=unicodedata.normalize("NFC", text),
                          lang="en", voice="en-us", kind=kind, source="asterisk", speaker="asterisk-en"))
    skipped.append({"source": "asterisk", "what": "en",
                    "why": f"{too_long} prompts longer than {max_words} words, {no_file} without a recording"})
    return takes


def pocketsphinx_takes(root: Path, *, max_words: int, skipped: list[dict]) -> list[Take]:
    """pocketsphinx-testdata's "cards" phrases (one English speaker) of 1..max_words words."""
    folder = root / POCKETSPHINX_CARDS
    transcript = folder / "cards.transcription"
    if not transcript.is_file():
        raise _missing(PACKAGES["pocketsphinx"], f"the pocketsphinx test phrases {transcript}")
    takes, too_long = [], 0
    for line in transcript.read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"\s*(?:<s>)?(.*?)(?:</s>)?\s*\((\S+)\)\s*$", line)
        if not m:
            continue
        text, name = " ".join(m.group(1).split()), m.group(2)
        path = folder / f"{name}.wav"
        if not text or not path.is_file():
            continue
        n_words = len(text.split())
        if n_words > max_words:
            too_long += 1
            continue
        takes.append(Take(id=f"pocketsphinx-cards-{_safe(name)}", path=str(path), text=text, lang="en",
                          voice="en-us", kind="word" if n_words == 1 else "phrase", source="pocketsphinx",
                          speaker="pocketsphinx-cards"))
    skipped.append({"source": "pocketsphinx", "what": "cards", "why": f"{too_long} phrases longer than {max_words} words"})
    return takes


def find_takes(root: Path, cfg: RealsetConfig) -> tuple[list[Take], list[dict]]:
    """Every take of the chosen sources and languages, capped per speaker (seeded)."""
    skipped: list[dict] = []
    takes: list[Take] = []
    for source in cfg.sources:
        if source == "klettres":
            takes += klettres_takes(root, skipped=skipped)
        elif source == "asterisk":
            takes += asterisk_takes(root, max_words=cfg.max_words, skipped=skipped)
        elif source == "pocketsphinx":
            takes += pocketsphinx_takes(root, max_words=cfg.max_words, skipped=skipped)
        else:
            raise RealsetError(f"unknown source {source!r} (choose from {', '.join(SOURCES)})")
    if cfg.langs:
        if "es" in cfg.langs:
            raise RealsetError("Spanish (es) is reserved for an independent check: it is never in this set")
        known = {t.lang for t in takes}
        unknown = sorted(set(cfg.langs) - known)
        if unknown:
            raise RealsetError(f"no recordings in {', '.join(unknown)} (available: {', '.join(sorted(known))})")
        takes = [t for t in takes if t.lang in cfg.langs]
    out = []
    for speaker in sorted({t.speaker for t in takes}):
        own = [t for t in takes if t.speaker == speaker]
        if len(own) > cfg.max_takes_per_speaker:
            rng = np.random.default_rng([cfg.seed, _key_int(speaker)])
            keep = sorted(rng.choice(len(own), cfg.max_takes_per_speaker, replace=False))
            skipped.append({"source": own[0].source, "what": speaker,
                            "why": f"{len(own) - len(keep)} of {len(own)} takes left out (at most "
                                   f"{cfg.max_takes_per_speaker} per speaker)"})
            own = [own[i] for i in keep]
        out += own
    if not out:
        raise RealsetError("no human takes found in the chosen sources and languages")
    return out, skipped


def _key_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def item_key(voice: str, text: str) -> str:
    return hashlib.sha256(f"{voice}\n{text}".encode("utf-8")).hexdigest()[:16]


# ----------------------------------------------------------------------------- splits


def assign_splits(takes: list[Take], cfg: RealsetConfig) -> dict[str, str]:
    """speaker → split; whole speakers move, so no recording or voice is in two splits.

    Test: `cfg.test_speakers`, then in a seeded order speakers of languages test lacks until it
    has `min_test_langs`, then any until it holds `test_fraction` of the takes. Val: the next
    ones until `val_fraction`. Train: the rest, and at least one speaker.
    """
    by_speaker: dict[str, list[Take]] = {}
    for t in takes:
        by_speaker.setdefault(t.speaker, []).append(t)
    speakers = sorted(by_speaker)
    order = [speakers[i] for i in np.random.default_rng([cfg.seed, 0x5917]).permutation(len(speakers))]
    langs = {s: {t.lang for t in by_speaker[s]} for s in speakers}
    want_langs = min(cfg.min_test_langs, len({t.lang for t in takes}))
    test = [s for s in order if s in cfg.test_speakers]
    for s in order:
        have = set().union(*(langs[x] for x in test))
        if len(have) >= want_langs:
            break
        if s not in test and langs[s] - have:
            test.append(s)
    rest = [s for s in order if s not in test]
    n = lambda group: sum(len(by_speaker[s]) for s in group)  # noqa: E731
    while rest and n(test) < cfg.test_fraction * len(takes) and len(rest) > 1:
        test.append(rest.pop(0))
    val = []
    while rest and n(val) < cfg.val_fraction * len(takes) and len(rest) > 1:
        val.append(rest.pop(0))
    return {**{s: "test" for s in test}, **{s: "val" for s in val}, **{s: "train" for s in rest}}


# ----------------------------------------------------------------------------- references (workers)


@dataclass(frozen=True)
class ItemTask:
    voice: str
    text: str
    kind: str
    lang: str
    inventory: tuple[str, ...]  # base phonemes the language's voice uses (for generic edits)
    items: tuple[str, ...] | str  # its phoneme items (`phoneme_items`), or why espeak-ng gave none


@dataclass
class ItemResult:
    voice: str
    text: str
    correct: str = ""  # path relative to DIR
    edits: dict = field(default_factory=dict)  # "edit1"/"edit2" → {"file", "edits"}
    error: str = ""
    audible: int = 0  # candidate edits rendered and kept / dropped as inaudible
    inaudible: int = 0


def phoneme_items(text: str, *, voice: str, lang: str) -> tuple[str, ...] | str:
    """espeak-ng's phoneme items of text (`training.phoneme_edits`), or why there are none."""
    from core.espeak import phoneme_tokens

    from core.phonemes import is_phoneme, utterance_items

    try:
        items = utterance_items(phoneme_tokens(text, voice=voice), lang=lang)
    except MalsoriError as exc:
        return str(exc)
    if any(item.startswith("(") for item in items):
        return "it mixes languages (espeak-ng reads part of it with another voice)"
    return tuple(items) if any(is_phoneme(p) for p in items) else "espeak-ng found no phonemes in it"


def _ref_dir(voice: str) -> str:
    return f"refs/espeak/{_safe(voice)}"


def make_item(task: ItemTask, *, out_dir: Path, cfg: RealsetConfig) -> ItemResult:
    """An item's espeak-ng references: correct (from the text), edit1 and edit2 (from phonemes).

    Reuses files (and the edits chosen for this seed) that a previous run left in out_dir.
    """
    from core.fileio import atomic_write_json

    key = item_key(task.voice, task.text)
    rel = f"{_ref_dir(task.voice)}/{key}"
    res = ItemResult(task.voice, task.text, correct=f"{rel}.wav")
    plan_path = out_dir / f"{rel}.s{cfg.seed}.json"
    if _reuse_plan(res, plan_path, out_dir=out_dir):
        return res
    refused = ""
    try:
        correct = _correct_reference(task, out_dir / res.correct)
        found = task.items
        refused = front_end_refuses(correct)
        if refused:  # no pair can be scored against it: the take is listed as without a reference
            refused = f"the front end refuses espeak-ng's reading of it ({refused})"
        elif isinstance(found, str):
            res.error = found
        else:
            _make_edits(task, list(found), res, key=key, rel=rel, out_dir=out_dir, cfg=cfg)
    except MalsoriError as exc:
        res.error = str(exc)
        if not (out_dir / res.correct).is_file():
            res.correct = ""
            return res
    atomic_write_json(plan_path, {"text": task.text, "voice": task.voice, "edits": res.edits,
                                  "audible": res.audible, "inaudible": res.inaudible, "error": res.error,
                                  "refused": refused, "front_end": front_end_key()})
    if refused:
        res.correct, res.error = "", refused
    return res


def _reuse_plan(res: ItemResult, plan_path: Path, *, out_dir: Path) -> bool:
    """Fill res from the plan a previous run left (True), if it and its files are all there and
    were made by this front end; False (res untouched) when the item must be made again."""
    if not (plan_path.is_file() and (out_dir / res.correct).is_file()):
        return False
    try:
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        # the front end's verdicts hold only for the front end that made them
        if plan.get("front_end") == front_end_key() and all((out_dir / e["file"]).is_file()
                                                           for e in plan["edits"].values()):
            res.edits, res.audible, res.inaudible = plan["edits"], plan["audible"], plan["inaudible"]
            res.error = plan.get("error", "")
            if plan.get("refused"):
                res.correct, res.error = "", plan["refused"]
            return True
    except (ValueError, KeyError, TypeError):
        pass  # a damaged plan is made again
    return False


def _correct_reference(task: ItemTask, path: Path) -> np.ndarray:
    """espeak-ng saying the item's text (16 kHz float32): the file a previous run left, else made and written."""
    from core.espeak import synthesize
    from core.fileio import atomic_write_wav

    if path.is_file():
        from preprocessing import load_audio

        return load_audio(path, sr=SR)
    correct = synthesize(task.text, voice=task.voice, sr=SR)
    atomic_write_wav(path, correct, sr=SR)
    return correct


def _make_edits(task: ItemTask, items: list[str], res: ItemResult, *, key: str, rel: str, out_dir: Path,
                cfg: RealsetConfig) -> None:
    """Render the item's candidate edits, keep the audible ones, write edit1 and edit2 into res.edits."""
    from core.espeak import synthesize

    from .corpus import mfcc
    from .phoneme_edits import render

    rendered = synthesize(render(items), voice=task.voice, sr=SR)
    feats = mfcc(rendered, sr=SR)
    audible = _audible_edits(task, items, res, rendered=rendered, feats=feats, key=key, cfg=cfg)
    usable = _write_edit1(audible, res, rel=rel, out_dir=out_dir, cfg=cfg)
    _write_edit2(task, items, audible, usable, res, rendered=rendered, feats=feats, rel=rel, out_dir=out_dir,
                 cfg=cfg)


def _audible_edits(task: ItemTask, items: list[str], res: ItemResult, *, rendered: np.ndarray, feats: np.ndarray,
                   key: str, cfg: RealsetConfig) -> list[tuple]:
    """(edit, audio) of the candidate edits, in a seeded order, whose rendering differs audibly from
    the item's; counts each try in res.audible / res.inaudible. Stops at three over two phonemes."""
    from core.espeak import synthesize

    from .corpus import is_audible
    from .phoneme_edits import apply_edits, candidate_edits, generic_edits, render

    pool = candidate_edits(items, lang=task.lang) if task.lang in ("ko", "en") else []
    seen = {(e.pos, e.new) for e in pool}
    pool += [e for e in generic_edits(items, inventory=set(task.inventory)) if (e.pos, e.new) not in seen]
    rng = np.random.default_rng([cfg.seed, _key_int(key)])
    audible = []
    for i in rng.permutation(len(pool))[: cfg.max_edit_tries]:
        edit = pool[int(i)]
        y = synthesize(render(apply_edits(items, [edit])), voice=task.voice, sr=SR)
        if is_audible(y, rendered, feats, sr=SR, min_distance=cfg.min_audible_distance):
            audible.append((edit, y))
            res.audible += 1
        else:
            res.inaudible += 1
        positions = {e.pos for e, _ in audible}
        if len(audible) >= 3 and len(positions) >= 2:
            break
    return audible


def _write_edit1(audible: list[tuple], res: ItemResult, *, rel: str, out_dir: Path, cfg: RealsetConfig):
    """edit1: the first audible edit whose rendering the front end takes (checked only when chosen).
    Returns that (edit, audio), or None."""
    from core.fileio import atomic_write_wav

    from .phoneme_edits import format_edits

    usable = next(((e, y) for e, y in audible if not front_end_refuses(y)), None)
    if usable:
        edit, y = usable
        atomic_write_wav(out_dir / f"{rel}.s{cfg.seed}.e1.wav", y, sr=SR)
        res.edits["edit1"] = {"file": f"{rel}.s{cfg.seed}.e1.wav", "edits": format_edits([edit])}
    return usable


def _write_edit2(task: ItemTask, items: list[str], audible: list[tuple], usable, res: ItemResult, *,
                 rendered: np.ndarray, feats: np.ndarray, rel: str, out_dir: Path, cfg: RealsetConfig) -> None:
    """edit2: two audible edits at different phonemes, preferably not the one edit1 uses, kept when
    their rendering together is audible and the front end takes it."""
    from core.espeak import synthesize
    from core.fileio import atomic_write_wav

    from .corpus import is_audible
    from .phoneme_edits import apply_edits, format_edits, render

    pairs = [(a[0], b[0]) for i, a in enumerate(audible) for b in audible[i + 1:] if a[0].pos != b[0].pos]
    pair = next((p for p in pairs if usable and usable[0] not in p), pairs[0] if pairs else None)
    if pair:
        two = sorted(pair, key=lambda e: e.pos)
        y2 = synthesize(render(apply_edits(items, two)), voice=task.voice, sr=SR)
        if is_audible(y2, rendered, feats, sr=SR, min_distance=cfg.min_audible_distance) and not front_end_refuses(y2):
            atomic_write_wav(out_dir / f"{rel}.s{cfg.seed}.e2.wav", y2, sr=SR)
            res.edits["edit2"] = {"file": f"{rel}.s{cfg.seed}.e2.wav", "edits": format_edits(two)}


def front_end_key() -> str:
    """A fingerprint of the default front end's settings (`PreprocessConfig`)."""
    from preprocessing import PreprocessConfig

    return hashlib.sha256(json.dumps(PreprocessConfig().to_dict(), sort_keys=True).encode()).hexdigest()[:16]


def front_end_refuses(y: np.ndarray) -> str:
    """Why the default front end (`preprocessing.preprocess`) refuses this 16 kHz audio; "" if it takes it."""
    from preprocessing import PreprocessConfig, preprocess

    try:
        preprocess(y, sr=SR, cfg=PreprocessConfig())
    except MalsoriError as exc:
        return str(exc)
    return ""


@dataclass(frozen=True)
class TakeResult:
    id: str
    file: str  # relative to DIR
    narrow: str
    duration_s: float
    refused: str = ""  # why the front end refuses it ("" = usable)


def take_paths(take: Take) -> tuple[str, str]:
    return (f"takes/{take.source}/{_safe(take.speaker)}/{take.id}.wav",
            f"takes_narrow/{take.source}/{_safe(take.speaker)}/{take.id}.wav")


def band_limit(y: np.ndarray, *, sr: int, band_hz: tuple[float, float] = TELEPHONE_BAND_HZ) -> np.ndarray:
    """The take as a telephone or cheap microphone passes it: 4th-order Butterworth band-pass,
    zero phase, back to the original peak."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [band_hz[0], min(band_hz[1], 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    out = sosfiltfilt(sos, np.asarray(y, np.float64))
    peak = float(np.max(np.abs(out))) or 1.0
    return (out * (float(np.max(np.abs(y))) / peak)).astype(np.float32)


def make_take(take: Take, *, out_dir: Path) -> TakeResult:
    """Decode a take into DIR (16 kHz wav, and its band-limited twin); check the front end accepts it."""
    from preprocessing import load_audio
    from core.fileio import atomic_write_wav

    rel, rel_narrow = take_paths(take)
    try:
        if (out_dir / rel).is_file():
            y = load_audio(out_dir / rel, sr=SR)
        else:
            y = load_audio(take.path, sr=SR)
            atomic_write_wav(out_dir / rel, y, sr=SR)
        narrow = load_audio(out_dir / rel_narrow, sr=SR) if (out_dir / rel_narrow).is_file() else None
        if narrow is None:
            narrow = band_limit(y, sr=SR)
            atomic_write_wav(out_dir / rel_narrow, narrow, sr=SR)
    except MalsoriError as exc:
        return TakeResult(take.id, rel, rel_narrow, 0.0, refused=str(exc))
    why = front_end_refuses(y)
    if not why and front_end_refuses(narrow):
        why = f"band-limited: {front_end_refuses(narrow)}"
    return TakeResult(take.id, rel, rel_narrow, len(y) / SR, refused=why)


_worker: dict = {}


def _init_worker(out_dir: str, cfg: RealsetConfig) -> None:
    _worker.update(out_dir=Path(out_dir), cfg=cfg)


def _run_item(task: ItemTask) -> ItemResult:
    return make_item(task, out_dir=_worker["out_dir"], cfg=_worker["cfg"])


def _run_take(take: Take) -> TakeResult:
    return make_take(take, out_dir=_worker["out_dir"])


# ----------------------------------------------------------------------------- festival


def festival_available(root: Path = Path("/")) -> str:
    """"" when festival and both voices are installed, else the message naming what to install."""
    import shutil

    if shutil.which("text2wave") is None or shutil.which("festival") is None:
        return str(_missing(PACKAGES["festival"], "festival (English reference voices)"))
    for name, (_, package, folder) in FESTIVAL_VOICES.items():
        if not (root / folder).is_dir():
            return str(_missing(package, f"the festival voice {name} ({root / folder})"))
    return ""


def festival_refs(texts: list[str], *, out_dir: Path, progress: bool) -> dict[tuple[str, str], str]:
    """(voice name, text) → reference path relative to DIR, for each festival voice.

    One festival process per voice says every missing text (a process start costs ~0.3 s).
    """
    import subprocess
    import tempfile

    from tqdm import tqdm

    from preprocessing import load_audio
    from core.fileio import atomic_write_wav

    out: dict[tuple[str, str], str] = {}
    for name, (select, _, _) in tqdm(FESTIVAL_VOICES.items(), desc="festival", unit="voice", disable=not progress,
                                     leave=False):
        todo = []
        for text in texts:
            rel = f"refs/festival/{name}/{item_key('festival:' + name, text)}.wav"
            out[(name, text)] = rel
            if not (out_dir / rel).is_file():
                todo.append((text, rel))
        if not todo:
            continue
        with tempfile.TemporaryDirectory(prefix="malsori-festival-") as tmp:
            lines = [select]
            for i, (text, _) in enumerate(todo):
                quoted = text.replace("\\", " ").replace('"', " ")
                lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{tmp}/{i}.wav" (quote riff))')
            script = Path(tmp) / "say.scm"
            script.write_text("\n".join(lines) + "\n", encoding="utf-8")
            try:
                subprocess.run(["festival", "-b", str(script)], capture_output=True, timeout=60 + 5 * len(todo),
                               check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise RealsetError(f"festival failed ({exc})") from exc
            for i, (text, rel) in enumerate(todo):
                wav = Path(tmp) / f"{i}.wav"
                if wav.is_file() and wav.stat().st_size > 44:
                    atomic_write_wav(out_dir / rel, load_audio(wav, sr=SR), sr=SR)
                else:
                    del out[(name, text)]
    return out


# ----------------------------------------------------------------------------- the set


def make_realset(out_dir: str | Path, *, cfg: RealsetConfig, root: str | Path = "/", jobs: int = 1,
                 progress: bool = False) -> dict:
    """Build DIR/pairs.csv and its audio from the human recordings under `root` (normally "/").

    Returns what realset.json holds. Raises RealsetError for a missing source package.
    """
    from core.fileio import atomic_write_json, atomic_write_text

    start = time.monotonic()
    out_dir, root = Path(out_dir), Path(root)
    takes, skipped = find_takes(root, cfg)
    english_texts = sorted({t.text for t in takes if t.lang == "en" and t.kind in FESTIVAL_KINDS})
    if cfg.festival and english_texts:
        why = festival_available(Path("/"))
        if why:
            raise RealsetError(why)
    out_dir.mkdir(parents=True, exist_ok=True)

    # items: one per (voice, text); the inventory of a voice is every phoneme its items use
    items: dict[tuple[str, str], Take] = {}
    for t in takes:
        items.setdefault(t.item, t)
    item_results, take_results = _make_audio(items, takes, out_dir=out_dir, cfg=cfg, jobs=jobs, progress=progress)
    festival = festival_refs(english_texts, out_dir=out_dir, progress=progress) if cfg.festival and english_texts else {}

    splits = assign_splits(takes, cfg)
    rows, refused, no_reference = set_rows(takes, items, item_results, take_results, festival, splits=splits, cfg=cfg)
    atomic_write_text(out_dir / "pairs.csv", pairs_csv(rows))
    summary = {
        "format_version": FORMAT_VERSION,
        "config": cfg.to_dict(),
        "root": str(root),
        "counts": counts(rows),
        "speakers": {s: splits[s] for s in sorted(splits)},
        "takes_found": len(takes),
        "refused_takes": refused,
        "takes_without_reference": no_reference,
        "edit_candidates": {"audible": sum(r.audible for r in item_results.values()),
                            "inaudible": sum(r.inaudible for r in item_results.values())},
        "items_without_edits": sum(1 for r in item_results.values() if r.correct and not r.edits),
        "skipped": skipped,
        "generation_s": round(time.monotonic() - start, 1),
        "jobs": jobs,
    }
    atomic_write_json(out_dir / "realset.json", summary)
    return summary


def _make_audio(items: dict[tuple[str, str], Take], takes: list[Take], *, out_dir: Path, cfg: RealsetConfig,
                jobs: int, progress: bool) -> tuple[dict[tuple[str, str], ItemResult], dict[str, TakeResult]]:
    """Every item's espeak-ng references and every take's wavs, in `jobs` worker processes.

    Returns ((voice, text) → ItemResult, take id → TakeResult).
    """
    from tqdm import tqdm

    with _pool(jobs, out_dir=out_dir, cfg=cfg) as pool:
        keys = list(items)
        mapper = (lambda f, xs: pool.imap(f, xs, chunksize=4)) if pool else map
        found = list(tqdm(mapper(_phoneme_job, keys), total=len(keys), desc="phonemes", unit="item",
                          disable=not progress, leave=False))
        inventory = voice_inventory(keys, found)
        tasks = [ItemTask(v, tx, items[(v, tx)].kind, items[(v, tx)].lang, tuple(sorted(inventory.get(v, ()))), f)
                 for (v, tx), f in zip(keys, found)]
        item_results = {(r.voice, r.text): r for r in tqdm(
            (pool.imap_unordered(_run_item, tasks, chunksize=2) if pool else map(_run_item, tasks)),
            total=len(tasks), desc="references", unit="item", disable=not progress)}
        take_results = {r.id: r for r in tqdm(
            (pool.imap_unordered(_run_take, takes, chunksize=8) if pool else map(_run_take, takes)),
            total=len(takes), desc="takes", unit="take", disable=not progress)}
    return item_results, take_results


def voice_inventory(keys: list[tuple[str, str]], found: list) -> dict[str, set[str]]:
    """voice → the base phonemes its items use; keys: (voice, text); found: `phoneme_items` of each."""
    from core.phonemes import base, is_phoneme

    inventory: dict[str, set[str]] = {}
    for (voice, _), f in zip(keys, found):
        if not isinstance(f, str):
            inventory.setdefault(voice, set()).update(base(p) for p in f if is_phoneme(p))
    return inventory


def set_rows(takes: list[Take], items: dict, item_results: dict, take_results: dict, festival: dict, *,
             splits: dict[str, str], cfg: RealsetConfig) -> tuple[list[dict], list[dict], list[dict]]:
    """Every take's pairs (pairs.csv rows), the takes the front end refused and those without a
    reference (each listed with why)."""
    pools: dict[tuple[str, str], list[str]] = {}
    for (voice, text), r in sorted(item_results.items()):
        if r.correct:
            pools.setdefault((voice, items[(voice, text)].kind), []).append(text)
    rows, refused, no_reference = [], [], []
    for t in takes:
        tr = take_results[t.id]
        if tr.refused:
            refused.append({"take": t.id, "source": t.source, "lang": t.lang, "text": t.text, "path": t.path,
                            "why": tr.refused})
            continue
        ir = item_results[t.item]
        if not ir.correct:
            no_reference.append({"take": t.id, "text": t.text, "voice": t.voice, "why": ir.error})
            continue
        rows += take_rows(t, tr, ir, item_results, festival, split=splits[t.speaker], pools=pools, cfg=cfg)
    return rows, refused, no_reference


def pairs_csv(rows: list[dict]) -> str:
    """pairs.csv's text: a header of `PAIR_FIELDS`, a line per row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=PAIR_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _phoneme_job(key: tuple[str, str]):
    voice, text = key
    lang = "en" if voice.startswith("en") else voice.split("-")[0]
    return phoneme_items(text, voice=voice, lang=lang)


def take_rows(t: Take, tr: TakeResult, ir: ItemResult, item_results: dict, festival: dict, *, split: str,
              pools: dict, cfg: RealsetConfig) -> list[dict]:
    """The pairs of one take (its group): every reference against it.

    pools: (voice, kind) → sorted texts with an espeak-ng reference (where "other" comes from).
    """
    common = {"lang": t.lang, "source": t.source, "speaker": t.speaker, "group": t.id, "split": split, "text": t.text}
    rows = [{"reference": ir.correct, "attempt": tr.file, "kind": "correct", "edits": "",
             "ref_voice": f"espeak-ng:{t.voice}", "ref_text": t.text, **common}]
    for name in FESTIVAL_VOICES:
        rel = festival.get((name, t.text))
        if rel and t.kind in FESTIVAL_KINDS:
            rows.append({"reference": rel, "attempt": tr.file, "kind": "correct", "edits": "",
                         "ref_voice": f"festival:{name}", "ref_text": t.text, **common})
    for kind in ("edit1", "edit2"):
        if kind in ir.edits:
            e = ir.edits[kind]
            rows.append({"reference": e["file"], "attempt": tr.file, "kind": kind, "edits": e["edits"],
                         "ref_voice": f"espeak-ng:{t.voice}", "ref_text": t.text, **common})
    pool = [text for text in pools.get((t.voice, t.kind), ()) if text != t.text]
    if pool:
        rng = np.random.default_rng([cfg.seed, _key_int(t.id)])
        for i in rng.choice(len(pool), min(cfg.others_per_take, len(pool)), replace=False):
            other = pool[int(i)]
            rows.append({"reference": item_results[(t.voice, other)].correct, "attempt": tr.file, "kind": "other",
                         "edits": "", "ref_voice": f"espeak-ng:{t.voice}", "ref_text": other, **common})
    rows.append({"reference": ir.correct, "attempt": tr.narrow, "kind": "correct_narrow", "edits": "",
                 "ref_voice": f"espeak-ng:{t.voice}", "ref_text": t.text, **common})
    return rows


def counts(rows: list[dict]) -> dict:
    out: dict = {"pairs": len(rows), "takes": len({r["group"] for r in rows})}
    for split in SPLITS:
        in_split = [r for r in rows if r["split"] == split]
        out[split] = {
            "pairs": len(in_split), "takes": len({r["group"] for r in in_split}),
            "langs": sorted({r["lang"] for r in in_split}),
            "speakers": sorted({r["speaker"] for r in in_split}),
            **{k: sum(r["kind"] == k for r in in_split) for k in KINDS},
        }
    out["by_lang"] = {}
    for r in rows:
        d = out["by_lang"].setdefault(r["lang"], {"takes": set(), **{k: 0 for k in KINDS}})
        d["takes"].add(r["group"])
        d[r["kind"]] += 1
    out["by_lang"] = {k: {**v, "takes": len(v["takes"])} for k, v in sorted(out["by_lang"].items())}
    return out


class _pool:
    """A process pool whose workers know out_dir and cfg; None (work inline) for jobs <= 1."""

    def __init__(self, jobs: int, *, out_dir: Path, cfg: RealsetConfig):
        self.jobs, self.args = jobs, (str(out_dir), cfg)
        self.pool = None

    def __enter__(self):
        _init_worker(*self.args)
        if self.jobs <= 1:
            return None
        import multiprocessing

        self.pool = multiprocessing.get_context("spawn").Pool(self.jobs, initializer=_init_worker,
                                                               initargs=self.args)
        return self.pool

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.terminate() if exc[0] else self.pool.close()
            self.pool.join()
        _worker.clear()
        return False


def read_pairs(data_dir: str | Path) -> list[dict]:
    """DIR/pairs.csv → rows (dicts of strings, paths still relative to DIR)."""
    if Path(data_dir).is_file():
        raise RealsetError(f"{data_dir} is a file: pass the make-realset folder that holds pairs.csv")
    path = Path(data_dir) / "pairs.csv"
    if not path.is_file():
        raise RealsetError(f"{path} not found: build it with `malsori make-realset --out {data_dir}`")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = set(PAIR_FIELDS[:9]) - set(rows[0] if rows else PAIR_FIELDS)
    if not rows or missing:
        raise RealsetError(f"{path}: no pairs, or columns missing ({', '.join(sorted(missing)) or 'empty'})")
    return rows
