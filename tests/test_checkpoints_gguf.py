"""GGUF -> LitGPT conversion on a tiny GGUF written here from a random transformers Llama (fast).

The GGUF is laid out as llama.cpp's converter does it (q/k rows permuted per head, tied
embeddings, byte-level BPE vocabulary), so the LitGPT checkpoint we convert it back into
must reproduce the transformers model's logits.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch

os.environ.setdefault("USE_TF", "0")  # keep transformers from importing TensorFlow

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["h i", "Ġ hi"]  # -> "hi", "Ġhi"


def llama_cpp_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf q/k permutation (rotate-half -> interleaved rotary pairs)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tiny_vocab() -> list[str]:
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    return SPECIALS + alphabet + ["".join(m.split(" ")) for m in MERGES]


def write_tiny_gguf(path: Path, hf_model, n_head: int, n_kv: int) -> None:
    """Write `hf_model` (a transformers LlamaForCausalLM, tied embeddings) as a float32 llama GGUF."""
    import gguf

    cfg = hf_model.config
    vocab = tiny_vocab()
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(cfg.rope_theta)
    w.add_rope_dimension_count(cfg.hidden_size // n_head)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_tokenizer_model("gpt2")
    w.add_token_list(vocab)
    w.add_token_merges(MERGES)
    w.add_token_types([3 if t in SPECIALS else 1 for t in vocab])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(2)
    w.add_unk_token_id(0)
    gguf_names = {
        "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
        "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
        "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
        "mlp.down_proj": "ffn_down",
    }  # fmt: skip
    for name, t in hf_model.state_dict().items():
        a = t.numpy().astype(np.float32)
        if name == "model.embed_tokens.weight":
            w.add_tensor("token_embd.weight", a)
        elif name == "model.norm.weight":
            w.add_tensor("output_norm.weight", a)
        elif name.startswith("model.layers."):
            i, rest = name.split(".")[2], ".".join(name.split(".")[3:-1])
            if rest == "self_attn.q_proj":
                a = llama_cpp_permute(a, n_head)
            elif rest == "self_attn.k_proj":
                a = llama_cpp_permute(a, n_kv)
            w.add_tensor(f"blk.{i}.{gguf_names[rest]}.weight", a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny random transformers Llama, its GGUF, and the matching LitGPT Config."""
    from litgpt import Config
    from transformers import LlamaConfig, LlamaForCausalLM

    n_head, n_kv, n_embd = 4, 2, 32
    hf_config = LlamaConfig(
        vocab_size=len(tiny_vocab()), hidden_size=n_embd, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=n_head, num_key_value_heads=n_kv, max_position_embeddings=64,
        rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    hf_model = LlamaForCausalLM(hf_config).eval()
    with torch.no_grad():  # norms away from 1 so a swapped norm would show
        for name, p in hf_model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_tiny_gguf(path, hf_model, n_head, n_kv)
    config = Config(
        name="tiny-gguf", block_size=64, vocab_size=hf_config.vocab_size, padded_vocab_size=hf_config.vocab_size,
        n_layer=2, n_head=n_head, n_embd=n_embd, n_query_groups=n_kv, rotary_percentage=1.0,
        parallel_residual=False, bias=False, norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP",
        intermediate_size=48, rope_base=10000, norm_eps=1e-5,
    )  # fmt: skip
    return hf_model, path, config


@pytest.fixture(scope="module")
def tiny_dir(tiny, tmp_path_factory) -> Path:
    from workshop.models.checkpoints import build_from_gguf

    _, path, config = tiny
    return build_from_gguf(path, tmp_path_factory.mktemp("ckpt") / "final", config, prompt_style="smollm2")


def test_unpermute_inverts_llama_cpp_permute():
    from workshop.models.gguf import unpermute_qk

    w = np.arange(8 * 16 * 3, dtype=np.float32).reshape(8 * 16, 3)  # 8 heads of size 16
    permuted = llama_cpp_permute(w, 8)
    assert not np.array_equal(permuted, w)
    np.testing.assert_array_equal(unpermute_qk(permuted, 8), w)


def test_hparams_read_and_checked(tiny):
    from workshop.core.errors import WorkshopError
    from workshop.models.gguf import check_config, llama_hparams, read_gguf

    _, path, config = tiny
    hparams = llama_hparams(read_gguf(path))
    assert hparams["n_head"] == 4 and hparams["n_query_groups"] == 2 and hparams["padded_vocab_size"] == 261
    check_config(config, hparams, path)
    with pytest.raises(WorkshopError, match="n_query_groups=2 but LitGPT config 'tiny-gguf' has 4"):
        check_config(dataclasses.replace(config, n_query_groups=4), hparams, path)


def test_converted_logits_equal_transformers(tiny, tiny_dir):
    from litgpt import GPT, Config

    hf_model, _, _ = tiny
    model = GPT(Config.from_file(tiny_dir / "model_config.yaml")).eval()
    model.load_state_dict(torch.load(tiny_dir / "lit_model.pth", weights_only=True))
    idx = torch.randint(0, hf_model.config.vocab_size, (2, 17), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, theirs = model(idx), hf_model(idx).logits
    assert ours.shape == theirs.shape == (2, 17, 261)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_tokenizer_from_gguf_metadata(tiny_dir):
    from litgpt import Tokenizer

    tok = Tokenizer(tiny_dir)  # the directory is called "final", as after finetuning
    vocab = tiny_vocab()
    ids = tok.encode("<|im_start|>user\n hi 42<|im_end|>\n").tolist()
    assert ids == [1, *(vocab.index(c) for c in "user\u010a"), vocab.index("\u0120hi"), vocab.index("\u0120"),
                   vocab.index("4"), vocab.index("2"), 2, vocab.index("\u010a")]  # fmt: skip
    assert (tok.bos_id, tok.eos_id) == (1, 2)
    assert tok.processor.decode(ids, skip_special_tokens=False) == "<|im_start|>user\n hi 42<|im_end|>\n"


def test_chat_prompt_starts_with_one_im_start(tiny_dir):
    """Regression: GGUF-derived tokenizers doubled (or dropped) the leading <|im_start|>."""
    from litgpt import Tokenizer
    from litgpt.prompts import load_prompt_style

    ids = Tokenizer(tiny_dir).encode(load_prompt_style(tiny_dir).apply("hi")).tolist()
    assert ids[0] == 1 and ids[1] != 1
    assert ids.count(1) == 3  # system, user and assistant turns


def test_build_skips_complete_and_force_rebuilds(tiny, tiny_dir, capsys):
    from workshop.models.checkpoints import build_from_gguf

    _, path, config = tiny
    before = (tiny_dir / "lit_model.pth").stat().st_mtime_ns
    assert build_from_gguf(path, tiny_dir, config, "smollm2") == tiny_dir
    assert "already built" in capsys.readouterr().err
    assert (tiny_dir / "lit_model.pth").stat().st_mtime_ns == before
    build_from_gguf(path, tiny_dir, config, "smollm2", force=True)
    assert (tiny_dir / "lit_model.pth").stat().st_mtime_ns != before
    assert [p.name for p in tiny_dir.parent.iterdir()] == ["final"]  # no temp or old dirs left


def test_failed_build_leaves_nothing(tiny, tmp_path, monkeypatch):
    import workshop.models.gguf as gguf_convert
    from workshop.models.checkpoints import build_from_gguf

    def broken(reader, config):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-build

    _, path, config = tiny
    monkeypatch.setattr(gguf_convert, "litgpt_state_dict", broken)
    with pytest.raises(KeyboardInterrupt):
        build_from_gguf(path, tmp_path / "out", config, "smollm2")
    assert list(tmp_path.iterdir()) == []


def test_non_llama_gguf_is_one_line_error(tmp_path):
    import gguf

    from workshop.core.errors import WorkshopError
    from workshop.models.gguf import llama_hparams, read_gguf

    path = tmp_path / "gpt2.gguf"
    w = gguf.GGUFWriter(path, "gpt2")
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.close()
    with pytest.raises(WorkshopError, match="general.architecture is 'gpt2'"):
        llama_hparams(read_gguf(path))
    bad = tmp_path / "bad.gguf"
    bad.write_text("not a gguf")
    with pytest.raises(WorkshopError, match="not a readable GGUF"):
        read_gguf(bad)
