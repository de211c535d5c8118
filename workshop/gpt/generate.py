"""Text generation (workshop sections 3-5): greedy, temperature and top-k sampling, KV cache.

`generate_text_simple` is the workshop's greedy loop that re-reads the whole context for every
token. `generate` is the book's (ch05: temperature, top-k, an end-of-text stop) plus an
ADDITION not in the book: by default it keeps a KV cache so each new token costs one position
(`use_cache=False` is the book's loop); the tokens are exactly the uncached ones.
"""

from __future__ import annotations

import torch

from workshop.gpt.tokenizer import END_OF_TEXT


def text_to_token_ids(text: str, tokenizer) -> torch.Tensor:
    """Text -> token ids with a batch dimension, shape (1, num_tokens)."""
    return torch.tensor(tokenizer.encode(text, allowed_special={END_OF_TEXT})).unsqueeze(0)


def token_ids_to_text(token_ids: torch.Tensor, tokenizer) -> str:
    """Token ids of shape (1, num_tokens) or (num_tokens,) -> text."""
    return tokenizer.decode(token_ids.squeeze(0).tolist())


@torch.no_grad()
def generate_text_simple(model, idx: torch.Tensor, max_new_tokens: int, context_size: int) -> torch.Tensor:
    """Append `max_new_tokens` most likely tokens to idx (b, num_tokens), no cache."""
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -context_size:]  # crop to the context the model supports
        logits = model(idx_cond)[:, -1, :]  # (b, vocab_size): the last position predicts the next token
        probas = torch.softmax(logits, dim=-1)
        idx_next = torch.argmax(probas, dim=-1, keepdim=True)  # (b, 1)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def next_token(
    logits: torch.Tensor, temperature: float = 0.0, top_k: int | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pick the next token (b, 1) from last-position logits (b, vocab_size)."""
    if top_k is not None:  # keep the k largest logits, mask the rest
        top_logits, _ = torch.topk(logits, top_k)
        logits = torch.where(logits < top_logits[:, -1:], torch.tensor(-torch.inf, device=logits.device), logits)
    if temperature > 0.0:
        probs = torch.softmax(logits / temperature, dim=-1)
        return torch.multinomial(probs, num_samples=1, generator=generator)
    return torch.argmax(logits, dim=-1, keepdim=True)


@torch.no_grad()
def generate(
    model,
    idx: torch.Tensor,
    max_new_tokens: int,
    context_size: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    eos_id: int | None = None,
    *,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend idx (b, num_tokens) by up to `max_new_tokens`, stopping once every row emits `eos_id`.

    temperature 0 is greedy decoding; rows that already ended are padded with `eos_id`.
    With `use_cache`, tokens after the prompt reuse a KV cache while the sequence fits in
    `context_size`; past it the window slides, so the prompt is recomputed, as without a cache.
    """
    kv_cache = None
    finished = torch.zeros(idx.shape[0], 1, dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        if not use_cache or idx.shape[1] > context_size:
            kv_cache = None
            logits = model(idx[:, -context_size:])
        elif kv_cache is None:  # prefill: run the whole prompt once
            kv_cache = model.new_kv_cache(context_size)
            logits = model(idx, kv_cache=kv_cache)
        else:  # decode: only the newest token
            logits = model(idx[:, -1:], kv_cache=kv_cache)
        idx_next = next_token(logits[:, -1, :], temperature, top_k, generator)
        if eos_id is not None:
            idx_next = torch.where(finished, torch.full_like(idx_next, eos_id), idx_next)
            finished |= idx_next == eos_id
            if bool(finished.all()):
                break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx
