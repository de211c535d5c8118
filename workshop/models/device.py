"""Pick the device and a precision that works on it (bf16 on capable GPUs, fp32 on CPU).

LitGPT's `LLM.load` puts weights in bf16 on CPU, which garbles small models such as
SmolLM2-135M; every load path here goes through `resolve_precision` instead.
"""

from __future__ import annotations

import torch

from workshop.core.errors import WorkshopError

PRECISIONS = {"32-true": torch.float32, "bf16-true": torch.bfloat16, "16-true": torch.float16}
MIXED = {"bf16-mixed", "16-mixed"}


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_precision(
    precision: str | None = "auto", device: torch.device | str | None = None, training: bool = False
) -> str:
    """Turn "auto"/None into a Lightning precision string that works on `device`.

    On a bf16-capable GPU "auto" is bf16 weights for inference and bf16 autocast over fp32
    weights ("bf16-mixed") for training from scratch; elsewhere fp32.
    """
    device = torch.device(device) if device is not None else default_device()
    if precision in (None, "auto"):
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return "bf16-mixed" if training else "bf16-true"
        return "32-true"
    if precision not in PRECISIONS and precision not in MIXED:
        valid = ", ".join(["auto", *PRECISIONS, *sorted(MIXED)])
        raise WorkshopError(f"precision {precision!r} is not known; use one of: {valid}")
    return precision


def precision_to_dtype(precision: str) -> torch.dtype:
    """The parameter dtype for a Lightning precision string (mixed precisions keep fp32 weights)."""
    return PRECISIONS.get(precision, torch.float32)
