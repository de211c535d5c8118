"""A LoRA finetune run for `workshop run`: resumed from `out_dir/resume/state.pth` when it is this recipe's.

`run_finetune` takes the keyword arguments of LitGPT's `litgpt.finetune.lora.setup` and runs them through
`workshop.finetune.loop` (LitGPT's loop, owned here, resumable), with a progress bar on stderr and
LitGPT's printed lines in `out_dir/train.log`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.finetune.progress import ProgressBar, train_log
from workshop.finetune.resume import STATE_PATH, Session, load_state


def run_finetune(kwargs: dict[str, Any], out_dir: Path, recipe_hash: str, force: bool = False) -> dict[str, Any]:
    """`finetune_lora(**kwargs)`, resumed from `out_dir/resume/state.pth` when it is this recipe's.

    Returns what the run left: the metrics file, the log file, the final validation loss, steps.
    """
    from workshop.finetune.loop import setup

    out_dir = Path(out_dir)
    path = out_dir / STATE_PATH
    if force:
        path.unlink(missing_ok=True)
    saved = load_state(path) if path.is_file() else None
    if saved is not None and saved.get("recipe_hash") != recipe_hash:
        raise WorkshopError(f"{path}: saved at step {saved['step_count']} by a different recipe or data; put the "
                            "recipe back to resume, or re-run with --force to start over")
    progress = ProgressBar()
    session = Session(out_dir, recipe_hash, saved, progress)
    began = f"resuming at step {saved['step_count']}" if saved else "starting"
    print(f"workshop: finetune {began}; LitGPT's own lines go to {out_dir / 'train.log'}", file=sys.stderr)
    header = f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} workshop finetune_lora: {began} ==="
    with train_log(out_dir, header) as log_path:
        session.install_signals()
        try:
            setup(kwargs, session)
        finally:
            session.restore_signals()
            progress.close()
    return {"metrics": session.metrics_file, "log": str(log_path), "final_val_loss": progress.final_val_loss,
            "steps": session.state["step_count"], "total": session.total,
            "resumed_from": saved["step_count"] if saved else None}
