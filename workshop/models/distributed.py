"""Several devices (and nodes) through Lightning Fabric: launch, shard, gather, rank files, one progress bar.

Each feature owns its rank function (`workshop.respond.respond_rank`, `workshop.judge.sharded`,
`workshop.evals.sharded`); this module only runs it on every rank and puts the pieces back.

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

import logging
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
    banner = logging.getLogger("lightning.fabric")  # "Initializing distributed: ..." and a ruled box, per launch
    level = banner.level
    banner.setLevel(logging.WARNING)
    try:
        return fabric.launch(_on_rank, job, *args)
    finally:
        banner.setLevel(level)


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


class RankProgress:
    """Rank 0's bar over every rank's `total` items (the other ranks show none).

    Rank 0 only sees its own work; whole batches are dealt to the ranks in turn, so they keep
    pace and rank 0's items times the world size is the count of all ranks (capped at `total`;
    rank 0 holds the most batches, so its last one brings the bar to `total`).
    """

    def __init__(self, fabric: Any, total: int, desc: str, unit: str, done: int = 0):
        from tqdm.auto import tqdm

        self.world = fabric.world_size
        self.bar = tqdm(total=total, initial=min(total, done * self.world), desc=f"{desc}, {self.world} ranks",
                        unit=unit, disable=fabric.global_rank != 0)

    def update(self, n: int) -> None:
        self.bar.update(min(n * self.world, self.bar.total - self.bar.n))

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> "RankProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
