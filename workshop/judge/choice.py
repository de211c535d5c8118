"""The judge's choice between two responses shown as "A" and "B", read from its logits.

Logits mode reads P("A") and P("B") at the answer position (right after the assistant header),
using the judge's own tokens for the two labels. Both orders of an entry (A = first key, then
A = second key) share every token up to the first response, so they go in ONE sequence: the
shared prefix, then each order's remainder as a branch that sees the prefix and itself (its
RoPE positions continue the prefix's). The prefix is computed once and the LM head runs only
at the two answer positions, so an entry costs about one pointwise forward, not two.

Generate mode parses what the judge wrote instead: "A", "B" or "tie" (`parse.parse_choice`).
"""

from __future__ import annotations

from typing import Sequence

import torch

from workshop.models.engine import hidden_masked, lm_head, right_pad
from workshop.core.errors import WorkshopError
from workshop.judge.logits import MIN_VALID_MASS

LABELS = ("A", "B")


def label_token_ids(lm) -> tuple[int, int]:
    """The judge's first token for "A" and for "B" as it writes them right after its assistant header."""
    prefix_text = lm.chat_prompt("Answer:")
    prefix = lm.encode(prefix_text)
    ids = []
    for label in LABELS:
        full = lm.encode(prefix_text + label)
        seq = full[len(prefix) :] if full[: len(prefix)] == prefix else lm.encode(label, bos=False)
        if not seq:
            raise WorkshopError(f"{lm.checkpoint_dir}: the tokenizer gives no token for the label {label!r}")
        ids.append(seq[0])
    if ids[0] == ids[1]:
        raise WorkshopError(f"{lm.checkpoint_dir}: the tokenizer gives 'A' and 'B' the same first token")
    return ids[0], ids[1]


def common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    """Tokens the two rows share at the start (each keeps at least its last token as a branch)."""
    n = 0
    limit = min(len(first), len(second)) - 1
    while n < limit and first[n] == second[n]:
        n += 1
    return n


def pair_inputs(pairs: Sequence[tuple[Sequence[int], Sequence[int]]], device: torch.device):
    """idx, positions (B, T), mask (B, 1, T, T) and the two answer positions (B, 2) of prefix + 2 branches."""
    shared = [common_prefix(x, y) for x, y in pairs]
    rows = [list(x) + list(y[s:]) for (x, y), s in zip(pairs, shared)]
    T = max(len(r) for r in rows)
    idx = right_pad(rows, device, T)
    positions = torch.zeros(len(rows), T, dtype=torch.long, device=device)
    mask = torch.eye(T, dtype=torch.bool, device=device).repeat(len(rows), 1, 1, 1)  # padding sees itself only
    causal = torch.ones(T, T, dtype=torch.bool, device=device).tril()
    ends = torch.zeros(len(rows), 2, dtype=torch.long, device=device)
    for b, ((x, y), s) in enumerate(zip(pairs, shared)):
        n1, n2 = len(x), len(y) - s  # first row in full, then the second row's branch after the prefix
        positions[b, :n1] = torch.arange(n1, device=device)
        positions[b, n1 : n1 + n2] = torch.arange(s, len(y), device=device)
        mask[b, 0, :n1, :n1] = causal[:n1, :n1]
        mask[b, 0, n1 : n1 + n2, :s] = True
        mask[b, 0, n1 : n1 + n2, n1 : n1 + n2] = causal[:n2, :n2]
        ends[b] = torch.tensor([n1 - 1, n1 + n2 - 1])
    return idx, positions, mask, ends


@torch.inference_mode()
def pair_label_probs(lm, pairs: Sequence[tuple[str, str]], labels: tuple[int, int]) -> torch.Tensor:
    """(B, 2, 2) P("A"), P("B") at the answer position of each of the two prompts of each pair."""
    ids = [(lm.encode(lm.chat_prompt(x)), lm.encode(lm.chat_prompt(y))) for x, y in pairs]
    longest = max(max(len(x), len(y)) for x, y in ids)
    if longest > lm.config.block_size:
        raise WorkshopError(f"a pairwise prompt needs {longest} positions, the judge's context is "
                            f"{lm.config.block_size}; shorten the responses or use a judge with a longer context")
    device = lm.model.lm_head.weight.device
    idx, positions, mask, ends = pair_inputs(ids, device)
    hidden = hidden_masked(lm.model, idx, positions, mask)  # (B, T, n_embd)
    at = hidden[torch.arange(len(ids), device=device)[:, None], ends]  # (B, 2, n_embd)
    probs = lm_head(lm.model, at).float().softmax(dim=-1)  # (B, 2, V)
    return probs[..., list(labels)].cpu()


def summarize_probs(p_a: float, p_b: float) -> dict:
    """choice (the likelier label, or tie), the label probabilities and their mass, for one prompt."""
    mass = p_a + p_b
    if mass < MIN_VALID_MASS:
        return {"choice": None, "p_a": p_a, "p_b": p_b, "valid_mass": mass, "raw": None,
                "reason": "no probability on the labels A and B"}
    choice = "A" if p_a > p_b else "B" if p_b > p_a else "tie"
    return {"choice": choice, "p_a": p_a, "p_b": p_b, "valid_mass": mass, "raw": None, "reason": None}
