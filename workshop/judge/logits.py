"""Logits mode: the judge's probability of every score 0..100 (`Model.score_probs`) read as one score.

The score is the probability-weighted mean over 0..100 divided by the mass on valid scores;
the argmax and that valid mass are kept too, so a judge that barely answers with a number shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only when a score is read, so a mistyped `workshop judge` fails fast
    import torch

MIN_VALID_MASS = 1e-12


def summarize(probs: torch.Tensor) -> dict:
    """score (mean over 0..100 normalised by the valid mass), argmax and valid_mass of one (101,) row."""
    import torch

    mass = float(probs.double().sum())
    if mass < MIN_VALID_MASS:
        return {"score": None, "argmax": None, "valid_mass": mass, "reason": "no probability on the scores 0..100"}
    mean = float((probs.double() * torch.arange(101, dtype=torch.float64)).sum()) / mass
    return {"score": mean, "argmax": int(probs.argmax()), "valid_mass": mass, "reason": None}
