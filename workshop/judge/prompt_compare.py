"""Two judge prompts side by side on the same data: how far injections move each, and how well each separates right
from wrong (the numbers behind evals/judge/README.md's choice of default prompt).

Each template gets a judge run and the audit's four injection probes in `out_dir/<template name>/`
(resumable). The AUROC is
the reliability block's (responses by exact match) and, beside it, the audit's wider one: the
responses plus each entry's reference answer judged as a right answer, so data whose responses
are all wrong can still rank the prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from workshop.core.io import iter_jsonl


def audit_auroc(out_dir: Path) -> dict:
    """AUROC of the judge's score for right vs wrong over the responses and the reference answers (audit units)."""
    from workshop.judge.agreement import auroc

    units: dict[tuple, tuple[float, bool]] = {}
    for r in iter_jsonl(out_dir / "scores.jsonl"):
        if r["score"] is not None and r.get("exact_match") is not None:
            units[(r["id"], r["key"])] = (r["score"], bool(r["exact_match"]))
    for r in iter_jsonl(out_dir / "audit.jsonl"):
        if r["reference_score"] is not None:
            units[(r["id"], "(reference)")] = (r["reference_score"], True)
    scores, right = zip(*units.values()) if units else ((), ())
    return auroc(list(scores), list(right))


def compare_prompts(data: Path, keys: Sequence[str], judge: str, templates: Sequence[str | None], out_dir: Path,
                    mode: str = "logits", batch_size: int = 8, audit_items: int = 12,
                    progress: bool = False) -> list[dict]:
    """One row per template: reliability AUROC, the AUROC with references, injection shifts (mean of the four,
    worst) and the verdict; only the injection probes run (the comparison is about resisting them)."""
    from workshop.core.io import read_records
    from workshop.judge.audit import audit_pointwise
    from workshop.judge.probes import PROBES
    from workshop.judge.scoring import score
    from workshop.judge.summary import write_audit

    entries, rows = read_records(data), []
    injections = [p for p in PROBES if p.kind == "injection"]
    for template in templates:
        name = Path(template).stem if template else "workshop"
        run_dir = Path(out_dir) / name
        records, summary = score(entries, list(keys), judge=judge, mode=mode, batch_size=batch_size, out_dir=run_dir,
                                 template=template, source=str(data), progress=progress)
        audit_rows = audit_pointwise(entries, records, list(keys), judge, None, summary, template, "output",
                                     batch_size, run_dir, progress, audit_items, {}, injections)
        write_audit(run_dir, summary, audit_rows)
        shifts = [p["mean_shift"] for p in summary["audit"]["probes"] if p["n"]]
        rel, wide = summary["reliability"], audit_auroc(run_dir)
        rows.append({"template": name, "auroc": rel["auroc_exact_match"], "auroc_ci95": rel["auroc_ci95"],
                     "audit_auroc": wide["auroc"], "audit_auroc_ci95": wide["ci95"],
                     "injection_shift_mean": float(np.mean(shifts)) if shifts else None,
                     "injection_shift_worst": max(shifts, default=None), "worst_probe": summary["audit"]["worst"],
                     "verdict": rel["verdict"]})
    return rows


def comparison_markdown(rows: Sequence[dict], title: str) -> str:
    """The comparison as one Markdown table."""
    def num(x: float | None, digits: int = 2) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    def ci(c: list | None) -> str:
        return "" if not c else f" [{c[0]:.2f}, {c[1]:.2f}]"

    lines = [f"{title}", "", "| prompt | AUROC (responses) | AUROC (with references) | injection shift, mean of 4 "
             "| worst injection (probe) | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['template']} | {num(r['auroc'])}{ci(r['auroc_ci95'])} | {num(r['audit_auroc'])}"
                     f"{ci(r['audit_auroc_ci95'])} | {num(r['injection_shift_mean'], 1)} "
                     f"| {num(r['injection_shift_worst'], 1)} ({r['worst_probe']}) | {r['verdict'] or '-'} |")
    return "\n".join(lines) + "\n"
