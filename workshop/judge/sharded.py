"""The judge on several devices (`--devices N`): each rank judges whole batches of the uncached prompts.

Each rank loads its own copy of the judge checkpoint and keeps a keyed log of its results
(`.cache/judge-ranks.rank<r>-of-<W>.jsonl`), so a killed run resumes rank by rank; rank 0
gathers the results in input order, the caller puts them in the main cache and drops the logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workshop.core.errors import WorkshopError
from workshop.core.io import AppendLog
from workshop.judge.judges import Judge, ModelJudge, make_scorer
from workshop.models import distributed

RANK_LOG = Path(".cache") / "judge-ranks.jsonl"


def judge_rank(fabric: Any, checkpoint: Path, mode: str, batch_size: int, generation: dict, keys: list[str],
               prompts: list[str], log_path: Path | None) -> list[dict] | None:
    """Judge results for this rank's batches of `prompts` (sorted by length already); all of them on rank 0."""
    from workshop.models.llm import load

    rank, world = fabric.global_rank, fabric.world_size
    idx = distributed.shard(range(len(prompts)), batch_size, rank, world)
    log = AppendLog(distributed.rank_path(log_path, rank, world)) if log_path else None
    done = {r["key"]: r["result"] for r in log.records()} if log else {}
    todo = [i for i in idx if keys[i] not in done]
    try:
        if todo:
            scorer = make_scorer(ModelJudge(load(checkpoint, device=fabric.device)), mode, batch_size, generation)
            with distributed.RankProgress(fabric, len(prompts), f"judge ({mode})", "items", len(idx) - len(todo)) as bar:
                for start in range(0, len(todo), batch_size):
                    batch = todo[start : start + batch_size]
                    for i, result in zip(batch, scorer([prompts[i] for i in batch])):
                        done[keys[i]] = result
                        if log:
                            log.append({"key": keys[i], "result": result})
                    bar.update(len(batch))
    finally:
        if log:
            log.close()
    return distributed.gather(fabric, len(prompts), idx, [done[keys[i]] for i in idx])


def judge_sharded(judge: Judge, mode: str, batch_size: int, generation: dict, keys: list[str], prompts: list[str],
                  out_dir: Path | None, devices: int, num_nodes: int) -> list[dict] | None:
    """Judge `prompts` on devices x nodes ranks; results in input order (None on nodes other than the first)."""
    checkpoint = judge.checkpoint()
    if checkpoint is None:
        raise WorkshopError("--devices > 1 needs a judge checkpoint name or directory (each rank loads its own copy)")
    log_path = Path(out_dir) / RANK_LOG if out_dir is not None else None
    return distributed.launch(judge_rank, checkpoint, mode, batch_size, generation, keys, prompts, log_path,
                              devices=devices, num_nodes=num_nodes)


def finish_rank_logs(out_dir: Path | None, devices: int, num_nodes: int) -> None:
    """Drop the per-rank logs once their results are in the main cache."""
    if out_dir is not None:
        distributed.remove_rank_files(Path(out_dir) / RANK_LOG, distributed.world_size(devices, num_nodes))
