"""Alpaca-style instruction data: load, validate, format, split, write and batch it.

The workshop's section 6.1 (LLMs-from-scratch ch07) as a library: entries are dicts with
`instruction`, `input` and `output`; prompts use the Alpaca or Phi-3 template; batches are
padded with the end-of-text token, the targets shifted by one, and every pad after the first
replaced by `ignore_index` so the model still learns to emit one end-of-text token.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Sequence

from workshop.core.types import ClosedUnitInterval, OutputDir, PositiveInt
from workshop.core.errors import WorkshopError
from workshop.core.paths import user_path
from workshop.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, numbered_jsonl, read_json

KEYS = ("instruction", "input", "output")
STYLES = ("alpaca", "phi3")
RESPONSE_PREFIX = {"alpaca": "\n\n### Response:\n", "phi3": "\n<|assistant|>:\n"}
WORKSHOP_DATA_URL = "https://raw.githubusercontent.com/rasbt/LLM-workshop-2024/main/06_finetuning/instruction-data.json"
WORKSHOP_DATA_SHA256 = "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944"


def validate_entries(entries: Any, path: str | os.PathLike = "<data>", labels: Sequence[str] | None = None,
                     keys: Sequence[str] = KEYS) -> list[dict]:
    """Check every entry is a dict with string `keys` (`instruction`, `input` and `output`; a test set to
    respond to needs no `output`).

    A missing `input` becomes "" (as in Alpaca data); anything else wrong is a one-line
    WorkshopError naming the file, the entry (`labels[i]`, default "entry i") and the key.
    """
    if not isinstance(entries, list):
        raise WorkshopError(f"{path}: expected a JSON list of entries, got {type(entries).__name__}")
    if not entries:
        raise WorkshopError(f"{path}: no entries; expected objects with keys {', '.join(keys)}")
    out = []
    for i, entry in enumerate(entries):
        at = f"{path}: {labels[i] if labels else f'entry {i}'}"
        if not isinstance(entry, dict):
            raise WorkshopError(f"{at}: expected an object with keys {', '.join(keys)}, got {type(entry).__name__}")
        entry = {"input": "", **entry}
        for key in keys:
            if key not in entry:
                raise WorkshopError(f"{at}: missing key {key!r}; every entry needs {', '.join(keys)}")
            if not isinstance(entry[key], str):
                raise WorkshopError(f"{at}: key {key!r} must be a string, got {type(entry[key]).__name__}")
        if not entry["instruction"].strip():
            raise WorkshopError(f"{at}: key 'instruction' is empty; write the task to perform")
        out.append(entry)
    return out


def load_instructions(path: str | os.PathLike) -> list[dict]:
    """Read and validate an Alpaca JSON list (`.json`) or one entry per line (`.jsonl`); `workshop:PATH` names a
    shipped file (`workshop:data/instructions/instruction-data.json`), as in recipes and flags."""
    path = user_path(path)
    if path.suffix != ".jsonl":
        return validate_entries(read_json(path), path)
    rows = list(numbered_jsonl(path))
    if not rows:
        raise WorkshopError(f"{path}: file is empty; expected one JSON object per line")
    return validate_entries([e for _, e in rows], path, [f"line {n}" for n, _ in rows])


def download_workshop_data(out: Path = Path("instruction-data.json"), url: str = WORKSHOP_DATA_URL,
                           sha256: str | None = WORKSHOP_DATA_SHA256) -> Path:
    """Fetch the workshop's 1,100-entry instruction-data.json (online), check its sha256, write it atomically.

    Args:
        out: where to save it
        url: where to fetch it from
        sha256: expected sha256 of the file (null: no check)
    """
    from workshop.core.fetch import cached_download

    try:
        fetched = cached_download(url, sha256=sha256)
    except WorkshopError as e:
        raise WorkshopError(f"{e}; offline, use the project's data/instructions/instruction-data.json") from None
    validate_entries(read_json(fetched), url)
    return atomic_write_text(out, fetched.read_text(encoding="utf-8"))


def format_input(entry: dict, style: str = "alpaca") -> str:
    """The prompt for one entry, exactly as the workshop builds it (no response header).

    alpaca: "Below is an instruction ... request.\\n\\n### Instruction:\\n{instruction}"
            plus "\\n\\n### Input:\\n{input}" when the input is non-empty;
    phi3:   "<|user|>\\n{instruction}" plus "\\n{input}" when the input is non-empty.
    """
    if style == "alpaca":
        instruction_text = (
            "Below is an instruction that describes a task. "
            "Write a response that appropriately completes the request."
            f"\n\n### Instruction:\n{entry['instruction']}"
        )
        input_text = f"\n\n### Input:\n{entry['input']}" if entry.get("input") else ""
        return instruction_text + input_text
    if style == "phi3":
        input_text = f"\n{entry['input']}" if entry.get("input") else ""
        return f"<|user|>\n{entry['instruction']}" + input_text
    raise WorkshopError(f"unknown prompt style {style!r}; use one of: {', '.join(STYLES)}")


def format_example(entry: dict, style: str = "alpaca") -> str:
    """Prompt plus response header plus the entry's output: one full training text."""
    return format_input(entry, style) + RESPONSE_PREFIX[style] + entry["output"]


def split(
    data: Sequence[Any], train: float = 0.85, test: float = 0.15, val: float = 0.0, seed: int | None = None
) -> dict[str, list]:
    """Split entries into train/test(/val) as the workshop does.

    train = the first int(n*train) entries, test = the next int(n*test), val = the rest;
    with val=0 the rest goes to test (1,100 -> 935/165). seed=None keeps the file order
    (the workshop's split); a seed shuffles a copy first. Empty splits are left out.
    """
    fractions = {"train": train, "test": test, "val": val}
    for name, f in fractions.items():
        if not 0.0 <= f <= 1.0:
            raise WorkshopError(f"--{name} {f}: fractions must be between 0 and 1")
    if abs(train + test + val - 1.0) > 1e-6:
        raise WorkshopError(f"train + test + val = {train + test + val:g}; the fractions must add up to 1")
    data = list(data)
    if seed is not None:
        random.Random(seed).shuffle(data)
    n_train, n_test = int(len(data) * train), int(len(data) * test)
    if val == 0.0:
        n_test = len(data) - n_train
    parts = {
        "train": data[:n_train],
        "test": data[n_train : n_train + n_test],
        "val": data[n_train + n_test :],
    }
    return {name: rows for name, rows in parts.items() if fractions[name] > 0}


def write_instructions(path: str | os.PathLike, entries: Sequence[dict]) -> Path:
    """Atomically write entries as a JSON list (`.json`) or JSONL (`.jsonl`), by suffix."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return atomic_write_jsonl(path, entries)
    return atomic_write_json(path, list(entries), indent=1)


def split_file(
    data: str,
    out_dir: OutputDir,
    train: ClosedUnitInterval = 0.85,
    test: ClosedUnitInterval = 0.15,
    val: ClosedUnitInterval = 0.0,
    seed: int | None = None,
    limit_test: PositiveInt | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """Split an instruction file (path or URL) into train/test(/val) JSON files, the workshop's way.

    Returns each part's path and size: {"train": path, "n_train": 935, "test": ..., ...}.

    Args:
        data: Alpaca-style .json list or .jsonl (instruction, input, output), or an http(s) URL
        out_dir: folder for train.json, test.json (and val.json)
        train: fraction for training
        test: fraction for testing
        val: fraction for validation (0: no val.json)
        seed: shuffle with this seed first (default: keep the file order, as the workshop does)
        limit_test: keep only the first N test entries (quick runs)
        sha256: expected sha256 of a downloaded file
    """
    from workshop.core.fetch import cached_download, is_url

    source = Path(data)
    if is_url(data):
        source = cached_download(data, sha256=sha256)
    parts = split(load_instructions(source), train=train, test=test, val=val, seed=seed)
    if limit_test is not None and "test" in parts:
        parts["test"] = parts["test"][:limit_test]
    paths = write_splits(parts, out_dir)
    return {**{name: str(p) for name, p in paths.items()}, **{f"n_{name}": len(rows) for name, rows in parts.items()}}


def write_splits(splits: dict[str, list], out_dir: str | os.PathLike, suffix: str = ".json") -> dict[str, Path]:
    """Write each split to `out_dir/<name><suffix>` (train.json, test.json, val.json)."""
    return {name: write_instructions(Path(out_dir) / f"{name}{suffix}", rows) for name, rows in splits.items()}


def instruction_collate(
    batch: Sequence[Sequence[int] | tuple[int, Sequence[int]]],
    pad_token_id: int = 50256,
    ignore_index: int = -100,
    mask_prompt: bool = False,
    allowed_max_length: int | None = None,
    device: Any = "cpu",
):
    """Pad a batch of token-id lists into (inputs, targets) tensors, as ch07's `custom_collate_fn`.

    Each item gets one end-of-text token appended and is right-padded to the longest item + 1;
    inputs drop the last position, targets drop the first (shifted by one). In the targets the
    first end-of-text token stays (the model learns to stop) and the later pads become
    `ignore_index`. Items may be `(prompt_len, ids)` pairs; with `mask_prompt=True` the targets
    of the prompt tokens are `ignore_index` too (ch07 exercise 7.2: the first prompt_len - 1
    targets, which predict prompt tokens). Padding is by position, so an end-of-text token
    inside the text itself is never masked. Returns two LongTensors of shape (batch, seq_len).
    """
    import torch

    pairs = [item if _is_pair(item) else (0, item) for item in batch]
    if mask_prompt and any(not _is_pair(item) for item in batch):
        raise WorkshopError("mask_prompt=True needs (prompt_len, ids) pairs; pass the prompt's token count with each item")
    batch_max_length = max(len(ids) + 1 for _, ids in pairs)
    inputs_lst, targets_lst = [], []
    for prompt_len, ids in pairs:
        ids = list(ids)
        padded = ids + [pad_token_id] * (batch_max_length - len(ids))
        inputs = torch.tensor(padded[:-1])
        targets = torch.tensor(padded[1:])
        targets[len(ids) :] = ignore_index  # keep padded[len(ids)] (the first end-of-text) at targets[len(ids)-1]
        if mask_prompt:
            targets[: max(prompt_len - 1, 0)] = ignore_index
        if allowed_max_length is not None:
            inputs, targets = inputs[:allowed_max_length], targets[:allowed_max_length]
        inputs_lst.append(inputs)
        targets_lst.append(targets)
    return torch.stack(inputs_lst).to(device), torch.stack(targets_lst).to(device)


def _is_pair(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int) and not isinstance(item[1], int)
