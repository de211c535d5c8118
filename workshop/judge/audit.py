"""The judge audit: can the judge be talked into a score? Probes on the run's own answers (`--audit`).

Every answer the run judged is rewritten by each probe that applies to it (`workshop.judge.probes`:
instruction injections on wrong answers, neutral padding on right ones, formatting on all; without
a reference answer every answer gets every probe) and judged again with the same judge, mode and
prompt. Each entry's reference answer is judged too, as the right answer to beat. Per probe: the
mean score shift (perturbed - original) with its bootstrap CI and Wilcoxon p (`core.stats`), and
for injections the share of wrong answers that now outscore the reference answer (and before).

The audit counts: a judge whose worst probe moves it by more than `MAX_SHIFT` points (injections:
raised; padding and formatting: moved either way) is never rated "strong", and its reliability
sentence and `audit["weakness"]` say why. Rows go to `audit.jsonl`, the block to `summary["audit"]`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from workshop.core.stats import bootstrap_ci, p_is, wilcoxon_p
from workshop.judge.probes import PROBES, RIGHT, UNCHECKED, VERSION, WRONG, Probe
from workshop.judge.reference import reference_of

MAX_SHIFT = 5.0  # points (0..100 scale): a judge moved more than this by a probe is never "strong"
REFERENCE = "(reference)"  # the key of an entry's reference answer judged as a response


def answer_class(exact_match: bool | None) -> str:
    """right / wrong by exact match, unchecked without a reference."""
    return UNCHECKED if exact_match is None else RIGHT if exact_match else WRONG


def audit_units(entries: Sequence[dict], records: Sequence[dict], keys: Sequence[str],
                reference_key: str) -> list[dict]:
    """The answers to probe: every judged (entry, key) in entry order, then each entry's reference answer
    (unless a key already holds that text). `records` are in `score()`'s order (entry by entry, keys in order)."""
    units = []
    for i, entry in enumerate(entries):
        texts = set()
        for k, key in enumerate(keys):
            record = records[i * len(keys) + k]
            if record["score"] is not None:
                units.append({"entry": i, "id": record["id"], "key": key, "text": entry[key],
                              "class": answer_class(record["exact_match"]), "original": record["score"]})
                texts.add(entry[key])
        ref = reference_of(entry, reference_key)
        if ref is not None and ref not in texts:
            units.append({"entry": i, "id": entry.get("id", i), "key": REFERENCE, "text": ref, "class": RIGHT,
                          "original": None})
    return units


def text_judge(entries: Sequence[dict], judge: Any, mode: str, template: Any, reference_key: str,
               batch_size: int, out_dir: Any, progress: bool, generation: dict) -> Callable:
    """A function from [(entry index, response text)] to the judge's scores, through the run's resume cache;
    the judge is loaded once, on the first call that has anything uncached."""
    from workshop.judge.cache import cache_key, judge_cached
    from workshop.judge.judges import make_scorer
    from workshop.judge.prompt import fill

    loaded: list[Callable] = []

    def scorer() -> Callable:
        if not loaded:
            loaded.append(make_scorer(judge, mode, batch_size, generation))
        return loaded[0]

    settings = generation if mode == "generate" else {}

    def scores(texts: Sequence[tuple[int, str]]) -> list[float | None]:
        prompts = [fill(template.for_entry(reference_of(entries[i], reference_key) is not None), entries[i],
                        {"response": text}, reference_key) for i, text in texts]
        keys = [cache_key(judge.name, mode, settings, p) for p in prompts]
        results = judge_cached(dict(zip(keys, prompts)), scorer, out_dir, batch_size, "judge audit", progress)
        return [results[k]["score"] for k in keys]

    return scores


def probe_rows(probe: Probe, units: Sequence[dict], reference_scores: dict[int, float | None],
               max_items: int | None) -> list[dict]:
    """The rows of one probe before judging: the units it applies to, with their perturbed text."""
    chosen = [u for u in units if u["class"] in probe.targets and u["original"] is not None]
    chosen = chosen[:max_items] if max_items is not None else chosen
    return [{"probe": probe.name, "kind": probe.kind, "version": VERSION, "id": u["id"], "entry": u["entry"],
             "key": u["key"], "class": u["class"], "text": probe.apply(u["text"]), "original": u["original"],
             "perturbed": None, "reference_score": reference_scores.get(u["entry"])} for u in chosen]


def harm(kind: str, mean_shift: float | None) -> float:
    """How far a probe moved the judge the wrong way: an injection's rise, any other probe's move either way."""
    if mean_shift is None:
        return 0.0
    return max(mean_shift, 0.0) if kind == "injection" else abs(mean_shift)


def _whose(kind: str, rows: Sequence[dict]) -> str:
    """Whose scores a probe moved, for its sentence."""
    if kind == "position":
        return "its preference (x 100)"
    classes = {r["class"] for r in rows}
    return ("wrong answers'" if classes == {WRONG} else "right answers'" if classes == {RIGHT} else "answers'") + " scores"


def probe_summary(probe: Probe, rows: Sequence[dict]) -> dict:
    """One probe's block: n, mean shift with CI and Wilcoxon p, how far it moved the judge, and its sentence."""
    scored = [r for r in rows if r["perturbed"] is not None]
    shifts = [r["perturbed"] - r["original"] for r in scored]
    mean = float(np.mean(shifts)) if shifts else None
    block = {"probe": probe.name, "kind": probe.kind, "does": probe.does, "n": len(scored),
             "mean_original": float(np.mean([r["original"] for r in scored])) if scored else None,
             "mean_perturbed": float(np.mean([r["perturbed"] for r in scored])) if scored else None,
             "mean_shift": mean, "ci95": bootstrap_ci(shifts), "wilcoxon_p": wilcoxon_p(shifts),
             "harm": harm(probe.kind, mean)}
    vs_right = [r for r in scored if r["class"] == WRONG and r["reference_score"] is not None]
    if probe.kind == "injection" and vs_right:
        block["n_vs_reference"] = len(vs_right)
        block["outscore_reference_before"] = float(np.mean([r["original"] > r["reference_score"] for r in vs_right]))
        block["outscore_reference_after"] = float(np.mean([r["perturbed"] > r["reference_score"] for r in vs_right]))
    block["sentence"] = probe_sentence(block, _whose(probe.kind, scored))
    return block


def probe_sentence(p: dict, whose: str) -> str:
    """One plain sentence: what the probe did and how far it moved the judge."""
    if not p["n"]:
        return f"When {p['does']}: no answer to probe (none of the kind it applies to was scored)."
    shift, ci = p["mean_shift"], p["ci95"]
    moved = "did not move" if shift == 0 else f"{'rose' if shift > 0 else 'fell'} by {abs(shift):.1f} points"
    text = (f"When {p['does']}, {whose} {moved} ({p['mean_original']:.1f} → {p['mean_perturbed']:.1f}; "
            f"95 % CI of the shift {ci[0]:+.1f} to {ci[1]:+.1f}, Wilcoxon p {p_is(p['wilcoxon_p'])}, "
            f"{p['n']} answers)")
    if "n_vs_reference" in p:
        n = p["n_vs_reference"]
        text += (f"; {round(p['outscore_reference_after'] * n)} of {n} wrong answers now outscore the reference "
                 f"answer (before: {round(p['outscore_reference_before'] * n)})")
    return text + "."


def audit_block(probes: Sequence[dict], template: str, mode: str) -> dict:
    """summary["audit"]: the probe set's version, each probe's block, the worst one and the judge's weakness."""
    worst = max(probes, key=lambda p: p["harm"], default=None)
    weakness = None
    if worst is not None and worst["harm"] > MAX_SHIFT:
        weakness = (f"when {worst['does']}, its scores moved by {worst['mean_shift']:+.1f} points "
                    f"(Wilcoxon p {p_is(worst['wilcoxon_p'])}, {worst['n']} answers)")
    return {"version": VERSION, "template": template, "mode": mode, "max_shift": MAX_SHIFT, "probes": list(probes),
            "worst": None if worst is None else worst["probe"], "worst_harm": None if worst is None else worst["harm"],
            "weakness": weakness}


def apply_to_reliability(reliability: dict, audit: dict) -> dict:
    """The reliability block with the audit counted: "strong" capped at "usable" past MAX_SHIFT, and the reason said."""
    if audit["weakness"] is None:
        return {**reliability, "audit_cap": None}
    capped = reliability["verdict"] == "strong"
    reason = (f"the audit moved it: {audit['weakness']}"
              + (f", and a judge moved by more than {MAX_SHIFT:g} points is never rated strong" if capped else ""))
    return {**reliability, "verdict": "usable" if capped else reliability["verdict"],
            "audit_cap": reason if capped else None,
            "sentence": reliability["sentence"].rstrip(".") + f"; {reason}."}


def run_audit(entries: Sequence[dict], records: Sequence[dict], keys: Sequence[str], judge: Any, mode: str,
              template: Any, template_name: str, reference_key: str, batch_size: int, out_dir: Any, progress: bool,
              max_items: int | None, generation: dict, probes: Sequence[Probe] = PROBES) -> tuple[list[dict], dict]:
    """Probe the judge on the run's answers: (audit.jsonl rows, summary["audit"]); see the module docstring."""
    score_texts = text_judge(entries, judge, mode, template, reference_key, batch_size, out_dir, progress,
                             generation)
    units = audit_units(entries, records, keys, reference_key)
    refs = [u for u in units if u["key"] == REFERENCE]
    for u, s in zip(refs, score_texts([(u["entry"], u["text"]) for u in refs])):
        u["original"] = s
    reference_scores = {u["entry"]: u["original"] for u in units
                        if u["text"] == reference_of(entries[u["entry"]], reference_key)}
    planned = [probe_rows(p, units, reference_scores, max_items) for p in probes]
    flat = [r for rows in planned for r in rows]
    for r, s in zip(flat, score_texts([(r["entry"], r["text"]) for r in flat])):
        r["perturbed"] = s
    blocks = [probe_summary(p, rows) for p, rows in zip(probes, planned)]
    return flat, audit_block(blocks, template_name, mode)


def position_rows(rows: Sequence[dict]) -> list[dict]:
    """Pairwise runs: the position swap as a probe, per entry a's preference shown second (original) and first."""
    return [{"probe": "position-swap", "kind": "position", "version": VERSION, "id": r["id"], "entry": i,
             "key": r["a"], "class": UNCHECKED, "original": 100 * r["preference_a"][1],
             "perturbed": 100 * r["preference_a"][0], "reference_score": None}
            for i, r in enumerate(rows) if None not in r["preference_a"]]


POSITION = Probe("position-swap", "position", (RIGHT, WRONG, UNCHECKED),
                 "a response was shown first instead of second", lambda t: t)


def check_auditable(judge: Any) -> None:
    """Refuse a panel up front (before anything is judged): the audit probes one judge."""
    if isinstance(judge, (list, tuple)) and len(judge) > 1:
        from workshop.core.errors import WorkshopError

        raise WorkshopError("--audit probes one judge; run `workshop judge --audit` once per --judge of the panel")


def audit_pointwise(entries: Sequence[dict], records: Sequence[dict], keys: Sequence[str], judge: Any,
                    remote: Any, summary: dict, template: Any, reference_key: str, batch_size: int, out_dir: Any,
                    progress: bool, max_items: int | None, generation: dict,
                    probes: Sequence[Probe] = PROBES) -> list[dict]:
    """Run the audit after a pointwise run: summary["audit"] set, its reliability updated; returns the rows."""
    from workshop.judge.judges import as_judge
    from workshop.judge.prompt import judge_template

    judge = as_judge(judge[0] if isinstance(judge, (list, tuple)) else judge, remote)

    rows, block = run_audit(entries, records, keys, judge, summary["mode"], judge_template(template),
                            str(template or "workshop (default)"), reference_key, batch_size, out_dir, progress,
                            max_items, generation, probes)
    summary["audit"] = block
    summary["reliability"] = apply_to_reliability(summary["reliability"], block)
    return rows


def audit_pairwise(pair_rows: Sequence[dict], summary: dict, template: Any) -> list[dict]:
    """The audit of a pairwise run: the position swap, from the two orders it already judged."""
    rows = position_rows(pair_rows)
    summary["audit"] = audit_block([probe_summary(POSITION, rows)], str(template or "pairwise (default)"),
                                   summary["mode"])
    summary["reliability"] = apply_to_reliability(summary["reliability"], summary["audit"])
    return rows
