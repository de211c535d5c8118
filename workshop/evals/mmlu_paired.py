"""Two models on the same MMLU questions: right/wrong per question, McNemar's exact test, accuracy ± SE per subject.

Two accuracies side by side hide what a paired design knows: on which questions the models
differ. `per_question` keeps each question's outcome (lm-eval's per-sample `acc`) with its
`doc_id` and a short hash of the question, `paired` lines two models up question by question
(only questions both answered, and the same question under both ids) and counts both right /
only A / only B / both wrong, with McNemar's exact p from `workshop.core.stats`. Per subject it
gives each model's accuracy with lm-eval's standard error (sample std / sqrt(n)) beside chance.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from workshop.core.errors import WorkshopError
from workshop.core.stats import p_is

CHANCE = 0.25  # four answer choices
HASH_CHARS = 12  # enough of lm-eval's doc_hash to tell two questions apart


def per_question(samples: dict[str, list[dict]]) -> dict[str, dict[str, list]]:
    """{task: {"doc_id": [...], "correct": [...], "doc_hash": [...]}} from lm-eval's logged samples."""
    table = {}
    for task, rows in samples.items():
        rows = [r for r in rows if "acc" in r]
        if rows:
            table[task] = {"doc_id": [int(r["doc_id"]) for r in rows], "correct": [bool(r["acc"]) for r in rows],
                           "doc_hash": [str(r.get("doc_hash", ""))[:HASH_CHARS] for r in rows]}
    return table


def accuracy_stderr(correct: Sequence[bool]) -> tuple[float | None, float | None]:
    """Mean and lm-eval's standard error of the mean (sample std with n-1, over sqrt(n)); None when empty."""
    n = len(correct)
    if n == 0:
        return None, None
    acc = sum(correct) / n
    if n < 2:
        return acc, None
    var = sum((c - acc) ** 2 for c in correct) / (n - 1)
    return acc, math.sqrt(var) / math.sqrt(n)


def task_counts(results: dict) -> dict[str, dict[str, Any]]:
    """{task: {"acc", "stderr", "n"}} of one lm-eval results dict (n from `n-samples`, groups without n)."""
    counts = results.get("n-samples", {})
    table = {}
    for task, m in results.get("results", {}).items():
        if "acc,none" in m:
            stderr = m.get("acc_stderr,none")
            table[task] = {"acc": m["acc,none"], "stderr": stderr if isinstance(stderr, (int, float)) else None,
                           "n": counts.get(task, {}).get("effective")}
    return table


def outcomes(results: dict, label: str) -> dict[str, dict[int, tuple[bool, str]]]:
    """{task: {doc_id: (correct, doc_hash)}} of a results dict; one line naming the model when it has none."""
    table = results.get("workshop", {}).get("per_question")
    if not table:
        raise WorkshopError(f"{label}: these results have no per-question outcomes (made by another tool or an older "
                            "version); evaluate the checkpoint again to pair it")
    return {task: {i: (c, h) for i, c, h in zip(t["doc_id"], t["correct"], t["doc_hash"])} for task, t in table.items()}


def paired(results_a: dict, results_b: dict, a: str, b: str) -> dict[str, Any]:
    """Both right / only a / only b / neither over the questions both answered, McNemar's p,
    and per subject n, accuracy and standard error of each model beside chance."""
    from workshop.core.stats import mcnemar

    out_a, out_b = outcomes(results_a, a), outcomes(results_b, b)
    all_a, all_b, per_subject = [], [], {}
    for task in sorted(set(out_a) & set(out_b)):
        common = sorted(set(out_a[task]) & set(out_b[task]))
        if not common:
            continue
        for doc_id in common:
            hash_a, hash_b = out_a[task][doc_id][1], out_b[task][doc_id][1]
            if hash_a and hash_b and hash_a != hash_b:
                raise WorkshopError(f"{task} question {doc_id}: {a} and {b} saw different questions (other data "
                                    "folders?); evaluate both on the same --data-dir")
        ca, cb = [out_a[task][i][0] for i in common], [out_b[task][i][0] for i in common]
        (acc_a, se_a), (acc_b, se_b) = accuracy_stderr(ca), accuracy_stderr(cb)
        per_subject[task] = {"n": len(common), "acc_a": acc_a, "stderr_a": se_a, "acc_b": acc_b, "stderr_b": se_b,
                             "chance": CHANCE}
        all_a += ca
        all_b += cb
    if not all_a:
        raise WorkshopError(f"{a} and {b} share no question; evaluate both on the same --tasks")
    test = mcnemar(all_a, all_b)
    acc_a, se_a = accuracy_stderr(all_a)
    acc_b, se_b = accuracy_stderr(all_b)
    return {"a": a, "b": b, **test, "acc_a": acc_a, "stderr_a": se_a, "acc_b": acc_b, "stderr_b": se_b,
            "n_a": sum(len(v) for v in out_a.values()), "n_b": sum(len(v) for v in out_b.values()),
            "chance": CHANCE, "per_subject": per_subject}


def _pm(acc: float | None, se: float | None) -> str:
    return "–" if acc is None else f"{acc:.3f}" + (f" ± {se:.3f}" if se is not None else "")


def paired_markdown(p: dict[str, Any]) -> str:
    """The paired block as Markdown: counts, McNemar's p, and per-subject accuracy ± SE beside chance."""
    lines = [f"Paired over {p['n']} questions both answered (a = {p['a']}, b = {p['b']}): both right {p['both']}, "
             f"only a {p['only_a']}, only b {p['only_b']}, both wrong {p['neither']}; "
             f"McNemar's exact p {p_is(p['mcnemar_p'])}.", "",
             "| subject | n | a: acc ± SE | b: acc ± SE | chance |", "|---|---:|---:|---:|---:|"]
    for task, s in p["per_subject"].items():
        lines.append(f"| {task} | {s['n']} | {_pm(s['acc_a'], s['stderr_a'])} | {_pm(s['acc_b'], s['stderr_b'])} "
                     f"| {s['chance']:.2f} |")
    lines.append(f"| all | {p['n']} | {_pm(p['acc_a'], p['stderr_a'])} | {_pm(p['acc_b'], p['stderr_b'])} "
                 f"| {p['chance']:.2f} |")
    return "\n".join(lines) + "\n"
