"""One judge scores every (entry, key) response 0..100: records with reference metrics, and the summary.

With an `out_dir` every finished judgement is cached as it completes (`cache.py`), so a killed
run resumes where it stopped; with several devices the uncached prompts go to the ranks
(`sharded.py`). `scoring.score` is the public entry that also runs panels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from workshop.core.errors import WorkshopError
from workshop.judge.cache import cache_key, judge_cached
from workshop.judge.entries import check_entries, reference_notes, score_record
from workshop.judge.judges import Judge, make_scorer
from workshop.judge.prompt import build_prompt, judge_template, prompt_hash
from workshop.judge.reference import reference_of
from workshop.judge.summary import build_summary, write_outputs


def score_with(
    judge: Judge,
    entries: Sequence[dict],
    keys: Sequence[str],
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
    devices: int = 1,
    num_nodes: int = 1,
) -> tuple[list[dict], dict | None]:
    """(records in entry order, summary) of `judge` on `entry[key]` for every entry and key (see `scoring.score`);
    ([], None) on the nodes other than the first of a multi-node run."""
    if batch_size < 1:
        raise WorkshopError(f"--batch-size {batch_size}: must be at least 1")
    keys = list(dict.fromkeys(keys))
    tmpl = judge_template(template)
    check_entries(entries, keys, tmpl, reference_key, source)
    items = [(i, key, build_prompt(entry, key, tmpl.for_entry(reference_of(entry, reference_key) is not None),
                                   reference_key)) for i, entry in enumerate(entries) for key in keys]
    mode = judge.resolve_mode(mode)
    generation = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed}
    settings = generation if mode == "generate" else {}
    item_keys = [cache_key(judge.name, mode, settings, prompt) for _, _, prompt in items]

    def stamped(prompts: list[str], results: list[dict]) -> list[dict]:
        return [{"mode": mode, "prompt_hash": prompt_hash(p), **r} for p, r in zip(prompts, results)]

    def scorer() -> Callable[[list[str]], list[dict]]:
        judge_scores = make_scorer(judge, mode, batch_size, generation)
        return lambda prompts: stamped(prompts, judge_scores(prompts))

    def sharded(todo: list[str], prompts: list[str]) -> list[dict] | None:  # ranks judge shares, each resumable
        from workshop.judge.sharded import judge_sharded

        results = judge_sharded(judge, mode, batch_size, generation, todo, prompts, out_dir, devices, num_nodes)
        return None if results is None else stamped(prompts, results)

    def finish() -> None:
        from workshop.judge.sharded import finish_rank_logs

        finish_rank_logs(out_dir, devices, num_nodes)

    results = judge_cached(dict(zip(item_keys, (p for _, _, p in items))), scorer, out_dir, batch_size,
                           f"judge ({mode})", progress, shard=sharded if devices * num_nodes > 1 else None,
                           after_shard=finish)
    if results is None:  # a node other than the first: rank 0 writes the outputs
        return [], None
    records = [score_record(entries[i], i, key, results[k], reference_key) for (i, key, _), k in zip(items, item_keys)]
    summary = build_summary(records, keys, judge.name, mode, reference_key,
                            reference_notes(entries, tmpl, reference_key))
    if out_dir is not None:
        write_outputs(out_dir, records, summary)
    return records, summary
