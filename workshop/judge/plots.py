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
