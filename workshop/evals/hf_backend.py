"""`--backend hf`: LitGPT's own evaluate path (convert to a Hugging Face copy, then lm-eval's HFLM).

Kept for comparison with the native adapter: it writes a full converted copy of the
weights (`pytorch_model.bin`, the same size as the checkpoint) before evaluating.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import torch

from workshop.core.errors import WorkshopError
from workshop.core.io import atomic_write_json


def llama_hf_config(checkpoint_dir: Path) -> dict[str, Any]:
    """A `config.json` for a llama-style LitGPT checkpoint that ships none (e.g. the tiny test model)."""
    from litgpt import Config

    c = Config.from_file(checkpoint_dir / "model_config.yaml")
    if c.mlp_class_name != "LLaMAMLP" or c.norm_class_name != "RMSNorm" or c.parallel_residual or c.rotary_percentage != 1.0:
        raise WorkshopError(f"{checkpoint_dir}/config.json: not found; --backend hf needs the Hugging Face config.json")
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": c.n_embd,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.n_layer,
        "num_attention_heads": c.n_head,
        "num_key_value_heads": c.n_query_groups,
        "head_dim": c.head_size,
        "max_position_embeddings": c.block_size,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": c.rope_base,
        "vocab_size": c.padded_vocab_size,
        "attention_bias": c.bias,
        "mlp_bias": c.bias,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    }


def convert_checkpoint(checkpoint_dir: Path, hf_dir: Path) -> int:
    """LitGPT's conversion into `hf_dir` (config, tokenizer, pytorch_model.bin); returns the bytes written."""
    from litgpt.scripts.convert_lit_checkpoint import convert_lit_checkpoint
    from litgpt.utils import copy_config_files

    hf_dir.mkdir(parents=True, exist_ok=True)
    copy_config_files(source_dir=checkpoint_dir, out_dir=hf_dir)
    if not (hf_dir / "config.json").is_file():
        atomic_write_json(hf_dir / "config.json", llama_hf_config(checkpoint_dir))
    with contextlib.redirect_stdout(sys.stderr):  # LitGPT prints its arguments; keep stdout for results
        convert_lit_checkpoint(checkpoint_dir=checkpoint_dir, output_dir=hf_dir)
    # as LitGPT's evaluate does: re-save the converted weights as the file name transformers loads
    state = torch.load(hf_dir / "model.pth", weights_only=True)
    torch.save(state, hf_dir / "pytorch_model.bin")
    os.remove(hf_dir / "model.pth")
    return sum(f.stat().st_size for f in hf_dir.iterdir() if f.is_file())


def hf_lm(hf_dir: Path, batch_size: int, device: torch.device, dtype: torch.dtype) -> Any:
    """lm-eval's HFLM over the converted copy (local files only, never remote code)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from lm_eval.models.huggingface import HFLM

    return HFLM(
        pretrained=str(hf_dir.resolve()),
        device=str(device),
        batch_size=batch_size,
        dtype=dtype,
        trust_remote_code=False,
    )
