"""The OpenAI wire format that `workshop serve` speaks: requests checked with pydantic, replies built as dicts.

Requests are validated before anything is queued, so a bad one costs no model time and gets a
4xx with OpenAI's error shape (`{"error": {"message", "type", "param", "code"}}`). Fields
other servers accept but this one cannot honour (penalties, `suffix`, images) are refused by
name rather than silently ignored; unknown extra fields are ignored, as vLLM does.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_CHOICES = 16  # `n` per request
MAX_STOP = 4  # stop strings per request (OpenAI's limit)


class RequestError(Exception):
    """A request the server refuses: HTTP status, one-line message, the offending parameter."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    def body(self) -> dict:
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class Sampling(BaseModel):
    """Fields shared by chat and text completions."""

    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    max_tokens: int | None = Field(None, ge=0)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=1)  # not OpenAI's, but vLLM's and llama.cpp's
    n: int = Field(1, ge=1)
    stop: str | list[str] | None = Field(None, validate_default=True)
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0

    @field_validator("presence_penalty", "frequency_penalty")
    @classmethod
    def _no_penalty(cls, value: float) -> float:
        if value != 0.0:
            raise ValueError("penalties are not supported by this server; leave them at 0")
        return value

    @field_validator("n")
    @classmethod
    def _few_choices(cls, value: int) -> int:
        if value > MAX_CHOICES:
            raise ValueError(f"at most {MAX_CHOICES} choices per request; this one asks for {value}")
        return value

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> list[str]:
        stops = [value] if isinstance(value, str) else list(value or [])
        if len(stops) > MAX_STOP or not all(stops):
            raise ValueError(f"give at most {MAX_STOP} non-empty stop strings")
        return stops


class ChatRequest(Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=0)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0)


class CompletionRequest(Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    logprobs: int | None = Field(None, ge=0)
    echo: bool = False
    suffix: None = None
    best_of: int | None = None

    @field_validator("prompt")
    @classmethod
    def _some_prompt(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("give a prompt: a string, a list of strings, or token ids")
        return value


def parse(model: type[BaseModel], body: Any) -> Any:
    """`body` checked against `model`; the first problem becomes a 400 naming the field."""
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as e:
        first = e.errors()[0]
        param = ".".join(str(part) for part in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        raise RequestError(400, f"{param}: {message}" if param else message, param=param) from None


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chat_logprobs(tokens: list[dict]) -> dict:
    """Chat's `logprobs` object from the worker's per-token records."""
    def entry(token: str, logprob: float) -> dict:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode("utf-8"))}

    return {"content": [{**entry(t["token"], t["logprob"]), "top_logprobs": [entry(s, lp) for s, lp in t["top"]]}
                        for t in tokens]}


def completion_logprobs(tokens: list[dict], start_offset: int) -> dict:
    """The legacy completions `logprobs` object (tokens, token_logprobs, top_logprobs, text_offset)."""
    offsets, at = [], start_offset
    for t in tokens:
        offsets.append(at)
        at += len(t["token"])
    return {"tokens": [t["token"] for t in tokens], "token_logprobs": [t["logprob"] for t in tokens],
            "top_logprobs": [None if t["top"] is None else dict(t["top"]) for t in tokens], "text_offset": offsets}


def chat_response(rid: str, model: str, choices: list[dict], prompt_tokens: int) -> dict:
    """A whole chat completion; `choices` hold text, finish, tokens (or None) and completion_tokens."""
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": i, "message": {"role": "assistant", "content": c["text"]}, "finish_reason": c["finish"],
                     "logprobs": chat_logprobs(c["tokens"]) if c["tokens"] is not None else None}
                    for i, c in enumerate(choices)],
        "usage": usage(prompt_tokens, sum(c["completion_tokens"] for c in choices)),
    }


def chat_chunk(rid: str, model: str, index: int, delta: dict, finish: str | None, tokens: list[dict] | None) -> dict:
    return {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish,
                         "logprobs": chat_logprobs(tokens) if tokens else None}]}


def completion_response(rid: str, model: str, choices: list[dict], prompt_tokens: int) -> dict:
    """A whole text completion; `choices` hold text, finish, logprobs (or None) and completion_tokens."""
    return {
        "id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
        "choices": [{"index": i, "text": c["text"], "finish_reason": c["finish"], "logprobs": c["logprobs"]}
                    for i, c in enumerate(choices)],
        "usage": usage(prompt_tokens, sum(c["completion_tokens"] for c in choices)),
    }


def completion_chunk(rid: str, model: str, index: int, text: str, finish: str | None, logprobs: dict | None) -> dict:
    return {"id": rid, "object": "text_completion", "created": int(time.time()), "model": model,
            "choices": [{"index": index, "text": text, "finish_reason": finish, "logprobs": logprobs}]}


def models_list(names: list[str]) -> dict:
    return {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "workshop"} for n in names]}
