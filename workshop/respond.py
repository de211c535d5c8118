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

from workshop.errors import WorkshopError
from workshop.io import AppendLog, atomic_write_json, read_records
from workshop.llm import LoadedModel, load


def entry_prompt(model: LoadedModel, entry: dict[str, Any]) -> str:
    """The entry's instruction (and input) in the checkpoint's own prompt style."""
    instruction, extra = entry.get("instruction", ""), entry.get("input", "")
    if isinstance(model.prompt_style, Alpaca):  # the one LitGPT style with its own Input section
        return model.prompt_style.apply(instruction, input=extra)
    return model.prompt_style.apply(f"{instruction}\n\n{extra}" if extra else instruction)


def settings_hash(model: LoadedModel, key: str, **settings: Any) -> str:
    """Identifies a (model, key, decoding settings) run, so stale progress is never reused."""
    blob = json.dumps({"model": str(model.checkpoint_dir.resolve()), "key": key, **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def respond(
    model: LoadedModel,
    entries: Sequence[dict[str, Any]],
    key: str,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = None,
    progress_path: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Copies of `entries` with `entry[key]` = the model's response; resumes from `progress_path`."""
    run_id = settings_hash(model, key, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    prompts = [entry_prompt(model, e) for e in entries]
    done: dict[int, str] = {}
    log = AppendLog(progress_path) if progress_path else None
    if log:
        done = {r["index"]: r["response"] for r in log.records() if r.get("run") == run_id and r["index"] < len(entries)}
    pending = sorted((i for i in range(len(entries)) if i not in done), key=lambda i: len(prompts[i]))
    bar = tqdm(total=len(entries), initial=len(done), desc=f"respond ({key})", unit="entry")
    try:
        for start in range(0, len(pending), batch_size):
            rows = pending[start : start + batch_size]
            replies = model.generate_batch(
                [prompts[i] for i in rows], max_new_tokens, temperature, seed=seed, chat=False, batch_size=batch_size
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


def respond_file(
    model_dir: str | Path,
    data_path: str | Path,
    key: str,
    out: str | Path | None = None,
    batch_size: int = 8,
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    seed: int | None = None,
    device: str | None = None,
) -> Path:
    """Read `data_path` (JSON list or JSONL), add `key` to every entry, write `out` (default: in place)."""
    entries = read_records(data_path)
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or "instruction" not in entry:
            raise WorkshopError(f"{data_path}: entry {n} has no 'instruction' key; each entry needs instruction/input/output")
    out = Path(out) if out else Path(data_path)
    progress = out.with_name(f".{out.name}.{key}.progress.jsonl")
    model = load(model_dir, device=device)
    result = respond(model, entries, key, batch_size, max_new_tokens, temperature, seed, progress_path=progress)
    atomic_write_json(out, result, indent=4)
    progress.unlink(missing_ok=True)
    return out
