"""The model side of `workshop serve`: a batch of requests decoded together, each with its own settings.

A job is a plain dict made by the HTTP side (already checked): `ids` (prompt token ids),
`max_tokens`, `temperature`, `top_k`, `top_p`, `seed`, `stop` (strings), `logprobs` (None,
or how many alternatives to list per token) and `echo` (also score the prompt's tokens).
`decode_rows` runs them through `workshop.models.engine.decode_logits` as one batch and yields, per
step, one event per row (None once that row is done): the new text, the per-token log-probs
when asked, and the finish reason ("stop" at an end-of-reply token or a stop string,
"length" at `max_tokens` or the end of the context). As vLLM and OpenAI do, the end-of-reply
token that stops a row is listed among its log-probs (with empty text) and counted in
`completion_tokens`: clients that read `token_logprobs[ctxlen:-1]` after an `echo` rely on it.

Text is released only when it cannot change: a trailing partial UTF-8 character, a possible
start of a stop string and the tokens of a possible multi-token stop sequence wait for the
next step, so the streamed pieces always add up to the final text.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch

from workshop.models.engine import decode_logits, sample


class Vocab:
    """Each token id's text, decoded once (log-prob tables list thousands of tokens)."""

    def __init__(self, lm: Any):
        self.lm = lm
        self._text: list[str] | None = None

    def __getitem__(self, token: int) -> str:
        if self._text is None:
            self._text = [self.lm.decode([i]) for i in range(self.lm.config.padded_vocab_size)]
        return self._text[token]


def token_record(vocab: Vocab, token: int, logp: torch.Tensor | None, top: int) -> dict:
    """{token, logprob, top: [[text, logprob], ...]} for `token` under log-probs `logp` (V,)."""
    if logp is None:  # the first prompt token has no context to be scored in
        return {"token": vocab[token], "logprob": None, "top": None}
    best = torch.topk(logp, top) if top else None
    alternatives = [[vocab[int(i)], float(v)] for v, i in zip(best.values, best.indices)] if best is not None else []
    return {"token": vocab[token], "logprob": float(logp[token]), "top": alternatives}


class Row:
    """One request being decoded: its tokens so far, the text already sent, why it ended."""

    def __init__(self, lm: Any, job: dict, vocab: Vocab):
        self.lm, self.job, self.vocab = lm, job, vocab
        self.tokens: list[int] = []
        self.records: list[dict] = []  # per-token log-probs, when asked
        self.sent_text, self.sent_records = "", 0
        self.finish: str | None = None
        self.stop_count = 0  # tokens of the stop sequence that ended the row (not in `tokens`, nor in the text)
        self.stop_tokens = lm.stop_tokens
        self.hold_tokens = max((len(s) for s in self.stop_tokens), default=1) - 1
        self.hold_chars = max((len(s) for s in job["stop"]), default=1) - 1
        self.limit = min(job["max_tokens"], lm.model.max_seq_length - len(job["ids"]))
        self.generator = lm.generator(job["seed"])

    def choose(self, logits: torch.Tensor) -> int:
        """This row's next token from its logits (V,), with its own sampling settings."""
        job = self.job
        return int(sample(logits[None], job["temperature"], job["top_k"], job["top_p"], self.generator)[0])

    def push(self, token: int, logits: torch.Tensor) -> dict:
        """Take the chosen token; the event to send (new text, finish reason, ...)."""
        self.tokens.append(token)
        if self.job["logprobs"] is not None:
            self.records.append(token_record(self.vocab, token, logits.float().log_softmax(-1), self.job["logprobs"]))
        for stop in self.stop_tokens:
            if tuple(self.tokens[-len(stop):]) == stop:  # listed with empty text and counted, as vLLM does
                del self.tokens[-len(stop):]
                for record in self.records[len(self.tokens):]:
                    record["token"] = ""
                self.stop_count, self.finish = len(stop), "stop"
                break
        else:
            if len(self.tokens) >= self.limit:
                self.finish = "length"
        return self.event()

    def end(self) -> dict:
        """Finish by length now (no room left, or no steps)."""
        self.finish = "length"
        return self.event()

    def event(self) -> dict:
        done = self.finish is not None
        visible = self.tokens if done else self.tokens[: max(0, len(self.tokens) - self.hold_tokens)]
        text = self.lm.decode(visible) if visible else ""
        cuts = [i for i in (text.find(s) for s in self.job["stop"]) if i >= 0]
        if cuts:
            text, self.finish, done = text[: min(cuts)], "stop", True
        elif not done:
            text = text[: len(text) - self.hold_chars].rstrip("\ufffd")  # wait for a whole character
        delta = text[len(self.sent_text):] if text.startswith(self.sent_text) else ""
        self.sent_text += delta
        shown = len(self.records) if done else min(len(self.records), len(visible))
        records, self.sent_records = self.records[self.sent_records : shown], max(self.sent_records, shown)
        return {"text": delta, "tokens": records if self.job["logprobs"] is not None else None, "finish": self.finish,
                "completion_tokens": len(self.tokens) + self.stop_count if done else None}


@torch.inference_mode()
def prompt_records(lm: Any, vocab: Vocab, rows: list[Row]) -> dict[int, list[dict]]:
    """For rows that `echo` with log-probs: each prompt token's record (the first has none)."""
    from workshop.models.engine import tail_logits

    wanted = [r for r in rows if r.job["echo"] and r.job["logprobs"] is not None]
    if not wanted:
        return {}
    ids = [r.job["ids"] for r in wanted]
    out = {}
    for row, prompt, logits in zip(wanted, ids, tail_logits(lm.model, ids, [len(x) for x in ids])):
        logp = logits.log_softmax(-1)  # (L, V): position i predicts token i + 1
        records = [token_record(vocab, prompt[0], None, 0)]
        records += [token_record(vocab, t, logp[i], row.job["logprobs"]) for i, t in enumerate(prompt[1:])]
        out[id(row)] = records
    return out


def decode_rows(lm: Any, jobs: list[dict], vocab: Vocab) -> Iterator[list[dict | None]]:
    """Decode `jobs` as one batch; per step, each row's event, or None once the row has finished."""
    rows = [Row(lm, job, vocab) for job in jobs]
    prompts = prompt_records(lm, vocab, rows)
    first = [{"text": "", "tokens": None, "finish": None, "completion_tokens": None, "prompt": prompts[id(r)]}
             if id(r) in prompts else None for r in rows]
    if any(first):
        yield first
    live = [r for r in rows if r.limit > 0]
    if len(live) < len(rows):
        yield [None if r.limit > 0 else r.end() for r in rows]
    if not live:
        return
    steps = decode_logits(lm.model, [r.job["ids"] for r in live], max(r.limit for r in live))
    try:
        logits = next(steps)  # (B, V)
        while True:
            chosen = torch.zeros(len(live), dtype=torch.long)  # finished rows are fed a dummy token
            events: dict[int, dict] = {}
            for b, row in enumerate(live):
                if row.finish is None:
                    chosen[b] = row.choose(logits[b])
                    events[id(row)] = row.push(int(chosen[b]), logits[b])
            yield [events.get(id(r)) for r in rows]
            if all(r.finish is not None for r in live):
                return
            logits = steps.send(chosen)
    except StopIteration:  # the context is full: whatever is still open ends by length
        yield [r.end() if r.finish is None and r in live else None for r in rows]
    finally:
        steps.close()
