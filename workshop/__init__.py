"""workshop: Building LLMs from the Ground Up, as a toolkit.

`workshop.gpt` is GPT-2 built by hand; the rest wraps LitGPT (checkpoints, recipes,
respond, judge, evals). Heavy imports stay lazy so `import workshop` is cheap.
"""

from typing import Any

__version__ = "0.1.0"


def load(checkpoint_dir: Any, **kwargs: Any) -> Any:
    """Load a LitGPT checkpoint for generation: see `workshop.models.llm.load`."""
    from workshop.models.llm import load as _load

    return _load(checkpoint_dir, **kwargs)


def compare(runs: Any, **kwargs: Any) -> Any:
    """Compare runs against a baseline, item by item, Holm-adjusted: see `workshop.report.compare.compare`."""
    from workshop.report.compare import compare as _compare

    return _compare(runs, **kwargs)
