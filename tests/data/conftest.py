"""Fixtures for data tests: one CPU thread; paths to the shipped tiny dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[2] / "data" / "tiny"


@pytest.fixture(autouse=True)
def _single_thread(single_thread):
    yield


@pytest.fixture
def tiny_dir() -> Path:
    return TINY
