"""Add a model's response to every entry of an instruction test set, batched and resumable.

The workshop loops `LLM.generate` once per entry; here entries are decoded in batches with
a KV cache (greedy by default). Each finished batch is appended to a progress file, so a
run killed at any point (even SIGKILL) resumes without redoing or duplicating entries; the
final JSON is written atomically and the progress file removed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from litgpt.prompts import Alpaca
from tqdm.auto import tqdm

from workshop.core.errors import WorkshopError
from workshop.datasets.instructions import validate_entries
from workshop.core.io import AppendLog, atomic_write_json, read_records
from workshop.models.protocol import Model, open_model
from workshop.models.remote import RemoteOptions, is_url
from workshop.core.types import ExistingFile, NonNegativeFloat, OutputFile, PositiveInt

PROTECTED_KEYS = ("instruction", "input", "output")  # the entry itself: a response never goes there


def entry_prompt(model: Model, entry: dict[str, Any]) -> str:
    """The entry's instruction (and input) in the model's own prompt style."""
    instruction, extra = entry.get("instruction", ""), entry.get("input", "")
    if isinstance(model.prompt_style, Alpaca):  # the one LitGPT style with its own Input section
        return model.prompt_style.apply(instruction, input=extra)
    return model.prompt_style.apply(f"{instruction}\n\n{extra}" if extra else instruction)


def settings_hash(model: Model, key: str, **settings: Any) -> str:
    """Identifies a (model, key, decoding settings) run, so stale progress is never reused."""
    blob = json.dumps({"model": model.name, "key": key, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def respond(
    model: Model | str | Path,
    entries: Sequence[dict[str, Any]],
    key: str,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = None,
    progress_path: str | Path | None = None,
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Copies of `entries` with `entry[key]` = the model's response; resumes from `progress_path`.

    `model` is a `Model` (`workshop.load(...)`, a `RemoteModel`), or any name the CLI takes (directory,
    repo id, smollm2-135m-instruct, or an http(s):// server URL).
    """
    def bar(done: int) -> Any:
        return tqdm(total=len(entries), initial=done, desc=f"respond ({key})", unit="entry", disable=not show_progress)

    replies = responses(open_model(model), entries, key, batch_size, max_new_tokens, temperature, seed, progress_path,
                        bar, reused_note=show_progress)
    return [{**entry, key: replies[i]} for i, entry in enumerate(entries)]


def responses(model: Model, entries: Sequence[dict[str, Any]], key: str, batch_size: int, max_new_tokens: int,
              temperature: float, seed: int | None, progress_path: str | Path | None, bar: Callable[[int], Any],
              reused_note: bool = False) -> dict[int, str]:
    """Each entry's response by index, reading and appending `progress_path`; `bar(done)` makes the progress bar."""
    run_id = settings_hash(model, key, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                           batch_size=batch_size)  # batches change padding, so sampled output too
    prompts = [entry_prompt(model, e) for e in entries]
    done: dict[int, str] = {}
    log = AppendLog(progress_path) if progress_path else None
    if log:
        done = {r["index"]: r["response"] for r in log.records() if r.get("run") == run_id and r["index"] < len(entries)}
    pending = sorted((i for i in range(len(entries)) if i not in done), key=lambda i: len(prompts[i]))
    if reused_note and done and not pending:
        print(f"respond ({key}): all {len(done)} responses reused from {progress_path}", file=sys.stderr)
    generator = model.generator(seed)  # one random stream for the whole run, not one per batch
    if generator is not None and done:  # a resumed run goes on with its own stream, not a replay
        generator.manual_seed(seed + len(done))
    progress = bar(len(done)) if pending else None
    try:
        for start in range(0, len(pending), batch_size):
            rows = pending[start : start + batch_size]
            replies = model.generate_batch(
                [prompts[i] for i in rows], max_new_tokens, temperature, chat=False, batch_size=batch_size,
                generator=generator,
            )
            for i, reply in zip(rows, replies):
                done[i] = reply
                if log:
                    log.append({"run": run_id, "index": i, "response": reply})
            progress.update(len(rows))
    finally:
        if progress is not None:
            progress.close()
        if log:
            log.close()
    return done


def respond_rank(fabric: Any, checkpoint: Path, entries: list[dict], key: str, batch_size: int, max_new_tokens: int,
                 temperature: float, seed: int | None, progress: Path | None) -> list[str] | None:
    """One rank's share of `respond` (whole batches, see `distributed.shard`), resumable from its own progress
    file; every entry's response on rank 0, None on the other ranks."""
    from workshop.models import distributed
    from workshop.models.llm import load

    rank, world = fabric.global_rank, fabric.world_size
    model = load(checkpoint, device=fabric.device)
    prompts = [entry_prompt(model, e) for e in entries]
    idx = distributed.shard(sorted(range(len(entries)), key=lambda i: len(prompts[i])), batch_size, rank, world)
    replies = responses(model, [entries[i] for i in idx], key, batch_size, max_new_tokens, temperature, seed,
                        distributed.rank_path(progress, rank, world) if progress else None,
                        lambda done: distributed.RankProgress(fabric, len(entries), f"respond ({key})", "entry", done))
    return distributed.gather(fabric, len(entries), idx, [replies[j] for j in range(len(idx))])


def respond_file(
    model: str,
    data: ExistingFile,
    key: str,
    out: OutputFile | None = None,
    batch_size: PositiveInt = 8,
    max_new_tokens: PositiveInt = 256,
    temperature: NonNegativeFloat = 0.0,
    seed: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    remote: RemoteOptions = RemoteOptions(),
    devices: PositiveInt = 1,
    num_nodes: PositiveInt = 1,
) -> Path | None:
    """Add a model's response to every entry of a JSON/JSONL test set (batched, resumable).

    Args:
        model: checkpoint directory, repo id under checkpoints/, smollm2-135m-instruct, or an
            OpenAI-compatible server's URL (e.g. http://127.0.0.1:11434/v1 with --served-model llama3)
        data: test set, a JSON list or JSONL of {instruction, input, output} entries
        key: field the response is written to, e.g. response_after (never instruction/input/output)
        out: output JSON (default: update --data in place, atomically)
        batch_size: entries decoded together (with a URL: entries per progress write, requests in flight up to
            --concurrency)
        max_new_tokens: most tokens per response
        temperature: 0 = greedy; above 0 samples (one random stream over the whole run, see --seed)
        seed: random seed when sampling
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        overwrite: replace `key` in entries that already have it (refused otherwise)
        remote: with a URL: --served-model, --api-key-env, --concurrency, --request-timeout, --retries
        devices: processes (GPUs, or CPU processes) that split the entries, through Lightning Fabric
        num_nodes: machines, each running the same command with --devices processes
    """
    from workshop.models import distributed

    entries = read_records(data)
    check_target_key(entries, key, data, overwrite)
    out = Path(out) if out else Path(data)
    progress = out.with_name(f".{out.name}.{key}.progress.jsonl")
    world = distributed.world_size(devices, num_nodes)
    if world > 1:
        if is_url(model):
            raise WorkshopError("--devices applies to checkpoints; a server spreads its own load (use --concurrency)")
        from workshop.models.checkpoints import resolve_checkpoint

        replies = distributed.launch(respond_rank, resolve_checkpoint(model, build=True), entries, key, batch_size,
                                     max_new_tokens, temperature, seed, progress, devices=devices, num_nodes=num_nodes,
                                     device=device)
        if replies is None:  # a node other than the first: rank 0 writes the output
            return None
        distributed.remove_rank_files(progress, world)
        result = [{**entry, key: reply} for entry, reply in zip(entries, replies)]
    else:
        result = respond(open_model(model, device, remote), entries, key, batch_size, max_new_tokens, temperature,
                         seed, progress_path=progress)
    atomic_write_json(out, result, indent=4)
    progress.unlink(missing_ok=True)
    return out


def check_target_key(entries: Sequence[Any], key: str, source: str | Path, overwrite: bool) -> None:
    """Refuse to write responses over the reference fields, or over an existing field without `overwrite`."""
    if key in PROTECTED_KEYS:
        raise WorkshopError(f"--key {key}: that field holds the entry's {key}; pick a new field, e.g. --key response")
    validate_entries(entries, source, keys=("instruction", "input"))
    taken = sum(key in e for e in entries)
    if taken and not overwrite:
        raise WorkshopError(f"{source}: {taken} entries already have {key!r}; pass --overwrite to replace them, "
                            f"or choose another --key")
