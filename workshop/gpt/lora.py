"""LoRA by hand: train a low-rank update A @ B next to each frozen linear layer.

`LinearWithLoRA` computes W x + (alpha / rank) * x A B. B starts at zero, so a freshly
wrapped model gives exactly the original outputs; only A and B (rank * (in + out) numbers
per layer) receive gradients once the base weights are frozen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn as nn

from workshop.core.errors import WorkshopError


class LoRALayer(nn.Module):
    """The low-rank update: x (.., in_dim) -> (alpha / rank) * x @ A @ B (.., out_dim)."""

    def __init__(self, in_dim: int, out_dim: int, rank: int, alpha: float):
        super().__init__()
        self.A = nn.Parameter(torch.empty(in_dim, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # same init as nn.Linear's weight
        self.B = nn.Parameter(torch.zeros(rank, out_dim))  # zero: the update starts as a no-op
        self.scaling = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scaling * (x @ self.A @ self.B)


class LinearWithLoRA(nn.Module):
    """A linear layer plus its LoRA update; `linear` keeps its original weights."""

    def __init__(self, linear: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.linear = linear
        self.lora = LoRALayer(linear.in_features, linear.out_features, rank, alpha)
        self.lora.to(device=linear.weight.device, dtype=linear.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.lora(x)


def replace_linear_with_lora(
    model: nn.Module, rank: int, alpha: float, targets: Iterable[str] | None = None, freeze_base: bool = True
) -> list[str]:
    """Wrap the model's nn.Linear layers in `LinearWithLoRA`; returns the wrapped layers' names.

    `targets` keeps only layers whose dotted name ends with one of the given suffixes
    (e.g. ("W_query", "W_value")); None wraps every linear layer, output head included.
    With `freeze_base`, every pre-existing parameter stops receiving gradients first.
    """
    targets = tuple(targets) if targets is not None else None
    if freeze_base:
        model.requires_grad_(False)
    wrapped = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and (targets is None or name.endswith(targets))
    ]
    if not wrapped:
        raise WorkshopError(f"no nn.Linear layer name ends with any of {targets}; check the LoRA targets")
    for name in wrapped:
        parent_name, _, child_name = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        setattr(parent, child_name, LinearWithLoRA(getattr(parent, child_name), rank, alpha))
    return wrapped


def trainable_parameters(model: nn.Module) -> dict[str, float]:
    """{"trainable", "total", "percent"}: how much of the model an optimizer would update."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total, "percent": 100.0 * trainable / total if total else 0.0}


def format_parameter_report(model: nn.Module) -> str:
    """One line: 'trainable params: 1,234 || all params: 5,678 || trainable%: 21.73'."""
    r = trainable_parameters(model)
    return f"trainable params: {r['trainable']:,} || all params: {r['total']:,} || trainable%: {r['percent']:.2f}"
