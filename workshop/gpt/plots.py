"""Loss curves as a PNG: loss against epochs, with a second x-axis for tokens seen."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display needed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from workshop.core.io import atomic_write  # noqa: E402


def plot_losses(
    epochs_seen: Sequence[float],
    tokens_seen: Sequence[int],
    train_losses: Sequence[float],
    val_losses: Sequence[float],
    path: str | os.PathLike = "losses.png",
) -> Path:
    """Plot train/val loss per evaluation; the top axis shows the tokens seen at each point."""
    fig, ax1 = plt.subplots(figsize=(5, 3))
    ax1.plot(epochs_seen, train_losses, label="Training loss")
    ax1.plot(epochs_seen, val_losses, linestyle="-.", label="Validation loss")
    ax1.set_xlabel("Epochs")
    ax1.set_ylabel("Loss")
    ax1.legend(loc="upper right")
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2 = ax1.twiny()  # second x-axis sharing the loss axis
    ax2.plot(tokens_seen, train_losses, alpha=0)  # invisible: only aligns the ticks
    ax2.set_xlabel("Tokens seen")
    fig.tight_layout()
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=150, format=path.suffix.lstrip(".") or "png"))
    plt.close(fig)
    return path
