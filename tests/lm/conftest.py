"""Shared fixtures for the n-gram LM tests: a real English text and a small random corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "lm"


@pytest.fixture(scope="session")
def emma_path() -> Path:
    """First 1,000 sentences of Jane Austen's *Emma* (lowercased, punctuation split)."""
    return DATA / "emma_1k.txt"


@pytest.fixture(scope="session")
def emma_sentences(emma_path: Path) -> list[str]:
    return emma_path.read_text(encoding="utf-8").splitlines()


def random_corpus(seed: int, sentences: int = 60, vocab: int = 12, max_len: int = 8) -> list[str]:
    """Sentences over a skewed vocabulary ``w0..w{vocab-1}`` (Zipf-like, so counts vary)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    weights = [1.0 / (i + 1) for i in range(vocab)]
    return [
        " ".join(rng.choices(words, weights, k=rng.randint(0, max_len))) for _ in range(sentences)
    ]


@pytest.fixture
def small_corpus() -> list[str]:
    return random_corpus(0)
