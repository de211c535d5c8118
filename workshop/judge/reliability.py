"""How far a judge's scores can be trusted, measured on the run's own data.

Every judged response that has a reference answer is either an exact match or not, so the run
can check its judge: the AUROC of the judge's score as a classifier of exact-match correctness
(0.5 = chance, 1 = every correct answer scored above every wrong one), with a stratified
bootstrap CI. Beside it: the rank correlation of the score with ROUGE-L (closeness to the
reference) and with the response length in tokens (length bias), the median probability the
judge put on any valid answer (logits mode; a small judge may put 0.5 % there, so its "score"
is a renormalised sliver), and how many answers could not be read as a score.

The verdict word (thresholds, also in evals/judge/README.md):
    strong  AUROC >= 0.90 and the CI's lower end >= 0.75
    usable  AUROC >= 0.75 and the CI's lower end > 0.50
    weak    anything else (a judge that cannot be told apart from chance is weak)
    null    no AUROC: no reference answers, or every answer right (or every one wrong)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from workshop.judge.agreement import auroc

STRONG, USABLE = (0.90, 0.75), (0.75, 0.50)  # (AUROC at least, CI lower end at least / above)
LOW_VALID_MASS = 0.5  # below this median the sentence warns that scores are renormalised slivers
LENGTH_BIAS = 0.3  # |Spearman(score, length)| from which the sentence names a length bias
ADVICE = {"strong": "strong — its scores track correctness",
          "usable": "usable — its scores track correctness, but check close calls against the reference metrics",
          "weak": "weak — treat its scores with care, or use a stronger judge"}


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float | None:
    """scipy's Spearman rho, None when undefined (fewer than 3 items or a constant side)."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(spearmanr(x, y).statistic)


def verdict(auroc_value: float | None, ci: list[float] | None) -> str | None:
    """strong / usable / weak from the AUROC and its CI (thresholds in the module docstring)."""
    if auroc_value is None:
        return None
    low = ci[0] if ci is not None else 0.0
    if auroc_value >= STRONG[0] and low >= STRONG[1]:
        return "strong"
    if auroc_value >= USABLE[0] and low > USABLE[1]:
        return "usable"
    return "weak"


def reliability(records: Sequence[dict], subject: str = "judge") -> dict:
    """The reliability block of a judge summary from its records (all keys pooled); `subject` names it ("panel")."""
    scored = [r for r in records if r["score"] is not None]
    checked = [r for r in scored if r.get("exact_match") is not None]
    a = auroc([r["score"] for r in checked], [r["exact_match"] for r in checked])
    masses = [r["valid_mass"] for r in records if r.get("valid_mass") is not None]
    with_rouge = [r for r in scored if r.get("rouge_l") is not None]
    block = {
        "n": len(checked),
        "n_correct": a["n_pos"],
        "auroc_exact_match": a["auroc"],
        "auroc_ci95": a["ci95"],
        "spearman_rouge_l": spearman_rho([r["score"] for r in with_rouge], [r["rouge_l"] for r in with_rouge]),
        "spearman_length": spearman_rho([r["score"] for r in scored], [r["length"] for r in scored]),
        "valid_mass_median": float(np.median(masses)) if masses else None,
        "n_unparsed": len(records) - len(scored),
        "verdict": verdict(a["auroc"], a["ci95"]),
    }
    block["sentence"] = sentence(block, n_items=len(records), n_reference=sum(r.get("exact_match") is not None
                                                                              for r in records), subject=subject)
    return block


def _pct(x: float) -> str:
    return f"{100 * x:.2g} %" if x < 0.1 else f"{100 * x:.0f} %"


def sentence(block: dict, n_items: int, n_reference: int, subject: str = "judge") -> str:
    """One plain sentence saying how far the judge's scores can be trusted, and why."""
    n, n_correct, ci = block["n"], block["n_correct"], block["auroc_ci95"]
    if block["auroc_exact_match"] is not None:
        ci_text = f"95 % CI {ci[0]:.2f}-{ci[1]:.2f}, " if ci else ""
        head = (f"This {subject} separates correct from incorrect answers with AUROC {block['auroc_exact_match']:.2f} "
                f"({ci_text}{n} answers, {n_correct} correct by exact match): {ADVICE[block['verdict']]}")
    elif n_reference == 0:
        head = f"This {subject} could not be checked: no entry has a reference answer to compare its scores with"
    elif n == 0:
        head = f"This {subject} could not be checked: it gave no score to any answer that has a reference"
    else:
        which = "correct" if n_correct == n else "wrong"
        head = (f"This {subject} could not be checked: all {n} answers with a reference are {which} by exact match, "
                "and telling right from wrong needs both")
    extra = []
    if block["valid_mass_median"] is not None and block["valid_mass_median"] < LOW_VALID_MASS:
        extra.append(f"it puts a median of only {_pct(block['valid_mass_median'])} of its probability on a valid "
                     "answer, so each score is a renormalised sliver")
    if block["spearman_length"] is not None and abs(block["spearman_length"]) >= LENGTH_BIAS:
        direction = "rise" if block["spearman_length"] > 0 else "fall"
        extra.append(f"its scores {direction} with response length (Spearman {block['spearman_length']:.2f})")
    if block["n_unparsed"]:
        extra.append(f"{block['n_unparsed']} of {n_items} answers could not be read as a score")
    return "; ".join([head, *extra]) + "."
