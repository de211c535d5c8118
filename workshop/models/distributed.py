"""Several devices (and nodes) through Lightning Fabric, for respond, judge and eval mmlu.

`launch(job, ...)` starts one process per device with Fabric (`ddp_fork` with gloo on CPU,
no re-import; `ddp_spawn` with nccl on GPUs) and returns rank 0's result (None on the other
nodes of a multi-node run, whose ranks only help). The work is cut into the batches one
device would run (sorted by length, `batch_size` each) and rank r of W takes batches r, r + W,
... (`shard`), so every batch keeps its composition and the output is identical to one
device's, not merely close (greedy decoding; sampled output depends on the split, as it
does on the batch size). Each rank keeps its own append-only progress file (`rank_path`), so
a killed run resumes rank by rank, and `gather` puts the pieces back in input order.

Multi-node: run the same command on every node with Lightning's variables set
(MASTER_ADDR, MASTER_PORT, NODE_RANK); `--num-nodes N --devices D` then makes N x D ranks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

from workshop.core.errors import WorkshopError


def world_size(devices: int, num_nodes: int) -> int:
    return devices * num_nodes


def accelerator(device: str | None) -> str:
    """Fabric's accelerator for the toolkit's --device (default: cuda if available)."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    kind = str(device).split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise WorkshopError(f"--device {device}: several devices run on cpu or cuda; use --device cpu or cuda")
    if ":" in str(device):
        raise WorkshopError(f"--device {device}: with --devices N the ranks take cuda:0..N-1; pass --device cuda")
    return kind


def launch(job: Callable, *args: Any, devices: int, num_nodes: int = 1, device: str | None = None) -> Any:
    """Run `job(fabric, *args)` on every rank; rank 0's return value (None on other nodes)."""
    from lightning.fabric import Fabric

    kind = accelerator(device)
    strategy = "ddp_fork" if kind == "cpu" else "ddp_spawn"  # CUDA cannot be forked once initialised
    fabric = Fabric(accelerator=kind, devices=devices, num_nodes=num_nodes, strategy=strategy)
    return fabric.launch(_on_rank, job, *args)


def _on_rank(fabric: Any, job: Callable, *args: Any) -> Any:
    import torch

    if fabric.device.type == "cpu":  # ranks share the cores instead of each taking all of them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // fabric.world_size))
    return job(fabric, *args)


def shard(order: Sequence[int], batch_size: int, rank: int, world: int) -> list[int]:
    """Rank `rank`'s items: whole batches rank, rank + world, ... of `order` cut into `batch_size` batches."""
    batches = [list(order[i : i + batch_size]) for i in range(0, len(order), batch_size)]
    return [i for batch in batches[rank::world] for i in batch]


def gather(fabric: Any, n: int, indices: Sequence[int], values: Sequence[Any], everywhere: bool = False) -> list | None:
    """Every rank's (index, value) pairs as one list in input order, on global rank 0 (or on all ranks)."""
    import torch.distributed as dist

    pieces: list[Any] = [None] * fabric.world_size
    dist.all_gather_object(pieces, (list(indices), list(values)))
    if fabric.global_rank != 0 and not everywhere:
        return None
    out: list[Any] = [None] * n
    for idx, vals in pieces:
        for i, v in zip(idx, vals):
            out[i] = v
    return out


def rank_path(path: Path, rank: int, world: int) -> Path:
    """Rank `rank`'s own progress file beside `path`."""
    return path.with_name(f"{path.stem}.rank{rank}-of-{world}{path.suffix}")


def remove_rank_files(path: Path, world: int) -> None:
    for rank in range(world):
        rank_path(path, rank, world).unlink(missing_ok=True)


# -- the jobs, one rank's share each


def respond_rank(fabric: Any, model: str, entries: list[dict], key: str, batch_size: int, max_new_tokens: int,
                 temperature: float, seed: int | None, progress: Path | None) -> list[dict] | None:
    """`respond` on this rank's batches, resumable from its own progress file; all entries on rank 0."""
    from workshop.models.llm import load
    from workshop.respond import entry_prompt, respond

    rank, world = fabric.global_rank, fabric.world_size
    lm = load(model, device=fabric.device)
    prompts = [entry_prompt(lm, e) for e in entries]
    idx = shard(sorted(range(len(entries)), key=lambda i: len(prompts[i])), batch_size, rank, world)  # as respond sorts
    part = respond(lm, [entries[i] for i in idx], key, batch_size, max_new_tokens, temperature, seed,
                   progress_path=rank_path(progress, rank, world) if progress else None, show_progress=rank == 0)
    return gather(fabric, len(entries), idx, part)


def judge_rank(fabric: Any, judge: str, mode: str, batch_size: int, generation: dict, keys: list[str],
               prompts: list[str], log_path: Path | None) -> list[dict] | None:
    """Judge results for this rank's batches of `prompts` (sorted by length already; a keyed log per rank, so a
    killed run resumes); all on rank 0."""
    from tqdm.auto import tqdm

    from workshop.core.io import AppendLog
    from workshop.judge.scoring import make_scorer
    from workshop.models.llm import load

    rank, world = fabric.global_rank, fabric.world_size
    idx = shard(range(len(prompts)), batch_size, rank, world)
    log = AppendLog(rank_path(log_path, rank, world)) if log_path else None
    done = {r["key"]: r["result"] for r in log.records()} if log else {}
    todo = [i for i in idx if keys[i] not in done]
    try:
        if todo:
            scorer = make_scorer(load(judge, device=fabric.device), mode, batch_size, generation)
            with tqdm(total=len(todo), desc=f"judge ({mode}, {world} ranks)", unit="items", disable=rank != 0) as bar:
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
    return gather(fabric, len(prompts), idx, [done[keys[i]] for i in idx])


def judge_sharded(judge: Any, mode: str, batch_size: int, generation: dict, keys: list[str], prompts: list[str],
                  out_dir: Path | None, devices: int, num_nodes: int, device: str | None = None) -> list[dict] | None:
    """Judge `prompts` on devices x nodes ranks; results in input order (None on nodes other than the first)."""
    if not isinstance(judge, (str, Path)):
        raise WorkshopError("--devices > 1 needs a judge checkpoint name or directory (each rank loads its own copy)")
    log_path = Path(out_dir) / ".cache" / "judge-ranks.jsonl" if out_dir is not None else None
    return launch(judge_rank, str(judge), mode, batch_size, generation, keys, prompts, log_path, devices=devices,
                  num_nodes=num_nodes, device=device)


def finish_rank_logs(out_dir: Path | None, devices: int, num_nodes: int) -> None:
    """Drop the judge's per-rank logs once their results are in the main cache."""
    if out_dir is not None:
        remove_rank_files(Path(out_dir) / ".cache" / "judge-ranks.jsonl", world_size(devices, num_nodes))


def sharded_lm(fabric: Any, loaded: Any, batch_size: int, log_path: Path | None) -> Any:
    """lm-eval's model for one rank: each log-likelihood call computes this rank's batches, all ranks get all results.

    Every rank runs lm-eval as if alone (same requests, same metrics; rank 0 reports), but
    `_loglikelihood_tokens` (MMLU's, and perplexity windows') splits the batches one device
    would run across the ranks, keeps each result in the rank's log and gathers them, so the
    scores are one device's exactly. Generation requests run whole on every rank.
    """
    from workshop.evals.lm_adapter import LitGPTLM
    from workshop.core.io import AppendLog

    class ShardedLM(LitGPTLM):
        def __init__(self) -> None:
            super().__init__(loaded, batch_size=batch_size)
            self.log = AppendLog(log_path) if log_path else None
            self.done = {r["key"]: tuple(r["value"]) for r in self.log.records()} if self.log else {}

        def _loglikelihood_tokens(self, requests: list, disable_tqdm: bool = False, **kwargs: Any) -> list:
            import hashlib
            import json

            unique, plan, order = self.plan(requests)
            mine = set(shard(order, self.batch_size, fabric.global_rank, fabric.world_size))
            rows = [r for r, (i, _) in enumerate(plan) if i in mine]
            keys = {r: hashlib.sha256(json.dumps([unique[plan[r][0]], plan[r][1]]).encode()).hexdigest()[:32]
                    for r in rows}
            todo = [r for r in rows if keys[r] not in self.done]
            computed = super()._loglikelihood_tokens([requests[r] for r in todo],
                                                     disable_tqdm=disable_tqdm or fabric.global_rank != 0)
            for r, value in zip(todo, computed):
                self.done[keys[r]] = value
                if self.log:
                    self.log.append({"key": keys[r], "value": list(value)})
            return gather(fabric, len(requests), rows, [self.done[keys[r]] for r in rows], everywhere=True)

    return ShardedLM()


def mmlu_rank(fabric: Any, model_dir: Path, tasks: list, manager: Any, num_fewshot: int, limit: Any,
              batch_size: int, log_path: Path | None) -> dict | None:
    """lm-eval on one rank (see `sharded_lm`); rank 0's results."""
    from lm_eval import simple_evaluate

    from workshop.models.llm import load

    rank_log = rank_path(log_path, fabric.global_rank, fabric.world_size) if log_path else None
    lm = sharded_lm(fabric, load(model_dir, device=fabric.device), batch_size, rank_log)
    try:
        results = simple_evaluate(model=lm, tasks=tasks, num_fewshot=num_fewshot, limit=limit, batch_size=batch_size,
                                  task_manager=manager, log_samples=True)  # per-question outcomes, as one device keeps
    finally:
        if lm.log:
            lm.log.close()
    return results if fabric.global_rank == 0 else None
