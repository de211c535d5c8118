"""Pretraining presets: YAML files under recipes/gpt/ read into checked dataclasses.

A preset has three sections: `model` (the workshop's GPT config dict), `data` (text and
loader settings) and `train` (optimizer and loop settings). Unknown keys and wrong types
are one-line errors naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workshop.errors import WorkshopError, suggest
from workshop.gpt.model import ATTN_IMPLS, GPT_CONFIG_124M
from workshop.paths import RECIPES_DIR
from workshop.types import NonNegativeFloat, NonNegativeInt, OpenUnitInterval, PositiveFloat, PositiveInt

PRESETS_DIR = RECIPES_DIR / "gpt"
MODEL_KEYS = {**GPT_CONFIG_124M, "attn_impl": "eager"}
POSITIVE = {"vocab_size", "context_length", "emb_dim", "n_heads", "n_layers"}  # model sizes: at least 1


@dataclass
class DataConfig:
    """Which text to train on and how to cut it into batches."""

    text: str | None = None  # path or URL; None = the project's own corpus in data/pretrain/
    sha256: str | None = None  # expected sha256 of a downloaded text
    train_ratio: OpenUnitInterval = 0.9
    batch_size: PositiveInt = 2
    stride: PositiveInt | None = None  # None = context_length (non-overlapping windows)


@dataclass
class TrainConfig:
    """Optimizer and loop settings (defaults: the workshop's section 4)."""

    num_epochs: PositiveInt = 10
    lr: PositiveFloat = 4e-4
    weight_decay: NonNegativeFloat = 0.1
    eval_freq: PositiveInt = 5
    eval_iter: PositiveInt = 5
    start_context: str = "Every effort moves you"
    seed: int = 123
    warmup_steps: NonNegativeInt = 0
    min_lr: NonNegativeFloat | None = None  # set it to decay the learning rate along a cosine
    grad_clip: PositiveFloat | None = None
    precision: str = "auto"  # "auto" = bf16 autocast on a bf16 GPU, fp32 elsewhere
    checkpoint_every: PositiveInt | None = None  # steps; a checkpoint is also written after every epoch


@dataclass
class PretrainConfig:
    """A whole preset."""

    model: dict[str, Any] = field(default_factory=lambda: dict(GPT_CONFIG_124M, context_length=256))
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def model_config(values: Any, where: str) -> dict[str, Any]:
    """The workshop's model dict: all keys of GPT_CONFIG_124M (+ optional attn_impl), type-checked."""
    if not isinstance(values, dict):
        raise WorkshopError(f"{where}: expected a mapping of model settings")
    for key, value in values.items():
        if key not in MODEL_KEYS:
            raise WorkshopError(f"{where}.{key}: unknown model setting{suggest(key, MODEL_KEYS)}")
        if type(value) is not type(MODEL_KEYS[key]) and not (key == "drop_rate" and type(value) is int):
            raise WorkshopError(f"{where}.{key}: expected {type(MODEL_KEYS[key]).__name__}, got {value!r}")
        if key in POSITIVE and value < 1:
            raise WorkshopError(f"{where}.{key}: {value!r} is out of range; use 1 or more")
    if values.get("attn_impl", "eager") not in ATTN_IMPLS:
        raise WorkshopError(f"{where}.attn_impl: use one of {', '.join(ATTN_IMPLS)}")
    return {**dict(GPT_CONFIG_124M, context_length=256), **values}


def preset_path(name_or_path: str) -> Path:
    """A YAML path as given, or the preset `recipes/gpt/<name>.yaml`."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise WorkshopError(f"{path}: config file not found; check the path")
        return path
    preset = PRESETS_DIR / f"{name_or_path}.yaml"
    if not preset.is_file():
        names = ", ".join(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
        raise WorkshopError(f"config {name_or_path!r} is neither a YAML file nor a preset; presets: {names}")
    return preset


def load_pretrain_config(name_or_path: str) -> PretrainConfig:
    """Read and check a preset (name or YAML path) with the `workshop gpt pretrain` signature."""
    from workshop.commands.gpt import gpt_pretrain
    from workshop.jobs import parse_values

    path = preset_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", -1) + 1
        raise WorkshopError(f"{path}:{line}: not valid YAML; fix the file") from None
    if not isinstance(raw, dict):
        raise WorkshopError(f"{path}: expected sections model/data/train at the top level")
    unknown = set(raw) - {"model", "data", "train"}
    if unknown:
        raise WorkshopError(f"{path}: unknown section {sorted(unknown)[0]!r}; use model, data and train")
    args = parse_values(gpt_pretrain, raw, str(path))
    return PretrainConfig(model=model_config(args["model"] or {}, f"{path}: model"), data=args["data"], train=args["train"])
