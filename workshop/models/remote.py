"""Any OpenAI-compatible server as a model: `workshop respond --model URL`, `workshop judge --judge URL`.

`RemoteModel` implements `workshop.models.protocol.Model` as the in-process `LoadedModel` does:
`prompt_style` (the identity: the server applies its own chat template to each user
message), `generator(seed)`, `generate_batch(prompts, ...)`, a `name` for caches, and the
judge's score distribution `score_probs` read from the reply's first-token `top_logprobs`.
That needs every score "0".."100" to be one token for the served model (Llama 3: "85" is one
token; SmolLM2 writes "8", "5"): `score_probs_problem` checks it through the server itself
(/v1/completions with `echo` shows how it tokenizes them, then one chat request checks
top_logprobs come back). P(score s) = exp(logprob of the token "s") when "s" is among the `k`
listed, else 0, so with every score listed it equals the in-process distribution to float
precision. Requests go through the
official `openai` client, which times out (`request_timeout`) and retries connection
errors, 408/409/429 and 5xx with exponential backoff (0.5 s doubling up to 8 s, with
jitter, honouring Retry-After); at most `concurrency` requests are in flight. The API key
comes from the environment variable `api_key_env`, else $OPENAI_API_KEY.
"""

from __future__ import annotations

import os
import random
from functools import cached_property
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from workshop.core.errors import WorkshopError
from workshop.core.types import NonNegativeInt, PositiveFloat, PositiveInt

if TYPE_CHECKING:
    import torch


@dataclass
class RemoteOptions:
    """How to talk to an OpenAI-compatible server (used when the model or judge is a URL)."""

    served_model: str | None = None  # the server's model id (default: the only one /v1/models lists)
    api_key_env: str = "WORKSHOP_API_KEY"  # environment variable holding the API key (then $OPENAI_API_KEY)
    concurrency: PositiveInt = 8  # requests in flight at once
    request_timeout: PositiveFloat = 120.0  # seconds per request before it is retried
    retries: NonNegativeInt = 4  # retries per request (exponential backoff)
    top_logprobs: NonNegativeInt = 20  # judge logits mode: alternatives asked per token (OpenAI allows 20)


UNSUPPORTED = (400, 404, 405, 422, 501)  # how servers answer a request feature they lack
SCORE_TEXTS = [str(s) for s in range(101)]


def is_url(name: Any) -> bool:
    """True for http(s):// model names: those are servers, not checkpoints."""
    return isinstance(name, str) and name.startswith(("http://", "https://"))


class SeedStream:
    """Per-request sampling seeds drawn from one seeded stream (what a torch.Generator is in-process)."""

    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def manual_seed(self, seed: int) -> "SeedStream":
        self.random.seed(seed)
        return self

    def next_seed(self) -> int:
        return self.random.randrange(2**31)


class RemoteModel:
    """A model behind an OpenAI-compatible server, with the interface respond and the judge use."""

    def __init__(self, base_url: str, options: RemoteOptions | None = None):
        import openai
        from litgpt.prompts import Default

        self.base_url = base_url.rstrip("/")
        self.options = options or RemoteOptions()
        key = os.environ.get(self.options.api_key_env) or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.options.request_timeout,
                                    max_retries=self.options.retries)
        self.prompt_style = Default()  # the server applies the chat template
        self.model = self.options.served_model or self._only_model()

    @property
    def identity(self) -> str:
        """The served model and where: what messages call it."""
        return f"{self.model} @ {self.base_url}"

    @property
    def name(self) -> str:
        """Names the model in caches and summaries (with how many alternatives `score_probs` reads)."""
        return f"{self.identity} (top_logprobs {self.options.top_logprobs})"

    def call(self, request: Callable[[], Any]) -> Any:
        """Run one API call; the client's own retries and backoff apply, failures become one line."""
        import openai

        try:
            return request()
        except (openai.APIStatusError, openai.APIConnectionError) as e:
            raise self.failure(e) from None

    def failure(self, error: Exception) -> WorkshopError:
        import openai

        if isinstance(error, openai.APIStatusError):
            body = error.body  # the server's {"error": {...}} or {"detail": ...}, as the client parsed it
            detail = body.get("message") or body.get("detail") if isinstance(body, dict) else None
            hint = f"; set ${self.options.api_key_env}" if error.status_code == 401 else ""
            return WorkshopError(f"{self.base_url}: the server answered {error.status_code}: "
                                 f"{' '.join(str(detail or error.message).split())}{hint}")
        return WorkshopError(f"{self.base_url}: no answer after {self.options.retries} retries ({error}); is the "
                             "server running, and is the URL its /v1 base?")

    def _only_model(self) -> str:
        names = [m.id for m in self.call(self.client.models.list).data]
        if len(names) != 1:
            listed = ", ".join(names) or "none"
            raise WorkshopError(f"{self.base_url}: the server serves {listed}; pass --served-model NAME")
        return names[0]

    def generator(self, seed: int | None) -> SeedStream | None:
        return None if seed is None else SeedStream(seed)

    def chat(self, prompt: str, sys_prompt: str | None = None, **kwargs: Any) -> Any:
        messages = ([{"role": "system", "content": sys_prompt}] if sys_prompt else []) + [{"role": "user", "content": prompt}]
        return self.call(lambda: self.client.chat.completions.create(model=self.model, messages=messages, **kwargs))

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
        generator: SeedStream | None = None,
    ) -> list[str]:
        """Replies to `prompts`, each sent as one user message (`chat` is moot: the server owns the template)."""
        seeds = [generator.next_seed() if generator is not None else seed for _ in prompts]
        extra = {"top_k": top_k} if top_k is not None else None

        def reply(i: int) -> str:
            r = self.chat(prompts[i], sys_prompt, max_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                          seed=seeds[i], extra_body=extra)
            return (r.choices[0].message.content or "").strip()

        return self.map(reply, range(len(prompts)))

    def map(self, fn: Callable[[int], Any], items: Sequence[Any]) -> list[Any]:
        """`fn` over `items` with at most `concurrency` requests in flight, results in order."""
        items = list(items)
        if len(items) <= 1:
            return [fn(i) for i in items]
        with ThreadPoolExecutor(max_workers=min(self.options.concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def top_logprobs(self, prompt: str, k: int) -> list[tuple[str, float]] | None:
        """The first reply token's `k` most likely tokens and log-probs, or None if the server gives none."""
        r = self.chat(prompt, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=k)
        logprobs = r.choices[0].logprobs
        if logprobs is None or not logprobs.content:
            return None
        return [(t.token, t.logprob) for t in logprobs.content[0].top_logprobs or []]

    def echo_tokens(self, prompts: Sequence[str]) -> list[list[str]] | None:
        """How the server tokenizes each text (/v1/completions with echo), or None if it does not say."""
        import openai

        try:
            r = self.client.completions.create(model=self.model, prompt=list(prompts), max_tokens=1, echo=True,
                                               logprobs=0, temperature=0.0)
        except openai.APIStatusError as e:
            if e.status_code in UNSUPPORTED:
                return None
            raise self.failure(e) from None
        except openai.APIConnectionError as e:
            raise self.failure(e) from None
        out: list[list[str] | None] = [None] * len(prompts)
        for choice in r.choices:
            lp = choice.logprobs
            if lp is None or lp.tokens is None or lp.text_offset is None or choice.index >= len(prompts):
                return None
            text = prompts[choice.index]
            out[choice.index] = [t for t, at in zip(lp.tokens, lp.text_offset) if at < len(text)]
        return None if any(o is None for o in out) else out

    @cached_property
    def score_probs_problem(self) -> str | None:
        """None when `score_probs` can run against this server, else the reason it cannot (asked once)."""
        tokens = self.echo_tokens(SCORE_TEXTS)
        if tokens is None:
            return "the server does not show how it tokenizes the scores (/v1/completions with echo and logprobs)"
        problem = single_token_problem(tokens)
        if problem:
            return problem
        k = self.options.top_logprobs
        if k < 1 or self.top_logprobs("Answer with a number from 0 to 100.", k) is None:
            return "the server returns no top_logprobs (or --top-logprobs is 0)"
        return None

    def score_probs(self, prompts: Sequence[str]) -> "torch.Tensor":
        """(B, 101) P(the reply is "s") for s = 0..100, from each reply's listed first tokens (unlisted: 0)."""
        import torch

        tops = self.map(lambda i: self.top_logprobs(prompts[i], self.options.top_logprobs), range(len(prompts)))
        index = {text: s for s, text in enumerate(SCORE_TEXTS)}
        probs = torch.zeros(len(prompts), 101, dtype=torch.float64)
        for row, top in enumerate(tops):
            for token, logprob in top or []:
                s = index.get(token)
                if s is not None and probs[row, s] == 0:
                    probs[row, s] = float(torch.tensor(logprob, dtype=torch.float64).exp())
        return probs


def single_token_problem(tokens: list[list[str]]) -> str | None:
    """Why the echoed tokenization of "0".."100" rules `score_probs` out, or None if each score is one token."""
    for text, pieces in zip(SCORE_TEXTS, tokens):
        digits = [p for p in pieces if any(ch.isdigit() for ch in p)]
        if digits != [text]:
            return f"the scores 0..100 are not one token each for this model ({text} is {digits})"
    return None
