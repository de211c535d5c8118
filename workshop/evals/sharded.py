"""lm-eval on several devices (`eval mmlu --devices N`): one device's scores exactly, the work split by rank.

Every rank runs lm-eval as if alone (same requests, same metrics; rank 0 reports), but
`_loglikelihood_tokens` (MMLU's, and perplexity windows') splits the batches one device
would run across the ranks, keeps each result in the rank's log and gathers them, so the
scores are one device's exactly. Generation requests run whole on every rank.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from workshop.core.io import AppendLog
from workshop.evals.lm_adapter import LitGPTLM
from workshop.models import distributed


class ShardedLM(LitGPTLM):
    """lm-eval's model for one rank: each log-likelihood call computes this rank's batches, all ranks get all
    results; finished results are kept in `log_path` (keyed by request), so a killed run resumes."""

    def __init__(self, fabric: Any, loaded: Any, batch_size: int, log_path: Path | None) -> None:
        super().__init__(loaded, batch_size=batch_size)
        self.fabric = fabric
        self.log = AppendLog(log_path) if log_path else None
        self.done = {r["key"]: tuple(r["value"]) for r in self.log.records()} if self.log else {}

    def _loglikelihood_tokens(self, requests: list, disable_tqdm: bool = False, **kwargs: Any) -> list:
        rank, world = self.fabric.global_rank, self.fabric.world_size
        unique, plan, order = self.plan(requests)
        mine = set(distributed.shard(order, self.batch_size, rank, world))
        rows = [r for r, (i, _) in enumerate(plan) if i in mine]
        keys = {r: hashlib.sha256(json.dumps([unique[plan[r][0]], plan[r][1]]).encode()).hexdigest()[:32]
                for r in rows}
        todo = [r for r in rows if keys[r] not in self.done]
        computed = super()._loglikelihood_tokens([requests[r] for r in todo], disable_tqdm=disable_tqdm or rank != 0)
        for r, value in zip(todo, computed):
            self.done[keys[r]] = value
            if self.log:
                self.log.append({"key": keys[r], "value": list(value)})
        return distributed.gather(self.fabric, len(requests), rows, [self.done[keys[r]] for r in rows],
                                  everywhere=True)


def mmlu_rank(fabric: Any, model_dir: Path, tasks: list, manager: Any, num_fewshot: int, limit: Any,
              batch_size: int, log_path: Path | None) -> dict | None:
    """lm-eval on one rank (see `ShardedLM`); rank 0's results, None on the other ranks."""
    from lm_eval import simple_evaluate

    from workshop.models.llm import load

    rank_log = distributed.rank_path(log_path, fabric.global_rank, fabric.world_size) if log_path else None
    lm = ShardedLM(fabric, load(model_dir, device=fabric.device), batch_size, rank_log)
    try:
        results = simple_evaluate(model=lm, tasks=tasks, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size,
                                  task_manager=manager, log_samples=True)  # per-question outcomes, as one device keeps
    finally:
        if lm.log:
            lm.log.close()
    return results if fabric.global_rank == 0 else None
