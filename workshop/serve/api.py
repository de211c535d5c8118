"""`workshop serve` on LitServe: the OpenAI endpoints (HTTP side) and the batched model worker.

`OpenAIEndpoints` is a LitServe spec: it registers /v1/chat/completions, /v1/completions and
/v1/models, checks each request and turns it into token-id jobs (one per choice) before
anything is queued, then puts the jobs on LitServe's request queue. LitServe's batched
streaming loop hands up to `max_batch_size` queued jobs at a time to `ModelAPI.predict`,
which decodes them together (`rows.decode_rows`) and streams one event per row per step
back; the spec turns events into SSE chunks or one JSON reply. A client that leaves
mid-stream only loses its own rows: its buffers are dropped and later events for it ignored.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any, AsyncIterator

import litserve as ls
from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from litserve.loops.streaming_loops import BatchedStreamingLoop
from litserve.specs.base import LitSpec
from litserve.utils import LitAPIStatus, ResponseBufferItem

from workshop.serve import protocol
from workshop.serve.protocol import ChatRequest, CompletionRequest, RequestError


class OpenAIEndpoints(LitSpec):
    """The HTTP side: OpenAI requests -> checked jobs on LitServe's queue -> OpenAI replies."""

    def __init__(self, checkpoint_dir: Path, names: list[str], max_new_tokens: int, temperature: float,
                 max_logprobs: int, clamp_max_tokens: bool = False):
        super().__init__()
        self.api_path = "/v1/chat/completions"
        self.checkpoint_dir, self.names = checkpoint_dir, names
        self.max_new_tokens, self.temperature, self.max_logprobs = max_new_tokens, temperature, max_logprobs
        self.clamp_max_tokens = clamp_max_tokens
        self.prompter = None

    def __getstate__(self) -> dict:  # the model worker needs none of the HTTP side's state
        return {**super().__getstate__(), "prompter": None}

    @property
    def stream(self) -> bool:
        return True

    def pre_setup(self, lit_api: ls.LitAPI) -> None:
        self.add_endpoint("/v1/chat/completions", self.chat, ["POST"])
        self.add_endpoint("/v1/completions", self.completions, ["POST"])
        self.add_endpoint("/v1/models", self.models, ["GET"])

    def setup(self, server: Any) -> None:
        from workshop.serve.prompts import Prompter

        super().setup(server)
        self.prompter = Prompter(self.checkpoint_dir)

    # -- requests -> jobs

    async def _body(self, request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise RequestError(400, f"the request body is not valid JSON ({e})") from None

    def _check_model(self, name: str | None) -> None:
        if name and name not in self.names:
            raise RequestError(404, f"model {name!r} is not served here; use {self.names[0]!r} (see /v1/models)",
                               param="model", code="model_not_found")

    def _room(self, ids: list[int], max_tokens: int | None, param: str) -> int:
        """Tokens to generate: the request's max_tokens (400 beyond the context left, unless clamping), else the default."""
        room = self.prompter.context - len(ids)
        if max_tokens is None:
            return min(self.max_new_tokens, room)
        if max_tokens > room and not self.clamp_max_tokens:
            raise RequestError(400, f"{param}: this model's maximum context length is {self.prompter.context} tokens "
                               f"and the prompt is {len(ids)}, so at most {room} can be generated, but {param} is "
                               f"{max_tokens}; lower it (or start the server with --clamp-max-tokens)", param=param,
                               code="context_length_exceeded")
        return min(max_tokens, room)

    def _job(self, req: Any, ids: list[int], max_tokens: int | None, logprobs: int | None, echo: bool,
             choice: int, param: str = "max_tokens") -> dict:
        if logprobs is not None and logprobs > self.max_logprobs:
            name = "top_logprobs" if isinstance(req, ChatRequest) else "logprobs"
            raise RequestError(400, f"{name}: at most {self.max_logprobs} (the server's --max-logprobs), "
                               f"asked for {logprobs}", param=name)
        seed = None if req.seed is None else req.seed + choice  # n choices: n different samples
        return {"ids": ids, "max_tokens": self._room(ids, max_tokens, param),
                "temperature": self.temperature if req.temperature is None else req.temperature,
                "top_k": req.top_k, "top_p": 1.0 if req.top_p is None else req.top_p, "seed": seed,
                "stop": req.stop, "logprobs": logprobs, "echo": echo}

    def _submit(self, jobs: list[dict]) -> tuple[asyncio.Event, list[tuple[str, deque]]]:
        """Queue the jobs; their events arrive in one deque each, all waking one asyncio event."""
        event, streams = asyncio.Event(), []
        for job in jobs:
            uid, queue = uuid.uuid4().hex, deque()
            self.response_buffer[uid] = ResponseBufferItem(event=event, response_queue=queue)
            self.request_queue.put((self.response_queue_id, uid, time.monotonic(), job))
            streams.append((uid, queue))
        return event, streams

    async def _events(self, event: asyncio.Event, streams: list[tuple[str, deque]]) -> AsyncIterator[tuple[int, dict]]:
        """(choice index, event) as the worker sends them, until every choice has finished."""
        open_ = set(range(len(streams)))
        try:
            while open_:
                await event.wait()
                event.clear()
                for i in sorted(open_):
                    queue = streams[i][1]
                    while queue and i in open_:
                        data, status = queue.popleft()
                        if status == LitAPIStatus.ERROR:
                            raise worker_error(data)
                        if status == LitAPIStatus.FINISH_STREAMING:
                            open_.discard(i)
                        elif data:
                            message = json.loads(data)
                            yield i, message
                            if message["finish"] is not None:
                                open_.discard(i)
        finally:  # also when the client left: later events for these rows are dropped
            for uid, _ in streams:
                self.response_buffer.pop(uid, None)

    # -- endpoints

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse(protocol.models_list(self.names[:1]))

    async def chat(self, request: Request) -> Any:
        try:
            req = protocol.parse(ChatRequest, await self._body(request))
            self._check_model(req.model)
            if req.top_logprobs is not None and not req.logprobs:
                raise RequestError(400, "top_logprobs: set logprobs to true to use it", param="top_logprobs")
            ids = self.prompter.ids(self.prompter.chat_text(req.messages), "messages")
            param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
            logprobs = (req.top_logprobs or 0) if req.logprobs else None
            jobs = [self._job(req, ids, getattr(req, param), logprobs, False, c, param) for c in range(req.n)]
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        rid, name, (event, streams) = protocol.new_id("chatcmpl"), self.names[0], self._submit(jobs)
        if req.stream:
            usage = bool(req.stream_options and req.stream_options.include_usage)
            return sse(self._chat_chunks(rid, name, event, streams, len(ids), usage))
        try:
            choices = await self._collect(event, streams)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        return JSONResponse(protocol.chat_response(rid, name, choices, len(ids)))

    async def _collect(self, event: asyncio.Event, streams: list) -> list[dict]:
        choices = [{"text": "", "tokens": None, "prompt": None, "finish": None, "completion_tokens": 0} for _ in streams]
        async for i, e in self._events(event, streams):
            c = choices[i]
            c["text"] += e["text"]
            if e["tokens"] is not None:
                c["tokens"] = (c["tokens"] or []) + e["tokens"]
            c["prompt"] = e.get("prompt", c["prompt"])
            c["finish"], c["completion_tokens"] = e["finish"], e["completion_tokens"] or c["completion_tokens"]
        return choices

    async def _chat_chunks(self, rid: str, name: str, event, streams, prompt_tokens: int, usage: bool):
        generated = 0
        for i in range(len(streams)):
            yield protocol.chat_chunk(rid, name, i, {"role": "assistant", "content": ""}, None, None)
        async for i, e in self._events(event, streams):
            if e["text"] or e["tokens"]:
                yield protocol.chat_chunk(rid, name, i, {"content": e["text"]}, None, e["tokens"])
            if e["finish"] is not None:
                generated += e["completion_tokens"]
                yield protocol.chat_chunk(rid, name, i, {}, e["finish"], None)
        if usage:
            yield {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()), "model": name,
                   "choices": [], "usage": protocol.usage(prompt_tokens, generated)}

    async def completions(self, request: Request) -> Any:
        try:
            req = protocol.parse(CompletionRequest, await self._body(request))
            self._check_model(req.model)
            if req.best_of not in (None, req.n):
                raise RequestError(400, "best_of: not supported; leave it unset or equal to n", param="best_of")
            prompts = self._text_prompts(req.prompt)
            echo_scores = req.echo and req.logprobs is not None
            jobs = [self._job(req, ids, req.max_tokens, req.logprobs, echo_scores, c)
                    for _, ids in prompts for c in range(req.n)]
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        rid, name, (event, streams) = protocol.new_id("cmpl"), self.names[0], self._submit(jobs)
        echoes = [text if req.echo else "" for text, _ in prompts for _ in range(req.n)]
        prompt_tokens = sum(len(ids) for _, ids in prompts)
        if req.stream:
            return sse(self._completion_chunks(rid, name, event, streams, echoes, req.logprobs is not None))
        try:
            choices = await self._collect(event, streams)
        except RequestError as e:
            return JSONResponse(e.body(), status_code=e.status)
        for c, echo in zip(choices, echoes):
            records = (c["prompt"] or []) + (c["tokens"] or [])
            c["logprobs"] = protocol.completion_logprobs(records, 0) if req.logprobs is not None else None
            c["text"] = echo + c["text"]
        return JSONResponse(protocol.completion_response(rid, name, choices, prompt_tokens))

    def _text_prompts(self, prompt: Any) -> list[tuple[str, list[int]]]:
        """(text, token ids) of each prompt: a string, strings, token ids, or lists of token ids."""
        if isinstance(prompt, str):
            prompt = [prompt]
        elif prompt and isinstance(prompt[0], int):
            prompt = [prompt]
        out = []
        for i, p in enumerate(prompt):
            if isinstance(p, str):
                out.append((p, self.prompter.ids(p, f"prompt.{i}")))
            else:
                self.prompter.check(p, f"prompt.{i}")
                out.append((self.prompter.decode(p), list(p)))
        return out

    async def _completion_chunks(self, rid: str, name: str, event, streams, echoes: list[str], logprobs: bool):
        offsets = [0] * len(echoes)  # where each choice's next token starts in its text (echo included)
        for i, echo in enumerate(echoes):
            if echo and not logprobs:
                yield protocol.completion_chunk(rid, name, i, echo, None, None)
        async for i, e in self._events(event, streams):
            records = (e.get("prompt") or []) + (e["tokens"] or [])
            text = (echoes[i] if e.get("prompt") else "") + e["text"]
            if text or records or e["finish"] is not None:
                lp = protocol.completion_logprobs(records, offsets[i]) if logprobs else None
                offsets[i] += sum(len(r["token"]) for r in records)
                yield protocol.completion_chunk(rid, name, i, text, e["finish"], lp)


def sse(chunks: AsyncIterator[dict]) -> StreamingResponse:
    """Server-sent events: one `data:` line per chunk, an error chunk if the worker fails, then [DONE]."""

    async def lines():
        try:
            async for chunk in chunks:
                yield f"data: {json.dumps(chunk)}\n\n"
        except RequestError as e:
            yield f"data: {json.dumps(e.body())}\n\n"
            return
        yield "data: [DONE]\n\n"

    return StreamingResponse(lines(), media_type="text/event-stream")


def worker_error(data: Any) -> RequestError:
    """The worker's failure as a RequestError (a queue timeout keeps its 504)."""
    if isinstance(data, bytes):
        try:
            data = pickle.loads(data)  # noqa: S301  (LitServe's own transport, from our own worker process)
        except Exception:  # noqa: BLE001
            pass
    if isinstance(data, HTTPException):
        return RequestError(data.status_code, str(data.detail))
    return RequestError(500, f"the model worker failed: {data!r}" if data else "the model worker failed")


class ModelAPI(ls.LitAPI):
    """The model worker: loads the checkpoint (fp32 on CPU) and decodes batches of jobs together."""

    def __init__(self, checkpoint_dir: Path, device: str | None, precision: str, spec: OpenAIEndpoints,
                 max_batch_size: int, batch_timeout: float, api_key_env: str | None):
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout, spec=spec,
                         loop=BatchedStreamingLoop())
        self.checkpoint_dir, self.device_name, self.precision = checkpoint_dir, device, precision
        self.api_key_env = api_key_env

    def setup(self, device: str) -> None:
        from workshop.models.llm import load
        from workshop.serve.rows import Vocab

        self.lm = load(self.checkpoint_dir, device=self.device_name or device, precision=self.precision)
        self.vocab = Vocab(self.lm)

    def decode_request(self, request: dict, **kwargs: Any) -> dict:
        return request  # the HTTP side already made the job

    def predict(self, jobs: list[dict], **kwargs: Any):
        from workshop.serve.rows import decode_rows

        for events in decode_rows(self.lm, jobs, self.vocab):
            yield ["" if e is None else json.dumps(e) for e in events]

    def encode_response(self, outputs: Any, **kwargs: Any):
        yield from outputs

    def authorize(self, authorization: str | None = Header(None)) -> None:
        """With --api-key-env, requests must send `Authorization: Bearer <that variable's value>`."""
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if key and authorization != f"Bearer {key}":
            raise HTTPException(401, "invalid or missing API key (send Authorization: Bearer <key>)")
