"""LoRA by hand: no-op at init, frozen base, parameter counts, only A/B learn."""

from __future__ import annotations

import pytest
import torch

from workshop.core.errors import WorkshopError
from workshop.gpt.lora import LinearWithLoRA, LoRALayer, format_parameter_report, replace_linear_with_lora, trainable_parameters
from workshop.gpt.model import GPT_CONFIG_124M, GPTModel

SMALL = {**GPT_CONFIG_124M, "vocab_size": 100, "context_length": 8, "emb_dim": 16, "n_heads": 2, "n_layers": 2, "drop_rate": 0.0}


def small_model() -> GPTModel:
    torch.manual_seed(0)
    return GPTModel(SMALL).eval()


def test_lora_layer_math():
    torch.manual_seed(0)
    layer = LoRALayer(6, 4, rank=2, alpha=8)
    assert layer.scaling == 4.0 and torch.count_nonzero(layer.B) == 0 and torch.count_nonzero(layer.A) == 12
    with torch.no_grad():
        layer.B.fill_(0.5)
    x = torch.randn(3, 6)
    assert torch.allclose(layer(x), 4.0 * x @ layer.A @ layer.B)


def test_wrapping_every_linear_keeps_outputs_and_counts_parameters():
    model = small_model()
    idx = torch.randint(0, 100, (2, 8))
    with torch.no_grad():
        before = model(idx)
    total_before = sum(p.numel() for p in model.parameters())
    wrapped = replace_linear_with_lora(model, rank=4, alpha=8)
    # per block: W_query, W_key, W_value, out_proj (16 -> 16), ff in (16 -> 64), ff out (64 -> 16); plus out_head (16 -> 100)
    assert len(wrapped) == 2 * 6 + 1 and isinstance(model.trf_blocks[1].ff.layers[2], LinearWithLoRA)
    lora_params = 2 * (4 * 4 * (16 + 16) + 2 * 4 * (16 + 64)) + 4 * (16 + 100)
    report = trainable_parameters(model)
    assert report == {"trainable": lora_params, "total": total_before + lora_params, "percent": pytest.approx(100 * lora_params / (total_before + lora_params))}
    assert format_parameter_report(model).startswith(f"trainable params: {lora_params:,} || all params: {total_before + lora_params:,}")
    with torch.no_grad():
        assert torch.allclose(model(idx), before)


def test_targets_and_training_updates_only_lora():
    model = small_model()
    wrapped = replace_linear_with_lora(model, rank=2, alpha=4, targets=("W_query", "W_value"))
    assert wrapped == [f"trf_blocks.{b}.att.{n}" for b in range(2) for n in ("W_query", "W_value")]
    base = {k: v.clone() for k, v in model.state_dict().items() if ".lora." not in k}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=0.1)
    idx = torch.randint(0, 100, (2, 8))
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(idx).flatten(0, 1), idx.flatten()).backward()
        optimizer.step()
    for key, value in model.state_dict().items():
        if ".lora." in key:
            continue
        assert torch.equal(value, base[key]), key
    assert torch.count_nonzero(model.trf_blocks[0].att.W_query.lora.B) > 0
    with pytest.raises(WorkshopError, match="no nn.Linear layer name ends with"):
        replace_linear_with_lora(small_model(), rank=2, alpha=4, targets=("W_nothing",))
