"""GPTModel of section 3: sizes, shapes, the building blocks, eager == sdpa, KV cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from workshop.core.errors import WorkshopError
from workshop.gpt.model import GELU, GPT_CONFIG_124M, GPTModel, LayerNorm, gpt2_config
from workshop.gpt.tokenizer import gpt2_tokenizer

SMALL = {**GPT_CONFIG_124M, "vocab_size": 300, "context_length": 16, "emb_dim": 32, "n_heads": 4, "n_layers": 2}


def small_model(attn_impl: str = "eager", seed: int = 0, **overrides) -> GPTModel:
    torch.manual_seed(seed)
    return GPTModel({**SMALL, "attn_impl": attn_impl, **overrides}).eval()


def test_gpt2_124m_size_and_output_shape():
    tokenizer = gpt2_tokenizer()
    batch = torch.stack([torch.tensor(tokenizer.encode(t)) for t in ("Every effort moves you", "Every day holds a")])
    assert batch.tolist() == [[6109, 3626, 6100, 345], [6109, 1110, 6622, 257]]
    torch.manual_seed(123)
    model = GPTModel(GPT_CONFIG_124M).eval()
    total = sum(p.numel() for p in model.parameters())
    assert total == 163_009_536
    assert total - sum(p.numel() for p in model.out_head.parameters()) == 124_412_160
    with torch.no_grad():
        assert model(batch).shape == (2, 4, 50257)
    assert model.trf_blocks[0].att.W_query.weight.shape == (768, 768)
    assert model.trf_blocks[0].ff.layers[0].weight.shape == (3072, 768)
    assert model.trf_blocks[11].norm1.scale.shape == (768,)
    assert model.final_norm.shift.shape == (768,)


def test_gpt2_config_sizes():
    assert gpt2_config("355M") == {**GPT_CONFIG_124M, "emb_dim": 1024, "n_layers": 24, "n_heads": 16, "qkv_bias": True}
    assert gpt2_config("1558M")["n_heads"] == 25
    with pytest.raises(WorkshopError, match="'7B' is not known"):
        gpt2_config("7B")


def test_layer_norm_and_gelu():
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8) * 4 + 2
    out = LayerNorm(8)(x)
    assert torch.allclose(out.mean(-1), torch.zeros(3, 5), atol=1e-5)
    assert torch.allclose(out.var(-1, unbiased=False), torch.ones(3, 5), atol=1e-3)
    assert torch.allclose(out, F.layer_norm(x, (8,), eps=1e-5), atol=1e-5)
    assert torch.allclose(GELU()(x), F.gelu(x, approximate="tanh"), atol=1e-6)


def test_causal_future_tokens_do_not_change_past_logits():
    model = small_model()
    idx = torch.randint(0, 300, (1, 10))
    changed = idx.clone()
    changed[0, 7:] = (changed[0, 7:] + 1) % 300
    with torch.no_grad():
        assert torch.allclose(model(idx)[:, :7], model(changed)[:, :7], atol=1e-6)


def test_eager_equals_sdpa():
    eager, sdpa = small_model("eager"), small_model("sdpa")
    idx = torch.randint(0, 300, (3, 16))
    with torch.no_grad():
        assert torch.allclose(eager(idx), sdpa(idx), atol=1e-5)


@pytest.mark.parametrize("attn_impl", ["eager", "sdpa"])
def test_kv_cache_logits_equal_full_forward(attn_impl):
    model = small_model(attn_impl)
    idx = torch.randint(0, 300, (2, 12))
    cache = model.new_kv_cache()
    with torch.no_grad():
        full = model(idx)
        step = torch.cat([model(idx[:, :5], kv_cache=cache)] + [model(idx[:, i : i + 1], kv_cache=cache) for i in range(5, 12)], 1)
    assert cache.pos == 12
    assert torch.allclose(full, step, atol=1e-5)
    with pytest.raises(ValueError, match="KV cache holds 16 tokens"):
        model(torch.zeros(2, 5, dtype=torch.long), kv_cache=cache)


def test_bad_config_is_one_line_error():
    with pytest.raises(WorkshopError, match="attn_impl 'flash'"):
        small_model("flash")
    with pytest.raises(WorkshopError, match="divisible by n_heads 5"):
        small_model(n_heads=5)
