"""Pairwise judging: which of two responses is better, asked in both orders so position cannot decide.

For each entry the judge sees the responses of keys `a` and `b` twice: a as "A" and b as "B",
then b as "A" and a as "B" (the template is `evals/judge/pairwise.txt`). Each order gives a
preference for the first-shown response: P("A") / (P("A") + P("B")) in logits mode, 1 / 0 / 0.5
for a written "A" / "B" / "tie" in generate mode. The second order is flipped (its "B" is a)
and the two preferences for a are averaged. The winner is the key both orders chose; when they
disagree the entry is a tie (FastChat's MT-Bench rule: a win that depends on position is not a
win). Swapping the two keys mirrors every figure exactly: both orders are computed either way.

Outputs: `pairwise.jsonl` (per entry), `summary.json["pairwise"]` (wins, win rate of b with a
bootstrap CI, position consistency, first-position rate, longer-wins rate, and how often the
judge picks the exact-match-correct response when only one is), `pairwise.png`; `scores.jsonl`
and the rest of the summary treat 100 x each response's combined preference as its score, so
the reference metrics and the reliability block read as in a pointwise run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_jsonl
from workshop.judge.cache import cache_key, judge_cached
from workshop.judge.parse import CHOICE_RETRY_INSTRUCTION, parse_choice
from workshop.judge.entries import check_entries, reference_notes
from workshop.judge.generate_mode import generate_parsed
from workshop.judge.length_control import length_controlled
from workshop.judge.plots import plot_pairwise
from workshop.judge.prompt import PAIR, fill, judge_template, prompt_hash
from workshop.judge.reference import reference_fields, reference_of
from workshop.judge.judges import DEFAULT_JUDGE, Judge, as_judge
from workshop.judge.summary import build_summary, write_outputs
from workshop.core.stats import bootstrap_ci

SHARES = {"A": (1.0, 0.0), "B": (0.0, 1.0), "tie": (0.5, 0.5)}  # generate mode: preference for (first, second)


def make_pair_scorer(judge: Judge, mode: str, batch_size: int, generation: dict) -> Callable[[list], list[dict]]:
    """A function from a batch of prompt pairs to {"orders": [result of each prompt]} dicts."""
    if mode == "logits":
        from workshop.judge.choice import label_token_ids, pair_label_probs, summarize_probs

        from workshop.models.llm import LoadedModel

        lm = judge.model()
        if not isinstance(lm, LoadedModel):
            raise WorkshopError(f"{judge.name}: pairwise logits mode reads the judge's weights in this process; "
                                "use a checkpoint, or --mode generate")
        labels = label_token_ids(lm)

        def by_logits(pairs: list[tuple[str, str]]) -> list[dict]:
            probs = pair_label_probs(lm, pairs, labels)  # (B, 2 prompts, 2 labels)
            return [{"orders": [summarize_probs(float(p[0]), float(p[1])) for p in row]} for row in probs]

        return by_logits
    answer = judge.answerer(batch_size, generation)

    def by_generation(pairs: list[tuple[str, str]]) -> list[dict]:
        flat = [p for pair in pairs for p in pair]
        results = generate_parsed(answer, flat, parse_choice, CHOICE_RETRY_INSTRUCTION, field="choice")
        return [{"orders": results[2 * i : 2 * i + 2]} for i in range(len(pairs))]

    return by_generation


def shares(result: dict) -> tuple[float, float] | None:
    """The judge's preference for the (first, second) response of one order, None when unreadable."""
    if result["choice"] is None:
        return None
    if result.get("p_a") is None:
        return SHARES[result["choice"]]
    mass = result["p_a"] + result["p_b"]
    return result["p_a"] / mass, result["p_b"] / mass


def combine(ab: dict, ba: dict, a: str, b: str) -> dict:
    """One entry's two orders (a shown first, then b shown first) as preferences, verdicts and a winner."""
    s_ab, s_ba = shares(ab), shares(ba)
    pref_a = [s_ab and s_ab[0], s_ba and s_ba[1]]  # a is first in ab, second in ba
    pref_b = [s_ab and s_ab[1], s_ba and s_ba[0]]
    by_label = [{"A": a, "B": b, "tie": "tie"}, {"A": b, "B": a, "tie": "tie"}]
    verdicts = [names.get(r["choice"]) for names, r in zip(by_label, (ab, ba))]
    agree = None if None in verdicts else verdicts[0] == verdicts[1]
    return {
        "preference_a": pref_a, "preference_b": pref_b,
        "combined_a": None if None in pref_a else (pref_a[0] + pref_a[1]) / 2,
        "combined_b": None if None in pref_b else (pref_b[0] + pref_b[1]) / 2,
        "verdicts": verdicts, "orders_agree": agree,
        "winner": None if agree is None else verdicts[0] if agree else "tie",
        "first_shown_won": [None if r["choice"] in (None, "tie") else r["choice"] == "A" for r in (ab, ba)],
    }


def preference_difference(paired: dict) -> dict:
    """The pointwise paired block, read as what it is here: the difference of combined preferences (x 100).
    Its win/tie/loss counts are dropped: the pairwise verdicts are the one count of this comparison."""
    return {**{k: v for k, v in paired.items() if k not in ("wins", "ties", "losses", "tie_margin")},
            "basis": "preference"}


def _rate(flags: Sequence[float]) -> float | None:
    return float(np.mean(flags)) if len(flags) else None


def pairwise_summary(rows: Sequence[dict], a: str, b: str) -> dict:
    """summary["pairwise"]: wins, win rate of b (ties half) with its CI, and the judge's biases."""
    decided = [r for r in rows if r["winner"] is not None]
    outcome = [1.0 if r["winner"] == b else 0.0 if r["winner"] == a else 0.5 for r in decided]
    firsts = [f for r in rows for f in r["first_shown_won"] if f is not None]
    longer = [r["winner"] == (a if r["length_a"] > r["length_b"] else b) for r in decided
              if r["winner"] != "tie" and r["length_a"] != r["length_b"]]
    one_right = [r for r in decided if r["exact_match_a"] is not None and r["exact_match_b"] is not None
                 and r["exact_match_a"] != r["exact_match_b"]]
    correct = [1.0 if r["winner"] == (a if r["exact_match_a"] else b) else 0.5 if r["winner"] == "tie" else 0.0
               for r in one_right]
    block = {
        "a": a, "b": b, "n": len(decided),
        "wins_a": sum(r["winner"] == a for r in decided), "wins_b": sum(r["winner"] == b for r in decided),
        "ties": sum(r["winner"] == "tie" for r in decided),
        "win_rate_b": _rate(outcome), "ci95": bootstrap_ci(outcome),
        "position_consistency": _rate([r["orders_agree"] for r in decided]),
        "first_position_rate": _rate(firsts), "n_first_position": len(firsts),
        "longer_wins_rate": _rate(longer), "n_longer": len(longer),
        "correct_wins_rate": _rate(correct), "n_one_correct": len(correct),
        "n_unparsed": len(rows) - len(decided),
        "length_controlled": length_controlled(outcome, [r["length_a"] for r in decided],
                                               [r["length_b"] for r in decided]),
    }
    block["sentence"] = pairwise_sentence(block)
    return block


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def pairwise_sentence(p: dict) -> str:
    """One plain sentence: how consistent the judge was across orders, and its position and length biases."""
    if not p["n"]:
        return "The judge gave no readable verdict in both orders for any entry."
    text = (f"The two orders agreed on {_pct(p['position_consistency'])} of {p['n']} entries and the first-shown "
            f"response won {_pct(p['first_position_rate'])} of single-order verdicts (50 % = no position bias)")
    if p["longer_wins_rate"] is not None:
        text += f"; the longer response won {_pct(p['longer_wins_rate'])} of {p['n_longer']} decided entries"
    if p["correct_wins_rate"] is not None:
        text += (f"; where only one response was an exact match, the judge preferred it in "
                 f"{_pct(p['correct_wins_rate'])} of {p['n_one_correct']}")
    return text + "."


def pairwise(
    entries: Sequence[dict],
    keys: Sequence[str],
    judge: Any = DEFAULT_JUDGE,
    mode: str = "auto",
    batch_size: int = 8,
    out_dir: str | Path | None = None,
    template: str | Path | None = None,
    reference_key: str = "output",
    max_new_tokens: int = 50,
    temperature: float = 0.0,
    seed: int | None = None,
    source: str = "<entries>",
    progress: bool = True,
) -> tuple[list[dict], dict]:
    """Compare `entry[a]` with `entry[b]` for every entry, in both orders: (per-entry rows, summary).

    Arguments as for `workshop.judge.score`; `keys` are the two response fields [a, b].
    """
    if batch_size < 1:
        raise WorkshopError(f"--batch-size {batch_size}: must be at least 1")
    keys = list(dict.fromkeys(keys))
    if len(keys) != 2:
        raise WorkshopError(f"{source}: --pairwise compares two responses; pass --key twice (got {len(keys)})")
    a, b = keys
    tmpl = judge_template(template, pairwise=True)
    check_entries(entries, keys, tmpl, reference_key, source, responses=PAIR)
    judge = as_judge(judge)
    judge_id, mode = judge.name, judge.resolve_mode(mode)
    generation = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
    settings = generation if mode == "generate" else {}
    orders, units = [], {}
    for entry in entries:
        text = tmpl.for_entry(reference_of(entry, reference_key) is not None)
        ab = fill(text, entry, {"response_a": entry[a], "response_b": entry[b]}, reference_key)
        ba = fill(text, entry, {"response_a": entry[b], "response_b": entry[a]}, reference_key)
        pair = tuple(sorted((ab, ba)))  # the same unit (and forward) whichever key comes first: exact mirror
        key = cache_key(judge_id, f"pairwise-{mode}", settings, json.dumps(pair, ensure_ascii=False))
        orders.append((ab, ba, pair, key))
        units[key] = pair
    results = judge_cached(units, lambda: make_pair_scorer(judge, mode, batch_size, generation), out_dir,
                           batch_size, f"judge pairwise ({mode})", progress, size=lambda p: len(p[0]) + len(p[1]))
    rows, records = [], []
    for i, (entry, (ab, ba, pair, key)) in enumerate(zip(entries, orders)):
        got = results[key]["orders"]
        r_ab, r_ba = got[pair.index(ab)], got[pair.index(ba)]
        ref = reference_of(entry, reference_key)
        fields = {k: reference_fields(entry[k], ref) for k in keys}
        row = {"id": entry.get("id", i), "a": a, "b": b, **combine(r_ab, r_ba, a, b),
               "raw": [r_ab["raw"], r_ba["raw"]], "reason": [r_ab["reason"], r_ba["reason"]],
               "valid_mass": [r_ab.get("valid_mass"), r_ba.get("valid_mass")],
               "length_a": fields[a]["length"], "length_b": fields[b]["length"],
               "exact_match_a": fields[a]["exact_match"], "exact_match_b": fields[b]["exact_match"]}
        rows.append(row)
        masses = [m for m in row["valid_mass"] if m is not None]
        reasons = "; ".join(r for r in row["reason"] if r) or None
        for k, pref in ((a, row["combined_a"]), (b, row["combined_b"])):
            records.append({"id": row["id"], "key": k, "score": None if pref is None else 100 * pref, "mode": mode,
                            "raw": None, "reason": reasons, "argmax": None,
                            "valid_mass": float(np.mean(masses)) if masses else None, "prompt_hash": prompt_hash(ab),
                            **fields[k]})
    summary = build_summary(records, keys, judge_id, mode, reference_key, reference_notes(entries, tmpl, reference_key))
    summary["pairwise"] = pairwise_summary(rows, a, b)
    summary["paired"] = preference_difference(summary["paired"])
    if out_dir is not None:
        write_outputs(out_dir, records, summary)
        atomic_write_jsonl(Path(out_dir) / "pairwise.jsonl", rows)
        plot_pairwise(rows, a, b, Path(out_dir) / "pairwise.png")
    return rows, summary
