"""The one model interface: what respond, the judge and the evals ask of a model, wherever it runs.

Two implementations: `workshop.models.llm.LoadedModel` (a LitGPT checkpoint in this process)
and `workshop.models.remote.RemoteModel` (an OpenAI-compatible server). A caller opens its
model once, at the edge, with `open_model(spec)` and from then on uses only `Model`. lm-eval
tasks (MMLU) read log-likelihoods token by token, which needs the weights in this process:
they take a `LoadedModel` (its `model`, `tokenizer` and `encode_plain`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Sequence

if TYPE_CHECKING:
    import torch
    from litgpt.prompts import PromptStyle

    from workshop.models.remote import RemoteOptions


class Model(Protocol):
    """A model that writes replies and gives the probability of each score 0..100 as its reply."""

    prompt_style: "PromptStyle"  # how an instruction becomes the model's prompt (a server: the identity)

    @property
    def name(self) -> str:
        """Identifies the model in caches, records and summaries."""

    @property
    def score_probs_problem(self) -> str | None:
        """Why `score_probs` cannot run for this model, or None when it can."""

    def generator(self, seed: int | None) -> Any:
        """A random stream for sampling, seeded (None: the global one); pass it to `generate_batch`."""

    def generate_batch(self, prompts: Sequence[str], max_new_tokens: int = 256, temperature: float = 0.0,
                       top_k: int | None = None, top_p: float = 1.0, seed: int | None = None, chat: bool = True,
                       sys_prompt: str | None = None, batch_size: int = 8, progress: bool = False,
                       generator: Any = None) -> list[str]:
        """Replies to `prompts` in order (greedy unless `temperature` > 0)."""

    def score_probs(self, prompts: Sequence[str]) -> "torch.Tensor":
        """(B, 101): the probability that the reply to each (chat-templated) prompt is "0", "1", ... "100"."""


def open_model(spec: str | Path | Model, device: str | None = None, remote: "RemoteOptions | None" = None) -> Model:
    """The model `spec` names: an http(s) URL opens a server, any other name (a checkpoint directory, a repo id
    under checkpoints/, smollm2-135m-instruct) is resolved and loaded onto `device`; a `Model` passes through."""
    from workshop.models.remote import RemoteModel, is_url

    if not isinstance(spec, (str, Path)):
        return spec
    if is_url(spec):
        return RemoteModel(str(spec), remote)
    from workshop.models.llm import load

    return load(spec, device=device)
