"""Perplexity of a checkpoint on texts from JSONL: mean next-token loss over real tokens, and its exp.

Each text is encoded without special tokens and preceded by the tokenizer's BOS (EOS when
it has none), so every token of the text is predicted; texts longer than the context are
scored in consecutive windows. The loss is averaged over tokens (not texts), padding masked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from workshop.core.types import ExistingFile, OutputDir, PositiveInt
from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json, read_records


def read_texts(path: str | Path, field: str = "text") -> list[str]:
    """The `field` string of every record in a .jsonl (or .json list) file."""
    texts = []
    for line, row in enumerate(read_records(path), start=1):
        if not isinstance(row, dict) or field not in row:
            keys = ", ".join(row) if isinstance(row, dict) else type(row).__name__
            raise WorkshopError(f"{path}: entry {line} has no {field!r} key (found: {keys}); pass --field NAME")
        if not isinstance(row[field], str) or not row[field]:
            raise WorkshopError(f"{path}: entry {line}: {field!r} must be a non-empty string")
        texts.append(row[field])
    return texts


def windows(ids: list[int], max_length: int) -> list[list[int]]:
    """Consecutive windows of at most max_length+1 tokens, overlapping by one, so each token is predicted once."""
    return [ids[start : start + max_length + 1] for start in range(0, len(ids) - 1, max_length)]


def perplexity(
    model_dir: str,
    data: ExistingFile,
    field: str = "text",
    batch_size: PositiveInt = 8,
    max_length: PositiveInt | None = None,
    device: str | None = None,
    out_dir: OutputDir | None = None,
) -> dict[str, Any]:
    """Mean next-token loss over the texts' tokens (padding masked) and its exp, the perplexity.

    Returns {"loss", "perplexity", "tokens", "texts", "per_text": [...]}.

    Args:
        model_dir: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        data: .jsonl (or .json list) of records with a text field
        field: record key holding the text
        batch_size: sequences per forward pass
        max_length: window length for long texts (default: the model's context)
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        out_dir: folder for perplexity.json
    """
    import workshop
    from workshop.models.engine import sequence_losses

    texts = read_texts(data, field)
    loaded = workshop.load(model_dir, device=device)
    tok = loaded.tokenizer
    prefix = tok.bos_id if tok.bos_id is not None else tok.eos_id
    max_length = max_length or loaded.model.max_seq_length
    pieces: list[tuple[int, list[int]]] = []  # (text index, window)
    for i, text in enumerate(texts):
        ids = loaded.encode_plain(text)
        pieces += [(i, w) for w in windows([prefix, *ids], max_length)]
    order = sorted(range(len(pieces)), key=lambda p: -len(pieces[p][1]))  # similar lengths share a batch
    sums, counts = [0.0] * len(texts), [0] * len(texts)
    for start in tqdm(range(0, len(order), batch_size), desc="perplexity", unit="batch"):
        batch = order[start : start + batch_size]
        for p, (loss_sum, n) in zip(batch, sequence_losses(loaded.model, [pieces[p][1] for p in batch])):
            sums[pieces[p][0]] += loss_sum
            counts[pieces[p][0]] += n
    loss = sum(sums) / sum(counts)
    result = {
        "model": str(model_dir),
        "data": str(data),
        "loss": loss,
        "perplexity": math.exp(loss),
        "tokens": sum(counts),
        "texts": len(texts),
        "per_text": [{"index": i, "tokens": n, "loss": s / n} for i, (s, n) in enumerate(zip(sums, counts))],
    }
    if out_dir is not None:
        atomic_write_json(Path(out_dir) / "perplexity.json", result)
    return result
