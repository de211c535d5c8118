"""The one exception type the CLI turns into a one-line error, and the "did you mean" helper."""

from __future__ import annotations

import difflib
from typing import Iterable


class WorkshopError(Exception):
    """A user-facing error: the message names the file/key at fault and the fix."""


def closest(key: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to `key` (ignoring case), or None when none is close."""
    by_lower = {v.lower(): v for v in sorted(valid)}
    close = difflib.get_close_matches(str(key).lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[close[0]] if close else None


def suggest(key: str, valid: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest valid key, or the valid keys when none is close."""
    valid = sorted(valid)
    match = closest(key, valid)
    return f"; did you mean '{match}'?" if match else f"; valid keys: {', '.join(valid)}"
