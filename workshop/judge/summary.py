"""The judge run's summary: judge statistics, reference metrics and reliability, as files.

`summary.json` is `{"judge", "mode", "keys": {KEY: {n, n_scored, mean, median, std, ci95,
reference}}, "paired": {..., reference, mcnemar_p}, "reliability": {...}, "notes": [...]}`
(`paired` only with two keys; `build_summary` writes each block); `summary.md` says the same
in tables and opens with the reliability sentence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from workshop.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text
from workshop.judge.plots import plot_paired, plot_scores
from workshop.judge.reference import paired_reference, reference_stats
from workshop.judge.reliability import reliability
from workshop.core.stats import key_stats, paired_stats
from workshop.core.stats import format_p


def records_by_key(records: Sequence[dict], keys: Sequence[str]) -> dict[str, list[dict]]:
    """Each key's records in entry order."""
    return {key: [r for r in records if r["key"] == key] for key in keys}


def scores_by_key(records: Sequence[dict], keys: Sequence[str]) -> dict[str, list[float | None]]:
    """Each key's scores in entry order (None where the judge gave no score)."""
    return {key: [r["score"] for r in rs] for key, rs in records_by_key(records, keys).items()}


def build_summary(records: Sequence[dict], keys: Sequence[str], judge: str, mode: str,
                  reference_key: str = "output", notes: Sequence[str] = (), subject: str = "judge") -> dict:
    """The summary dict of a run (see the module docstring for its shape)."""
    by_key = records_by_key(records, keys)
    summary = {"judge": judge, "mode": mode, "keys": {}}
    for key, rs in by_key.items():
        summary["keys"][key] = {**key_stats([r["score"] for r in rs]), "reference": reference_stats(rs, reference_key)}
    if len(keys) == 2:
        a, b = keys
        paired = paired_stats([r["score"] for r in by_key[a]], [r["score"] for r in by_key[b]], a, b)
        paired["reference"] = paired_reference(by_key[a], by_key[b])
        paired["mcnemar_p"] = paired["reference"]["exact_match"]["mcnemar_p"]
        summary["paired"] = paired
    summary["reliability"] = reliability(records, subject)
    summary["reference_key"] = reference_key
    summary["notes"] = list(notes)
    return summary


def _fmt(x: float | None, digits: int = 2) -> str:
    """A number for a table cell ("-" for None)."""
    return "-" if x is None else f"{x:.{digits}f}"


def _ci(ci: list[float] | None) -> str:
    """A confidence interval for a table cell."""
    return "-" if ci is None else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def summary_markdown(summary: dict) -> str:
    """Markdown: the reliability sentence, one row per key, the paired comparison, reference metrics."""
    rel = summary.get("reliability")
    lines = [f"Judge: `{summary['judge']}` (mode: {summary['mode']})", ""]
    if rel:
        lines += [f"**Reliability: {rel['verdict'] or 'unchecked'}.** {rel['sentence']}", ""]
    lines += ["| key | scored / n | mean | 95% CI | median | std | exact match | token F1 | ROUGE-L |",
              "|---|---|---|---|---|---|---|---|---|"]
    for key, s in summary["keys"].items():
        ref = s.get("reference") or {}
        lines.append(
            f"| {key} | {s['n_scored']} / {s['n']} | {_fmt(s['mean'])} | {_ci(s['ci95'])} "
            f"| {_fmt(s['median'])} | {_fmt(s['std'])} | {_fmt(ref.get('exact_match'), 3)} "
            f"| {_fmt(ref.get('token_f1'), 3)} | {_fmt(ref.get('rouge_l'), 3)} |"
        )
    p = summary.get("paired")
    if p and p.get("basis") == "preference":  # pairwise: no second win count beside the pairwise verdicts
        lines += ["", f"Preference difference ({p['b']} - {p['a']}, 100 x combined preference, {p['n']} items): "
                      f"mean {_fmt(p['mean_diff'])}, 95% CI {_ci(p['ci95'])}, Wilcoxon p {format_p(p['wilcoxon_p'])}; "
                      "wins, ties and losses are in the pairwise table below."]
    elif p:
        lines += [
            "",
            f"Paired ({p['b']} - {p['a']}, {p['n']} items scored under both):",
            "",
            "| mean diff | 95% CI | wins / ties / losses | Wilcoxon p |",
            "|---|---|---|---|",
            f"| {_fmt(p['mean_diff'])} | {_ci(p['ci95'])} | {p['wins']} / {p['ties']} / {p['losses']} "
            f"| {format_p(p['wilcoxon_p'])} |",
        ]
        ref = p.get("reference")
        if ref and ref["exact_match"]["n"]:
            em, rl = ref["exact_match"], ref["rouge_l"]
            lines += [
                "",
                f"Reference metrics, paired ({em['n']} entries with a reference):",
                "",
                f"| exact match: both / only {p['a']} / only {p['b']} / neither | McNemar p "
                "| ROUGE-L mean diff | Wilcoxon p |",
                "|---|---|---|---|",
                f"| {em['both']} / {em['only_a']} / {em['only_b']} / {em['neither']} | {format_p(em['mcnemar_p'])} "
                f"| {_fmt(rl['mean_diff'], 3)} | {format_p(rl['wilcoxon_p'])} |",
            ]
    if rel:
        mass = "-" if rel["valid_mass_median"] is None else f"{rel['valid_mass_median']:.3g}"
        auroc = "-" if rel["auroc_exact_match"] is None else f"{rel['auroc_exact_match']:.2f} {_ci(rel['auroc_ci95'])}"
        lines += ["", f"Reliability ({rel['n']} answers checked): AUROC vs exact match {auroc}, Spearman with ROUGE-L "
                  f"{_fmt(rel['spearman_rouge_l'])}, with length {_fmt(rel['spearman_length'])}, median valid mass "
                  f"{mass}, unparsed {rel['n_unparsed']} (thresholds: evals/judge/README.md)."]
    lines += _pairwise_lines(summary.get("pairwise")) + _panel_lines(summary.get("panel"))
    lines += _audit_lines(summary.get("audit"))
    if summary.get("notes"):
        lines += ["", *[f"Note: {n}" for n in summary["notes"]]]
    return "\n".join(lines) + "\n"


def _pairwise_lines(p: dict | None) -> list[str]:
    """The head-to-head table of a pairwise run (its keys' "scores" are 100 x the combined preference)."""
    if not p:
        return []
    lc = p.get("length_controlled") or {}
    lc_note = f" ({lc['note']})" if lc.get("note") else ""
    return ["", f"Pairwise ({p['b']} vs {p['a']}, both orders; the key table above shows 100 x each response's "
                "combined preference, not a pointwise score):", "",
            f"| wins {p['a']} / ties / wins {p['b']} | win rate {p['b']} | 95% CI | length-controlled | 95% CI "
            "| position consistency | first-position rate | longer wins | unparsed |",
            "|---|---|---|---|---|---|---|---|---|",
            f"| {p['wins_a']} / {p['ties']} / {p['wins_b']} | {_fmt(p['win_rate_b'], 3)} | {_ci(p['ci95'])} "
            f"| {_fmt(lc.get('win_rate'), 3)} | {_ci(lc.get('ci95'))} "
            f"| {_fmt(p['position_consistency'], 3)} | {_fmt(p['first_position_rate'], 3)} "
            f"| {_fmt(p['longer_wins_rate'], 3)} | {p['n_unparsed']} |", "",
            p["sentence"] + " The length-controlled win rate is the win rate at zero length difference "
                            f"(alpaca_eval's logistic fit){lc_note}."]


def _audit_lines(audit: dict | None) -> list[str]:
    """One plain sentence per probe of the audit (evals/judge/README.md, "Audit")."""
    if not audit:
        return []
    return ["", f"Audit (probe set v{audit['version']}, prompt {audit['template']}; a judge moved by more than "
                f"{audit['max_shift']:g} points by a probe is never rated strong):", "",
            *[f"- {p['sentence']}" for p in audit["probes"]]]


def _panel_lines(panel: dict | None) -> list[str]:
    """Each judge's mean per key and how well the judges agree."""
    if not panel:
        return []
    lines = ["", "Panel (the scores above are the judges' mean per item):", "", "| judge | verdict | "
             + " | ".join(f"mean {k}" for k in panel["summaries"][0]["keys"]) + " |",
             "|---|---|" + "---|" * len(panel["summaries"][0]["keys"])]
    for name, s in zip(panel["judges"], panel["summaries"]):
        lines.append(f"| {name} | {s['reliability']['verdict'] or '-'} | "
                     + " | ".join(_fmt(k["mean"]) for k in s["keys"].values()) + " |")
    pairs = ", ".join(f"{p['a']} vs {p['b']} {_fmt(p['spearman'])} (n={p['n']})" for p in panel["spearman"])
    return lines + ["", f"Agreement between judges: Spearman {pairs}; Krippendorff's alpha (interval) "
                        f"{_fmt(panel['krippendorff_alpha'], 3)}."]


def write_audit(out_dir: str | Path, summary: dict, audit_rows: Sequence[dict] | None) -> None:
    """Rewrite summary.json and summary.md after the audit or a note, and write audit.jsonl (when audited)."""
    out_dir = Path(out_dir)
    if audit_rows is not None:
        atomic_write_jsonl(out_dir / "audit.jsonl", audit_rows)
    atomic_write_json(out_dir / "summary.json", summary)
    atomic_write_text(out_dir / "summary.md", summary_markdown(summary))


def write_outputs(out_dir: str | Path, records: Sequence[dict], summary: dict) -> dict[str, Path]:
    """Write scores.jsonl, summary.json, summary.md, scores.png (and paired.png) into `out_dir`."""
    out_dir = Path(out_dir)
    keys = list(summary["keys"])
    scores = scores_by_key(records, keys)
    paths = {
        "scores": atomic_write_jsonl(out_dir / "scores.jsonl", records),
        "summary": atomic_write_json(out_dir / "summary.json", summary),
        "markdown": atomic_write_text(out_dir / "summary.md", summary_markdown(summary)),
        "scores_png": plot_scores(scores, out_dir / "scores.png"),
    }
    if "paired" in summary:
        a, b = keys
        paths["paired_png"] = plot_paired(scores[a], scores[b], a, b, out_dir / "paired.png")
    return paths
