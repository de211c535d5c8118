"""Length-controlled pairwise win rate: the win rate b would have if its responses were as long as a's.

Judges prefer longer answers, so a finetune that only got wordier "wins". alpaca_eval's answer
(Dubois et al. 2024, "Length-Controlled AlpacaEval") regresses the preference on the length
difference and reads the fit at zero difference. Here, with one comparison: a logistic GLM
(statsmodels, binomial family, so a tie's outcome 0.5 counts as half a win) of b's outcome
(1 win, 0.5 tie, 0 loss) on tanh((len_b - len_a) / std), intercept included; the length-controlled
win rate is sigmoid(intercept), with the Wald 95 % CI of the intercept mapped through the sigmoid.
When the length difference alone predicts every outcome (perfect separation) the fit has no
finite answer and the rate is null, with a note.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

MAX_LOGIT = 15.0  # a fitted log-odds beyond this (p within 3e-7 of 0 or 1) means the fit ran off: separation

def length_feature(length_a: Sequence[float], length_b: Sequence[float]) -> np.ndarray:
    """alpaca_eval's length term: tanh of the length difference (b - a) over its standard deviation."""
    diff = np.asarray(length_b, dtype=np.float64) - np.asarray(length_a, dtype=np.float64)
    std = diff.std()
    return np.tanh(diff / std) if std > 0 else np.zeros_like(diff)


def length_controlled(outcomes: Sequence[float], length_a: Sequence[float], length_b: Sequence[float]) -> dict:
    """{"win_rate", "ci95", "length_coef", "n", "note"}: b's win rate at zero length difference (module docstring)."""
    import statsmodels.api as sm
    from scipy.special import expit

    y = np.asarray(outcomes, dtype=np.float64)
    empty = {"win_rate": None, "ci95": None, "length_coef": None, "n": int(y.size)}
    if y.size < 3:
        return {**empty, "note": "fewer than 3 decided entries"}
    x = length_feature(length_a, length_b)
    design = np.column_stack([np.ones_like(x), x]) if np.any(x != 0) else np.ones((y.size, 1))
    with warnings.catch_warnings():  # statsmodels' separation warning also fires on a perfect fit of ties
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, design, family=sm.families.Binomial()).fit()
    if not np.all(np.isfinite(fit.params)) or np.abs(design @ fit.params).max() > MAX_LOGIT:
        return {**empty, "note": "no length-controlled rate: the length difference alone predicts the outcomes "
                                 "(perfect separation), so the logistic fit has no finite answer"}
    low, high = fit.conf_int()[0]
    return {"win_rate": float(expit(fit.params[0])), "ci95": [float(expit(low)), float(expit(high))],
            "length_coef": float(fit.params[1]) if design.shape[1] > 1 else None, "n": int(y.size), "note": None}
