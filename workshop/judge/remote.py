"""The judge's logits mode over an OpenAI-compatible server: P(score) from the server's top_logprobs.

In-process, logits mode reads the judge's probability of every score 0..100. A server only
lists the `k` most likely first tokens of the reply (`top_logprobs`), so this works when
every score is one token for that model (Llama 3: "85" is one token; SmolLM2 writes "8",
"5"). `logits_available` checks that through the server itself: /v1/completions with
`echo` shows how it tokenizes "0".."100"; then one chat request checks top_logprobs come
back. If either fails the judge uses generate mode, and says so in one line.

P(score s) = exp(logprob of the token "s") when "s" is among the k listed, else 0 (unseen);
the score is the probability-weighted mean over the listed scores divided by their mass
(`valid_mass`), exactly as in-process, so with every score listed the two agree to float
precision, and with fewer the score is over the listed ones.
"""

from __future__ import annotations

import sys
from typing import Callable

import torch

SCORE_TEXTS = [str(s) for s in range(101)]


def single_token_problem(tokens: list[list[str]]) -> str | None:
    """Why the echoed tokenization of "0".."100" rules logits mode out, or None if each score is one token."""
    for text, pieces in zip(SCORE_TEXTS, tokens):
        digits = [p for p in pieces if any(ch.isdigit() for ch in p)]
        if digits != [text]:
            return f"the scores 0..100 are not one token each for this model ({text} is {digits})"
    return None


def logits_available(remote, k: int) -> str | None:
    """None when logits mode can run against `remote`, else the reason it cannot."""
    tokens = remote.echo_tokens(SCORE_TEXTS)
    if tokens is None:
        return "the server does not show how it tokenizes the scores (/v1/completions with echo and logprobs)"
    problem = single_token_problem(tokens)
    if problem:
        return problem
    if k < 1 or remote.top_logprobs("Answer with a number from 0 to 100.", k) is None:
        return "the server returns no top_logprobs (or --top-logprobs is 0)"
    return None


def resolve_remote_mode(remote, mode: str) -> str:
    """`auto`/`logits` -> logits if the server can, else generate (with one line saying why)."""
    if mode == "generate":
        return mode
    reason = logits_available(remote, remote.options.top_logprobs)
    if reason is None:
        return "logits"
    print(f"judge: {remote.identity}: {reason}; judging in generate mode instead", file=sys.stderr)
    return "generate"


def score_probs(top: list[tuple[str, float]]) -> torch.Tensor:
    """(101,) P(score) from one position's listed tokens; scores not listed get 0."""
    probs = torch.zeros(101, dtype=torch.float64)
    index = {text: s for s, text in enumerate(SCORE_TEXTS)}
    for token, logprob in top:
        s = index.get(token)
        if s is not None and probs[s] == 0:
            probs[s] = float(torch.tensor(logprob, dtype=torch.float64).exp())
    return probs


def logits_scorer(remote) -> Callable[[list[str]], list[dict]]:
    """Judge results (score, argmax, valid_mass, ...) for a batch of prompts, from top_logprobs."""
    from workshop.judge.logits import summarize

    k = remote.options.top_logprobs

    def by_logprobs(prompts: list[str]) -> list[dict]:
        tops = remote.map(lambda i: remote.top_logprobs(prompts[i], k), range(len(prompts)))
        return [{"raw": None, **summarize(score_probs(top or []))} for top in tops]

    return by_logprobs
