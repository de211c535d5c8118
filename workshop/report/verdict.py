"""The verdict a report opens with: what changed with finetuning, and how sure we can be.

Every figure is a paired before/after comparison on the same items, read from what the run
already measured: exact match and ROUGE-L against the reference answers (judge summary's
`reference` blocks; McNemar's exact test and Wilcoxon), the judge's mean difference with its
bootstrap CI, MMLU question by question (McNemar), and label classification (MCC, McNemar).
Each finding says "better", "worse" or "no clear change" at `ALPHA`; the judge's reliability
sentence is passed on as is. Reference metrics compare answers with the truth, so when they
and the judge disagree, the verdict says so in words and leads with the reference metrics.
"""

from __future__ import annotations

from typing import Any

ALPHA = 0.05
BETTER, WORSE, UNCLEAR = "better", "worse", "no clear change"


def p_text(p: float | None) -> str:
    """A p-value for prose: two significant digits, "< 0.0001" below that."""
    if p is None:
        return "p = –"
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"


def _signed(x: float, digits: int = 1) -> str:
    return f"{x:+.{digits}f}"


def change_from_test(only_a: int, only_b: int, p: float | None) -> str:
    """Direction of a paired right/wrong comparison (b = after): better/worse when p < ALPHA."""
    if p is None or p >= ALPHA or only_a == only_b:
        return UNCLEAR
    return BETTER if only_b > only_a else WORSE


def change_from_ci(ci: list[float] | None) -> str:
    """Direction of a mean difference (after - before) from its CI: better/worse when the CI excludes 0."""
    if not ci or ci[0] is None or ci[1] is None:
        return UNCLEAR
    return BETTER if ci[0] > 0 else WORSE if ci[1] < 0 else UNCLEAR


def exact_match_finding(judge: dict) -> dict[str, Any] | None:
    """Exact match before → after with McNemar's exact p, from the judge summary's paired reference block."""
    test = ((judge.get("paired") or {}).get("reference") or {}).get("exact_match")
    if not test or not test.get("n"):
        return None
    before, after = test["both"] + test["only_a"], test["both"] + test["only_b"]
    n, change = test["n"], change_from_test(test["only_a"], test["only_b"], test["mcnemar_p"])
    return {"measure": "exact match", "kind": "reference", "n": n, "before": before / n, "after": after / n,
            "detail": f"{before}/{n} → {after}/{n}", "p": test["mcnemar_p"], "test": "McNemar exact",
            "only_before": test["only_a"], "only_after": test["only_b"], "change": change,
            "sentence": f"exact match with the reference answer went from {before}/{n} to {after}/{n} "
                        f"(McNemar's exact {p_text(test['mcnemar_p'])})"}


def rouge_finding(judge: dict) -> dict[str, Any] | None:
    """ROUGE-L means before → after with the Wilcoxon signed-rank p of the paired differences."""
    paired = judge.get("paired") or {}
    test = (paired.get("reference") or {}).get("rouge_l")
    keys = judge.get("keys") or {}
    ref_a = (keys.get(paired.get("a"), {}).get("reference") or {}).get("rouge_l")
    ref_b = (keys.get(paired.get("b"), {}).get("reference") or {}).get("rouge_l")
    if not test or test.get("mean_diff") is None or ref_a is None or ref_b is None:
        return None
    p = test.get("wilcoxon_p")
    change = UNCLEAR if p is None or p >= ALPHA or test["mean_diff"] == 0 else BETTER if test["mean_diff"] > 0 else WORSE
    return {"measure": "ROUGE-L", "kind": "reference", "n": test["n"], "before": ref_a, "after": ref_b,
            "detail": f"{ref_a:.3f} → {ref_b:.3f}", "mean_diff": test["mean_diff"], "p": p, "test": "Wilcoxon",
            "change": change, "sentence": f"ROUGE-L against the reference went from {ref_a:.3f} to {ref_b:.3f} "
                                          f"(Wilcoxon {p_text(p)})"}


def judge_finding(judge: dict) -> dict[str, Any] | None:
    """The judge's mean score before → after, the paired mean difference and its 95 % bootstrap CI."""
    paired = judge.get("paired")
    if not paired or paired.get("mean_diff") is None:
        return None
    keys = judge.get("keys") or {}
    before, after = keys.get(paired["a"], {}).get("mean"), keys.get(paired["b"], {}).get("mean")
    ci = paired.get("ci95")
    change = change_from_ci(ci)
    ci_text = f"95 % CI [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else "no CI"
    return {"measure": "judge score", "kind": "judge", "n": paired["n"], "before": before, "after": after,
            "detail": f"{before:.1f} → {after:.1f}" if before is not None and after is not None else "",
            "mean_diff": paired["mean_diff"], "ci95": ci, "p": paired.get("wilcoxon_p"), "test": "bootstrap CI, Wilcoxon",
            "change": change, "sentence": f"the judge ({judge.get('judge')}) scored {paired['b']} "
                                          f"{_signed(paired['mean_diff'])} points against {paired['a']} "
                                          f"({ci_text}, Wilcoxon {p_text(paired.get('wilcoxon_p'))})"}


def mmlu_finding(mmlu: dict) -> dict[str, Any] | None:
    """MMLU per question (`mmlu_paired.paired`'s block): accuracy a → b, McNemar's exact p."""
    p = (mmlu or {}).get("paired")
    if not p:
        return None
    change = change_from_test(p["only_a"], p["only_b"], p["mcnemar_p"])
    return {"measure": "MMLU accuracy", "kind": "benchmark", "n": p["n"], "before": p.get("acc_a"),
            "after": p.get("acc_b"), "detail": f"{p['both'] + p['only_a']}/{p['n']} → {p['both'] + p['only_b']}/{p['n']}",
            "p": p["mcnemar_p"], "test": "McNemar exact", "change": change,
            "sentence": f"MMLU ({len(p['per_subject'])} subjects, {p['n']} questions) went from "
                        f"{p['both'] + p['only_a']} to {p['both'] + p['only_b']} right ({p['a']} → {p['b']}; "
                        f"McNemar's exact {p_text(p['mcnemar_p'])}, chance {p.get('chance', 0.25):.2f})"}


def classify_finding(classify: dict) -> dict[str, Any] | None:
    """Label classification before → after (the classify steps paired by `workshop.report.collect`): MCC and accuracy, McNemar's exact p on `correct`."""
    if not classify or "paired" not in classify:
        return None
    before, after, p = classify["before"], classify["after"], classify["paired"]
    change = change_from_test(p["only_a"], p["only_b"], p["mcnemar_p"])
    return {"measure": "classification", "kind": "benchmark", "n": p["n"], "before": before.get("mcc"),
            "after": after.get("mcc"), "detail": f"MCC {before['mcc']:.3f} → {after['mcc']:.3f}, accuracy "
                                                 f"{before['accuracy']:.3f} → {after['accuracy']:.3f}",
            "p": p["mcnemar_p"], "test": "McNemar exact", "change": change,
            "sentence": f"label classification went from MCC {before['mcc']:.3f} to {after['mcc']:.3f} "
                        f"(accuracy {before['accuracy']:.3f} → {after['accuracy']:.3f}, {p['n']} items, "
                        f"McNemar's exact {p_text(p['mcnemar_p'])})"}


def disagreement(reference: list[dict], judge: dict | None, reliability: dict | None) -> str | None:
    """A sentence when the judge's conclusion differs from the reference metrics' (None when they agree)."""
    if judge is None or not reference:
        return None
    decided = [f for f in reference if f["change"] != UNCLEAR]
    ref = decided[0] if decided else reference[0]
    if ref["change"] == judge["change"]:
        return None
    word = (reliability or {}).get("verdict")
    trust = f"; its reliability is {word}" if word else ""
    if ref["change"] == UNCLEAR:
        return (f"The judge says {judge['change']} but {ref['measure']} shows no clear change{trust}: the judge's "
                "difference is not confirmed by the reference answers, so this report does not count it as a gain.")
    return (f"The judge and the reference answers disagree: {ref['measure']} says {ref['change']} "
            f"({ref['detail']}, {p_text(ref['p'])}) while the judge says {judge['change']} "
            f"({_signed(judge['mean_diff'])} points, 95 % CI [{judge['ci95'][0]:.1f}, {judge['ci95'][1]:.1f}]){trust}. "
            "The reference metrics compare with the true answers, so the verdict follows them.")


def judge_weakness(judge: dict, judged: dict | None, lead: dict | None) -> str | None:
    """When the verdict leans on the judge (it leads, or it says better/worse), the weakness its audit found."""
    weakness = (judge.get("audit") or {}).get("weakness")
    if not weakness or judged is None or (lead is not judged and judged["change"] == UNCLEAR):
        return None
    return (f"This verdict leans on the judge, and its audit found a weakness: {weakness}; "
            "a finetune that learned that trick would look better to this judge without being better.")


def headline(lead: dict | None, others: list[dict]) -> str:
    """One sentence: what changed (the leading finding), and whether the rest moved."""
    if lead is None:
        return "Nothing in this run compares before and after finetuning, so there is no verdict."
    what = {BETTER: "Finetuning helped", WORSE: "Finetuning made it worse", UNCLEAR: "No clear effect of finetuning"}
    text = f"{what[lead['change']]}: {lead['sentence']}."
    for change in (BETTER, WORSE):
        moved = [f["measure"] for f in others if f["change"] == change]
        if moved:
            text += f" Also clearly {change}: {', '.join(moved)}."
    if others and all(f["change"] == UNCLEAR for f in others):
        text += " No other measure changed clearly."
    return text


def build_verdict(results: dict[str, Any]) -> dict[str, Any]:
    """results["verdict"]: the headline, how sure (each finding with its test), the judge's reliability sentence,
    and any disagreement between the judge and the reference metrics."""
    judge = results.get("judge") or {}
    reference = [f for f in (exact_match_finding(judge), rouge_finding(judge)) if f]
    judged = judge_finding(judge) if judge else None
    benchmarks = [f for f in (mmlu_finding(results.get("mmlu") or {}), classify_finding(results.get("classify"))) if f]
    reliability = judge.get("reliability") if judge else None
    findings = reference + ([judged] if judged else []) + benchmarks
    lead = reference[0] if reference else judged or (benchmarks[0] if benchmarks else None)
    if reference and reference[0]["change"] == UNCLEAR and len(reference) > 1 and reference[1]["change"] != UNCLEAR:
        lead = reference[1]
    others = [f for f in findings if f is not lead]
    measured = {f["measure"] for f in findings}
    missing = [what for what, have in (("reference metrics", bool(reference)), ("judge", judged is not None),
                                       ("MMLU paired comparison", "MMLU accuracy" in measured)) if not have]
    sure = [f"{f['measure']}: {f['detail']} ({f['test']}, {p_text(f['p'])}"
            + (f", mean difference {_signed(f['mean_diff'], 3 if f['kind'] == 'reference' else 1)}" if "mean_diff" in f else "")
            + (f", 95 % CI [{f['ci95'][0]:.1f}, {f['ci95'][1]:.1f}]" if f.get("ci95") else "") + ")" for f in findings]
    return {
        "alpha": ALPHA,
        "lead": lead["kind"] if lead else None,
        "headline": headline(lead, others),
        "findings": findings,
        "how_sure": sure,
        "reliability": (reliability or {}).get("sentence"),
        "reliability_verdict": (reliability or {}).get("verdict"),
        "disagreement": disagreement(reference, judged, reliability),
        "judge_weakness": judge_weakness(judge, judged, lead),
        "missing": missing,
    }
