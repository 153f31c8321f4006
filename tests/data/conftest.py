"""Fixtures for data tests: one CPU thread; paths to the shipped tiny dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny"


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_dir() -> Path:
    return TINY
