"""`workshop generate`: one reply from a LitGPT checkpoint (greedy by default)."""

from __future__ import annotations

import sys

from workshop.core.types import NonNegativeFloat, PositiveInt, ClosedUnitInterval


def generate_reply(
    model: str,
    prompt: str,
    max_new_tokens: PositiveInt = 256,
    temperature: NonNegativeFloat = 0.0,
    top_k: PositiveInt | None = None,
    top_p: ClosedUnitInterval = 1.0,
    seed: int | None = None,
    sys_prompt: str | None = None,
    raw: bool = False,
    stream: bool = False,
    device: str | None = None,
    precision: str = "auto",
) -> str | None:
    """Generate a reply from a LitGPT checkpoint, in its chat template, greedy by default.

    Args:
        model: checkpoint directory, repo id under checkpoints/, or smollm2-135m-instruct
        prompt: the user prompt; the checkpoint's chat template is applied
        max_new_tokens: most tokens to generate
        temperature: 0 = greedy; above 0 samples
        top_k: sample from the k most likely tokens
        top_p: nucleus sampling mass (1.0 = off)
        seed: random seed for sampling
        sys_prompt: system prompt, for chat templates that take one
        raw: send the prompt as is, without the chat template
        stream: print tokens as they are generated
        device: cpu, cuda, cuda:1, ... (default: cuda if available)
        precision: auto (bf16 on a GPU, fp32 on CPU), 32-true, bf16-true, 16-true
    """
    from workshop.models.llm import load

    loaded = load(model, device=device, precision=precision)
    kwargs = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed,
                  chat=not raw, sys_prompt=sys_prompt)
    if not stream:
        return loaded.generate(prompt, **kwargs)
    for piece in loaded.generate(prompt, stream=True, **kwargs):
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return None  # shown as it came
