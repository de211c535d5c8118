"""Where the project's own folders live (recipes/, data/, evals/), for an editable install."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = PROJECT_ROOT / "recipes"
DATA_DIR = PROJECT_ROOT / "data"
EVALS_DIR = PROJECT_ROOT / "evals"
