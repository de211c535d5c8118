"""The wheel carries recipes/, data/, evals/ and the report templates, and an installed copy finds them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("workshop", "recipes", "data", "evals", "pyproject.toml", "setup.py", "MANIFEST.in", "README.md")


def shipped_files() -> set[str]:
    """What the wheel must hold: every file of the shipped folders (at workshop/_shipped/) and the templates."""
    files = {f"workshop/_shipped/{p.relative_to(ROOT)}" for folder in ("recipes", "data", "evals")
             for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files |= {str(p.relative_to(ROOT)) for p in (ROOT / "workshop" / "report" / "templates").iterdir()}
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    pytest.importorskip("setuptools")
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        (shutil.copytree(ROOT / name, src / name, ignore=ignore) if (ROOT / name).is_dir()
         else shutil.copy(ROOT / name, src / name))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("workshop-*.whl")
    return built


def test_wheel_holds_recipes_templates_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = shipped_files()
    assert {"workshop/_shipped/recipes/pipelines/quickstart.yaml", "workshop/_shipped/evals/judge/workshop.txt",
            "workshop/_shipped/data/instructions/instruction-data.json",
            "workshop/report/templates/report.html.j2"} <= expected
    assert expected <= names, sorted(expected - names)


def test_installed_wheel_finds_its_shipped_files_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    code = ("from workshop.core.paths import RECIPES_DIR, EVALS_DIR, DATA_DIR; from workshop.judge.prompt import DEFAULT_TEMPLATE;"
            "from workshop.run.recipes import find_recipe, load_recipe; import workshop;"
            "print(workshop.__file__); print(RECIPES_DIR); print(DEFAULT_TEMPLATE.is_file());"
            "print(load_recipe('pipelines/quickstart')['steps'][1]['with']['data'])")
    run = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    package, recipes, template_found, data = run.stdout.split("\n")[:4]
    assert package.startswith(str(site)) and recipes == str(site / "workshop" / "_shipped" / "recipes")
    assert template_found == "True" and Path(data).is_file() and data.startswith(str(site))
    listed = subprocess.run([sys.executable, "-m", "workshop", "recipes"], cwd=elsewhere, env=env, capture_output=True,
                            text=True, timeout=120)
    assert listed.returncode == 0 and "pipelines/quickstart" in listed.stdout and str(site) in listed.stdout
