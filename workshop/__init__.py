"""workshop: Building LLMs from the Ground Up, as a toolkit.

`workshop.gpt` is GPT-2 built by hand; the rest wraps LitGPT (checkpoints, recipes,
respond, judge, evals). Heavy imports stay lazy so `import workshop` is cheap.
"""

import importlib
from typing import Any

__version__ = "0.1.0"


def load(checkpoint_dir: Any, **kwargs: Any) -> Any:
    """Load a LitGPT checkpoint for generation: see `workshop.models.llm.load`."""
    from workshop.models.llm import load as _load

    return _load(checkpoint_dir, **kwargs)


def __getattr__(name: str) -> Any:
    """`workshop.compare` (see `workshop.report.compare.compare`), imported on first use (PEP 562): features that
    call `workshop.load` import this package, and must not depend on the report floor through it."""
    if name == "compare":
        return importlib.import_module("workshop.report.compare").compare
    raise AttributeError(f"module 'workshop' has no attribute {name!r}")
