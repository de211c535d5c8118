"""The layers hold: every import-linter contract in pyproject.toml is kept, and no module of workshop imports
itself back through others (no import cycle, lazy imports inside functions included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Groups of workshop modules that import each other, directly or through others (Tarjan's SCCs)."""
    edges = {m: [x for x in graph.find_modules_directly_imported_by(m) if x.split(".")[0] == "workshop"]
             for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(group) > 1 or v in edges[v]:
                cycles.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("workshop")


def test_every_import_contract_is_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install -e .[dev])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_no_import_cycles(graph):
    assert graph.find_modules_directly_imported_by("workshop.judge.scoring")  # the graph is the real package
    assert import_cycles(graph) == []


def test_a_new_cycle_is_caught(graph):
    graph.add_import(importer="workshop.core.errors", imported="workshop.judge.scoring")  # core reaching up
    groups = import_cycles(graph)
    assert any({"workshop.core.errors", "workshop.judge.scoring"} <= set(group) for group in groups)
