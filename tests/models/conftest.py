"""Fixtures for model tests: one CPU thread, fixed seeds, tiny synthetic utterances."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread_seeded():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def toy_batch():
    """Four utterances of 20-dim features with distinct lengths and short label sequences.

    Each token id drives a distinct mean in the features of its segment, so the mapping from
    features to labels is learnable (not memorizing noise).
    """
    g = torch.Generator().manual_seed(1)
    vocab, dim = 8, 20
    lengths = torch.tensor([72, 64, 56, 48])
    labels = [[1, 2, 3, 4], [5, 6, 7], [2, 7, 1, 5], [3, 3, 6]]
    proto = torch.randn(vocab, dim, generator=g) * 2
    feats = torch.zeros(len(labels), int(lengths.max()), dim)
    for b, (ys, n) in enumerate(zip(labels, lengths.tolist())):
        seg = n // len(ys)
        for i, y in enumerate(ys):
            end = n if i == len(ys) - 1 else (i + 1) * seg
            feats[b, i * seg : end] = proto[y]
        feats[b, :n] += 0.3 * torch.randn(n, dim, generator=g)
    targets = torch.zeros(len(labels), max(map(len, labels)), dtype=torch.long)
    for b, ys in enumerate(labels):
        targets[b, : len(ys)] = torch.tensor(ys)
    target_lengths = torch.tensor([len(ys) for ys in labels])
    return feats, lengths, targets, target_lengths, labels, vocab
