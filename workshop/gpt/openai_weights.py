"""OpenAI's pretrained GPT-2 weights in `GPTModel` (workshop section 5).

`download_and_load_gpt2` fetches the TensorFlow checkpoint files (progress bar, resume, size
checks; nothing is fetched when they are already on disk) and reads them into the
workshop's nested `params` dict; `load_weights_into_gpt` copies that dict into a model.
TensorFlow is imported only here and only when reading, as the optional extra `tf`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workshop.core.errors import WorkshopError
from workshop.core.fetch import download_file
from workshop.gpt.model import GPT_CONFIG_124M, MODEL_CONFIGS, GPTModel
from workshop.core.io import read_json

BASE_URL = "https://openaipublic.blob.core.windows.net/gpt-2/models"
# The files needed to read a checkpoint; its tokenizer files are GPT-2's BPE (see tokenizer.py).
CHECKPOINT_FILES = ("checkpoint", "hparams.json", "model.ckpt.data-00000-of-00001", "model.ckpt.index", "model.ckpt.meta")


def download_gpt2_files(model_size: str, models_dir: str | os.PathLike, progress: bool = True) -> Path:
    """Make sure `models_dir/model_size` holds OpenAI's checkpoint files; download what is missing."""
    if model_size not in MODEL_CONFIGS:
        raise WorkshopError(f"GPT-2 size {model_size!r} is not known; use one of: {', '.join(MODEL_CONFIGS)}")
    model_dir = Path(models_dir) / model_size
    for name in CHECKPOINT_FILES:
        download_file(f"{BASE_URL}/{model_size}/{name}", model_dir / name, progress=progress)
    return model_dir


def _tensorflow():
    """Import TensorFlow, or explain how to install it."""
    try:
        import tensorflow as tf
    except ImportError:
        raise WorkshopError("reading OpenAI's checkpoints needs TensorFlow; run `pip install 'workshop[tf]'`") from None
    return tf


def load_gpt2_params_from_tf_ckpt(ckpt_path: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Read every variable `model/...` of a TF checkpoint into nested dicts; `model/hN/...` go to blocks[N]."""
    tf = _tensorflow()
    params: dict[str, Any] = {"blocks": [{} for _ in range(settings["n_layer"])]}
    for name, _ in tf.train.list_variables(ckpt_path):
        array = np.squeeze(tf.train.load_variable(ckpt_path, name))  # drops OpenAI's leading 1 in [1, d, 3d]
        parts = name.split("/")[1:]  # skip the "model/" scope
        target = params
        if parts[0].startswith("h") and parts[0][1:].isdigit():
            target = params["blocks"][int(parts[0][1:])]
        for key in parts[1:-1]:
            target = target.setdefault(key, {})
        target[parts[-1]] = array
    return params


def download_and_load_gpt2(model_size: str, models_dir: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """(settings, params) of OpenAI's GPT-2 `model_size`; settings is its hparams.json."""
    model_dir = download_gpt2_files(model_size, models_dir)
    ckpt_path = _tensorflow().train.latest_checkpoint(str(model_dir))
    if ckpt_path is None:
        raise WorkshopError(f"{model_dir / 'checkpoint'}: names no checkpoint; delete {model_dir} and download again")
    settings = read_json(model_dir / "hparams.json")
    return settings, load_gpt2_params_from_tf_ckpt(ckpt_path, settings)


def config_from_settings(settings: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The workshop config for an OpenAI hparams.json (qkv bias on, as OpenAI trained it)."""
    return {
        **GPT_CONFIG_124M,
        "vocab_size": settings["n_vocab"],
        "context_length": settings["n_ctx"],
        "emb_dim": settings["n_embd"],
        "n_heads": settings["n_head"],
        "n_layers": settings["n_layer"],
        "qkv_bias": True,
        **overrides,
    }


def assign(left: torch.Tensor | None, right: Any, name: str) -> None:
    """Copy weights `right` into parameter `left` in place, after checking the shape."""
    if left is None:
        raise WorkshopError(f"{name}: the model has no such parameter; build it with qkv_bias=True for OpenAI's weights")
    right = torch.as_tensor(np.ascontiguousarray(right))
    if left.shape != right.shape:
        raise WorkshopError(
            f"{name}: shape mismatch, model {tuple(left.shape)} vs weights {tuple(right.shape)}; "
            "build GPTModel with the checkpoint's config (config_from_settings)"
        )
    with torch.no_grad():
        left.copy_(right)


def load_weights_into_gpt(gpt: GPTModel, params: dict[str, Any]) -> None:
    """Copy OpenAI-layout `params` into `gpt`; TF stores linear weights as [in, out], hence the `.T`."""
    if len(params["blocks"]) != len(gpt.trf_blocks):
        raise WorkshopError(f"weights have {len(params['blocks'])} blocks, the model {len(gpt.trf_blocks)}; fix n_layers")
    assign(gpt.pos_emb.weight, params["wpe"], "wpe")
    assign(gpt.tok_emb.weight, params["wte"], "wte")
    for b, block in enumerate(params["blocks"]):
        att, ff, c_attn = gpt.trf_blocks[b].att, gpt.trf_blocks[b].ff, block["attn"]["c_attn"]
        q_w, k_w, v_w = np.split(c_attn["w"], 3, axis=-1)  # [d, 3d] -> 3 x [d, d]
        q_b, k_b, v_b = np.split(c_attn["b"], 3, axis=-1)
        for linear, w, bias, part in ((att.W_query, q_w, q_b, "q"), (att.W_key, k_w, k_b, "k"), (att.W_value, v_w, v_b, "v")):
            assign(linear.weight, w.T, f"h{b}/attn/c_attn/w ({part})")
            assign(linear.bias, bias, f"h{b}/attn/c_attn/b ({part})")
        for linear, key in ((att.out_proj, ("attn", "c_proj")), (ff.layers[0], ("mlp", "c_fc")), (ff.layers[2], ("mlp", "c_proj"))):
            weights = block[key[0]][key[1]]
            assign(linear.weight, weights["w"].T, f"h{b}/{'/'.join(key)}/w")
            assign(linear.bias, weights["b"], f"h{b}/{'/'.join(key)}/b")
        for norm, key in ((gpt.trf_blocks[b].norm1, "ln_1"), (gpt.trf_blocks[b].norm2, "ln_2")):
            assign(norm.scale, block[key]["g"], f"h{b}/{key}/g")
            assign(norm.shift, block[key]["b"], f"h{b}/{key}/b")
    assign(gpt.final_norm.scale, params["g"], "ln_f/g")
    assign(gpt.final_norm.shift, params["b"], "ln_f/b")
    assign(gpt.out_head.weight, params["wte"], "wte (output head)")  # GPT-2 ties the head to the embedding


def params_from_hf_gpt2(state_dict: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The OpenAI `params` layout from a Hugging Face GPT2Model/GPT2LMHeadModel state dict (same [in, out] weights)."""
    sd = {k.removeprefix("transformer."): v.detach().float().cpu().numpy() for k, v in state_dict.items()}
    n_layer = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("h."))

    def pair(prefix: str, w: str = "w", b: str = "b") -> dict[str, np.ndarray]:
        return {w: sd[f"{prefix}.weight"], b: sd[f"{prefix}.bias"]}

    blocks = [
        {
            "attn": {"c_attn": pair(f"h.{i}.attn.c_attn"), "c_proj": pair(f"h.{i}.attn.c_proj")},
            "mlp": {"c_fc": pair(f"h.{i}.mlp.c_fc"), "c_proj": pair(f"h.{i}.mlp.c_proj")},
            "ln_1": pair(f"h.{i}.ln_1", "g"),
            "ln_2": pair(f"h.{i}.ln_2", "g"),
        }
        for i in range(n_layer)
    ]
    return {"wte": sd["wte.weight"], "wpe": sd["wpe.weight"], "blocks": blocks, **pair("ln_f", "g")}


def load_openai_gpt2(model_size: str, models_dir: str | os.PathLike, device: torch.device | str = "cpu") -> GPTModel:
    """OpenAI's GPT-2 `model_size` as a `GPTModel` in eval mode on `device`."""
    settings, params = download_and_load_gpt2(model_size, models_dir)
    gpt = GPTModel(config_from_settings(settings))
    load_weights_into_gpt(gpt, params)
    return gpt.to(device).eval()
