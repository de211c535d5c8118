"""Many runs side by side: each paired with a baseline on the items both have, p-values Holm-adjusted.

With ten runs against a baseline, one "p < 0.05" is expected by chance, so every comparison's
p-value (McNemar's exact test for right/wrong items, Wilcoxon's signed-rank test for scores,
with a bootstrap CI of the mean difference) is adjusted across all comparisons by Holm's
method (statsmodels' `multipletests`) before a cell says "better" or "worse". Runs that share
too few items with the baseline (another test set) are said to be not comparable, not paired.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.types import OutputDir
from workshop.report.runs import MEASURES, Run, read_run

ALPHA = 0.05
MIN_SHARED = 10  # fewer shared items than this (or under half of the smaller run's) is not a comparison
BETTER, WORSE, UNCLEAR = "better", "worse", "no clear change"


def unique_names(paths: list[str]) -> list[str]:
    """Folder names, with the parent folder added where two runs share a name."""
    names = [Path(p).name for p in paths]
    return [f"{Path(p).parent.name}/{n}" if names.count(n) > 1 else n for p, n in zip(paths, names)]


def not_comparable(run: Run, base: Run, measure: str, shared: int) -> str | None:
    """Why `run` and `base` cannot be paired on `measure` (None when they can)."""
    a, b = base.measures[measure], run.measures[measure]
    if a.context != b.context:
        return f"scored by another judge ({b.context} vs {a.context})"
    smaller = min(len(a.values), len(b.values))
    if shared < MIN_SHARED or shared < smaller / 2:
        return f"shares {shared} of {smaller} items with the baseline (a different test set?)"
    return None


def pair(run: Run, base: Run, measure: str) -> dict[str, Any]:
    """One comparison of `run` against `base` on `measure`, over the items both have (p not yet adjusted)."""
    from workshop.core.stats import mcnemar, wilcoxon_p

    label, kind, _ = MEASURES[measure]
    out: dict[str, Any] = {"run": run.name, "measure": measure, "label": label, "p": None, "p_holm": None}
    if kind == "value":
        return {**out, "test": None, "change": None, "reason": "one number per run: no items to pair"}
    a, b = base.measures[measure].values, run.measures[measure].values
    shared = sorted(set(a) & set(b))
    reason = not_comparable(run, base, measure, len(shared))
    out["n"] = len(shared)
    if reason:
        return {**out, "test": None, "change": "not comparable", "reason": reason}
    if kind == "binary":
        test = mcnemar([a[k] == 1.0 for k in shared], [b[k] == 1.0 for k in shared])
        return {**out, "test": "McNemar exact", "p": test["mcnemar_p"], "only_baseline": test["only_a"],
                "only_run": test["only_b"], "diff": (test["only_b"] - test["only_a"]) / len(shared)}
    import numpy as np

    diff = np.asarray([b[k] - a[k] for k in shared])
    return {**out, "test": "Wilcoxon, bootstrap CI", "p": wilcoxon_p(diff), "diff": float(diff.mean()),
            "ci95": None, "_diffs": diff}


def add_cis(comparisons: list[dict[str, Any]]) -> None:
    """The 95 % bootstrap CI of each score comparison's mean difference, all comparisons of one size at once."""
    from workshop.core.stats import bootstrap_mean_cis

    scored = [c for c in comparisons if "_diffs" in c]
    for n in {len(c["_diffs"]) for c in scored}:
        group = [c for c in scored if len(c["_diffs"]) == n]
        for c, ci in zip(group, bootstrap_mean_cis([c["_diffs"] for c in group])):
            c["ci95"] = ci
    for c in scored:
        del c["_diffs"]


def decide(comparisons: list[dict[str, Any]], alpha: float = ALPHA) -> None:
    """Holm-adjust every comparison's p across all of them, then mark each better / worse / no clear change."""
    from statsmodels.stats.multitest import multipletests

    tested = [c for c in comparisons if c["p"] is not None]
    if tested:
        adjusted = multipletests([c["p"] for c in tested], alpha=alpha, method="holm")[1]
        for c, p in zip(tested, adjusted):
            c["p_holm"] = float(p)
            higher_better = MEASURES[c["measure"]][2]
            up = c["diff"] > 0 if higher_better else c["diff"] < 0
            c["change"] = UNCLEAR if p >= alpha or c["diff"] == 0 else BETTER if up else WORSE


def in_run(value: Any, roots: list[str]) -> Any:
    """A path inside any compared run folder as `<run>/...`: where a run keeps its files is not a setting."""
    if isinstance(value, list):
        return [in_run(v, roots) for v in value]
    if isinstance(value, str):
        for root in roots:
            if value.startswith(root + "/"):
                return "<run>" + value[len(root):]
    return value


def differing_settings(runs: list[Run]) -> list[str]:
    """The settings whose values are not the same in every run (a setting a run lacks counts as differing)."""
    roots = sorted({str(r.path.resolve()) for r in runs} | {str(r.path) for r in runs}, key=len, reverse=True)
    for run in runs:
        run.settings = {k: in_run(v, roots) for k, v in run.settings.items()}
    keys = sorted({k for r in runs for k in r.settings})
    return [k for k in keys if len({repr(r.settings.get(k)) for r in runs}) > 1]


def sort_key(measure: str | None):
    """Best first on `measure` (lower loss is better); runs without it last."""
    def key(row: dict[str, Any]) -> tuple:
        cell = row["cells"].get(measure) if measure else None
        if not cell or cell["figure"] is None:
            return (1, 0.0)
        return (0, -cell["figure"] if MEASURES[measure][2] else cell["figure"])
    return key


def compare_runs(runs: list[Run], baseline: Run, alpha: float = ALPHA, sort_by: str | None = None) -> dict[str, Any]:
    """The comparison as a JSON-able dict (compare.json): rows, cells, Holm-adjusted comparisons, settings."""
    present = [m for m in MEASURES if any(m in r.measures for r in runs)]
    for run in runs:
        if run is not baseline and not set(run.measures) & set(baseline.measures):
            raise WorkshopError(f"{run.path}: no measure in common with the baseline {baseline.path} ({run.name}: "
                                f"{', '.join(run.measures)}; baseline: {', '.join(baseline.measures)}); compare runs of one kind")
    comparisons = [pair(run, baseline, m) for run in runs if run is not baseline for m in present
                   if m in run.measures and m in baseline.measures]
    add_cis(comparisons)
    decide(comparisons, alpha)
    if sort_by is not None and sort_by not in present:
        raise WorkshopError(f"--sort-by {sort_by}: not measured here; use one of {', '.join(present)}")
    sort_by = sort_by or next((m for m in present if all(m in r.measures for r in runs)), present[0])
    differ = differing_settings(runs)
    by_cell = {(c["run"], c["measure"]): c for c in comparisons}
    rows = [{"name": r.name, "path": str(r.path), "kind": r.kind, "baseline": r is baseline,
             "settings": {k: r.settings.get(k) for k in differ},
             "cells": {m: {"figure": r.measures[m].figure, "spread": r.measures[m].spread, "n": len(r.measures[m].values),
                           "vs_baseline": by_cell.get((r.name, m))} for m in present if m in r.measures}}
            for r in runs]
    rows.sort(key=sort_key(sort_by))
    return {"baseline": baseline.name, "alpha": alpha, "correction": "holm", "min_shared": MIN_SHARED,
            "sorted_by": sort_by, "measures": {m: MEASURES[m][0] for m in present}, "differing_settings": differ,
            "rows": rows, "comparisons": comparisons, "n_comparisons": sum(c["p"] is not None for c in comparisons)}


def compare(runs: list[str], baseline: str | None = None, out: OutputDir | None = None,
            sort_by: str | None = None, alpha: float = ALPHA) -> dict[str, Any]:
    """Compare runs side by side against a baseline, item by item, Holm-adjusted: compare.json/.md/.html and a plot.

    Args:
        runs: run folders (pipeline output, judge output, MMLU results.json, classify.json)
        baseline: the run every other is paired with (default: the first of runs; added when not among them)
        out: folder for compare.json, compare.md, compare.html and compare.png (default: none written)
        sort_by: measure to sort the rows by, best first (default: the first one every run has)
        alpha: level for "better"/"worse" after Holm's adjustment
    """
    from workshop.report.compare_render import write_compare

    paths = [str(p) for p in runs]
    if baseline is not None and str(baseline) not in paths:
        paths.insert(0, str(baseline))
    if len(paths) < 2:
        raise WorkshopError("workshop compare: give at least two runs (or one run and --baseline RUN)")
    loaded = [read_run(p, n) for p, n in zip(paths, unique_names(paths))]
    base = loaded[paths.index(str(baseline))] if baseline is not None else loaded[0]
    result = compare_runs(loaded, base, alpha, sort_by)
    if out is not None:
        result["files"] = {k: str(v) for k, v in write_compare(result, loaded, Path(out)).items()}
    return result
