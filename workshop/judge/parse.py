"""Read a 0..100 score out of what a judge model wrote, or say why it cannot be read.

Judges do not always answer with a bare integer: they write "Score: 85", "85/100",
"**85**" or a sentence. Those are accepted. Anything ambiguous (two different numbers, a
0-10 scale, a fraction, a value outside 0..100, nothing at all) is refused with a reason,
so the caller keeps the item with its raw text instead of dropping it silently.
"""

from __future__ import annotations

import re

# "85/100", "85 / 100", "85 (out of 100)", "8.5/10": a value followed by its scale
_WITH_SCALE = re.compile(
    r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*\(?\s*(?:/|out\s+of|of)\s*(100|10)(?![\d.]*\d)\)?", re.IGNORECASE
)
# "from 0 to 100", "0-100", "1 - 100": a mention of the scale itself, not a score
_RANGE = re.compile(r"(?<![\w.])[01]\s*(?:-|–|to)\s*100(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?!\w)")
_MARKUP = re.compile(r"[*_`#>\"']")


def parse_score_reason(text: str | None, rescale_10: bool = False) -> tuple[int | None, str | None]:
    """(score, None) when `text` holds exactly one score in 0..100, else (None, reason).

    `rescale_10=True` is an explicit scale rule: "8.5/10" then reads as 85.
    """
    if text is None or not text.strip():
        return None, "empty response"
    cleaned = _RANGE.sub(" ", _MARKUP.sub(" ", text))
    values: list[float] = []
    ten_scale: list[str] = []
    for match in _WITH_SCALE.finditer(cleaned):
        value = float(match.group(1))
        if match.group(2) == "10":
            if not rescale_10:
                ten_scale.append(match.group(0))
                continue
            value *= 10
        values.append(value)
    values += [float(m.group(0)) for m in _NUMBER.finditer(_WITH_SCALE.sub(" ", cleaned))]
    distinct = sorted(set(values))
    if ten_scale:
        return None, f"score on a 0-10 scale ({ten_scale[0]}); the prompt asks for 0-100"
    if not distinct:
        return None, "no number in the response"
    if len(distinct) > 1:
        shown = ", ".join(f"{v:g}" for v in distinct[:5])
        return None, f"ambiguous: several different numbers ({shown})"
    value = distinct[0]
    if value != int(value):
        return None, f"not an integer ({value:g})"
    if not 0 <= value <= 100:
        return None, f"out of range ({value:g}); scores are 0..100"
    return int(value), None


def parse_score(text: str | None, rescale_10: bool = False) -> int | None:
    """The integer score 0..100 in `text`, or None when it is missing or ambiguous."""
    return parse_score_reason(text, rescale_10)[0]
