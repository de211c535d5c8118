"""Add a model's response to every entry of an instruction test set, batched and resumable.

The workshop loops `LLM.generate` once per entry; here entries are decoded in batches with
a KV cache (greedy by default). Each finished batch is appended to a progress file, so a
run killed at any point (even SIGKILL) resumes without redoing or duplicating entries; the
final JSON is written atomically and the progress file removed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Sequence

from litgpt.prompts import Alpaca
from tqdm.auto import tqdm

from workshop.core.errors import WorkshopError
from workshop.datasets.instructions import validate_entries
from workshop.core.io import AppendLog, atomic_write_json, read_records
from workshop.models.llm import LoadedModel, load
from workshop.models.remote import RemoteModel, RemoteOptions, is_url
from workshop.core.types import ExistingFile, NonNegativeFloat, OutputFile, PositiveInt

PROTECTED_KEYS = ("instruction", "input", "output")  # the entry itself: a response never goes there


def entry_prompt(model: LoadedModel, entry: dict[str, Any]) -> str:
    """The entry's instruction (and input) in the checkpoint's own prompt style."""
    instruction, extra = entry.get("instruction", ""), entry.get("input", "")
    if isinstance(model.prompt_style, Alpaca):  # the one LitGPT style with its own Input section
        return model.prompt_style.apply(instruction, input=extra)
    return model.prompt_style.apply(f"{instruction}\n\n{extra}" if extra else instruction)


def settings_hash(model: LoadedModel, key: str, **settings: Any) -> str:
    """Identifies a (model, key, decoding settings) run, so stale progress is never reused."""
    name = model.identity if isinstance(model, RemoteModel) else str(model.checkpoint_dir.resolve())
    blob = json.dumps({"model": name, "key": key, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def respond(
    model: LoadedModel | RemoteModel | str | Path,
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

    `model` is a loaded model, a `RemoteModel`, or any name the CLI takes (directory, repo id,
    smollm2-135m-instruct, or an http(s):// server URL).
    """
    if not isinstance(model, (LoadedModel, RemoteModel)):
        model = open_model(model)
    run_id = settings_hash(model, key, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                           batch_size=batch_size)  # batches change padding, so sampled output too
    prompts = [entry_prompt(model, e) for e in entries]
    done: dict[int, str] = {}
    log = AppendLog(progress_path) if progress_path else None
    if log:
        done = {r["index"]: r["response"] for r in log.records() if r.get("run") == run_id and r["index"] < len(entries)}
    pending = sorted((i for i in range(len(entries)) if i not in done), key=lambda i: len(prompts[i]))
    generator = model.generator(seed)  # one random stream for the whole run, not one per batch
    if generator is not None and done:  # a resumed run goes on with its own stream, not a replay
        generator.manual_seed(seed + len(done))
    bar = tqdm(total=len(entries), initial=len(done), desc=f"respond ({key})", unit="entry", disable=not show_progress)
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
            bar.update(len(rows))
    finally:
        bar.close()
        if log:
            log.close()
    return [{**entry, key: done[i]} for i, entry in enumerate(entries)]


def open_model(model: str | Path, device: str | None = None, remote: RemoteOptions | None = None) -> Any:
    """A server URL opens a `RemoteModel`; any other name loads the checkpoint onto `device`."""
    if is_url(model):
        return RemoteModel(str(model), remote)
    from workshop.models.checkpoints import resolve_checkpoint

    return load(resolve_checkpoint(model, build=True), device=device)


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

        result = distributed.launch(distributed.respond_rank, str(resolve_checkpoint(model, build=True)), entries, key,
                                    batch_size, max_new_tokens, temperature, seed, progress, devices=devices,
                                    num_nodes=num_nodes, device=device)
        if result is None:  # a node other than the first: rank 0 writes the output
            return None
        distributed.remove_rank_files(progress, world)
    else:
        loaded = open_model(model, device, remote)
        result = respond(loaded, entries, key, batch_size, max_new_tokens, temperature, seed, progress_path=progress)
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
