"""Where the project's own folders live (recipes/, data/, evals/), for an editable install."""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = PROJECT_ROOT / "recipes"
DATA_DIR = PROJECT_ROOT / "data"
EVALS_DIR = PROJECT_ROOT / "evals"


def cache_dir() -> Path:
    """The one cache folder: $WORKSHOP_CACHE_DIR, else $XDG_CACHE_HOME/workshop, else ~/.cache/workshop."""
    if os.environ.get("WORKSHOP_CACHE_DIR"):
        return Path(os.environ["WORKSHOP_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workshop"


def project_path(path: str | Path) -> Path:
    """`path` as given when it exists, else relative to the project root (shipped data, recipes)."""
    path = Path(path)
    if not path.exists() and not path.is_absolute() and (PROJECT_ROOT / path).exists():
        return PROJECT_ROOT / path
    return path
