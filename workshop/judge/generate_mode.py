"""Generate mode: the judge writes its answer (greedy by default), `parse_score` reads it.

An answer that cannot be parsed gets one retry: the same prompt, followed by the judge's
answer and a stricter instruction. What is still unparseable keeps its raw text and the
reason, so no item is dropped silently.
"""

from __future__ import annotations

from typing import Callable, Sequence

from workshop.judge.parse import parse_score_reason

RETRY_INSTRUCTION = "Respond with a single integer from 0 to 100 only."


def retry_prompt(prompt: str, answer: str) -> str:
    """The follow-up prompt after an unparseable `answer` (one user turn: works with any chat template)."""
    return f"{prompt}\n\nYour previous answer was: `{answer}`. {RETRY_INSTRUCTION}"


def generate_scores(generate: Callable[[list[str]], list[str]], prompts: Sequence[str]) -> list[dict]:
    """score, raw and reason for each prompt; `generate` maps prompts to the judge's answers."""
    answers = generate(list(prompts))
    results = []
    for answer in answers:
        score, reason = parse_score_reason(answer)
        results.append({"score": score, "raw": answer, "reason": reason})
    failed = [i for i, r in enumerate(results) if r["score"] is None]
    if failed:
        retried = generate([retry_prompt(prompts[i], answers[i]) for i in failed])
        for i, answer in zip(failed, retried):
            score, reason = parse_score_reason(answer)
            first_reason = results[i]["reason"]
            results[i] = {
                "score": score,
                "raw": f"{answers[i]}\n[retry] {answer}",
                "reason": None if score is not None else f"{first_reason}; after the retry: {reason}",
            }
    return results
