"""Fixtures for trainer tests: one CPU thread and a tiny in-memory dataset of feature items."""

from __future__ import annotations

import pytest
import torch

from seqlab.data import BucketBatchSampler, collate
from seqlab.models import ModelConfig, build_model
from seqlab.models.rnn import RNNEncoderConfig
from seqlab.models.transformer import TransformerDecoderConfig, TransformerEncoderConfig

DIM, VOCAB = 20, 8


@pytest.fixture(autouse=True)
def _single_thread(single_thread):
    yield


def toy_items(n: int = 12, seed: int = 1) -> list[dict]:
    """Items shaped like ``ASRDataset``'s: segments of token-specific means plus noise."""
    g = torch.Generator().manual_seed(seed)
    proto = torch.randn(VOCAB, DIM, generator=g) * 2
    items = []
    for i in range(n):
        tokens = torch.randint(
            1, VOCAB, (int(torch.randint(2, 5, (1,), generator=g)),), generator=g
        )
        seg = int(torch.randint(8, 14, (1,), generator=g))
        feats = proto[tokens].repeat_interleave(seg, dim=0)
        feats = feats + 0.3 * torch.randn(feats.shape, generator=g)
        text = "".join("abcdefgh"[t] for t in tokens.tolist())
        items.append({"id": f"u{i}", "text": text, "features": feats, "tokens": tokens})
    return items


def decode(ids: list[int]) -> str:
    return "".join("abcdefgh"[i] for i in ids)


def toy_loader(items, max_frames=150, seed=0, num_replicas=1, rank=0):
    sampler = BucketBatchSampler(
        [it["features"].shape[0] for it in items], max_frames, seed=seed,
        num_replicas=num_replicas, rank=rank,
    )  # fmt: skip
    return torch.utils.data.DataLoader(
        items, batch_sampler=sampler, collate_fn=collate, generator=torch.Generator()
    )


def tiny_model(kind: str = "transformer", model_type: str = "ctc", dropout: float = 0.1):
    torch.manual_seed(0)
    cfg = ModelConfig(
        type=model_type,
        encoder=kind,
        rnn=RNNEncoderConfig(kind="gru", hidden=16, num_layers=1, subsampling=2),
        transformer=TransformerEncoderConfig(
            dim=16, num_layers=1, num_heads=2, ffn_dim=32, dropout=dropout
        ),
        decoder=TransformerDecoderConfig(num_layers=1, num_heads=2, ffn_dim=32, dropout=dropout),
    )
    return build_model(cfg, VOCAB, DIM)


@pytest.fixture
def toy():
    """The helpers above, as a fixture (test modules cannot import conftest in importlib mode)."""
    import types

    return types.SimpleNamespace(
        items=toy_items, loader=toy_loader, model=tiny_model, decode=decode, DIM=DIM, VOCAB=VOCAB
    )
