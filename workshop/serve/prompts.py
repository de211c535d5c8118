"""Requests to prompt token ids, built exactly as `workshop generate` builds them, and checked.

One user message (after optional system messages) goes through the checkpoint's prompt
style, as `LoadedModel.chat_prompt` does, so a greedy answer equals `workshop generate`'s.
A longer conversation uses the prompt style when it takes message lists (Llama 3, R1),
else the checkpoint's own Jinja `chat_template` (tokenizer_config.json) in a sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from workshop.serve.protocol import Message, RequestError


def chat_template(checkpoint_dir: Path) -> str | None:
    """The Hugging Face chat template shipped with the checkpoint, if any."""
    path = checkpoint_dir / "tokenizer_config.json"
    if not path.is_file():
        return None
    template = json.loads(path.read_text(encoding="utf-8")).get("chat_template")
    return template if isinstance(template, str) else None


class Prompter:
    """The tokenizer, prompt style and context of one checkpoint, on the HTTP side of the server."""

    def __init__(self, checkpoint_dir: Path):
        from litgpt import Config, Tokenizer

        from workshop.models.llm import checkpoint_prompt_style

        config = Config.from_file(checkpoint_dir / "model_config.yaml")
        self.tokenizer = Tokenizer(checkpoint_dir)
        self.prompt_style = checkpoint_prompt_style(checkpoint_dir, config)
        self.context = config.block_size
        self.template = chat_template(checkpoint_dir)

    def ids(self, text: str, param: str) -> list[int]:
        """Token ids of a formatted prompt; refused when empty or when it fills the context."""
        ids = self.tokenizer.encode(text).tolist()
        self.check(ids, param)
        return ids

    def check(self, ids: Sequence[int], param: str) -> None:
        if not ids:
            raise RequestError(400, f"{param}: the prompt is empty", param=param)
        if len(ids) >= self.context:
            raise RequestError(400, f"{param}: the prompt is {len(ids)} tokens and this model's context is "
                               f"{self.context}; shorten it", param=param, code="context_length_exceeded")
        if not all(0 <= i < self.tokenizer.vocab_size for i in ids):
            raise RequestError(400, f"{param}: token ids must lie in 0..{self.tokenizer.vocab_size - 1}", param=param)

    def chat_text(self, messages: list[Message]) -> str:
        """The conversation as the model's prompt, ending where the assistant's reply starts."""
        from litgpt.prompts import Llama3, R1Base

        turns = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in messages]
        n_system = next((i for i, t in enumerate(turns) if t["role"] != "system"), len(turns))
        rest = turns[n_system:]
        if len(rest) == 1 and rest[0]["role"] == "user":
            system = "\n\n".join(t["content"] for t in turns[:n_system]) or None
            return self.prompt_style.apply(rest[0]["content"], sys_prompt=system)
        if isinstance(self.prompt_style, (Llama3, R1Base)):
            return self.prompt_style.apply(turns)
        if self.template is not None:
            return self.render(turns)
        roles = ", ".join(t["role"] for t in turns)
        raise RequestError(400, f"messages: this model's prompt style ({type(self.prompt_style).__name__}) takes one "
                           f"user message after optional system messages, got {roles}; send one, or format the "
                           "conversation yourself and use /v1/completions", param="messages")

    def render(self, turns: list[dict[str, Any]]) -> str:
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

        def raise_exception(message: str) -> None:  # what HF templates call on a conversation they refuse
            raise TemplateError(message)

        env.globals["raise_exception"] = raise_exception
        special = {"bos_token": self._token_text(self.tokenizer.bos_id), "eos_token": self._token_text(self.tokenizer.eos_id)}
        try:
            return env.from_string(self.template).render(messages=turns, add_generation_prompt=True, **special)
        except TemplateError as e:
            raise RequestError(400, f"messages: the model's chat template refused the conversation: {e}",
                               param="messages") from None

    def _token_text(self, token_id: int | None) -> str:
        if token_id is None:
            return ""
        return self.tokenizer.processor.id_to_token(token_id) if self.tokenizer.backend == "huggingface" else ""

    def decode(self, ids: Sequence[int]) -> str:
        import torch

        return self.tokenizer.decode(torch.tensor(list(ids), dtype=torch.long))
