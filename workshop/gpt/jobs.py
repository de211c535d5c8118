"""The from-scratch GPT-2 jobs behind `workshop gpt pretrain|generate|download` (workshop sections 2-5).

`gpt pretrain`'s keys are the sections of a preset YAML (`model`, `data`, `train`), so
`--config the-verdict` (a preset in recipes/gpt/) and `--train.num_epochs 3` meet the same
signature; with no `--config` the defaults are a CPU-sized run on the project's own corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from workshop.core.types import NonNegativeFloat, OutputDir, PositiveInt
from workshop.gpt.config import DataConfig, ModelConfig, TrainConfig

SIZES = Literal["124M", "355M", "774M", "1558M"]
MODELS_DIR = Path("checkpoints/gpt2")


def _device(name: str | None) -> Any:
    import torch

    from workshop.models.device import default_device

    return torch.device(name) if name else default_device()


def gpt_pretrain(
    model: ModelConfig = ModelConfig(),
    data: DataConfig = DataConfig(),
    train: TrainConfig = TrainConfig(),
    out: OutputDir = Path("out/gpt-pretrain"),
    device: str | None = None,
    max_steps: PositiveInt | None = None,
    restart: bool = False,
    progress: bool = True,
) -> Any:
    """Pretrain a GPT on a text from scratch; re-running the same command resumes.

    Args:
        model: the workshop's GPT config (vocab_size, context_length, emb_dim, n_heads, n_layers, drop_rate,
            qkv_bias, attn_impl); `--config the-verdict` sets GPT-2 124M with context 256
        data: which text (path or URL; null = data/pretrain/) and how to cut it into batches
        train: optimizer and loop settings (defaults: the workshop's section 4)
        out: output directory
        device: cpu, cuda, cuda:1, ... (default: cuda when available)
        max_steps: stop after this many optimizer steps (smoke runs)
        restart: start over instead of resuming a run found in --out
        progress: show the progress bar
    """
    from workshop.gpt.config import PretrainConfig
    from workshop.gpt.pretrain import pretrain as run_pretraining

    config = PretrainConfig(model=model, data=data, train=train)
    result = run_pretraining(config, out, resume=not restart, device=_device(device), max_steps=max_steps,
                             progress=progress)
    if result.val_losses:
        print(f"val loss {result.val_losses[-1]:.3f} (perplexity {result.val_perplexity:.1f}) at step "
              f"{result.last_step} (the last), after {result.tokens_seen[-1]:,} tokens; outputs in {result.out_dir}")
    return None


def gpt_generate(
    prompt: str,
    checkpoint: Path | None = None,
    openai: SIZES | None = None,
    max_new_tokens: PositiveInt = 50,
    temperature: NonNegativeFloat = 0.0,
    top_k: PositiveInt | None = None,
    seed: int = 123,
    models_dir: Path = MODELS_DIR,
    device: str | None = None,
) -> str:
    """Continue a prompt with a pretrained checkpoint or OpenAI's GPT-2.

    Args:
        prompt: text to continue
        checkpoint: a `workshop gpt pretrain` output dir or its model.pth (config.json beside it)
        openai: OpenAI's GPT-2 of this size instead (downloaded once; needs the [tf] extra)
        max_new_tokens: tokens to generate
        temperature: 0 = greedy; higher = more random
        top_k: sample only among the k most likely tokens
        seed: random seed for sampling
        models_dir: where --openai weights live
        device: cpu, cuda, ... (default: cuda when available)
    """
    import torch

    from workshop.core.errors import WorkshopError
    from workshop.gpt.generate import generate as generate_ids
    from workshop.gpt.generate import text_to_token_ids, token_ids_to_text
    from workshop.gpt.tokenizer import GPT2_EOT_ID, gpt2_tokenizer

    if (checkpoint is None) == (openai is None):
        raise WorkshopError("give exactly one of --checkpoint DIR (your pretrained model) or --openai SIZE")
    if not prompt.strip():
        raise WorkshopError("--prompt is empty; give some text to continue")
    dev = _device(device)
    if checkpoint is not None:
        from workshop.gpt.checkpoint import load_model

        model = load_model(checkpoint, dev)
    else:
        from workshop.gpt.openai_weights import load_openai_gpt2

        model = load_openai_gpt2(openai, models_dir, dev)
    tokenizer = gpt2_tokenizer()
    torch.manual_seed(seed)
    token_ids = generate_ids(
        model, text_to_token_ids(prompt, tokenizer).to(dev), max_new_tokens=max_new_tokens,
        context_size=model.pos_emb.num_embeddings, temperature=temperature, top_k=top_k, eos_id=GPT2_EOT_ID,
    )
    return token_ids_to_text(token_ids.cpu(), tokenizer)


def gpt_download(size: SIZES = "124M", dir: Path = MODELS_DIR) -> str:
    """Download OpenAI's GPT-2 checkpoint files (resumable).

    Args:
        size: model size
        dir: models directory
    """
    from workshop.gpt.openai_weights import download_gpt2_files

    return f"GPT-2 {size} checkpoint files are in {download_gpt2_files(size, dir)}"
