"""Pictures of judge scores: one histogram per key, and a before-vs-after scatter."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_scores(scores: Mapping[str, Sequence[float | None]], path: str | Path) -> Path:
    """Overlaid histograms (bins of 5 points over 0..100) of each key's scores -> `path`."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, values in scores.items():
        x = [v for v in values if v is not None]
        ax.hist(x, bins=range(0, 105, 5), alpha=0.5, label=f"{key} (n={len(x)})")
    ax.set_xlabel("judge score")
    ax.set_ylabel("items")
    ax.set_xlim(0, 100)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_paired(
    first: Sequence[float | None], second: Sequence[float | None], a: str, b: str, path: str | Path
) -> Path:
    """Scatter of each item's score under `a` (x) and `b` (y), with the y = x line -> `path`."""
    pairs = [(x, y) for x, y in zip(first, second) if x is not None and y is not None]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 100], [0, 100], color="grey", linewidth=1, linestyle="--")
    ax.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=14, alpha=0.7)
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.set_title(f"per item: above the line = {b} scored higher", fontsize=8, wrap=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_pairwise(rows: Sequence[dict], a: str, b: str, path: str | Path) -> Path:
    """Left: preference for `b` in each order (off the diagonal quadrants = the order decided);
    right: wins of a, ties, wins of b -> `path`."""
    pairs = [r["preference_b"] for r in rows if None not in r["preference_b"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.axhline(0.5, color="grey", linewidth=1, linestyle="--")
    left.axvline(0.5, color="grey", linewidth=1, linestyle="--")
    left.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=14, alpha=0.7)
    left.set_xlim(-0.02, 1.02)
    left.set_ylim(-0.02, 1.02)
    left.set_xlabel(f"preference for {b}, shown second")
    left.set_ylabel(f"preference for {b}, shown first")
    left.set_title("same side of 0.5 on both axes = consistent", fontsize=8)
    counts = [sum(r["winner"] == a for r in rows), sum(r["winner"] == "tie" for r in rows),
              sum(r["winner"] == b for r in rows)]
    right.bar([f"{a} wins", "tie", f"{b} wins"], counts, color=["tab:blue", "tab:grey", "tab:orange"])
    right.set_ylabel("entries")
    right.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_agreement(scores: Sequence[float], labels: Sequence[float], score_key: str, label_key: str,
                   path: str | Path) -> Path:
    """Scatter of each item's label (x, jittered) against its score (y) -> `path`."""
    import numpy as np

    x = np.asarray(labels, dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.08, 0.08, x.size) * (np.ptp(x) or 1.0)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(x + jitter, scores, s=14, alpha=0.6)
    ax.set_xlabel(f"{label_key} (jittered)")
    ax.set_ylabel(score_key)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
