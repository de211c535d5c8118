"""The one home of batched forwards over a LitGPT `GPT`: scoring, KV-cache decoding, tree masks.

LitGPT's `GPT.forward` computes logits for every position and knows only the causal
mask. Everything here needs less or more: scoring (MMLU, classification, perplexity, the
judge) runs the LM head only on the positions a score needs, batched generation only where
a token is sampled, and tree scoring (a judge's digit tree) needs a custom mask. All reuse
LitGPT's own blocks, KV cache and RoPE tables, so every model family LitGPT supports works.

Rows are right-padded (`right_pad`): padding comes after the real tokens, so causal
attention never sees it and no mask or position shift is needed. Batched decoding is exact
too: each row decodes at its own positions, overwriting its padding in the cache.
"""

from __future__ import annotations

from typing import Generator, Iterator, Sequence

import torch
from litgpt.model import GPT, batched_index_select, do_softcapping


def _rope(model: GPT, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables for `positions` of shape (T,) or (B, T) -> (1 or B, T, n_elem)."""
    cos = batched_index_select(model.cos, 0, positions)
    sin = batched_index_select(model.sin, 0, positions)
    if positions.dim() == 1:
        cos, sin = cos.unsqueeze(0), sin.unsqueeze(0)
    return cos, sin


def transformer(
    model: GPT,
    idx: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    mask: torch.Tensor | None,
    input_pos: torch.Tensor | None = None,
    input_pos_maxp1: int | None = None,
) -> torch.Tensor:
    """Embeddings -> blocks -> final norm: hidden states (B, T, n_embd), no LM head."""
    x = model.transformer.wte(idx)  # (B, T, n_embd)
    if model.config.scale_embeddings:
        x = x * torch.tensor(model.config.n_embd**0.5, dtype=x.dtype)
    for block_idx, block in enumerate(model.transformer.h):
        if model.config.rope_indices is not None:
            rope = model.config.rope_indices[block_idx]
            x = block(x, cos[..., rope], sin[..., rope], mask, input_pos, input_pos_maxp1)
        else:
            x = block(x, cos, sin, mask, input_pos, input_pos_maxp1)
    return model.transformer.ln_f(x)


def right_pad(rows: Sequence[Sequence[int]], device: torch.device, width: int | None = None) -> torch.Tensor:
    """(B, width) LongTensor of token rows, zero-padded on the right (width: the longest row)."""
    width = max(len(r) for r in rows) if width is None else width
    idx = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    for b, row in enumerate(rows):
        idx[b, : len(row)] = torch.as_tensor(list(row), dtype=torch.long, device=device)
    return idx


@torch.inference_mode()
def hidden_states(model: GPT, rows: Sequence[Sequence[int]]) -> torch.Tensor:
    """Final-norm hidden states (B, T, n_embd) of right-padded token rows, causal attention."""
    idx = right_pad(rows, model.lm_head.weight.device)  # (B, T)
    T = idx.size(1)
    cos, sin = model.cos[:T].unsqueeze(0), model.sin[:T].unsqueeze(0)  # (1, T, rope_n_elem)
    return transformer(model, idx, cos, sin, None)


@torch.inference_mode()
def tail_logits(model: GPT, rows: Sequence[Sequence[int]], n_last: Sequence[int]) -> list[torch.Tensor]:
    """fp32 logits (n_last[i], V) at the last `n_last[i]` positions of each row, in one batch."""
    hidden = hidden_states(model, rows)
    return [lm_head(model, hidden[b, len(x) - k : len(x)]).float() for b, (x, k) in enumerate(zip(rows, n_last))]


@torch.inference_mode()
def sequence_losses(model: GPT, rows: Sequence[Sequence[int]], chunk: int = 256) -> list[tuple[float, int]]:
    """(summed next-token cross-entropy, tokens predicted) per row; padding never counts."""
    hidden = hidden_states(model, rows)
    out = []
    for b, x in enumerate(rows):
        targets = torch.as_tensor(list(x[1:]), dtype=torch.long, device=hidden.device)
        total = 0.0
        for start in range(0, len(targets), chunk):  # LM head in chunks: (chunk, V) at a time
            logits = lm_head(model, hidden[b, start : min(start + chunk, len(targets))]).float()
            total += float(torch.nn.functional.cross_entropy(logits, targets[start : start + chunk], reduction="sum"))
        out.append((total, len(targets)))
    return out


def lm_head(model: GPT, x: torch.Tensor) -> torch.Tensor:
    """Hidden states -> logits, with the model's final soft-capping if it has one."""
    logits = model.lm_head(x)
    if model.config.final_logit_softcapping is not None:
        logits = do_softcapping(logits, model.config.final_logit_softcapping)
    return logits


@torch.inference_mode()
def hidden_masked(model: GPT, idx: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Hidden states (B, T, n_embd) for `idx` (B, T) with RoPE `positions` (B, T) and a bool `mask` (B, 1, T, T).

    `mask[b, 0, i, j]` is True where token i may attend to token j. With a tree mask, many
    continuations of one prompt are scored in a single pass that computes the prompt once.
    """
    cos, sin = _rope(model, positions)
    return transformer(model, idx, cos, sin, mask)


@torch.inference_mode()
def forward_masked(model: GPT, idx: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits (B, T, V) at every position of `hidden_masked`."""
    return lm_head(model, hidden_masked(model, idx, positions, mask))


def _cached_step(model: GPT, idx: torch.Tensor, input_pos: torch.Tensor) -> torch.Tensor:
    """One KV-cache forward; `input_pos` is (T,) shared or (B, T) per row. Returns hidden states."""
    maxp1 = int(input_pos.max()) + 1
    cos, sin = _rope(model, input_pos)
    mask = batched_index_select(model.mask_cache, 2, input_pos)
    if mask.dim() > 4:  # (B, 1, 1, T, S) -> (B, 1, T, S)
        mask = mask.view(*(mask.shape[0:1] + mask.shape[2:]))
    return transformer(model, idx, cos, sin, mask[..., :maxp1], input_pos, maxp1)


def sample(
    logits: torch.Tensor,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Next token ids (B,) from logits (B, V): argmax at temperature 0, else top-k/top-p sampling."""
    if temperature <= 0.0 or top_k == 1:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None:
        kth = torch.topk(logits, min(top_k, logits.size(-1))).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) > top_p  # keep the smallest set whose mass reaches top_p
        logits = logits.scatter(-1, order, sorted_logits.masked_fill(drop, float("-inf")))
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _ends_with_stop(tokens: list[int], stop_tokens: Sequence[Sequence[int]]) -> int:
    """Length of the stop sequence `tokens` ends with, or 0."""
    for stop in stop_tokens:
        if stop and len(tokens) >= len(stop) and tokens[-len(stop) :] == list(stop):
            return len(stop)
    return 0


@torch.inference_mode()
def decode_logits(
    model: GPT, prompts: Sequence[Sequence[int]], max_new_tokens: int
) -> Generator[torch.Tensor, torch.Tensor, None]:
    """Yield the next-token logits (B, V) of every row per step; `send` the chosen tokens (B,) to go on.

    All prompts decode as one batch; the caller picks each row's token (greedy, sampled, its
    own settings per row), so servers can mix requests. Stops after `max_new_tokens` steps
    or at the end of the RoPE tables (max_seq_length).
    """
    device = model.lm_head.weight.device
    lengths = torch.tensor([len(p) for p in prompts], device=device)
    T = int(lengths.max())
    total = min(T + max_new_tokens, model.max_seq_length)  # the RoPE tables cover max_seq_length
    idx = right_pad(prompts, device)  # (B, T)
    model.set_kv_cache(batch_size=len(prompts), max_seq_length=total, device=device, dtype=model.lm_head.weight.dtype)
    try:
        hidden = _cached_step(model, idx, torch.arange(T, device=device))  # (B, T, C)
        last = hidden[torch.arange(len(prompts), device=device), lengths - 1]  # (B, C)
        pos = lengths.clone()
        for _ in range(total - T):
            token = yield lm_head(model, last)  # (B, V) in, the chosen (B,) back
            pos_in = pos.clamp(max=total - 1).unsqueeze(1)  # (B, 1)
            last = _cached_step(model, token.to(device).unsqueeze(1), pos_in)[:, -1]
            pos = pos + 1
    finally:
        model.clear_kv_cache()


def decode_steps(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> Iterator[torch.Tensor]:
    """Yield the next token of every row (B,) per step, decoding all prompts as one batch."""
    steps = decode_logits(model, prompts, max_new_tokens)
    try:
        logits = next(steps)
        while True:
            token = sample(logits, temperature, top_k, top_p, generator)  # (B,)
            yield token
            logits = steps.send(token)
    except StopIteration:
        return
    finally:
        steps.close()


def generate_tokens(
    model: GPT,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    stop_tokens: Sequence[Sequence[int]] = (),
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """New token ids for each prompt (stop sequence removed), decoded together in one batch."""
    outputs: list[list[int]] = [[] for _ in prompts]
    done = [False] * len(prompts)
    limits = [max(0, min(max_new_tokens, model.max_seq_length - len(p))) for p in prompts]
    for token in decode_steps(model, prompts, max_new_tokens, temperature, top_k, top_p, generator):
        for row, t in enumerate(token.tolist()):
            if done[row]:
                continue
            outputs[row].append(t)
            cut = _ends_with_stop(outputs[row], stop_tokens)
            if cut:
                del outputs[row][-cut:]
                done[row] = True
            elif len(outputs[row]) >= limits[row]:
                done[row] = True
        if all(done):
            break
    return outputs
