"""Batched scoring forwards over a LitGPT `GPT`: hidden states once, the LM head only where needed.

Rows are right-padded: padding comes after the real tokens, so causal attention never
sees it and no mask or position shift is needed. The LM head (the largest matrix of a
small model) runs only on the positions a score needs.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from litgpt import GPT

from workshop.engine import lm_head, transformer


def encode_plain(tokenizer: Any, text: str) -> list[int]:
    """Token ids of `text` with no BOS/EOS added (Hugging Face's `add_special_tokens=False`, as lm-eval's HFLM)."""
    if tokenizer.backend == "huggingface":
        return tokenizer.processor.encode(text, add_special_tokens=False).ids
    return tokenizer.encode(text, bos=False).tolist()


@torch.inference_mode()
def hidden_states(model: GPT, inputs: Sequence[Sequence[int]]) -> torch.Tensor:
    """Final-norm hidden states (B, T, n_embd) of right-padded token rows, causal attention."""
    device = model.lm_head.weight.device
    T = max(len(x) for x in inputs)
    idx = torch.zeros(len(inputs), T, dtype=torch.long, device=device)  # (B, T)
    for row, x in enumerate(inputs):
        idx[row, : len(x)] = torch.as_tensor(list(x), dtype=torch.long)
    cos, sin = model.cos[:T].unsqueeze(0), model.sin[:T].unsqueeze(0)  # (1, T, rope_n_elem)
    return transformer(model, idx, cos, sin, None)


@torch.inference_mode()
def tail_logits(model: GPT, inputs: Sequence[Sequence[int]], n_last: Sequence[int]) -> list[torch.Tensor]:
    """fp32 logits (n_last[i], V) at the last `n_last[i]` positions of each row, in one batch."""
    hidden = hidden_states(model, inputs)
    return [lm_head(model, hidden[row, len(x) - k : len(x)]).float() for row, (x, k) in enumerate(zip(inputs, n_last))]


@torch.inference_mode()
def sequence_losses(model: GPT, inputs: Sequence[Sequence[int]], chunk: int = 256) -> list[tuple[float, int]]:
    """(summed next-token cross-entropy, tokens predicted) per row; padding never counts."""
    hidden = hidden_states(model, inputs)
    out = []
    for row, x in enumerate(inputs):
        targets = torch.as_tensor(list(x[1:]), dtype=torch.long, device=hidden.device)
        total = 0.0
        for start in range(0, len(targets), chunk):  # LM head in chunks: (chunk, V) at a time
            logits = lm_head(model, hidden[row, start : min(start + chunk, len(targets))]).float()
            total += float(torch.nn.functional.cross_entropy(logits, targets[start : start + chunk], reduction="sum"))
        out.append((total, len(targets)))
    return out
