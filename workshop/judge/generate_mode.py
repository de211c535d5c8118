"""Generate mode: the judge writes its answer (greedy by default), a parser reads it.

An answer that cannot be parsed gets one retry: the same prompt, followed by the judge's
answer and a stricter instruction. What is still unparseable keeps its raw text and the
reason, so no item is dropped silently. Scores use `parse_score_reason`; pairwise choices
("A", "B", "tie") use `workshop.judge.choice.parse_choice`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from workshop.judge.parse import parse_score_reason

RETRY_INSTRUCTION = "Respond with a single integer from 0 to 100 only."
Parser = Callable[[str | None], tuple[Any, str | None]]


def retry_prompt(prompt: str, answer: str, instruction: str = RETRY_INSTRUCTION) -> str:
    """The follow-up prompt after an unparseable `answer` (one user turn: works with any chat template)."""
    return f"{prompt}\n\nYour previous answer was: `{answer}`. {instruction}"


def generate_parsed(generate: Callable[[list[str]], list[str]], prompts: Sequence[str],
                    parse: Parser = parse_score_reason, instruction: str = RETRY_INSTRUCTION,
                    field: str = "score") -> list[dict]:
    """`field` (the parsed value), raw and reason for each prompt; `generate` maps prompts to answers."""
    answers = generate(list(prompts))
    results = []
    for answer in answers:
        value, reason = parse(answer)
        results.append({field: value, "raw": answer, "reason": reason})
    failed = [i for i, r in enumerate(results) if r[field] is None]
    if failed:
        retried = generate([retry_prompt(prompts[i], answers[i], instruction) for i in failed])
        for i, answer in zip(failed, retried):
            value, reason = parse(answer)
            first_reason = results[i]["reason"]
            results[i] = {
                field: value,
                "raw": f"{answers[i]}\n[retry] {answer}",
                "reason": None if value is not None else f"{first_reason}; after the retry: {reason}",
            }
    return results


def generate_scores(generate: Callable[[list[str]], list[str]], prompts: Sequence[str]) -> list[dict]:
    """score, raw and reason for each prompt (0..100 scores, one retry)."""
    return generate_parsed(generate, prompts)
