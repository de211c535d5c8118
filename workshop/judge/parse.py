"""Read a 0..100 score (or a pairwise choice) out of what a judge model wrote, or say why not.

Judges do not always answer with a bare integer: they write "Score: 85", "85/100",
"**85**" or a sentence. Those are accepted. Anything ambiguous (two different numbers, a
0-10 scale, a fraction, a value outside 0..100, nothing at all) is refused with a reason,
so the caller keeps the item with its raw text instead of dropping it silently. Pairwise
answers ("A", "Response B", "B is better", "tie") are read the same way: one choice or a reason.
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


CHOICE_RETRY_INSTRUCTION = "Respond with the single letter A or B only (or the word tie)."
_CHOICE_MARKUP = re.compile(r"[*_`#>\"'()\[\]]")
_BARE = re.compile(r"^\W*(?:(?:response|answer|option)\s+)?([AB])\W*$", re.IGNORECASE)
_TIE = re.compile(r"\b(tie|equal(?:ly good)?|both (?:are )?(?:equally )?(?:good|bad|correct|wrong))\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(?:response|answer|option)\s+([AB])\b", re.IGNORECASE)
_LETTER = re.compile(r"(?<![\w'])([AB])(?![\w'])")
_PREFERS = re.compile(r"\b([AB]) is (?:the )?better\b|\bbetter (?:response|answer|one) is (?:response )?([AB])\b"
                      r"|\bprefer (?:response )?([AB])\b", re.IGNORECASE)


def parse_choice(text: str | None) -> tuple[str | None, str | None]:
    """("A" | "B" | "tie", None) when the answer names one choice, else (None, reason)."""
    if text is None or not text.strip():
        return None, "empty response"
    cleaned = _CHOICE_MARKUP.sub(" ", text).strip()
    bare = _BARE.match(cleaned)
    if bare:
        return bare.group(1).upper(), None
    prefers = {g.upper() for m in _PREFERS.findall(" ".join(cleaned.split())) for g in m if g}
    if len(prefers) == 1:
        return prefers.pop(), None
    letters = {m.upper() for m in _NAMED.findall(cleaned)} or set(_LETTER.findall(cleaned))
    if _TIE.search(cleaned) and len(letters) != 1:
        return "tie", None
    if len(letters) == 1:
        return letters.pop(), None
    if not letters:
        return None, "names neither A nor B"
    return None, "ambiguous: names both A and B"
