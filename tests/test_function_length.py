"""The scoring and training path reads as named steps: no function there is over 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 80
# the scoring path (core, front end, models, the score command, the kiosk's services) and the
# training path (corpus pairs, training, the recognizer, evaluation, the real-voice set)
PATH = [*sorted((ROOT / "core").glob("*.py")), *sorted((ROOT / "preprocessing").glob("*.py")),
        *sorted((ROOT / "models").glob("*.py")), ROOT / "app" / "commands" / "score.py",
        ROOT / "app" / "kiosk" / "services.py",
        *(ROOT / "training" / f"{name}.py" for name in ("dataset", "batches", "metrics", "train",
                                                         "train_recognizer", "evaluate", "realset",
                                                         "realeval"))]


def test_no_function_on_the_scoring_and_training_path_is_over_80_lines():
    long = []
    for path in PATH:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() is {lines} lines")
    assert not long, "\n".join(long)
