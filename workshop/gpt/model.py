"""GPT-2 built by hand (workshop section 3), with the workshop's module and attribute names.

`GPTModel(cfg)` takes the workshop's plain config dict, so its notebooks run unchanged.
ADDITIONS to the book's code (LLMs-from-scratch ch03/ch04), each marked "ADDITION" below, and
neither changes the math: `cfg["attn_impl"]` selects the book's explicit attention ("eager",
the default) or PyTorch's fused `scaled_dot_product_attention` ("sdpa"), and
`model(idx, kv_cache=...)` reuses the keys/values of earlier tokens when generating (the KV
cache). With the defaults (`attn_impl` eager, no cache) the forward is the book's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from workshop.core.errors import WorkshopError

GPT_CONFIG_124M: dict[str, Any] = {
    "vocab_size": 50257,  # GPT-2's BPE vocabulary
    "context_length": 1024,  # maximum number of input tokens
    "emb_dim": 768,  # embedding dimension
    "n_heads": 12,  # attention heads
    "n_layers": 12,  # transformer blocks
    "drop_rate": 0.1,  # dropout rate
    "qkv_bias": False,  # bias in the query/key/value projections (OpenAI's weights have one)
}

# Sizes of OpenAI's GPT-2 releases, to update GPT_CONFIG_124M with.
MODEL_CONFIGS: dict[str, dict[str, int]] = {
    "124M": {"emb_dim": 768, "n_layers": 12, "n_heads": 12},
    "355M": {"emb_dim": 1024, "n_layers": 24, "n_heads": 16},
    "774M": {"emb_dim": 1280, "n_layers": 36, "n_heads": 20},
    "1558M": {"emb_dim": 1600, "n_layers": 48, "n_heads": 25},
}
ATTN_IMPLS = ("eager", "sdpa")


def gpt2_config(size: str = "124M", **overrides: Any) -> dict[str, Any]:
    """The config of OpenAI's GPT-2 `size` (context 1024, qkv bias on), with `overrides` applied."""
    if size not in MODEL_CONFIGS:
        raise WorkshopError(f"GPT-2 size {size!r} is not known; use one of: {', '.join(MODEL_CONFIGS)}")
    return {**GPT_CONFIG_124M, **MODEL_CONFIGS[size], "context_length": 1024, "qkv_bias": True, **overrides}


# --- ADDITION (not in the book): the KV cache -------------------------------------------------
class LayerKVCache:
    """Keys and values one attention layer has computed so far, allocated on first use."""

    def __init__(self, max_len: int):
        self.max_len = max_len
        self.keys: torch.Tensor | None = None
        self.values: torch.Tensor | None = None

    def update(self, keys: torch.Tensor, values: torch.Tensor, start_pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Store new (b, heads, tokens, head_dim) keys/values at `start_pos`; return all cached so far."""
        if self.keys is None:
            b, heads, _, head_dim = keys.shape
            self.keys = keys.new_zeros(b, heads, self.max_len, head_dim)
            self.values = values.new_zeros(b, heads, self.max_len, head_dim)
        end = start_pos + keys.shape[2]
        self.keys[:, :, start_pos:end] = keys
        self.values[:, :, start_pos:end] = values
        return self.keys[:, :, :end], self.values[:, :, :end]


class KVCache:
    """One `LayerKVCache` per transformer block plus `pos`, the number of tokens already cached."""

    def __init__(self, n_layers: int, max_len: int):
        self.layers = [LayerKVCache(max_len) for _ in range(n_layers)]
        self.max_len = max_len
        self.pos = 0


# --- end of the KV cache addition --------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """Causal self-attention with `num_heads` heads of size d_out / num_heads."""

    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False, attn_impl="eager"):
        super().__init__()
        if d_out % num_heads != 0:
            raise WorkshopError(f"emb_dim {d_out} must be divisible by n_heads {num_heads}; fix the model config")
        if attn_impl not in ATTN_IMPLS:
            raise WorkshopError(f"attn_impl {attn_impl!r} is not known; use one of: {', '.join(ATTN_IMPLS)}")
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.attn_impl = attn_impl
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)  # combines the heads' outputs
        self.dropout = nn.Dropout(dropout)
        # 1 above the diagonal: token i must not attend to tokens after it.
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1))

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(b, num_tokens, d_out) -> (b, num_heads, num_tokens, head_dim)."""
        b, num_tokens, _ = x.shape
        return x.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def causal_mask(self, num_tokens: int, start_pos: int = 0) -> torch.Tensor:
        """True where a query (at position start_pos + i) must not see a key (at position j > start_pos + i)."""
        return self.mask.bool()[start_pos : start_pos + num_tokens, : start_pos + num_tokens]

    def sdpa(self, queries, keys, values, start_pos: int) -> torch.Tensor:  # ADDITION: PyTorch's fused attention
        """The same attention through PyTorch's fused kernel (flash/memory-efficient where available)."""
        dropout_p = self.dropout.p if self.training else 0.0
        if start_pos == 0:  # keys == queries' positions: plain causal attention, no mask tensor needed
            return F.scaled_dot_product_attention(queries, keys, values, dropout_p=dropout_p, is_causal=True)
        mask = ~self.causal_mask(queries.shape[2], start_pos)  # sdpa's boolean mask marks what may be seen
        return F.scaled_dot_product_attention(queries, keys, values, attn_mask=mask, dropout_p=dropout_p)

    def forward(self, x: torch.Tensor, kv_cache: LayerKVCache | None = None, start_pos: int = 0) -> torch.Tensor:
        b, num_tokens, _ = x.shape
        queries = self.split_heads(self.W_query(x))
        keys = self.split_heads(self.W_key(x))
        values = self.split_heads(self.W_value(x))
        if kv_cache is not None:  # ADDITION (KV cache): prepend the keys/values of the earlier tokens
            keys, values = kv_cache.update(keys, values, start_pos)
        if self.attn_impl == "sdpa":  # ADDITION (SDPA); the else branch is the book's attention
            context = self.sdpa(queries, keys, values, start_pos)
        else:
            attn_scores = queries @ keys.transpose(2, 3)  # (b, num_heads, num_tokens, num_keys)
            attn_scores.masked_fill_(self.causal_mask(num_tokens, start_pos), -torch.inf)
            attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
            context = self.dropout(attn_weights) @ values  # (b, num_heads, num_tokens, head_dim)
        context_vec = context.transpose(1, 2).contiguous().view(b, num_tokens, self.d_out)
        return self.out_proj(context_vec)


class LayerNorm(nn.Module):
    """Normalize each token's features to mean 0, variance 1, then scale and shift (learned)."""

    def __init__(self, emb_dim: int):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class GELU(nn.Module):
    """GELU activation, tanh approximation (as used to train GPT-2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1 + torch.tanh((2.0 / torch.pi) ** 0.5 * (x + 0.044715 * torch.pow(x, 3))))


class FeedForward(nn.Module):
    """Expand to 4 x emb_dim, GELU, project back."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]),
            GELU(),
            nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerBlock(nn.Module):
    """Pre-LayerNorm block: x + attention(norm1(x)), then x + feedforward(norm2(x))."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"],
            d_out=cfg["emb_dim"],
            context_length=cfg["context_length"],
            num_heads=cfg["n_heads"],
            dropout=cfg["drop_rate"],
            qkv_bias=cfg["qkv_bias"],
            attn_impl=cfg.get("attn_impl", "eager"),
        )
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x: torch.Tensor, kv_cache: LayerKVCache | None = None, start_pos: int = 0) -> torch.Tensor:
        # kv_cache/start_pos: ADDITION (KV cache); without them this is the book's block
        x = x + self.drop_shortcut(self.att(self.norm1(x), kv_cache, start_pos))  # (b, num_tokens, emb_dim)
        return x + self.drop_shortcut(self.ff(self.norm2(x)))


class GPTModel(nn.Module):
    """Token + position embeddings, `n_layers` transformer blocks, final norm, vocabulary head."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.cfg = dict(cfg)  # kept so checkpoints can rebuild the model
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def new_kv_cache(self, max_len: int | None = None) -> KVCache:  # ADDITION (KV cache)
        """An empty cache for up to `max_len` tokens (default: the context length)."""
        return KVCache(len(self.trf_blocks), max_len or self.pos_emb.num_embeddings)

    def forward(self, in_idx: torch.Tensor, kv_cache: KVCache | None = None) -> torch.Tensor:
        """Token ids (b, num_tokens) -> next-token logits (b, num_tokens, vocab_size)."""
        _, seq_len = in_idx.shape
        start_pos = 0 if kv_cache is None else kv_cache.pos  # ADDITION (KV cache): positions continue after the cache
        if kv_cache is not None and start_pos + seq_len > kv_cache.max_len:
            raise ValueError(f"KV cache holds {kv_cache.max_len} tokens; {start_pos} + {seq_len} do not fit")
        tok_embeds = self.tok_emb(in_idx)  # (b, num_tokens, emb_dim)
        pos_embeds = self.pos_emb(torch.arange(start_pos, start_pos + seq_len, device=in_idx.device))
        x = self.drop_emb(tok_embeds + pos_embeds)
        if kv_cache is None:  # the book's forward
            x = self.trf_blocks(x)
        else:  # ADDITION (KV cache): each block reads and extends its layer's cache
            for block, layer_cache in zip(self.trf_blocks, kv_cache.layers):
                x = block(x, layer_cache, start_pos)
            kv_cache.pos += seq_len
        return self.out_head(self.final_norm(x))
