"""The notebooks in notebooks/ run top to bottom offline, and are committed stripped of outputs.

Each is executed with nbclient on a kernel of this test's own Python (so the package under test is
the one imported), in a temporary working folder. The quick ones run in CI; those that build and
finetune SmolLM2 are marked slow. The convention: notebooks are committed with no outputs and no
execution counts, with `FAST = True` in their first code cell, and end with a sentence saying what
their outputs showed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the [notebooks] extra")
nbclient = pytest.importorskip("nbclient", reason="notebook tests need the [notebooks] extra")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
QUICK = ["01_tokenizers_and_loaders.ipynb", "02_gpt_model_and_generation.ipynb", "04_openai_gpt2_weights.ipynb"]
SLOW = ["03_pretraining.ipynb", "05_litgpt_smollm2_lora.ipynb", "06_judge_mmlu_verdict.ipynb",
        "07_classify_label_words.ipynb"]
CELL_TIMEOUT_S = 900  # a hang guard only; FAST settings take seconds to a few minutes per notebook
KERNEL = "workshop-notebook-test"
CLEAR_COMMAND = ("jupyter nbconvert --clear-output --inplace --ClearMetadataPreprocessor.enabled=True "
                 "--ClearMetadataPreprocessor.preserve_nb_metadata_mask=\"[('kernelspec',), ('language_info', 'name')]\" "
                 "notebooks/*.ipynb")


def read(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_every_notebook_is_tested():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(QUICK + SLOW)


@pytest.mark.parametrize("name", QUICK + SLOW)
def test_committed_stripped_and_fast(name):
    nb = read(name)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    stale = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and (cell.outputs or cell.execution_count)]
    assert not stale and "widgets" not in nb.metadata, (
        f"{name}: outputs, execution counts (cells {stale}) or widget state are saved; clear them before committing: "
        f"{CLEAR_COMMAND}")
    assert "FAST = True" in code[0].source.splitlines(), f"{name}: its first code cell must set FAST = True"
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("**What the outputs showed:**"), name


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One working folder for the module: the slow notebooks share the SmolLM2 checkpoint the first one builds."""
    cwd = tmp_path_factory.mktemp("notebooks")
    built = os.environ.get("WORKSHOP_SMOLLM2_DIR")  # as in conftest: reuse a checkpoint built earlier
    if built and (Path(built) / "lit_model.pth").is_file():
        target = cwd / "checkpoints" / "HuggingFaceTB" / "SmolLM2-135M-Instruct"
        target.parent.mkdir(parents=True)
        target.symlink_to(Path(built).resolve(), target_is_directory=True)
    return cwd


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A kernelspec running this very interpreter, found first on JUPYTER_PATH."""
    from ipykernel.kernelspec import write_kernel_spec

    jupyter_path = tmp_path_factory.mktemp("jupyter")
    write_kernel_spec(jupyter_path / "kernels" / KERNEL)
    assert sys.executable in (jupyter_path / "kernels" / KERNEL / "kernel.json").read_text()
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter_path), os.environ.get("JUPYTER_PATH")]))
    return KERNEL


def execute(name: str, cwd: Path, kernel_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every cell; nbclient raises CellExecutionError naming the cell that failed."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = read(name)
    nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name=kernel_name,
                            resources={"metadata": {"path": str(cwd)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name}: no inline plot"


@pytest.mark.parametrize("name", QUICK)
def test_quick_notebook_runs(name, workdir, kernel, monkeypatch):
    execute(name, workdir, kernel, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_notebook_runs(name, workdir, kernel, monkeypatch):
    execute(name, workdir, kernel, monkeypatch)
