"""Who judges: the `Judge` protocol and its two kinds, a model and a plain function, opened once by `as_judge`.

A judge is named by whatever the caller has: a checkpoint name or directory, a server URL, a
`workshop.models.protocol.Model`, or a function from prompts to written answers (a stub in a test,
any API in a notebook). `as_judge` turns it into a `Judge` at the edge; scoring, pairwise and
panels then use only the protocol. A checkpoint is resolved and loaded on first use, so a fully
cached rerun loads nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Protocol

from workshop.core.errors import WorkshopError
from workshop.judge.generate_mode import generate_scores
from workshop.judge.logits import summarize
from workshop.models.protocol import Model, open_model
from workshop.models.remote import RemoteOptions

DEFAULT_JUDGE = "meta-llama/Meta-Llama-3-8B-Instruct"
MODES = ("auto", "logits", "generate")
Answerer = Callable[[list[str]], list[str]]


class Judge(Protocol):
    """What scoring, pairwise and panels ask of a judge."""

    name: str  # the judge's id in records, summary and cache keys (known without loading anything)

    def resolve_mode(self, mode: str) -> str:
        """`auto`, `logits` or `generate` -> the mode this judge runs in (logits when it can give probabilities)."""

    def answerer(self, batch_size: int, generation: dict) -> Answerer:
        """The judge as a function from prompts to its written answers (generate mode)."""

    def model(self) -> Model:
        """The judge's model, opened on first use (logits mode)."""

    def checkpoint(self) -> Path | None:
        """The checkpoint folder each rank loads with --devices > 1, or None when the judge is no checkpoint."""


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise WorkshopError(f"--mode {mode!r} is not known; use one of: {', '.join(MODES)}")


class TextJudge:
    """A function from prompts to written answers: generate mode only."""

    def __init__(self, answer: Answerer):
        self.answer = answer
        self.name = getattr(answer, "__qualname__", type(answer).__name__)

    def resolve_mode(self, mode: str) -> str:
        check_mode(mode)
        if mode == "logits":
            raise WorkshopError("--mode logits needs a local LitGPT judge checkpoint; use --mode generate")
        return "generate"

    def answerer(self, batch_size: int, generation: dict) -> Answerer:
        return self.answer

    def model(self) -> Model:
        raise WorkshopError(f"the judge {self.name} is a function that writes answers; it has no model to read")

    def checkpoint(self) -> Path | None:
        return None


class ModelJudge:
    """A model as judge: a checkpoint (loaded on first use), a server, or a model already open."""

    def __init__(self, spec: str | Path | Model, remote: RemoteOptions | None = None):
        from workshop.models.remote import is_url

        self.spec = spec
        self.local = isinstance(spec, (str, Path)) and not is_url(spec)  # a checkpoint, opened when needed
        self._model: Model | None = None if self.local else open_model(spec, remote=remote)
        self._checkpoint: Path | None = None
        self.name = str(spec) if self._model is None else self._model.name

    def resolve_mode(self, mode: str) -> str:
        check_mode(mode)
        if mode == "generate":
            return mode
        problem = self._model.score_probs_problem if self._model is not None else None  # in-process: always
        if problem is None:
            return "logits"
        print(f"judge: {self.name}: {problem}; judging in generate mode instead", file=sys.stderr)
        return "generate"

    def answerer(self, batch_size: int, generation: dict) -> Answerer:
        return lambda prompts: self.model().generate_batch(prompts, batch_size=batch_size, **generation)

    def model(self) -> Model:
        if self._model is None:
            self._model = self._naming_the_default(lambda: open_model(self.spec))
        return self._model

    def checkpoint(self) -> Path | None:
        if not self.local:
            return None
        if self._checkpoint is None:
            from workshop.models.checkpoints import resolve_checkpoint

            self._checkpoint = self._naming_the_default(lambda: resolve_checkpoint(self.spec, build=True))
        return self._checkpoint

    def _naming_the_default(self, open_it: Callable[[], Any]) -> Any:
        """`open_it()`; when the default judge is missing, the error names the offline way out."""
        from workshop.models.checkpoints import SMOLLM2_ALIAS

        try:
            return open_it()
        except WorkshopError as e:
            if str(self.spec) != DEFAULT_JUDGE:
                raise
            online = str(e).replace(f" (offline: `workshop download {SMOLLM2_ALIAS}`)", "")
            raise WorkshopError(f"the default judge: {online}; offline, pass --judge {SMOLLM2_ALIAS} "
                                "(a 135M judge: weak, and its summary says how weak)") from None


def as_judge(spec: Any, remote: RemoteOptions | None = None) -> Judge:
    """The `Judge` that `spec` names: a function is a `TextJudge`, anything else a `ModelJudge`."""
    if isinstance(spec, (TextJudge, ModelJudge)):
        return spec
    return TextJudge(spec) if callable(spec) else ModelJudge(spec, remote)


def make_scorer(judge: Judge, mode: str, batch_size: int, generation: dict) -> Callable[[list[str]], list[dict]]:
    """A function from a batch of prompts to result dicts (score, raw, reason, argmax, valid_mass)."""
    if mode == "logits":
        model = judge.model()
        return lambda prompts: [{"raw": None, **summarize(row)} for row in model.score_probs(prompts)]
    answer = judge.answerer(batch_size, generation)
    return lambda prompts: [{**r, "argmax": None, "valid_mass": None} for r in generate_scores(answer, prompts)]
