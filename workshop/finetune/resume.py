"""What makes a LoRA finetune resumable: the saved state, the data position, the RNG, and stopping on signals.

LitGPT's LoRA script cannot resume (LitGPT issue #2021); its full finetune can (`litgpt/finetune/full.py`:
a state dict of model, optimizer, scheduler, `iter_num` and `step_count`). `workshop.finetune.loop`
keeps that state dict, and a `Session` saves it to one file, `out_dir/resume/state.pth` (latest only,
written atomically, read with `weights_only=True`), with what full.py leaves out so that a resumed run
equals an uninterrupted one: only the LoRA weights (not the frozen base model), the data loader's
position (`Batches`: the epoch, the batches taken in it and the shuffle's RNG at the epoch's start, so
the epoch's order is replayed), every RNG (dropout, LitGPT's sampled example), the running loss's window
and the token counts. It is saved every `train.save_interval` steps and, after Ctrl-C / SIGTERM, at the
end of the running step; a SIGKILL loses at most `save_interval` steps.
"""

from __future__ import annotations

import random
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_torch_save

STATE_PATH = Path("resume") / "state.pth"
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class FinetuneInterrupted(KeyboardInterrupt):
    """Training stopped on a signal; the message says what was saved and how to continue."""


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
    if not isinstance(state, dict) or "step_count" not in state:
        raise WorkshopError(f"{path}: not a workshop resume state; delete it or re-run with --force")
    return state


class Batches:
    """LitGPT's `CycleIterator` over the train loader that knows its position and can replay it on resume."""

    def __init__(self, loader: Any, position: dict[str, Any] | None = None) -> None:
        self.loader, self.iterator = loader, None
        self.position = dict(position) if position else {"epoch": 0, "batches": 0}
        self.epoch = self.position["epoch"]
        if position:  # the saved epoch's order, its taken batches skipped
            self._start_epoch(replay=True)
            for _ in range(self.position["batches"]):
                next(self.iterator)

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self.iterator is None:
            self._start_epoch(replay=False)
        try:
            batch = next(self.iterator)
        except StopIteration:
            self.epoch += 1
            self.position = {"epoch": self.epoch, "batches": 0}
            self._start_epoch(replay=False)
            batch = next(self.iterator)
        self.position["batches"] += 1
        return batch

    def _start_epoch(self, replay: bool) -> None:
        """A fresh pass over the loader; its shuffle draws from the global RNG or the loader's generator."""
        generator = getattr(self.loader, "generator", None)
        if replay:
            torch.set_rng_state(self.position["epoch_rng"])
            if generator is not None:
                generator.set_state(self.position["epoch_generator"])
        else:
            self.position["epoch_rng"] = torch.get_rng_state()
            self.position["epoch_generator"] = generator.get_state() if generator is not None else None
        self.iterator = iter(self.loader)


class Session:
    """One finetune run's resume file, signals and messages; `loop` calls it at each step's end."""

    def __init__(self, out_dir: Path, recipe_hash: str, saved: dict[str, Any] | None, progress: Any) -> None:
        self.out_dir, self.hash, self.saved, self.progress = Path(out_dir), recipe_hash, saved, progress
        self.path = self.out_dir / STATE_PATH
        self.saved_step: int | None = saved["step_count"] if saved else None
        self.metrics_file: str | None = saved.get("metrics_file") if saved else None
        self.resumable = True  # single device; a sharded (FSDP) run is not (see `start`)
        self.state: dict[str, Any] = {"iter_num": 0, "step_count": saved["step_count"] if saved else 0}
        self.saved_finished: bool = bool(saved and saved["finished"])
        self.accum, self.total = 1, saved["total"] if saved else 0
        self.save_interval: int | None = None
        self.stop_signal: int | None = None
        self.in_loop = False
        self._old_handlers: dict[int, Any] = {}

    def start(self, fabric: Any, state: dict[str, Any], accum: int, save_interval: int | None, total: int) -> None:
        """Adopt loop.main's `state` dict; put the saved LoRA weights, optimizer, scheduler and counters into it."""
        self.state, self.accum, self.save_interval, self.total = state, accum, save_interval, total
        if fabric.world_size > 1:  # sharded (FSDP) optimizer state: LitGPT's step folders only, as LitGPT does
            self.resumable, self.saved = False, None
            fabric.print(f"workshop: {fabric.world_size} devices: LitGPT's save_interval folders only; an interrupted "
                         "multi-device run starts over (resume: devices 1)", file=sys.stderr)  # stdout: train.log
        if self.saved:
            model, lora = state["model"], self.saved["lora"]
            if set(lora) != {k for k in model.state_dict() if "lora_" in k}:
                raise WorkshopError(f"{self.path}: its LoRA weights do not fit this model and LoRA settings; "
                                    "re-run with --force to start over")
            model.load_state_dict(lora, strict=False)
            state["optimizer"].load_state_dict(self.saved["optimizer"])
            state["scheduler"].load_state_dict(self.saved["scheduler"])
            for key in ("iter_num", "step_count", "finished"):
                state[key] = self.saved[key]
        self.progress.start(total, state["step_count"])

    def batches(self, loader: Any, state: dict[str, Any], device: torch.device) -> Batches:
        """The train batches from the saved position; the RNGs, token counts and losses as at the saved step's end."""
        saved = self.saved
        state["batches"] = Batches(loader, saved["position"] if saved else None)
        if saved:
            set_rng_states(saved["rng"])
            for key, value in saved["token_counts"].items():
                state["token_counts"][key] += value
            state["step_losses"] = [loss.to(device) for loss in saved["step_losses"]]
            state["val_loss"] = saved["val_loss"]
            tqdm.write(f"workshop: resuming at step {state['step_count']} of {self.total} from {self.path}",
                       file=sys.stderr)
            print(f"[workshop] resumed at step {state['step_count']} (iteration {state['iter_num']}) from {self.path}")
        return state["batches"]

    def step_end(self, state: dict[str, Any]) -> None:
        """After each optimizer step (and LitGPT's save_interval folder): our state with it; stop if asked."""
        if not self.resumable:
            return
        if self.save_interval and state["step_count"] % self.save_interval == 0:
            self.save(state)
        if self.stop_signal is not None:
            if self.saved_step != state["step_count"]:
                self.save(state)
            raise FinetuneInterrupted(self.stopped_message(SIGNAL_NAMES.get(self.stop_signal, "a signal")))

    def finish(self, state: dict[str, Any]) -> None:
        """Training is over: saved as finished, so an interruption from here on resumes at the final merge."""
        self.in_loop = False
        if self.resumable:
            self.save(state, finished=True)

    def save(self, state: dict[str, Any], finished: bool = False) -> None:
        """Write `out_dir/resume/state.pth`: what full.py saves (LoRA weights only) plus position, RNG, losses."""
        atomic_torch_save(self.path, {
            "iter_num": state["iter_num"], "step_count": state["step_count"], "total": self.total, "finished": finished,
            "recipe_hash": self.hash, "metrics_file": self.metrics_file,
            "lora": {k: v.detach().cpu() for k, v in state["model"].state_dict().items() if "lora_" in k},
            "optimizer": state["optimizer"].state_dict(), "scheduler": state["scheduler"].state_dict(),
            "position": dict(state["batches"].position), "rng": rng_states(),
            "token_counts": {k: int(v) for k, v in state["token_counts"].items()},
            "step_losses": [loss.detach().cpu() for loss in state["step_losses"]], "val_loss": state["val_loss"],
        })
        self.saved_step, self.saved_finished = state["step_count"], finished

    def running_step(self) -> int:
        """The step being trained now: one past the last finished step once its first micro-batch began."""
        done = self.state["step_count"]
        return done + 1 if self.in_loop and self.state["iter_num"] > done * self.accum else done

    def stopped_message(self, why: str) -> str:
        """Exactly which step it stopped at, what was saved and what the same command will do next."""
        done, running, of = self.state["step_count"], self.running_step(), f" of {self.total}" if self.total else ""
        where = f"at step {done}{of}" if running == done else f"in step {running}{of} before it finished"
        if self.saved_step is None:
            return (f"stopped by {why} {where}; nothing was saved yet, nothing to resume. "
                    "Running the same command again starts the finetune from the beginning")
        left = "the final merge" if self.saved_finished else f"steps {self.saved_step + 1}-{self.total}"
        return (f"stopped by {why} {where}. Saved: LoRA weights, optimizer, LR scheduler, data position and RNG "
                f"state of step {self.saved_step} in {self.path}. Running the same command again resumes there "
                f"and runs {left} (--force starts over)")

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
        if self.stop_signal is not None or not self.in_loop or not self.resumable:  # again, or not training: now
            raise FinetuneInterrupted(self.stopped_message(why))
        self.stop_signal = signum
        keep = "nothing is saved yet" if self.saved_step is None else f"the state of step {self.saved_step} is kept"
        tqdm.write(f"workshop: {why}: finishing step {self.running_step()} to save it, then stopping "
                   f"({why} again stops at once; {keep})", file=sys.stderr)
