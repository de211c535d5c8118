"""Resumable LoRA finetuning around LitGPT's own `fit` loop (litgpt/finetune/lora.py, LitGPT 0.5.13).

LitGPT's LoRA script cannot resume (LitGPT issue #2021): `fit` counts steps from 0 in local
variables and keeps the data position in a `CycleIterator` it builds itself. We do not copy
the loop; `ResumableRun` hooks the three things `fit` reaches through names we can wrap:

- `fit` itself (wrapped): before LitGPT's loop runs, a saved state puts back the LoRA
  weights, the optimizer and the LR scheduler; `fit` gets `max_steps` less the steps done,
  and its eval/log intervals as `Shifted` ints, so `step_count % eval.interval` counts from
  the resumed step (an int subclass whose `__rmod__` adds the offset: Python asks the right
  operand first when it subclasses the left one). `fabric.log_dict` adds the same offsets, so
  metrics.csv holds the global iteration and step. LitGPT's own step-NNNNNN folders are
  written by the hook (named with the global step), with LitGPT's `save_lora_checkpoint`.
- `CycleIterator` (subclassed): it knows the epoch, the batches taken in it and the
  shuffle's generator state at the epoch's start, replays the epoch's order on resume, and
  at every optimizer-step boundary (the moment `fit` asks for the next batch) calls the hook:
  save every `train.save_interval` steps, and stop cleanly after Ctrl-C / SIGTERM.
- the RNG states (torch, CUDA, Python, NumPy) are saved with the rest and restored at that
  same moment, so dropout and LitGPT's sampled examples continue the uninterrupted run's.

One file, `out_dir/resume/state.pth` (latest only, written atomically, read with
`weights_only=True`), holds all of it. A SIGKILL loses at most `save_interval` steps.
"""

from __future__ import annotations

import dataclasses
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from litgpt.utils import CycleIterator
from tqdm.auto import tqdm

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_torch_save

STATE_PATH = Path("resume") / "state.pth"
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class FinetuneInterrupted(KeyboardInterrupt):
    """Training stopped on a signal; the message says what was saved and how to continue."""


class Shifted(int):
    """An interval that counts from `offset`: `n % Shifted(k, offset) == (n + offset) % k`."""

    offset: int

    def __new__(cls, value: int, offset: int) -> "Shifted":
        obj = super().__new__(cls, value)
        obj.offset = offset
        return obj

    def __rmod__(self, n: int) -> int:  # type: ignore[override]
        return (n + self.offset) % int(self)


def rng_states() -> dict[str, Any]:
    """Every RNG a finetune draws from (dropout, LitGPT's sampled example), as plain data."""
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(), "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]]}


def set_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    if states["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, *rest = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), *rest))


def load_state(path: Path) -> dict[str, Any]:
    """A saved finetune state; a damaged file is a one-line error."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, pickled code
        raise WorkshopError(f"{path}: unreadable resume state ({type(e).__name__}); delete it to start over, "
                            "or re-run with --force") from None
    if not isinstance(state, dict) or "step" not in state:
        raise WorkshopError(f"{path}: not a workshop resume state; delete it or re-run with --force")
    return state


class ResumableRun:
    """The hooks of one finetune run: restore, save at step boundaries, stop on signals."""

    def __init__(self, out_dir: Path, recipe_hash: str, state: dict[str, Any] | None, progress: Any) -> None:
        self.out_dir, self.hash, self.state, self.progress = Path(out_dir), recipe_hash, state, progress
        self.path = self.out_dir / STATE_PATH
        self.step = state["step"] if state else 0  # optimizer steps done (global)
        self.iteration = state["iteration"] if state else 0  # micro-batches done (global)
        self.saved_step: int | None = self.step if state else None
        self.handled = self.step
        self.elapsed = state["elapsed_s"] if state else 0.0
        self.metrics_file: str | None = state.get("metrics_file") if state else None
        self.stop_signal: int | None = None
        self.in_loop = False
        self.resumable = True  # single device; a sharded run only passes through (see `fit`)
        self.total = 0
        self.position: dict[str, Any] = dict(state["position"]) if state else {"epoch": 0, "batches": 0}
        self.ctx: dict[str, Any] = {}
        self._old_handlers: dict[int, Any] = {}

    # --- LitGPT's fit, wrapped --------------------------------------------------------------
    def fit(self, litgpt_fit: Any, **kwargs: Any) -> dict:
        """Restore the saved state, run LitGPT's `fit` for the steps left, save at its end."""
        fabric, train, eval = kwargs["fabric"], kwargs["train"], kwargs["eval"]
        self.ctx = kwargs
        if fabric.world_size > 1:  # sharded (FSDP) state is not ours to save: LitGPT's own loop, as it is
            self.resumable = False
            fabric.print(f"workshop: {fabric.world_size} devices: this finetune runs LitGPT's fit as it is, with its "
                         "own save_interval folders; an interrupted multi-device run starts over (resume: devices 1)",
                         file=sys.stderr)  # stdout goes to train.log
            return litgpt_fit(**kwargs)
        self.accum = train.gradient_accumulation_iters(kwargs["devices"], kwargs["num_nodes"])
        self.epochs = train.epochs
        self.total = int(min(train.epochs * len(kwargs["train_dataloader"]) // self.accum, train.max_steps or float("inf")))
        self.save_interval = train.save_interval
        if self.state:
            self._restore(kwargs["model"], kwargs["optimizer"], kwargs["scheduler"])
        self.progress.start(self.total, self.step)
        log_dict = fabric.log_dict
        fabric.log_dict = self._shifted_log(log_dict)
        fit_train = dataclasses.replace(
            train, max_steps=train.max_steps - self.step if train.max_steps else None, save_interval=None,
            log_interval=Shifted(train.log_interval, self.iteration))
        fit_eval = dataclasses.replace(eval, interval=Shifted(eval.interval, self.step),
                                       initial_validation=eval.initial_validation and not self.state)
        self.started = time.perf_counter()
        try:
            self.in_loop = True
            if self.step >= self.total:  # trained to the end before (interrupted while merging)
                counts = {"raw_tokens": 0, "raw_tokens_plus_prompt_template": 0,
                          "raw_tokens_plus_prompt_template_and_padding": 0}
            else:
                counts = litgpt_fit(**{**kwargs, "train": fit_train, "eval": fit_eval})
            self.at_boundary(final=True)
        finally:
            self.in_loop = False
            fabric.log_dict = log_dict
        return counts

    def _shifted_log(self, log_dict: Any) -> Any:
        def log(metrics: dict[str, Any], step: int | None = None) -> None:
            offsets = {"iter": self.base_iteration, "step": self.base_step}
            metrics = {k: v + offsets[k] if k in offsets else v for k, v in metrics.items()}
            log_dict(metrics, step=None if step is None else step + self.base_iteration)
        self.base_iteration, self.base_step = self.iteration, self.step
        return log

    def _restore(self, model: Any, optimizer: Any, scheduler: Any) -> None:
        lora = self.state["lora"]
        expected = {k for k in model.state_dict() if "lora_" in k}
        if set(lora) != expected:
            raise WorkshopError(f"{self.path}: its LoRA weights do not fit this model and LoRA settings; "
                                "re-run with --force to start over")
        model.load_state_dict(lora, strict=False)
        optimizer.load_state_dict(self.state["optimizer"])
        scheduler.load_state_dict(self.state["scheduler"])
        tqdm.write(f"workshop: resuming at step {self.step} of {self.total} from {self.path}", file=sys.stderr)
        print(f"[workshop] resumed at step {self.step} (iteration {self.iteration}) from {self.path}; "
              "LitGPT's iter/step counters on the lines below count from there; metrics.csv holds the global ones")

    # --- step boundaries (called by the data iterator and at the end of fit) ------------------
    def at_boundary(self, final: bool = False) -> None:
        """After each optimizer step: LitGPT's step folder and our state every save_interval; stop if asked."""
        if not self.resumable:
            return
        step = self.iteration // self.accum
        if step != self.handled:
            self.handled = self.step = step
            if self.save_interval and step % self.save_interval == 0:
                self.save(lora_folder=True)
        if final and self.saved_step != self.step:
            self.save()
        if self.stop_signal is not None:
            if self.saved_step != self.step and self.step > 0:
                self.save()
            raise FinetuneInterrupted(self.stopped_message(SIGNAL_NAMES.get(self.stop_signal, "a signal")))

    def save(self, lora_folder: bool = False) -> None:
        """Write the resumable state (and, at save_interval, LitGPT's step-NNNNNN LoRA folder)."""
        import litgpt.finetune.lora as lora

        kw = self.ctx
        model = kw["model"]
        if lora_folder:  # what LitGPT's fit writes at save_interval, named with the global step
            file = self.out_dir / f"step-{self.step:06d}" / "lit_model.pth.lora"
            file.parent.mkdir(parents=True, exist_ok=True)
            lora.save_lora_checkpoint(kw["fabric"], model, file)
            lora.copy_config_files(kw["checkpoint_dir"], file.parent)
            lora.save_hyperparameters(lora.setup, file.parent)
            lora.save_prompt_style(kw["data"].prompt_style, file.parent)
        state = {
            "step": self.step, "iteration": self.iteration, "recipe_hash": self.hash,
            "lora": {k: v.detach().cpu() for k, v in model.state_dict().items() if "lora_" in k},
            "optimizer": kw["optimizer"].state_dict(), "scheduler": kw["scheduler"].state_dict(),
            "rng": rng_states(), "position": dict(self.position), "metrics_file": self.metrics_file,
            "elapsed_s": self.elapsed + time.perf_counter() - self.started,
        }
        atomic_torch_save(self.path, state)
        self.saved_step = self.step

    def stopped_message(self, why: str) -> str:
        """Exactly what was saved and what the same command will do next."""
        if self.saved_step is None:
            return (f"stopped by {why} before the first step was saved; nothing to resume. "
                    "Running the same command again starts the finetune from the beginning")
        left = f"steps {self.saved_step + 1}-{self.total}" if self.saved_step < self.total else "the final merge"
        return (f"stopped by {why} at step {self.step} of {self.total}. Saved: LoRA weights, optimizer, LR scheduler, "
                f"data position and RNG state of step {self.saved_step} in {self.path}. Running the same command again "
                f"resumes there and runs {left} (--force starts over)")

    # --- signals --------------------------------------------------------------------------
    def install_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._old_handlers = {s: signal.signal(s, self._on_signal) for s in SIGNAL_NAMES}

    def restore_signals(self) -> None:
        for s, handler in self._old_handlers.items():
            signal.signal(s, handler)
        self._old_handlers = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        why = SIGNAL_NAMES.get(signum, "a signal")
        if self.stop_signal is not None or not self.in_loop:  # a second signal, or not training: stop now
            raise FinetuneInterrupted(self.stopped_message(why))
        self.stop_signal = signum
        keep = "nothing is saved yet" if self.saved_step is None else f"the state of step {self.saved_step} is kept"
        tqdm.write(f"workshop: {why}: finishing step {self.step + 1} to save it, then stopping "
                   f"({why} again stops at once; {keep})", file=sys.stderr)


def resumable_iterator(run: ResumableRun) -> type:
    """A `CycleIterator` for `fit` that tracks and replays the data position and calls the step hook."""

    class ResumableCycleIterator(CycleIterator):
        def __next__(self) -> Any:
            if not run.resumable:
                return super().__next__()
            if run.iteration % run.accum == 0:
                run.at_boundary()
            if self._iterator is None:
                self.epoch = run.position["epoch"]
                self._start_epoch(replay=run.state is not None)
            try:
                batch = next(self._iterator)
            except StopIteration:
                self.epoch += 1
                run.position = {"epoch": self.epoch, "batches": 0}
                self._start_epoch(replay=False)
                batch = next(self._iterator)
                if self.epoch >= run.epochs:  # fit stops here ("Number of epochs reached") without training it
                    return batch
            run.position["batches"] += 1
            run.iteration += 1
            return batch

        def _start_epoch(self, replay: bool) -> None:
            """A fresh pass over the loader; on resume, the saved epoch's order with its taken batches skipped."""
            loader = self.iterable
            generator = getattr(loader, "generator", None)
            if hasattr(loader, "_num_iter_calls"):
                loader._num_iter_calls = self.epoch  # Fabric's sampler epoch (distributed shuffles)
            if replay:
                torch.set_rng_state(run.position["epoch_rng"])
                if generator is not None:
                    generator.set_state(run.position["epoch_generator"])
            else:
                run.position["epoch_rng"] = torch.get_rng_state()
                run.position["epoch_generator"] = generator.get_state() if generator is not None else None
            self._iterator = iter(loader)
            if replay:
                for _ in range(run.position["batches"]):
                    next(self._iterator)
                set_rng_states(run.state["rng"])

    return ResumableCycleIterator
