"""Statistics for judge scores: per-key summary with a bootstrap CI, and a paired comparison.

A bare average hides how sure we are. Each key gets n / n_scored, mean, median, std and
a 95 % bootstrap confidence interval of the mean (`workshop.stats`). Two keys are compared
item by item on the entries both got a score for: mean difference (second minus first) with
its CI, win/tie/loss counts and the Wilcoxon signed-rank p-value.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workshop.stats import bootstrap_ci, wilcoxon_p

TIE_MARGIN = 0.5  # |difference| below this is a tie (integer scores: exactly equal)


def key_stats(scores: Sequence[float | None]) -> dict:
    """n, n_scored, mean, median, std (sample) and ci95 of the non-None `scores`."""
    x = np.asarray([s for s in scores if s is not None], dtype=np.float64)
    if x.size == 0:
        return {"n": len(scores), "n_scored": 0, "mean": None, "median": None, "std": None, "ci95": None}
    return {
        "n": len(scores),
        "n_scored": int(x.size),
        "mean": float(x.mean()),
        "median": float(np.median(x)),
        "std": float(x.std(ddof=1)) if x.size > 1 else 0.0,
        "ci95": bootstrap_ci(x),
    }


def paired_stats(first: Sequence[float | None], second: Sequence[float | None], a: str, b: str) -> dict:
    """Compare key `b` against key `a` on the items scored under both."""
    pairs = [(x, y) for x, y in zip(first, second) if x is not None and y is not None]
    diff = np.asarray([y - x for x, y in pairs], dtype=np.float64)  # (n,)
    return {
        "a": a,
        "b": b,
        "n": int(diff.size),
        "mean_diff": float(diff.mean()) if diff.size else None,
        "ci95": bootstrap_ci(diff),
        "wins": int(np.sum(diff >= TIE_MARGIN)),
        "ties": int(np.sum(np.abs(diff) < TIE_MARGIN)),
        "losses": int(np.sum(diff <= -TIE_MARGIN)),
        "tie_margin": TIE_MARGIN,
        "wilcoxon_p": wilcoxon_p(diff),
    }
