"""MMLU (any lm-eval log-likelihood task) of a model behind an OpenAI-compatible server, through lm-eval's own client.

`served_lm` returns lm-eval's `local-completions` model (`LocalCompletionsAPI`, the client people
point at vLLM): each (context, continuation) pair is sent as token ids to `/v1/completions`
with `echo`, `logprobs: 1` and `max_tokens: 1`, and the continuation's log-likelihood is read
from the echoed prompt's log-probs. The tokenizer is loaded here (lm-eval needs it to split
context from continuation): `--tokenizer` (a folder with tokenizer.json, a checkpoint name or a
hub id), else the served model's name. Before any question, one scoring request checks that the
server can do it at all. Finished log-likelihoods go to an append-only log as they arrive, so
an interrupted run resumes where it stopped (the same `.cache/loglikelihood-*.jsonl` an
in-process run with `--devices` keeps).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lm_eval.models.openai_completions import LocalCompletionsAPI

from workshop.core.errors import WorkshopError
from workshop.core.io import AppendLog

WHAT_WORKS = ("MMLU scores log-likelihoods, which needs /v1/completions taking token-id prompts and returning the "
              "prompt's log-probs with echo (workshop serve, vLLM); chat-only servers such as Ollama's /v1 cannot score "
              "them: evaluate the checkpoint in-process (--model DIR), or use this server with `workshop respond` and "
              "`workshop judge`")


def api_key() -> str:
    """The key sent as a Bearer token: $WORKSHOP_API_KEY, else $OPENAI_API_KEY (as `respond --model URL`)."""
    from workshop.models.remote import RemoteOptions

    return os.environ.get(RemoteOptions.api_key_env) or os.environ.get("OPENAI_API_KEY") or "EMPTY"


def tokenizer_source(tokenizer: str | None, served_model: str) -> str:
    """A folder for `AutoTokenizer`: `tokenizer` (or the served name) as a folder or checkpoint name, else as a hub id."""
    from workshop.models.checkpoints import resolve_checkpoint

    name = tokenizer or served_model
    if (Path(name) / "tokenizer.json").is_file() or (Path(name) / "tokenizer_config.json").is_file():
        return name
    try:
        return str(resolve_checkpoint(name))
    except WorkshopError:
        return name


class ServedLM(LocalCompletionsAPI):
    """lm-eval's `local-completions` model, with each finished log-likelihood kept in `log_path` for resuming."""

    def __init__(self, log_path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log = AppendLog(log_path) if log_path else None
        self.done = {r["key"]: tuple(r["value"]) for r in self.log.records()} if self.log else {}

    @property
    def api_key(self) -> str:  # lm-eval's own reads only $OPENAI_API_KEY
        return api_key()

    @staticmethod
    def key(tokens: list[int], ctxlen: int) -> str:
        return hashlib.sha256(json.dumps([list(tokens), ctxlen]).encode()).hexdigest()[:32]

    def _loglikelihood_tokens(self, requests: list, **kwargs: Any) -> list[tuple[float, bool]]:
        """Only the pairs not in the log go to the server; `parse_logprobs` logs each answer as it arrives."""
        inputs, ctxlens, _ = self.batch_loglikelihood_requests([requests])
        keys = [self.key(i, c) for i, c in zip(inputs, ctxlens)]
        todo = [r for r, k in zip(requests, keys) if k not in self.done]
        if todo:
            super()._loglikelihood_tokens(todo, **kwargs)
        return [self.done[k] for k in keys]

    def parse_logprobs(self, outputs: Any, tokens: list[list[int]] | None = None, ctxlens: list[int] | None = None,
                       **kwargs: Any) -> list[tuple[float, bool]]:
        answers = LocalCompletionsAPI.parse_logprobs(outputs, tokens=tokens, ctxlens=ctxlens, **kwargs)
        for inp, ctxlen, answer in zip(tokens, ctxlens, answers):
            self.done[self.key(inp, ctxlen)] = answer
            if self.log:
                self.log.append({"key": self.key(inp, ctxlen), "value": list(answer)})
        return answers


def check_scoring(url: str, model: str, ids: list[int]) -> None:
    """One scoring request as lm-eval sends it; a server that cannot answer it fails here, in one line."""
    import openai

    from workshop.models.remote import UNSUPPORTED, RemoteModel, RemoteOptions

    remote = RemoteModel(url, RemoteOptions(served_model=model, retries=1))
    try:
        reply = remote.client.completions.create(model=model, prompt=ids, max_tokens=1, echo=True, logprobs=1,
                                                 temperature=0.0)
    except openai.APIStatusError as e:
        if e.status_code == 404 and "model" in str(e.message).lower():
            raise WorkshopError(f"{remote.failure(e)}; check --served-model (see {url}/models)") from None
        if e.status_code not in UNSUPPORTED:
            raise remote.failure(e) from None
        raise WorkshopError(f"{remote.failure(e)} (to /completions with token ids, echo and logprobs); {WHAT_WORKS}") from None
    except openai.APIConnectionError as e:
        raise remote.failure(e) from None
    logprobs = reply.choices[0].logprobs if reply.choices else None
    listed = len(logprobs.token_logprobs or []) if logprobs is not None else 0
    if listed != len(ids) + 1:
        raise WorkshopError(f"{url}: /completions with echo and logprobs listed {listed} log-probs for a {len(ids)}-token "
                            f"prompt and 1 generated token, not {len(ids) + 1}; {WHAT_WORKS}")


def served_name(url: str, served_model: str | None) -> str:
    """`served_model`, else the only model the server's /v1/models lists."""
    from workshop.models.remote import RemoteModel, RemoteOptions

    return served_model or RemoteModel(url, RemoteOptions(retries=1)).model


def served_lm(url: str, served_model: str | None, tokenizer: str | None, batch_size: int,
              out_dir: str | Path | None) -> ServedLM:
    """lm-eval's client for the model at `url` (the server's /v1 base), checked to score log-likelihoods;
    with `out_dir`, resuming from (and adding to) its log there."""
    url = url.rstrip("/")
    name = served_name(url, served_model)
    source = tokenizer_source(tokenizer, name)
    try:
        lm = ServedLM(log_path=served_log(out_dir, url, name), base_url=f"{url}/completions", model=name, tokenizer=source,
                      tokenizer_backend="huggingface", tokenized_requests=True, batch_size=batch_size,
                      num_concurrent=1)
    except OSError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WorkshopError(f"--tokenizer: cannot load a tokenizer from {source!r} ({first}); pass --tokenizer DIR "
                            "(a folder with tokenizer.json, e.g. the checkpoint the server runs) or a hub id") from None
    check_scoring(url, name, lm.tok_encode("The answer is"))
    return lm


def served_log(out_dir: str | Path | None, url: str, name: str) -> Path | None:
    """Where a served run keeps its finished log-likelihoods, named after the URL and the served model."""
    if out_dir is None:
        return None
    digest = hashlib.sha256(f"{url.rstrip('/')}:{name}".encode()).hexdigest()[:16]
    return Path(out_dir) / ".cache" / f"loglikelihood-{digest}.jsonl"
