"""The house has no back-arrows: core ← preprocessing ← models ← training / app, no import
cycles, and scoring (CLI or kiosk) never loads training code."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from speech import SR, pad, speak

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "preprocessing", "models", "training", "app")
# what each package may import from the project (besides itself)
ALLOWED = {
    "core": set(),
    "preprocessing": {"core"},
    "models": {"core", "preprocessing"},
    "training": {"core", "preprocessing", "models"},
    "app": {"core", "preprocessing", "models", "training"},
}
# app modules that serve learners and operators: none of them may import training (only the
# training commands do — make-corpus, train, evaluate… — and app.cli imports those when chosen)
SERVING_COMMANDS = {"app.commands.score", "app.commands.kiosk", "app.commands.tts", "app.commands.mic"}
FROZEN_MODEL = ROOT / "tests" / "data" / "malsori-frozen.pt"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_imports() -> dict[str, set[str]]:
    """module → the project modules it imports anywhere in its body (functions included)."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path)
            is_pkg = path.name == "__init__.py"
            found = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = name.split(".")
                        base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                        target = ".".join(base + ([node.module] if node.module else []))
                    else:
                        target = node.module or ""
                    found.add(target)
                    found.update(f"{target}.{a.name}" for a in node.names)  # `from pkg import module`
            graph[name] = {m for m in found if m.split(".")[0] in PACKAGES}
    modules = set(graph)
    return {k: {m for m in v if m in modules and m != k} for k, v in graph.items()}


def test_each_layer_imports_only_the_layers_below_it():
    bad = []
    for module, imports in project_imports().items():
        layer = module.split(".")[0]
        for target in imports:
            other = target.split(".")[0]
            if other == layer:
                continue
            serving = module in SERVING_COMMANDS or not module.startswith("app.commands")
            if other not in ALLOWED[layer] or (layer == "app" and other == "training" and serving):
                bad.append(f"{module} imports {target}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = project_imports()
    # a module and its own package's __init__ are one unit for Python's import machinery only
    # when the __init__ imports it back; that is an ordinary re-export, not a cycle of design
    graph = {k: {m for m in v if not k.startswith(m + ".")} for k, v in graph.items()}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_the_cycle_check_would_see_a_cycle(tmp_path):
    """The analysis itself works: it sees the imports a module really makes."""
    graph = project_imports()
    assert "models.checkpoint" in graph["models.scoring"] or "models" in graph["models.scoring"]
    assert "core.errors" in graph["core.fileio"]


_LOADED_TRAINING = (
    "import json, sys\n"
    "from app.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "print(json.dumps({'rc': rc, 'training': sorted(m for m in sys.modules if m.split('.')[0] == 'training'),"
    " 'models': 'models.scoring' in sys.modules, 'torch': 'torch' in sys.modules}))\n"
)


def _run_malsori(args: list[str], tmp_path: Path, **env) -> dict:
    environment = dict(os.environ, MALSORI_HOME=str(tmp_path / "home"), MALSORI_MODEL=str(FROZEN_MODEL),
                       PYTHONPATH=str(ROOT), **env)
    out = subprocess.run([sys.executable, "-c", _LOADED_TRAINING, *args], cwd=tmp_path, env=environment,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_malsori_score_loads_no_training_module(tmp_path):
    ref, att = tmp_path / "ref.wav", tmp_path / "att.wav"
    sf.write(ref, pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR)
    sf.write(att, pad(speak("사과", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR)
    report = _run_malsori(["score", str(ref), str(att)], tmp_path)
    assert report["rc"] == 0 and report["models"]  # it really scored
    assert report["training"] == []
    assert not report["torch"]  # the networks run in numpy: torch alone is ~280 MB and ~2 s (a Pi's budget)


def test_the_kiosk_loads_its_model_without_training_modules(tmp_path):
    report = _run_malsori(["kiosk", "--windowed", "--exit-when-ready"], tmp_path, QT_QPA_PLATFORM="offscreen")
    assert report["rc"] == 0 and report["models"]  # the model was loaded
    assert report["training"] == []
    assert not report["torch"]


def test_the_parser_imports_only_the_chosen_command():
    code = ("import json, sys\n"
            "from app.cli import build_parser\n"
            "build_parser('') ; empty = sorted(m for m in sys.modules if m.startswith(('app.commands.', 'training')))\n"
            "build_parser('train'); train = sorted(m for m in sys.modules if m.startswith(('app.commands.', 'training')))\n"
            "print(json.dumps([empty, train]))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    empty, train = json.loads(out.stdout)
    assert empty == []  # `malsori --help` lists every command from the table alone
    assert "app.commands.train" in train and "training.train" in train
    assert "app.commands.score" not in train
