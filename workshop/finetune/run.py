"""LitGPT's `finetune_lora` run in-process with the workshop's hooks: resume, progress bar, log file.

`run_finetune` calls `litgpt.finetune.lora.setup` itself (LitGPT builds the model, data,
optimizer and scheduler and runs its own `fit`); for the length of the call four names in
that module point at our wrappers (see `workshop.finetune.resume`): `fit`, `CycleIterator`,
`choose_logger` (LitGPT's logger plus the progress bar; a resumed run appends to the
interrupted run's metrics.csv) and `generate_example` (puts the model back in train mode,
which LitGPT 0.5.13 forgets when it skips the example). LitGPT's printed lines go to `out_dir/train.log`.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from workshop.core.errors import WorkshopError
from workshop.finetune.progress import AppendingCSVLogger, ProgressBar, train_log
from workshop.finetune.resume import STATE_PATH, ResumableRun, load_state, resumable_iterator


@contextlib.contextmanager
def hooked_litgpt(run: ResumableRun, progress: ProgressBar) -> Iterator[Any]:
    """`litgpt.finetune.lora` with `fit`, `CycleIterator` and `choose_logger` pointing at our wrappers."""
    import litgpt.finetune.lora as lora

    saved = {name: getattr(lora, name) for name in ("fit", "CycleIterator", "choose_logger", "generate_example")}
    litgpt_fit, litgpt_choose_logger, litgpt_generate_example = saved["fit"], saved["choose_logger"], saved["generate_example"]

    def generate_example(fabric: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
        """LitGPT's sample generation, then the model back in its mode: LitGPT 0.5.13 leaves it in eval
        mode when it skips the example (prompt + max_new_tokens over max_seq_length), so dropout
        would stay off for the rest of the run, and a resumed run (which starts in train mode) would differ."""
        training = model.training
        try:
            return litgpt_generate_example(fabric, model, *args, **kwargs)
        finally:
            model.train(training)

    def choose_logger(logger_name: str, out_dir: Path, *args: Any, **kwargs: Any) -> list[Any]:
        if logger_name == "csv" and run.metrics_file and Path(run.metrics_file).is_file():
            logger = AppendingCSVLogger(root_dir=Path(out_dir) / "logs", name="csv", version=Path(run.metrics_file).parent.name,
                                        flush_logs_every_n_steps=kwargs.get("log_interval", 1), keep_until=run.iteration)
        else:
            logger = litgpt_choose_logger(logger_name, out_dir, *args, **kwargs)
        if logger_name == "csv":
            run.metrics_file = str(Path(logger.log_dir) / "metrics.csv")
        return [logger, progress]

    lora.fit = lambda **kwargs: run.fit(litgpt_fit, **kwargs)
    lora.CycleIterator = resumable_iterator(run)
    lora.choose_logger = choose_logger
    lora.generate_example = generate_example
    try:
        yield lora
    finally:
        for name, value in saved.items():
            setattr(lora, name, value)


def run_finetune(kwargs: dict[str, Any], out_dir: Path, recipe_hash: str, force: bool = False) -> dict[str, Any]:
    """LitGPT's `finetune_lora(**kwargs)`, resumed from `out_dir/resume/state.pth` when it is this recipe's.

    Returns what the run left: the metrics file, the log file, the final validation loss, steps.
    """
    out_dir = Path(out_dir)
    path = out_dir / STATE_PATH
    if force:
        path.unlink(missing_ok=True)
    state = load_state(path) if path.is_file() else None
    if state is not None and state.get("recipe_hash") != recipe_hash:
        raise WorkshopError(f"{path}: saved at step {state['step']} by a different recipe or data; put the recipe back "
                            "to resume, or re-run with --force to start over")
    progress = ProgressBar()
    run = ResumableRun(out_dir, recipe_hash, state, progress)
    began = "resuming at step {}".format(state["step"]) if state else "starting"
    print(f"workshop: finetune {began}; LitGPT's own lines go to {out_dir / 'train.log'}", file=sys.stderr)
    header = f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} workshop finetune_lora: {began} ==="
    with hooked_litgpt(run, progress) as lora, train_log(out_dir, header) as log_path:
        run.install_signals()
        try:
            lora.setup(**kwargs)
        finally:
            run.restore_signals()
            progress.close()
    return {"metrics": run.metrics_file, "log": str(log_path), "final_val_loss": progress.final_val_loss,
            "steps": run.step, "total": run.total, "resumed_from": state["step"] if state else None}
