"""Agreement of a judge's scores with labels: people's ratings, a stronger judge, or correctness.

A small judge is only worth its scores if they track what a trusted source says. Given paired
`scores` and `labels` this reports, all from scipy / scikit-learn:

- Pearson, Spearman and Kendall (tau-b) correlations, each with its p-value and a 95 %
  bootstrap interval (items resampled together, 2,000 resamples, fixed seed);
- AUROC when the labels are binary (the larger value is the positive class), with a
  stratified bootstrap interval: how well the score ranks positives above negatives;
- Cohen's kappa when the scores are categories on the labels' own scale (integers within the
  labels' range), quadratic-weighted when that scale has more than two levels (ordinal).

`agreement_file` (the verb `workshop judge agreement`) reads the two fields from any JSON/JSONL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from workshop.core.errors import WorkshopError
from workshop.core.stats import N_BOOTSTRAP, bootstrap_statistic_ci
from workshop.core.types import ExistingFile, OutputDir

AGREEMENT_N_BOOT = 2_000  # Kendall's tau is not vectorised in scipy: 2,000 resamples keep a run at seconds


def _auc_u(pos: np.ndarray, neg: np.ndarray, axis: int = -1) -> np.ndarray:
    """AUROC as the Mann-Whitney U of positives vs negatives over n_pos * n_neg (ties count 1/2)."""
    from scipy.stats import mannwhitneyu

    return mannwhitneyu(pos, neg, axis=axis, method="asymptotic").statistic / (pos.shape[axis] * neg.shape[axis])


def auroc(scores: Sequence[float], positive: Sequence[bool], n_boot: int = N_BOOTSTRAP) -> dict:
    """{"auroc", "ci95", "n_pos", "n_neg"}: scikit-learn's ROC AUC and a stratified bootstrap CI.

    The AUROC is null when one class is empty; the CI is null when a class has fewer than 2 items.
    """
    from sklearn.metrics import roc_auc_score

    x, y = np.asarray(scores, dtype=np.float64), np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return {"auroc": None, "ci95": None, "n_pos": n_pos, "n_neg": n_neg}
    ci = bootstrap_statistic_ci((x[y], x[~y]), _auc_u, paired=False, vectorized=True, n_boot=n_boot)
    return {"auroc": float(roc_auc_score(y, x)), "ci95": ci, "n_pos": n_pos, "n_neg": n_neg}


def _pearson(x, y, axis=-1):
    from scipy.stats import pearsonr

    return pearsonr(x, y, axis=axis).statistic


def _spearman(x, y, axis=-1):
    from scipy.stats import rankdata

    return _pearson(rankdata(x, axis=axis), rankdata(y, axis=axis), axis=axis)  # Spearman = Pearson of ranks


def _kendall(x, y):
    from scipy.stats import kendalltau

    return kendalltau(x, y).statistic


def correlations(x: Sequence[float], y: Sequence[float], n_boot: int = AGREEMENT_N_BOOT) -> dict:
    """{"pearson", "spearman", "kendall"}: each {"value", "p", "ci95"} (nulls when undefined)."""
    import warnings

    from scipy.stats import kendalltau, pearsonr, spearmanr

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    out = {}
    tests = (("pearson", pearsonr, _pearson, True), ("spearman", spearmanr, _spearman, True),
             ("kendall", kendalltau, _kendall, False))
    for name, test, stat, vectorized in tests:
        if x.size < 3 or np.all(x == x[0]) or np.all(y == y[0]):
            out[name] = {"value": None, "p": None, "ci95": None}
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = test(x, y)
        ci = bootstrap_statistic_ci((x, y), stat, paired=True, vectorized=vectorized, n_boot=n_boot)
        out[name] = {"value": float(result.statistic), "p": float(result.pvalue), "ci95": ci}
    return out


def _integers(v: np.ndarray) -> bool:
    return bool(np.all(v == np.round(v)))


def kappa(scores: Sequence[float], labels: Sequence[float]) -> dict:
    """Cohen's kappa (scikit-learn) when the scores are categories on the labels' scale, else null + note."""
    from sklearn.metrics import cohen_kappa_score

    x, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if x.size == 0 or not (_integers(x) and _integers(y)) or x.min() < y.min() or x.max() > y.max():
        return {"value": None, "weights": None,
                "note": "not computed: it needs scores that are categories on the labels' scale "
                        "(integers within their range)"}
    levels = np.arange(int(y.min()), int(y.max()) + 1)  # every level, so quadratic weights use the real distances
    weights = "quadratic" if levels.size > 2 else None
    if levels.size < 2:
        return {"value": None, "weights": None, "note": "not computed: the labels have a single level"}
    value = cohen_kappa_score(y.astype(int), x.astype(int), labels=levels, weights=weights)
    return {"value": float(value), "weights": weights, "note": None}


def agreement(scores: Sequence[float], labels: Sequence[float], n_boot: int = AGREEMENT_N_BOOT) -> dict:
    """Correlations with CIs, AUROC (binary labels) and Cohen's kappa of `scores` against `labels`."""
    x, y = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {x.size} vs {y.size}")
    levels = np.unique(y)
    binary = levels.size == 2
    result = {"n": int(x.size), "label_levels": int(levels.size), **correlations(x, y, n_boot)}
    result["auroc"] = auroc(x, y == levels[-1]) if binary else None
    result["kappa"] = kappa(x, y)
    return result


def _number(value: Any, where: str) -> float | None:
    """A field's value as a number (booleans are 0/1); None when missing or null."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return float(value)
    raise WorkshopError(f"{where} is {value!r}, expected a number or true/false; fix the data or the key")


def read_pairs(data: Path, score_key: str, label_key: str) -> tuple[list[float], list[float], int]:
    """(scores, labels, n_skipped) from a JSON list or JSONL file; entries missing either field are skipped."""
    from workshop.core.io import read_records

    scores, labels, skipped = [], [], 0
    entries = read_records(data)
    for key in (score_key, label_key):
        if not any(isinstance(e, dict) and key in e for e in entries):
            have = sorted({k for e in entries if isinstance(e, dict) for k in e})
            raise WorkshopError(f"{data}: no entry has the key {key!r} (keys: {', '.join(have) or 'none'}); "
                                "pass --score-key/--label-key")
    for i, entry in enumerate(entries):
        s = _number(entry.get(score_key), f"{data}: entry {i} key {score_key!r}") if isinstance(entry, dict) else None
        lab = _number(entry.get(label_key), f"{data}: entry {i} key {label_key!r}") if isinstance(entry, dict) else None
        if s is None or lab is None:
            skipped += 1
            continue
        scores.append(s)
        labels.append(lab)
    return scores, labels, skipped


def agreement_file(data: ExistingFile, score_key: str, label_key: str, out: OutputDir | None = None) -> dict:
    """Agreement of judge scores with labels: Pearson/Spearman/Kendall with CIs, AUROC, Cohen's kappa.

    Reads any JSON list or JSONL whose entries have both fields (a scores.jsonl joined with
    human labels, two judges' scores, a score and exact_match); entries missing either are
    skipped and counted. With --out, writes agreement.json, agreement.md and agreement.png.

    Args:
        data: JSON list or JSONL file of entries with both fields
        score_key: field holding the judge's score (e.g. score)
        label_key: field holding the label to compare with (a human rating, another judge's score, exact_match)
        out: output folder for agreement.json/.md/.png (default: print only)
    """
    from workshop.core.io import atomic_write_json, atomic_write_text
    from workshop.judge.plots import plot_agreement

    scores, labels, skipped = read_pairs(data, score_key, label_key)
    if len(scores) < 2:
        raise WorkshopError(f"{data}: {len(scores)} entries have both {score_key!r} and {label_key!r}; need at least 2")
    result = {"data": str(data), "score_key": score_key, "label_key": label_key, "n_skipped": skipped,
              **agreement(scores, labels)}
    if out is not None:
        atomic_write_json(Path(out) / "agreement.json", result)
        atomic_write_text(Path(out) / "agreement.md", agreement_markdown(result))
        plot_agreement(scores, labels, score_key, label_key, Path(out) / "agreement.png")
    return result


def agreement_markdown(result: dict) -> str:
    """The agreement figures as a Markdown table, one row per statistic."""
    def cell(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    def ci(c: list[float] | None) -> str:
        return "-" if c is None else f"[{c[0]:.3f}, {c[1]:.3f}]"

    lines = [f"Agreement of `{result['score_key']}` with `{result['label_key']}`: {result['n']} items"
             + (f" ({result['n_skipped']} skipped: a field missing)" if result.get("n_skipped") else ""), "",
             "| statistic | value | 95% CI | p |", "|---|---|---|---|"]
    for name in ("pearson", "spearman", "kendall"):
        r = result[name]
        lines.append(f"| {name} | {cell(r['value'])} | {ci(r['ci95'])} | {cell(r['p'])} |")
    if result["auroc"] is not None:
        a = result["auroc"]
        lines.append(f"| AUROC ({a['n_pos']} positive / {a['n_neg']} negative) | {cell(a['auroc'])} "
                     f"| {ci(a['ci95'])} | - |")
    k = result["kappa"]
    lines.append(f"| Cohen's kappa{' (quadratic)' if k['weights'] else ''} | {cell(k['value'])} | - | - |")
    if k["note"]:
        lines += ["", f"Cohen's kappa {k['note']}."]
    return "\n".join(lines) + "\n"
