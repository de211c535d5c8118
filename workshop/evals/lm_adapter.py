"""An lm-eval `LM` over a LitGPT `GPT` in memory: no converted Hugging Face copy on disk.

Requests are tokenized exactly as lm-eval's `HFLM` does (context and continuation encoded
together and split at the context boundary, no special tokens, BOS/EOS as the context of
an empty one), so scores match the convert-then-HFLM path. Requests that share the same
input (the four answer letters of an MMLU question) are computed in one forward pass, the
LM head only runs where a continuation token is scored, and batches are right-padded
rows of similar length (padding after the real tokens is invisible to causal attention).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from lm_eval.api.instance import Instance
from lm_eval.api.model import TemplateLM
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
from tqdm.auto import tqdm

from workshop.models.engine import generate_tokens
from workshop.core.errors import WorkshopError
from workshop.models.engine import tail_logits

DEFAULT_MAX_GEN_TOKS = 256  # HFLM's default for generative tasks


class LitGPTLM(TemplateLM):
    """lm-eval model backed by a `workshop.models.llm.LoadedModel` (a LitGPT GPT + tokenizer)."""

    def __init__(self, loaded: Any, batch_size: int = 4, max_length: int | None = None) -> None:
        super().__init__()
        self.loaded = loaded
        self.model = loaded.model
        self.batch_size = int(batch_size)
        self._max_length = int(max_length or loaded.config.block_size)

    @property
    def eot_token_id(self) -> int:
        tok = self.loaded.tokenizer
        return tok.eos_id if tok.eos_id is not None else tok.bos_id

    @property
    def prefix_token_id(self) -> int:
        """Context of a request with an empty context: BOS if the tokenizer has one, else EOS (as HFLM)."""
        tok = self.loaded.tokenizer
        return tok.bos_id if tok.bos_id is not None else self.eot_token_id

    @property
    def max_length(self) -> int:
        return self._max_length

    @property
    def device(self) -> torch.device:
        return self.loaded.device

    def tok_encode(self, string: str, **kwargs: Any) -> list[int]:
        """Token ids of `string` without special tokens (HFLM's `add_special_tokens=False`)."""
        return self.loaded.encode_plain(string)

    def tok_decode(self, tokens: list[int]) -> str:
        return self.loaded.decode(tokens)

    def plan(self, requests: list) -> tuple[list[tuple[int, ...]], list[tuple[int, list[int]]], list[int]]:
        """The distinct model inputs, each request's (input index, continuation), and the batch order of the inputs."""
        inputs: dict[tuple[int, ...], int] = {}  # model input -> index; shared by requests with equal input
        plan: list[tuple[int, list[int]]] = []  # per request: (input index, continuation tokens)
        for _, context_enc, continuation_enc in requests:
            if len(continuation_enc) > self.max_length:
                raise WorkshopError(f"a continuation of {len(continuation_enc)} tokens exceeds the model's context of {self.max_length}")
            whole = (context_enc + continuation_enc)[-(self.max_length + 1) :]  # left-truncate like HFLM
            plan.append((inputs.setdefault(tuple(whole[:-1]), len(inputs)), continuation_enc))
        unique = list(inputs)
        order = sorted(range(len(unique)), key=lambda i: -len(unique[i]))  # longest first: OOM shows up at once
        return unique, plan, order

    def _loglikelihood_tokens(self, requests: list, disable_tqdm: bool = False, **kwargs: Any) -> list[tuple[float, bool]]:
        """(sum of continuation log-probs, continuation is the greedy choice) per (strs, context, continuation)."""
        unique, plan, order = self.plan(requests)
        users: dict[int, list[int]] = defaultdict(list)
        for r, (i, _) in enumerate(plan):
            users[i].append(r)
        results: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
        bar = tqdm(total=len(requests), desc="loglikelihood", disable=disable_tqdm)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            n_last = [max(len(plan[r][1]) for r in users[i]) for i in batch]
            for i, logits in zip(batch, tail_logits(self.model, [unique[i] for i in batch], n_last)):
                logprobs = logits.log_softmax(dim=-1)  # (k, V)
                for r in users[i]:
                    target = torch.tensor(plan[r][1], device=logprobs.device)
                    scored = logprobs[logprobs.shape[0] - len(target) :]
                    picked = scored.gather(-1, target.unsqueeze(-1)).squeeze(-1)
                    results[r] = (float(picked.sum()), bool((scored.argmax(dim=-1) == target).all()))
                    bar.update(1)
        bar.close()
        return results

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        """Log-likelihood of whole strings in disjoint windows of `max_length` (perplexity tasks)."""
        windows, owner = [], []
        for r, (string,) in enumerate(req.args for req in requests):
            tokens = self.tok_encode(string)
            for context, continuation in map(
                make_disjoint_window, get_rolling_token_windows(tokens, self.prefix_token_id, self.max_length, 1)
            ):
                windows.append((None, context, continuation))
                owner.append(r)
        totals = [0.0] * len(requests)
        for r, (logprob, _) in zip(owner, self._loglikelihood_tokens(windows, disable_tqdm=disable_tqdm)):
            totals[r] += logprob
        return totals

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Greedy (or sampled) continuations, cut at the first of the request's `until` strings."""
        groups: dict[str, list[int]] = defaultdict(list)  # requests with equal generation settings batch together
        for r, req in enumerate(requests):
            groups[repr(sorted(req.args[1].items()))].append(r)
        outputs = [""] * len(requests)
        bar = tqdm(total=len(requests), desc="generate_until", disable=disable_tqdm)
        for rows in groups.values():
            kwargs = dict(requests[rows[0]].args[1])
            until = kwargs.get("until") or []
            until = [until] if isinstance(until, str) else list(until)  # generation also stops at EOS
            max_new = int(kwargs.get("max_gen_toks", DEFAULT_MAX_GEN_TOKS))
            temperature = float(kwargs.get("temperature", 0.0)) if kwargs.get("do_sample") else 0.0
            rows = sorted(rows, key=lambda r: len(requests[r].args[0]))
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                keep = max(1, self.max_length - max_new)  # left-truncate the prompt to leave room to generate
                prompts = [self.tok_encode(requests[r].args[0])[-keep:] for r in chunk]
                new = generate_tokens(self.model, prompts, max_new, ((self.eot_token_id,),), temperature)
                for r, tokens in zip(chunk, new):
                    text = self.tok_decode(tokens)
                    for stop in until:
                        text = text.split(stop)[0] if stop else text
                    outputs[r] = text
                bar.update(len(chunk))
        bar.close()
        return outputs
