"""Generation: greedy == temperature 0 == top-k 1, KV cache == no cache, eos stop, seeded sampling."""

from __future__ import annotations

import torch

from workshop.gpt.generate import generate, generate_text_simple, next_token, text_to_token_ids, token_ids_to_text
from workshop.gpt.model import GPT_CONFIG_124M, GPTModel
from workshop.gpt.tokenizer import gpt2_tokenizer

SMALL = {**GPT_CONFIG_124M, "vocab_size": 50, "context_length": 12, "emb_dim": 32, "n_heads": 4, "n_layers": 2}


def small_model(attn_impl: str = "eager") -> GPTModel:
    torch.manual_seed(1)
    model = GPTModel({**SMALL, "attn_impl": attn_impl}).eval()
    with torch.no_grad():  # sharper logits than the default init, so greedy picks vary along the sequence
        model.out_head.weight.mul_(8)
    return model


def test_text_token_roundtrip():
    tokenizer = gpt2_tokenizer()
    ids = text_to_token_ids("Every effort moves you", tokenizer)
    assert ids.tolist() == [[6109, 3626, 6100, 345]]
    assert token_ids_to_text(ids, tokenizer) == "Every effort moves you"


def test_greedy_paths_agree_and_cache_matches_uncached():
    for attn_impl in ("eager", "sdpa"):
        model = small_model(attn_impl)
        idx = torch.randint(0, 50, (2, 4), generator=torch.Generator().manual_seed(0))
        # 20 new tokens with context 12: the cache fills, then the window slides
        simple = generate_text_simple(model, idx, max_new_tokens=20, context_size=12)
        uncached = generate(model, idx, 20, context_size=12, use_cache=False)
        cached = generate(model, idx, 20, context_size=12, use_cache=True)
        top1 = generate(model, idx, 20, context_size=12, temperature=1.5, top_k=1)
        assert simple.shape == (2, 24)
        assert torch.equal(simple, uncached) and torch.equal(uncached, cached) and torch.equal(cached, top1)
        assert len(set(simple[0, 4:].tolist())) > 1  # not a degenerate constant output


def test_sampling_is_seeded_and_cache_independent():
    model = small_model()
    idx = torch.tensor([[1, 2, 3]])
    runs = [
        generate(model, idx, 8, context_size=12, temperature=1.0, top_k=5, use_cache=c, generator=torch.Generator().manual_seed(7))
        for c in (True, False, True)
    ]
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])


def test_top_k_masks_all_but_k():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    picks = {next_token(logits, temperature=5.0, top_k=2, generator=torch.Generator().manual_seed(s)).item() for s in range(50)}
    assert picks == {1, 3}
    assert next_token(logits).item() == 1


def test_eos_stops_generation():
    model = small_model()
    idx = torch.tensor([[5, 6]])
    greedy = generate(model, idx, 6, context_size=12)
    eos = greedy[0, 3].item()  # the second generated token
    stopped = generate(model, idx, 6, context_size=12, eos_id=eos)
    first_eos = greedy[0, 2:].tolist().index(eos)
    assert stopped.tolist() == [greedy[0, : 2 + first_eos].tolist()]
