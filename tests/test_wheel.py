"""`pip install .` (not editable) gives a working `malsori score` from any folder: the wheel
carries the code, the shipped model, the word lists and the references.

Fast by design: the wheel is built without build isolation, installed with --no-deps into a
bare venv, and a .pth file lends that venv the dev venv's heavy dependencies (torch, numpy…)
— never its malsori, which an editable install serves from the checkout.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import soundfile as sf

from speech import SR, pad, speak

ROOT = Path(__file__).resolve().parent.parent


def _run(args, **kw):
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)
    assert out.returncode == 0, f"{args}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_the_installed_wheel_scores_a_pair_from_another_folder(tmp_path):
    # build from a clean copy: an in-tree build/ folder left by an earlier build can carry stale modules
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                ".pytest_cache", "tests", "corpus", "runs", "data"))
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(source)])
    wheel = next(dist.glob("malsori-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"assets/models/malsori.pt", "assets/wordlists/ko_beginner.csv", "core/paths.py",
            "models/pair.py", "training/vocab_ko.txt"} <= names
    if any((ROOT / "assets" / "references").rglob("*.flac")):  # built by deploy/setup.sh
        assert any(n.startswith("assets/references/") and n.endswith(".flac") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)])
    fresh_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
    (fresh_site / "zz_dev_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    sf.write(work / "ref.wav", pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR)
    sf.write(work / "right.wav", pad(speak("사과", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR)
    sf.write(work / "wrong.wav", pad(speak("하늘", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALSORI_") and k != "PYTHONPATH"}
    env["MALSORI_HOME"] = str(tmp_path / "home")
    where = _run([str(python), "-c", "import app, core.paths; print(app.__file__); print(core.paths.default_model_path())"],
                 cwd=work, env=env).split()
    assert all(Path(p).is_relative_to(venv) for p in where)  # the installed copy, not the checkout
    malsori = str(venv / "bin" / "malsori")
    right = float(_run([malsori, "score", "ref.wav", "right.wav"], cwd=work, env=env))
    wrong = float(_run([malsori, "score", "ref.wav", "wrong.wav"], cwd=work, env=env))
    assert right > wrong  # the shipped model, not an untrained one
    lists = _run([malsori, "tts", "--show-lists"], cwd=work, env=env)
    assert "ko_beginner" in lists
    if any((ROOT / "assets" / "references").rglob("*.flac")):  # a shipped reference, no network, no espeak-ng
        line = _run([malsori, "tts", "사과", "--lang", "ko", "--engine", "espeak"], cwd=work, env=env)
        assert line.split()[-1] == "cache" and Path(line.split()[0]).is_relative_to(venv)
