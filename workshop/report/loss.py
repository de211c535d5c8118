"""The finetuning curve: LitGPT's CSV logger file read as (step, loss) series, and its plot."""

from __future__ import annotations

import csv
from pathlib import Path


def read_losses(metrics_csv: Path) -> tuple[dict[str, list[tuple[float, float]]], float | None]:
    """(step, value) series of every loss column of LitGPT's `metrics.csv`, and the final validation loss.

    LitGPT logs its final validation without a step, so that row reads step 0 after the
    training rows; it is the final value, not a point at the start of the curve.
    """
    series: dict[str, list[tuple[float, float]]] = {}
    final_val = None
    with open(metrics_csv, newline="") as f:
        for row in csv.DictReader(f):
            step = row.get("step") or row.get("iter") or ""
            if step == "":
                continue
            for col, value in row.items():
                if not col or "loss" not in col or value in ("", None):
                    continue
                if float(step) == 0:
                    final_val = float(value) if col == "val_loss" else final_val
                    continue
                series.setdefault(col, []).append((float(step), float(value)))
    return series, final_val


def loss_ends(points: list[tuple[float, float]], window: int = 5) -> dict[str, float]:
    """First and last value of a loss series, and means over its first/last `window` points (per-step losses are noisy)."""
    values = [v for _, v in points]
    head, tail = values[:window], values[-window:]
    return {"first": values[0], "last": values[-1], "first_mean": sum(head) / len(head),
            "last_mean": sum(tail) / len(tail), "n": len(values), "last_step": points[-1][0]}


def plot_finetune_loss(series: dict[str, list[tuple[float, float]]], path: Path, final_val: float | None = None) -> Path:
    """Training and validation loss against the optimizer step (the final validation as a marker at the last step)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, points in sorted(series.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o" if len(xs) < 20 or name.startswith("val") else None, label=name)
    if final_val is not None and series:
        last = max(x for points in series.values() for x, _ in points)
        ax.plot([last], [final_val], marker="*", markersize=11, linestyle="none", color="black",
                label="final val_loss (whole val set)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("LoRA finetuning loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
