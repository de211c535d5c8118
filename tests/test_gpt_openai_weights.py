"""OpenAI weights (section 5): logits equal Hugging Face's GPT-2; a TF checkpoint in OpenAI's layout loads offline."""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch

from workshop.core.errors import WorkshopError
from workshop.gpt import openai_weights
from workshop.gpt.model import GPTModel
from workshop.gpt.openai_weights import (
    config_from_settings,
    download_and_load_gpt2,
    load_weights_into_gpt,
    params_from_hf_gpt2,
)

SETTINGS = {"n_vocab": 100, "n_ctx": 16, "n_embd": 32, "n_head": 4, "n_layer": 2}


def hf_gpt2(state_dict: dict[str, torch.Tensor] | None = None, seed: int = 0):
    """A small Hugging Face GPT2LMHeadModel: random weights (biases and norms too) or the given ones."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        vocab_size=SETTINGS["n_vocab"], n_positions=SETTINGS["n_ctx"], n_embd=SETTINGS["n_embd"],
        n_head=SETTINGS["n_head"], n_layer=SETTINGS["n_layer"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
    )
    torch.manual_seed(seed)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        if state_dict is None:
            for p in model.parameters():
                p.normal_(0.0, 0.3)
        else:
            model.load_state_dict(state_dict, strict=False)
    return model


@pytest.mark.parametrize("attn_impl", ["eager", "sdpa"])
def test_logits_match_hugging_face(attn_impl):
    hf = hf_gpt2()
    gpt = GPTModel(config_from_settings(SETTINGS, attn_impl=attn_impl)).eval()
    load_weights_into_gpt(gpt, params_from_hf_gpt2(hf.state_dict()))
    idx = torch.randint(0, 100, (2, 16), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(idx).logits
        assert torch.allclose(gpt(idx), expected, atol=1e-4)
    assert expected.abs().max() > 1.0  # non-trivial logits


def test_shape_mismatch_and_missing_bias_are_clear_errors():
    params = params_from_hf_gpt2(hf_gpt2().state_dict())
    with pytest.raises(WorkshopError, match=r"wpe: shape mismatch, model \(32, 32\) vs weights \(16, 32\)"):
        load_weights_into_gpt(GPTModel(config_from_settings(SETTINGS, context_length=32)), params)
    with pytest.raises(WorkshopError, match="qkv_bias=True"):
        load_weights_into_gpt(GPTModel(config_from_settings(SETTINGS, qkv_bias=False)), params)


def random_openai_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Variables named and shaped as in OpenAI's GPT-2 TF checkpoint (linear weights [1, in, out])."""
    rng = np.random.default_rng(seed)
    d, v, n = SETTINGS["n_embd"], SETTINGS["n_vocab"], SETTINGS["n_ctx"]
    shapes = {"model/wte": (v, d), "model/wpe": (n, d), "model/ln_f/g": (d,), "model/ln_f/b": (d,)}
    for i in range(SETTINGS["n_layer"]):
        for name, shape in {
            "attn/c_attn/w": (1, d, 3 * d), "attn/c_attn/b": (3 * d,), "attn/c_proj/w": (1, d, d), "attn/c_proj/b": (d,),
            "mlp/c_fc/w": (1, d, 4 * d), "mlp/c_fc/b": (4 * d,), "mlp/c_proj/w": (1, 4 * d, d), "mlp/c_proj/b": (d,),
            "ln_1/g": (d,), "ln_1/b": (d,), "ln_2/g": (d,), "ln_2/b": (d,),
        }.items():
            shapes[f"model/h{i}/{name}"] = shape
    return {name: rng.normal(0.0, 0.3, shape).astype(np.float32) for name, shape in shapes.items()}


def write_openai_checkpoint(model_dir, arrays: dict[str, np.ndarray]) -> None:
    """Save `arrays` with TF1's Saver, plus hparams.json and a relative `checkpoint` file, as OpenAI ships them."""
    tf = pytest.importorskip("tensorflow")
    model_dir.mkdir(parents=True)
    with tf.Graph().as_default():
        variables = [tf.compat.v1.Variable(value, name=name) for name, value in arrays.items()]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.variables_initializer(variables))
            tf.compat.v1.train.Saver(variables).save(sess, str(model_dir / "model.ckpt"))
    (model_dir / "checkpoint").write_text('model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    (model_dir / "hparams.json").write_text(str(SETTINGS).replace("'", '"'))


def hf_state_dict(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The same weights under Hugging Face names (`model/h0/attn/c_attn/w` -> `transformer.h.0.attn.c_attn.weight`)."""
    state = {}
    for name, value in arrays.items():
        parts = name.split("/")[1:]
        if parts[0][0] == "h" and parts[0][1:].isdigit():
            parts[0] = f"h.{parts[0][1:]}"
        parts = parts[:-1] + [{"w": "weight", "g": "weight", "b": "bias"}[parts[-1]]] if len(parts) > 1 else parts + ["weight"]
        state["transformer." + ".".join(parts)] = torch.from_numpy(value.squeeze(0) if value.ndim == 3 else value)
    return state


def test_tf_checkpoint_loads_offline_and_matches_reference(tmp_path, monkeypatch):
    arrays = random_openai_arrays()
    write_openai_checkpoint(tmp_path / "124M", arrays)
    monkeypatch.setattr(openai_weights, "BASE_URL", "http://127.0.0.1:9/unreachable")  # any download would fail

    settings, params = download_and_load_gpt2("124M", tmp_path)
    assert settings == SETTINGS
    assert np.array_equal(params["blocks"][1]["attn"]["c_attn"]["w"], arrays["model/h1/attn/c_attn/w"][0])
    assert np.array_equal(params["g"], arrays["model/ln_f/g"])
    gpt = GPTModel(config_from_settings(settings)).eval()
    load_weights_into_gpt(gpt, params)

    reference = hf_gpt2(hf_state_dict(arrays))
    idx = torch.randint(0, 100, (1, 16), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.allclose(gpt(idx), reference(idx).logits, atol=1e-4)


def test_missing_file_offline_is_one_line_error(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(openai_weights, "BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(WorkshopError, match=r"cannot reach http://127.0.0.1:\d+/124M/checkpoint") as err:
        download_and_load_gpt2("124M", tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(WorkshopError, match="'125M' is not known"):
        download_and_load_gpt2("125M", tmp_path)
