"""Fixtures shared by the judge tests (imported by test_judge_*.py; this module holds no tests)."""

from pathlib import Path

import pytest
import torch

from workshop.models.testing import tiny_checkpoint


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models are latency-bound: one intra-op thread is faster, and immune to a busy second core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_digits_dir(tmp_path_factory) -> Path:
    """A tiny random checkpoint whose tokenizer splits numbers into digits, as SmolLM2's does."""
    return tiny_checkpoint(tmp_path_factory.mktemp("judge") / "tiny-digits", tokenizer="digits")
