"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def single_thread():
    """torch on one thread for the test (restored after): deterministic timing-free runs of
    training code, and the CPU feature path that serves single-threaded workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
