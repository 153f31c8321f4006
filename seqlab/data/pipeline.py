"""Assemble the data pipeline from a :class:`DataConfig`: tokenizer, frontend, CMVN, loaders."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlab.data.config import DataConfig
from seqlab.data.dataset import ASRDataset, collate, filter_utterances
from seqlab.data.manifest import Utterance
from seqlab.data.sampler import BucketBatchSampler
from seqlab.data.sources import AudioLoader, read_source

__all__ = ["build_frontend", "build_tokenizer", "compute_cmvn", "build_dataset", "build_loader"]

log = logging.getLogger(__name__)


def build_frontend(cfg: DataConfig) -> nn.Module:
    """The ``seqlab.features`` module named by ``cfg.features`` (``fbank`` or ``mfcc``)."""
    from seqlab.features import MFCC, Fbank

    common = {"sample_rate": cfg.sample_rate, "dither": cfg.dither}
    if cfg.features == "fbank":
        return Fbank(cfg.feature_preset, n_mels=cfg.num_features, **common)
    if cfg.features == "mfcc":
        n_mels = max(23, cfg.num_features)
        return MFCC(cfg.feature_preset, n_mfcc=cfg.num_features, n_mels=n_mels, **common)
    raise ValueError(f"data.features must be 'fbank' or 'mfcc', got {cfg.features!r}")


def build_tokenizer(spec: str, texts: Sequence[str] = (), save_to: str | os.PathLike | None = None):
    """``"char"``: a :class:`CharTokenizer` built from ``texts``; else load a saved tokenizer.

    ``save_to``: also write the tokenizer there (beside the checkpoints, for decoding).
    """
    from seqlab.text import CharTokenizer, load_tokenizer

    tok = CharTokenizer.build(texts) if spec == "char" else load_tokenizer(spec)
    if save_to is not None:
        tok.save(save_to)
    return tok


def compute_cmvn(
    utterances: Sequence[Utterance],
    frontend: nn.Module,
    path: str | os.PathLike,
    sample_rate: int,
    loader: AudioLoader | None = None,
) -> nn.Module:
    """Accumulate global mean/variance stats of the features of ``utterances``; save them."""
    from seqlab.data.sources import load_file_audio
    from seqlab.features import GlobalCMVN

    dataset = ASRDataset(utterances, _NullTokenizer(), frontend, sample_rate,
                         loader=loader or load_file_audio)  # fmt: skip
    cmvn = GlobalCMVN()
    for i in range(len(dataset)):
        item = dataset[i]
        if item is not None:
            cmvn.update(item["features"].unsqueeze(0))
    if cmvn.count == 0:
        raise ValueError(f"no readable audio to compute CMVN stats for {path}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cmvn.save(path)
    return cmvn


class _NullTokenizer:
    unk_id = None

    def encode(self, text: str) -> list[int]:
        return []


def build_dataset(
    cfg: DataConfig,
    source: str,
    tokenizer: Any,
    output_frames: Callable[[int], int],
    train: bool,
    ctc: bool = True,
    seed: int = 0,
    cmvn: nn.Module | None = None,
) -> ASRDataset:
    """Read ``source``, filter what the model cannot train on (logged), build the dataset."""
    from seqlab.features import SpecAugment

    utterances, loader = read_source(source)
    frontend = build_frontend(cfg)
    speeds = tuple(cfg.speed_perturb) if train else ()
    kept, report = filter_utterances(
        utterances,
        tokenizer,
        num_frames=lambda n: int(frontend.num_frames(n)),
        output_frames=output_frames,
        sample_rate=cfg.sample_rate,
        ctc=ctc,
        min_duration=cfg.min_duration,
        max_duration=cfg.max_duration,
        slowest_speed=max(speeds, default=1.0),
    )
    log.info("%s: %s", source, report.summary())
    if not kept:
        raise ValueError(f"{source}: no usable utterances ({report.summary()})")
    spec = None
    if train and cfg.specaugment:
        spec = SpecAugment(cfg.freq_masks, cfg.freq_width, cfg.time_masks, cfg.time_width)
    dataset = ASRDataset(kept, tokenizer, frontend, cfg.sample_rate, loader=loader, cmvn=cmvn,
                         specaugment=spec, speed_factors=speeds, train=train, seed=seed)  # fmt: skip
    dataset.filter_report = report
    return dataset


def build_loader(
    dataset: ASRDataset, cfg: DataConfig, shuffle: bool, seed: int = 0, even: bool | None = None
) -> torch.utils.data.DataLoader:
    """DataLoader over a :class:`BucketBatchSampler` (distributed-aware) with :func:`collate`.

    ``even``: equal batch counts on every process (default: ``shuffle``, i.e. for training).

    The loader gets its own generator so iterating it never touches the global RNG (which the
    trainer checkpoints for exact resumption).
    """
    lengths = [dataset.num_frames(i) for i in range(len(dataset))]
    sampler = BucketBatchSampler(
        lengths,
        cfg.max_frames,
        cfg.max_batch_size,
        shuffle=shuffle,
        seed=seed,
        even=shuffle if even is None else even,
    )
    return torch.utils.data.DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=cfg.num_workers,
        generator=torch.Generator().manual_seed(seed),
    )
