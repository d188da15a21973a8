"""The project's own pure-Python pieces, read from its files at run time (not copied by hand).

`loganalysis.metrics.templates` and `tests/test_templates.py` import pyspark at module level; the
benchmark venv has no pyspark, so the definitions needed here are taken out of the source files
with `ast` and executed on their own: Drain, DrainSettings, mine and MASKS from templates.py,
KINDS, generated_lines and grouping_accuracy from the test, and logformat.py whole (it is pure
Python). A change in those files shows up in the next run.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]          # the project checkout
TEMPLATES = ROOT / "lib/loganalysis/metrics/templates.py"
TEST_TEMPLATES = ROOT / "tests/test_templates.py"
LOGFORMAT = ROOT / "lib/loganalysis/sources/logformat.py"


def _pick(path: Path, names: set[str], prelude: str) -> dict:
    tree = ast.parse(path.read_text())
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            keep.append(node)
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in node.targets):
            keep.append(node)
    found = {getattr(n, "name", None) or n.targets[0].id for n in keep}
    missing = names - found
    if missing:
        raise LookupError(f"{path}: not found: {sorted(missing)}")
    module = types.ModuleType(f"picked_{path.stem}")
    sys.modules[module.__name__] = module          # dataclasses look their module up
    exec(compile(prelude, str(path), "exec"), module.__dict__)
    exec(compile(ast.Module(body=keep, type_ignores=[]), str(path), "exec"), module.__dict__)
    return module.__dict__


def templates() -> dict:
    return _pick(TEMPLATES, {"WILDCARD", "MASKS", "DrainSettings", "_Cluster", "_Node", "Drain", "mine"},
                 "from __future__ import annotations\nfrom dataclasses import dataclass, field\n"
                 "from typing import Iterable\n")


def test_templates() -> dict:
    return _pick(TEST_TEMPLATES, {"USERS", "SERVICES", "TABLES", "GROUPS", "KINDS", "generated_lines",
                                  "grouping_accuracy"}, "import random\nimport uuid\n")


def logformat():
    spec = importlib.util.spec_from_file_location("logformat", LOGFORMAT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["logformat"] = module
    spec.loader.exec_module(module)
    return module


def commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h",
                          "--", str(TEMPLATES), str(TEST_TEMPLATES), str(LOGFORMAT)],
                         capture_output=True, text=True)
    return out.stdout.strip() or "unknown"
