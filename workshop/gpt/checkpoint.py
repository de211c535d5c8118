"""Training checkpoints: model, optimizer, step, loss history and RNG state in one file.

Everything saved is a tensor or plain Python data, so `torch.load(..., weights_only=True)`
reads it (no pickled code). The RNG states let a resumed run draw the same shuffles and
dropout masks as an uninterrupted one, so resuming continues the same run, not a new one.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from workshop.errors import WorkshopError
from workshop.io import atomic_torch_save

CHECKPOINT_NAME = "checkpoint.pth"


@dataclass
class TrainState:
    """Progress of `train_model_simple`; `global_step` counts from -1 as in the workshop."""

    global_step: int = -1
    tokens_seen: int = 0
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    track_tokens_seen: list[int] = field(default_factory=list)
    epoch_rng_state: torch.Tensor | None = None  # RNG at the start of the current epoch (its shuffle)


def checkpoint_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or `checkpoint.pth` inside a directory."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() or not path.suffix else path


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, optimizer, state: TrainState) -> Path:
    """Atomically write model + optimizer + progress + RNG states to `path`."""
    path = checkpoint_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "model": model.state_dict(),
        "model_config": getattr(model, "cfg", None),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "state": asdict(state),
        "rng_state": torch.get_rng_state(),
        "cuda_rng_state": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return atomic_torch_save(path, payload)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load a checkpoint dict on CPU with `weights_only=True`; a bad file is a one-line error."""
    path = checkpoint_path(path)
    if not path.is_file():
        raise WorkshopError(f"{path}: checkpoint not found; run `workshop gpt pretrain` first or fix the path")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError) as e:
        raise WorkshopError(f"{path}: not a readable checkpoint ({type(e).__name__}); delete it and train again") from None
    if not isinstance(payload, dict) or "model" not in payload:
        raise WorkshopError(f"{path}: not a workshop checkpoint (no 'model' entry); pass a checkpoint.pth from pretrain")
    return payload


def resume_checkpoint(path: str | os.PathLike, model: torch.nn.Module, optimizer) -> TrainState:
    """Restore model, optimizer and RNG from `path`; return the saved progress."""
    payload = read_checkpoint(path)
    model.load_state_dict(payload["model"])
    if optimizer is not None and payload["optimizer"] is not None:
        optimizer.load_state_dict(payload["optimizer"])
    torch.set_rng_state(payload["rng_state"])
    if torch.cuda.is_available() and payload["cuda_rng_state"]:
        torch.cuda.set_rng_state_all(payload["cuda_rng_state"])
    return TrainState(**payload["state"])


def load_model(path: str | os.PathLike, device: torch.device | str = "cpu") -> torch.nn.Module:
    """A `GPTModel` in eval mode rebuilt from a checkpoint's saved config and weights."""
    from workshop.gpt.model import GPTModel

    payload = read_checkpoint(path)
    if not payload.get("model_config"):
        raise WorkshopError(f"{checkpoint_path(path)}: no model_config saved; it was not written by workshop gpt pretrain")
    model = GPTModel(payload["model_config"])
    model.load_state_dict(payload["model"])
    return model.to(device).eval()
