"""Load a LitGPT checkpoint for inference, in a precision that works on the device.

`LLM.load` from LitGPT puts weights in bf16 even on a CPU, which garbles small models
(SmolLM2-135M answers nonsense). `load` reads `lit_model.pth` with `weights_only=True`,
picks fp32 on CPU and bf16 on capable GPUs, and generates greedily by default through the
batched KV-cache engine in `workshop.models.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import torch
from litgpt import GPT, Config, Tokenizer
from litgpt.prompts import PromptStyle, has_prompt_style, load_prompt_style
from tqdm.auto import tqdm

from workshop.models.device import default_device, precision_to_dtype, resolve_precision
from workshop.models.engine import decode_steps, generate_tokens
from workshop.core.errors import WorkshopError

if TYPE_CHECKING:
    from workshop.models.score_probs import ScoreTree


@dataclass
class LoadedModel:
    """A LitGPT model with its tokenizer and prompt style, ready to generate (a `workshop.models.protocol.Model`)."""

    model: GPT
    config: Config
    tokenizer: Tokenizer
    prompt_style: PromptStyle
    device: torch.device
    dtype: torch.dtype
    checkpoint_dir: Path

    score_probs_problem = None  # in-process, the probability of every score can always be read

    @property
    def name(self) -> str:
        """Names the model in caches and summaries: its checkpoint folder."""
        return str(self.checkpoint_dir.resolve())

    @cached_property
    def score_tree(self) -> "ScoreTree":
        """The token trie of the scores "0".."100" for this tokenizer (built on first use)."""
        from workshop.models.score_probs import build_tree

        return build_tree(self)

    def score_probs(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, 101) P(the reply to each chat-templated prompt is "s") for s = 0..100, one forward per batch."""
        from workshop.models.score_probs import score_probs

        return score_probs(self, prompts, self.score_tree)

    @property
    def stop_tokens(self) -> tuple[tuple[int, ...], ...]:
        """Token sequences that end a reply (EOS, plus the prompt style's own)."""
        return tuple(tuple(s) for s in self.prompt_style.stop_tokens(self.tokenizer) if s and None not in s)

    def encode(self, text: str, bos: bool | None = None) -> list[int]:
        return self.tokenizer.encode(text, bos=bos).tolist()

    def encode_plain(self, text: str) -> list[int]:
        """Token ids of `text` with no BOS/EOS added (Hugging Face's `add_special_tokens=False`, as lm-eval's HFLM)."""
        if self.tokenizer.backend == "huggingface":
            return self.tokenizer.processor.encode(text, add_special_tokens=False).ids
        return self.tokenizer.encode(text, bos=False).tolist()

    def decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(torch.tensor(list(ids), dtype=torch.long))

    def chat_prompt(self, prompt: str, sys_prompt: str | None = None) -> str:
        """`prompt` wrapped in the checkpoint's prompt style (chat template)."""
        return self.prompt_style.apply(prompt, sys_prompt=sys_prompt)

    def _prompt_ids(self, prompt: str, chat: bool, sys_prompt: str | None) -> list[int]:
        ids = self.encode(self.chat_prompt(prompt, sys_prompt) if chat else prompt)
        if len(ids) >= self.config.block_size:
            raise WorkshopError(
                f"prompt is {len(ids)} tokens, the model's context is {self.config.block_size}; shorten the prompt"
            )
        return ids

    def generator(self, seed: int | None) -> torch.Generator | None:
        """A random stream for sampling on this model's device (None = the global one)."""
        return None if seed is None else torch.Generator(device=self.device).manual_seed(seed)

    def generate(
        self,
        prompt: str,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float = 1.0,
        seed: int | None = None,
        chat: bool = True,
        sys_prompt: str | None = None,
        stream: bool = False,
    ) -> str | Iterator[str]:
        """The model's reply to `prompt` (greedy unless `temperature` > 0); `stream=True` yields text pieces."""
        if stream:
            return self._stream(prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, sys_prompt)
        kwargs = dict(temperature=temperature, top_k=top_k, top_p=top_p, seed=seed, chat=chat, sys_prompt=sys_prompt)
        return self.generate_batch([prompt], max_new_tokens=max_new_tokens, **kwargs)[0]

    def _stream(self, prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, sys_prompt) -> Iterator[str]:
        ids = self._prompt_ids(prompt, chat, sys_prompt)
        out: list[int] = []
        shown = ""
        steps = decode_steps(self.model, [ids], max_new_tokens, temperature, top_k, top_p, self.generator(seed))
        for token in steps:
            out.append(int(token[0]))
            if any(tuple(out[-len(s) :]) == s for s in self.stop_tokens):
                steps.close()
                return
            text = self.decode(out)
            if not text.endswith("\ufffd"):  # wait for a multi-byte character to complete
                yield text[len(shown) :]
                shown = text

    def generate_batch(
        self,
        prompts: Sequence[str],
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float = 1.0,
        seed: int | None = None,
        chat: bool = True,
        sys_prompt: str | None = None,
        batch_size: int = 8,
        progress: bool = False,
        generator: torch.Generator | None = None,
    ) -> list[str]:
        """Replies to many prompts, `batch_size` at a time (similar lengths batched together).

        Sampling draws from `generator` when given (a caller's stream across calls), else from `seed`.
        """
        ids = [self._prompt_ids(p, chat, sys_prompt) for p in prompts]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        replies: list[str] = [""] * len(ids)
        generator = generator if generator is not None else self.generator(seed)
        bar = tqdm(total=len(ids), desc="generate", unit="prompt", disable=not progress)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            new = generate_tokens(
                self.model, [ids[i] for i in rows], max_new_tokens, self.stop_tokens, temperature, top_k, top_p, generator
            )
            for i, tokens in zip(rows, new):
                replies[i] = self.decode(tokens).strip()
            bar.update(len(rows))
        bar.close()
        return replies


def load(
    checkpoint_dir: str | Path, device: str | torch.device | None = None, precision: str | None = "auto"
) -> LoadedModel:
    """Load a LitGPT checkpoint onto `device` (default: CUDA if available, else CPU).

    `checkpoint_dir` is any name the CLI takes: a directory, a repo id under checkpoints/, or
    smollm2-135m-instruct (built offline when missing).
    """
    from workshop.models.checkpoints import resolve_checkpoint

    checkpoint_dir = resolve_checkpoint(checkpoint_dir, build=True)
    device = torch.device(device) if device is not None else default_device()
    dtype = precision_to_dtype(resolve_precision(precision, device))
    config = Config.from_file(checkpoint_dir / "model_config.yaml")
    state = torch.load(checkpoint_dir / "lit_model.pth", map_location="cpu", mmap=True, weights_only=True)
    state = state.get("model", state)
    if device.type == "cpu":  # mmap-backed weights make CPU matmuls slower; other devices copy anyway
        state = {k: v.clone() for k, v in state.items()}
    with torch.device("meta"):
        model = GPT(config)
    model.load_state_dict(state, strict=True, assign=True)
    model.cos, model.sin = model.rope_cache(device=torch.device("cpu"))  # meta buffers can't be moved
    model = model.to(device=device, dtype=dtype).eval()
    model.cos, model.sin = model.rope_cache(device=device)  # keep RoPE tables in fp32, as in training
    return LoadedModel(model, config, Tokenizer(checkpoint_dir), checkpoint_prompt_style(checkpoint_dir, config), device,
                       dtype, checkpoint_dir)


def checkpoint_prompt_style(checkpoint_dir: Path, config: Config) -> PromptStyle:
    """The checkpoint's own prompt style (prompt_style.yaml), else the one LitGPT names for its model."""
    if has_prompt_style(checkpoint_dir):
        return load_prompt_style(checkpoint_dir)
    return PromptStyle.from_config(config)
