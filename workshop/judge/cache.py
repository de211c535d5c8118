"""The judge's resume cache: one fsynced JSONL line per finished judgement.

A record is keyed by a hash of the judge id, the mode and its settings, and the prompt,
so a run killed with SIGKILL and started again skips everything already judged and never
judges an item twice; changing the judge, mode or template changes the key.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from workshop.core.io import AppendLog

CACHE_FILE = Path(".cache") / "judge-cache.jsonl"


def cache_key(judge_id: str, mode: str, settings: dict[str, Any], prompt: str) -> str:
    """Stable key of one judgement."""
    blob = json.dumps([judge_id, mode, settings, prompt], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class ScoreCache:
    """Finished judgements by key, read from (and appended to) `out_dir/.cache/judge-cache.jsonl`.

    With `out_dir=None` the cache lives in memory only (a notebook call without outputs).
    """

    def __init__(self, out_dir: str | Path | None = None):
        self.log = AppendLog(Path(out_dir) / CACHE_FILE) if out_dir is not None else None
        self.done: dict[str, dict] = {}
        for record in self.log.records() if self.log else []:
            if isinstance(record, dict) and "cache_key" in record:  # anything else is not ours: re-judge
                self.done[record.pop("cache_key")] = record

    def __contains__(self, key: str) -> bool:
        """True when the judgement `key` is finished."""
        return key in self.done

    def get(self, key: str) -> dict:
        """The finished judgement `key` (without its cache key)."""
        return self.done[key]

    def put(self, key: str, record: dict) -> None:
        """Remember `record` under `key`, durably when there is a log."""
        self.done[key] = record
        if self.log:
            self.log.append({"cache_key": key, **record})

    def close(self) -> None:
        """Close the log file (the records stay readable in memory)."""
        if self.log:
            self.log.close()


def judge_cached(units: dict[str, Any], make_scorer: Callable[[], Callable[[list], list[dict]]],
                 out_dir: str | Path | None, batch_size: int, desc: str, progress: bool = True,
                 size: Callable[[Any], int] = len,
                 shard: Callable[[list[str], list], list[dict] | None] | None = None,
                 after_shard: Callable[[], Any] = lambda: None) -> dict[str, dict] | None:
    """The result of every unit (cache key -> a prompt, or a pair of prompts), judging only the uncached.

    Units of similar `size` share a batch (less padding); the judge is built by `make_scorer`
    only when something is left to judge, and each result is cached as soon as its batch is done.
    With `shard` (several devices) the uncached units go to it instead, in batch order; it returns
    their results, or None on a node other than the first (then this returns None too), and
    `after_shard` runs once they are cached.
    """
    cache = ScoreCache(out_dir)
    try:
        todo = sorted((k for k in units if k not in cache), key=lambda k: size(units[k]))
        if not todo:  # all cached: nothing is loaded
            if progress and units:
                print(f"{desc}: all {len(units)} judgements reused from {cache.log.path}", file=sys.stderr)
            return {k: cache.get(k) for k in units}
        if shard is not None:
            results = shard(todo, [units[k] for k in todo])
            if results is None:
                return None
            for k, result in zip(todo, results):
                cache.put(k, result)
            after_shard()
            return {k: cache.get(k) for k in units}
        scorer = make_scorer()
        with tqdm(total=len(units), initial=len(units) - len(todo), desc=desc, unit="items",
                  disable=not progress) as bar:
            for start in range(0, len(todo), batch_size):
                batch: Sequence[str] = todo[start : start + batch_size]
                for k, result in zip(batch, scorer([units[k] for k in batch])):
                    cache.put(k, result)
                bar.update(len(batch))
    finally:
        cache.close()
    return {k: cache.get(k) for k in units}
