"""One pretraining run from a preset, end to end: what `workshop gpt pretrain` calls.

Loads the text, builds the workshop's loaders and model (seeded as in section 4), trains
with `workshop.gpt.trainer.train_model` (the book's loop plus a long run's additions), and
leaves in `out_dir`: model.pth (the weights, as the workshop saves them), config.json,
metrics.jsonl, samples.jsonl, losses.png and resume/state.pth (optimizer and progress, the
latest only). Running it again with `resume=True` continues from resume/state.pth.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from workshop.models.device import default_device
from workshop.core.errors import WorkshopError
from workshop.gpt.checkpoint import has_state
from workshop.gpt.config import PretrainConfig
from workshop.gpt.data import DEFAULT_CORPUS, load_text, train_val_loaders
from workshop.gpt.model import GPTModel
from workshop.gpt.plots import plot_losses
from workshop.gpt.tokenizer import gpt2_tokenizer
from workshop.gpt.trainer import perplexity_of_loss, train_model
from workshop.core.io import atomic_write_json, iter_jsonl, read_json


@dataclass
class PretrainResult:
    """Where the run's files are and its loss curves."""

    out_dir: Path
    train_losses: list[float]
    val_losses: list[float]
    tokens_seen: list[int]
    last_step: int  # the step the last evaluation was made at (the last step trained)

    @property
    def val_perplexity(self) -> float:
        return perplexity_of_loss(self.val_losses[-1])


def _check_same_run(out_dir: Path, config: PretrainConfig) -> None:
    """Refuse to resume a run whose model or data settings differ from `config`."""
    saved_path = out_dir / "config.json"
    if not has_state(out_dir) or not saved_path.is_file():
        return
    saved, current = read_json(saved_path), dataclasses.asdict(config)
    for section in ("model", "data"):
        for key in sorted(set(saved.get(section, {})) | set(current[section])):
            if saved.get(section, {}).get(key) != current[section].get(key):
                raise WorkshopError(
                    f"{saved_path}: {section}.{key} was {saved.get(section, {}).get(key)!r}, now "
                    f"{current[section].get(key)!r}; use another --out, or --restart to overwrite the run"
                )


def pretrain(
    config: PretrainConfig,
    out_dir: str | os.PathLike = "out/gpt-pretrain",
    resume: bool = False,
    device: torch.device | str | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> PretrainResult:
    """Train a GPTModel as `config` says; returns the loss curves, files are in `out_dir`."""
    out_dir = Path(out_dir)
    device = torch.device(device) if device is not None else default_device()
    cfg, data, train = dataclasses.asdict(config.model), config.data, config.train  # GPTModel takes the book's dict
    text = load_text(data.text or DEFAULT_CORPUS, sha256=data.sha256)
    train_loader, val_loader = train_val_loaders(
        text, data.batch_size, cfg["context_length"], data.stride or cfg["context_length"], data.train_ratio
    )
    if resume:
        _check_same_run(out_dir, config)
    atomic_write_json(out_dir / "config.json", dataclasses.asdict(config))
    torch.manual_seed(train.seed)  # the workshop seeds right before building the model
    model = GPTModel(cfg).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=train.lr, weight_decay=train.weight_decay, fused=device.type == "cuda" or None
    )
    train_losses, val_losses, tokens_seen = train_model(
        model, train_loader, val_loader, optimizer, device,
        num_epochs=train.num_epochs, eval_freq=train.eval_freq, eval_iter=train.eval_iter,
        start_context=train.start_context, tokenizer=gpt2_tokenizer(),
        warmup_steps=train.warmup_steps, min_lr=train.min_lr, grad_clip=train.grad_clip, precision=train.precision,
        out_dir=out_dir, checkpoint_every=train.checkpoint_every, resume=resume, max_steps=max_steps,
        progress=progress,
    )
    if train_losses:
        tokens_per_epoch = len(train_loader) * data.batch_size * cfg["context_length"]
        epochs_seen = [t / tokens_per_epoch for t in tokens_seen]
        plot_losses(epochs_seen, tokens_seen, train_losses, val_losses, out_dir / "losses.png")
    records = list(iter_jsonl(out_dir / "metrics.jsonl", skip_bad_last_line=True))
    return PretrainResult(out_dir, train_losses, val_losses, tokens_seen, records[-1]["step"] if records else -1)
