"""What a finetune shows and keeps: a progress bar fed by the loop's logging, its lines in a log file.

`ProgressBar` is a Lightning Fabric `Logger` added next to LitGPT's CSV logger, so every
`fabric.log_dict` the loop makes (LitGPT's keys: train loss per step, val loss per evaluation,
the final validation) moves the bar: steps done / total, ETA, latest train and val loss.
`AppendingCSVLogger` is LitGPT's CSV logger that, for a resumed run, keeps writing the
interrupted run's `metrics.csv` (rows past the resumed step are dropped: they were logged
after the last save). `train_log` sends the loop's printed lines to `out_dir/train.log`.
"""

from __future__ import annotations

import contextlib
import csv
import sys
from pathlib import Path
from typing import Any, Iterator

from lightning.fabric.loggers import CSVLogger, Logger
from lightning.fabric.loggers.csv_logs import _ExperimentWriter
from tqdm.auto import tqdm

from workshop.core.io import atomic_write

LOG_NAME = "train.log"


class ProgressBar(Logger):
    """A tqdm bar over optimizer steps, moved by the metrics the loop logs."""

    def __init__(self) -> None:
        super().__init__()
        self.bar: tqdm | None = None
        self.postfix: dict[str, str] = {}
        self.final_val_loss: float | None = None

    @property
    def name(self) -> str:
        return "progress"

    @property
    def version(self) -> int:
        return 0

    def start(self, total: int, done: int) -> None:
        """Show the bar: `done` of `total` steps already trained (a resumed run starts part-way)."""
        self.bar = tqdm(total=total, initial=done, desc="finetune", unit="step", dynamic_ncols=True, file=sys.stderr)

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        if self.bar is None:
            return
        if "val_loss" in metrics:
            self.postfix["val_loss"] = f"{float(metrics['val_loss']):.3f}"
            if step is None:  # LitGPT's final validation is logged without a step
                self.final_val_loss = float(metrics["val_loss"])
        if "loss" in metrics:
            self.postfix["loss"] = f"{float(metrics['loss']):.3f}"
        if "step" in metrics and int(metrics["step"]) > self.bar.n:
            self.bar.update(int(metrics["step"]) - self.bar.n)
        self.bar.set_postfix(self.postfix, refresh=False)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _KeepingWriter(_ExperimentWriter):
    """Lightning's CSV writer that keeps an existing metrics.csv up to `keep_until` instead of deleting it."""

    def __init__(self, log_dir: str, keep_until: int) -> None:
        self.keep_until = keep_until
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header, rows = list(reader.fieldnames or []), list(reader)
        kept, last = [], -1
        for row in rows:  # in logging order; stop at a row past the resume point or stepping back (final validation)
            step = int(float(row.get("step") or -1))
            if step > self.keep_until or step < last:
                break
            kept.append(row)
            last = step
        def write(tmp: Path) -> None:
            with open(tmp, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=sorted(header))  # Lightning keeps its columns sorted
                writer.writeheader()
                writer.writerows(kept)

        atomic_write(path, write)
        self.metrics_keys = sorted(header)


class AppendingCSVLogger(CSVLogger):
    """LitGPT's CSV logger continuing an earlier version's metrics.csv from iteration `keep_until`."""

    def __init__(self, *args: Any, keep_until: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keep_until = keep_until

    @property
    def experiment(self) -> _ExperimentWriter:
        if self._experiment is None:
            Path(self.root_dir).mkdir(parents=True, exist_ok=True)
            self._experiment = _KeepingWriter(self.log_dir, self.keep_until)
        return self._experiment


@contextlib.contextmanager
def train_log(out_dir: Path, header: str) -> Iterator[Path]:
    """Send printed lines (LitGPT's per-step lines) to `out_dir/train.log`, appended, while the bar stays on stderr."""
    path = Path(out_dir) / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8", buffering=1) as f, contextlib.redirect_stdout(f):
        print(header)
        yield path
