"""The batched KV-cache engine and `workshop.load` on tiny checkpoints: exact against plain forwards."""

from __future__ import annotations

import pytest
import torch

import workshop
from workshop.models.engine import forward_masked, generate_tokens
from workshop.core.errors import WorkshopError

PROMPTS = ["Rate 85 or 100", "What is 2+2? Tell me please, now and then.", "x", "A longer prompt " * 5]


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint_dir):
    return workshop.load(tiny_checkpoint_dir)


def naive_greedy(model, ids: list[int], n: int) -> list[int]:
    """Greedy decoding with full forwards and no cache: the reference."""
    x = torch.tensor([ids])
    out = []
    with torch.no_grad():
        for _ in range(n):
            token = int(model(x)[0, -1].argmax())
            out.append(token)
            x = torch.cat([x, torch.tensor([[token]])], dim=1)
    return out


def test_cached_greedy_equals_naive_forward_loop(tiny):
    ids = tiny.encode(tiny.chat_prompt(PROMPTS[1]))
    cached = generate_tokens(tiny.model, [ids], max_new_tokens=12)[0]
    assert cached == naive_greedy(tiny.model, ids, 12)


def test_batched_equals_sequential(tiny):
    batched = tiny.generate_batch(PROMPTS, max_new_tokens=16, batch_size=3)
    sequential = [tiny.generate(p, max_new_tokens=16) for p in PROMPTS]
    assert batched == sequential
    assert all(len(r) > 0 for r in batched)


def test_stop_tokens_end_generation(tiny):
    ids = tiny.encode("hello")
    first = generate_tokens(tiny.model, [ids], max_new_tokens=5)[0]
    stopped = generate_tokens(tiny.model, [ids], max_new_tokens=5, stop_tokens=[first[2:4]])[0]
    assert stopped == first[:2]


def test_sampling_is_reproducible_with_seed(tiny):
    a = tiny.generate(PROMPTS[0], max_new_tokens=8, temperature=1.0, seed=3)
    b = tiny.generate(PROMPTS[0], max_new_tokens=8, temperature=1.0, seed=3)
    greedy = tiny.generate(PROMPTS[0], max_new_tokens=8)
    assert a == b
    assert tiny.generate(PROMPTS[0], max_new_tokens=8, temperature=1.0, top_k=1) == greedy


def test_stream_yields_the_same_text(tiny):
    assert "".join(tiny.generate(PROMPTS[1], max_new_tokens=10, stream=True)).strip() == tiny.generate(
        PROMPTS[1], max_new_tokens=10
    )


def test_forward_masked_tree_equals_separate_forwards(tiny):
    prompt = tiny.encode("The score is")
    a, b = 23, 20  # two alternative next tokens, scored as branches in one pass
    idx = torch.tensor([prompt + [a, b]])
    P = len(prompt)
    positions = torch.tensor([list(range(P)) + [P, P]])
    mask = torch.ones(P + 2, P + 2, dtype=torch.bool).tril()
    mask[P + 1, P] = False  # branch b must not see branch a
    logits = forward_masked(tiny.model, idx, positions, mask[None, None])
    with torch.no_grad():
        ref_a = tiny.model(torch.tensor([prompt + [a]]))[0]
        ref_b = tiny.model(torch.tensor([prompt + [b]]))[0]
    torch.testing.assert_close(logits[0, : P + 1], ref_a, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits[0, P + 1], ref_b[-1], atol=1e-5, rtol=1e-5)


def test_load_errors_are_one_line(tmp_path):
    with pytest.raises(WorkshopError, match="no checkpoint at .*nope"):
        workshop.load(tmp_path / "nope")
    (tmp_path / "model_config.yaml").write_text("name: x\n")
    with pytest.raises(WorkshopError, match="has no lit_model.pth"):
        workshop.load(tmp_path)
