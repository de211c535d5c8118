"""Pretraining outputs: the weights as the workshop saves them, apart from the state a resume needs.

- `model.pth` is `torch.save(model.state_dict(), "model.pth")`, as in the workshop; with the
  `config.json` beside it (its `model` section) `load_model` rebuilds the `GPTModel`.
- `resume/state.pth` holds what only a resume needs: optimizer state, progress (step, tokens,
  loss curves) and RNG states, so a resumed run draws the same shuffles and dropout masks as
  an uninterrupted one. Only the latest is kept (overwritten atomically, after model.pth); it
  records the size and mtime of the model.pth it belongs to, so a state left by a run killed
  between the two writes is recognised. Delete `resume/` to keep just the weights.

Everything saved is tensors or plain Python data: `torch.load(..., weights_only=True)` reads it.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_torch_save

MODEL_NAME = "model.pth"
STATE_NAME = Path("resume") / "state.pth"
CONFIG_NAME = "config.json"


@dataclass
class TrainState:
    """Progress of a pretraining run; `global_step` counts from -1 as in the workshop."""

    global_step: int = -1
    tokens_seen: int = 0
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    track_tokens_seen: list[int] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)  # the global step of each evaluation
    epoch_rng_state: torch.Tensor | None = None  # RNG at the start of the current epoch (its shuffle)


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _load(path: Path, what: str) -> Any:
    """`torch.load(path, weights_only=True)` on CPU; a missing or damaged file is a one-line error."""
    if not path.is_file():
        raise WorkshopError(f"{path}: {what} not found; run `workshop gpt pretrain` first or fix the path")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise WorkshopError(f"{path}: not a readable {what} ({type(e).__name__}); delete it and train again") from None


def save_checkpoint(out_dir: str | os.PathLike, model: torch.nn.Module, optimizer, state: TrainState) -> Path:
    """Write `model.pth` (weights only), then `resume/state.pth` (optimizer, progress, RNG); returns model.pth."""
    out_dir = Path(out_dir)
    model_path = atomic_torch_save(out_dir / MODEL_NAME, model.state_dict())
    atomic_torch_save(out_dir / STATE_NAME, {
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "state": asdict(state),
        "rng_state": torch.get_rng_state(),
        "cuda_rng_state": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "model_file": _stamp(model_path),
    })
    return model_path


def has_state(out_dir: str | os.PathLike) -> bool:
    """True when `out_dir` holds a resumable state."""
    return (Path(out_dir) / STATE_NAME).is_file()


def resume_checkpoint(out_dir: str | os.PathLike, model: torch.nn.Module, optimizer) -> TrainState:
    """Restore weights, optimizer and RNG from `out_dir`; return the saved progress."""
    out_dir = Path(out_dir)
    payload = _load(out_dir / STATE_NAME, "resume state")
    model_path = out_dir / MODEL_NAME
    if not model_path.is_file() or _stamp(model_path) != payload.get("model_file"):
        raise WorkshopError(f"{out_dir / STATE_NAME}: belongs to another {model_path} (a run stopped while saving?); "
                            "use --restart to start over")
    model.load_state_dict(_load(model_path, "model weights file"))
    if optimizer is not None and payload["optimizer"] is not None:
        optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["rng_state"])
    if torch.cuda.is_available() and payload["cuda_rng_state"]:
        torch.cuda.set_rng_state_all(payload["cuda_rng_state"])
    return TrainState(**payload["state"])


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> torch.nn.Module:
    """A `GPTModel` in eval mode from a pretrain output folder (or its model.pth) and the config.json beside it."""
    from workshop.gpt.model import GPTModel
    from workshop.core.io import read_json

    path = Path(path)
    model_path = path / MODEL_NAME if path.is_dir() or not path.suffix else path
    weights = _load(model_path, "model weights file")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise WorkshopError(f"{model_path}: not a model state_dict; pass the model.pth of a `workshop gpt pretrain` run")
    config_path = model_path.parent / CONFIG_NAME
    if not config_path.is_file():
        raise WorkshopError(f"{config_path}: not found; model.pth needs the config.json that `workshop gpt pretrain` "
                            "writes beside it (its model settings)")
    model = GPTModel(read_json(config_path)["model"])
    model.load_state_dict(weights)
    return model.to(device).eval()
