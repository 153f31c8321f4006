"""On-the-fly ASR dataset: audio -> (speed perturbation) -> features -> CMVN -> SpecAugment.

Randomness (speed factor, dither, SpecAugment) comes from a generator seeded by
``(seed, epoch, index)``, so an item is the same whichever worker builds it and after a
resume. Bad input never crashes an epoch: :func:`filter_utterances` drops (and counts) empty
transcripts, missing audio, utterances too short for the model's subsampling or for their
label length under CTC; characters outside the vocabulary map to ``<unk>`` (counted); audio
that fails to decode at load time yields ``None``, which :func:`collate` drops and counts.
"""

from __future__ import annotations

import copy
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from seqlab.audio import AudioError
from seqlab.data.augment import speed_perturb
from seqlab.data.manifest import Utterance
from seqlab.data.sources import AudioLoader, load_file_audio

__all__ = ["ASRDataset", "FilterReport", "filter_utterances", "collate", "min_ctc_frames"]

log = logging.getLogger(__name__)


def min_ctc_frames(tokens: Sequence[int]) -> int:
    """Fewest frames CTC needs for ``tokens``: one per label plus a blank between repeats."""
    return len(tokens) + sum(1 for a, b in zip(tokens, tokens[1:]) if a == b)


@dataclass
class FilterReport:
    """What :func:`filter_utterances` kept and why it dropped the rest."""

    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    oov_utterances: int = 0  # utterances with characters mapped to <unk>

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        return (
            f"kept {self.kept}, skipped {sum(self.skipped.values())} ({reasons}), "
            f"{self.oov_utterances} with out-of-vocabulary characters mapped to <unk>"
        )


def filter_utterances(
    utterances: Sequence[Utterance],
    tokenizer: Any,
    num_frames: Callable[[int], int],
    output_frames: Callable[[int], int],
    sample_rate: int,
    ctc: bool = True,
    min_duration: float = 0.0,
    max_duration: float = 0.0,
    check_files: bool = True,
    slowest_speed: float = 1.0,
) -> tuple[list[Utterance], FilterReport]:
    """Keep the utterances a model can train on; count the others by reason.

    Args:
        utterances: candidates.
        tokenizer: has ``encode(str) -> list[int]`` and ``unk_id``.
        num_frames: input feature frames for a number of samples.
        output_frames: model output frames for a number of input frames.
        sample_rate: Hz, to turn durations into samples.
        ctc: also require ``output_frames >= min_ctc_frames(tokens)``.
        min_duration, max_duration: seconds (``max_duration <= 0``: no limit).
        check_files: skip entries whose audio path does not exist (``hf://`` rows excepted).
        slowest_speed: the largest speed-perturbation factor (the shortest version must fit).
    """
    report = FilterReport()
    kept = []
    unk = getattr(tokenizer, "unk_id", None)
    for utt in utterances:
        reason = None
        if not utt.text.strip():
            reason = "empty transcript"
        elif check_files and "://" not in utt.audio and not os.path.isfile(utt.audio):
            reason = "missing audio file"
        elif utt.duration < min_duration or (max_duration > 0 and utt.duration > max_duration):
            reason = "outside the duration limits"
        else:
            tokens = tokenizer.encode(utt.text)
            frames = num_frames(int(utt.duration * sample_rate / slowest_speed))
            out = output_frames(frames)
            if not tokens:
                reason = "no tokens after tokenization"
            elif out < 1:
                reason = "too short for the subsampling"
            elif ctc and out < min_ctc_frames(tokens):
                reason = "too short for its label length (CTC)"
            elif unk is not None and unk in tokens:
                report.oov_utterances += 1
        if reason is None:
            kept.append(utt)
        else:
            report.skipped[reason] += 1
    report.kept = len(kept)
    return kept, report


class ASRDataset(torch.utils.data.Dataset):
    """Items ``{"id", "text", "features" (T, D) float32, "tokens" (U,) int64}`` or ``None``.

    Args:
        utterances: the (filtered) utterances.
        tokenizer: ``encode(str) -> list[int]``.
        frontend: a ``seqlab.features`` module (``Fbank``/``MFCC``) mapping ``(1, N)`` audio
            to ``(1, T, D)`` features.
        sample_rate: Hz the frontend expects; audio at other rates is resampled.
        loader: fetches ``(waveform, rate)`` for an utterance (default: from its file).
        cmvn: optional ``GlobalCMVN`` (or any ``(features, lengths) -> features`` module).
        specaugment: optional ``SpecAugment`` applied when ``train``.
        speed_factors: speed perturbation factors to draw from when ``train``.
        train: enable augmentation (and the frontend's dither).
        seed: base seed of the per-item generators.
    """

    def __init__(
        self,
        utterances: Sequence[Utterance],
        tokenizer: Any,
        frontend: nn.Module,
        sample_rate: int = 16000,
        loader: AudioLoader = load_file_audio,
        cmvn: nn.Module | None = None,
        specaugment: nn.Module | None = None,
        speed_factors: Sequence[float] = (),
        train: bool = False,
        seed: int = 0,
    ) -> None:
        self.utterances = list(utterances)
        self.tokenizer = tokenizer
        # Own copies in the right mode: a module shared with another dataset (training and
        # validation) would otherwise be switched for both. They hold only small buffers.
        self.frontend = copy.deepcopy(frontend).train(train)
        self.sample_rate = sample_rate
        self.loader = loader
        self.cmvn = cmvn
        self.specaugment = None
        if specaugment is not None:
            self.specaugment = copy.deepcopy(specaugment).train(train)
        self.speed_factors = tuple(speed_factors)
        self.train = train
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utterances)

    def num_frames(self, index: int) -> int:
        """Input frames of item ``index`` from its manifest duration; in training with speed
        perturbation, of its longest (slowest) version, so batch caps hold for every draw."""
        slowest = min(self.speed_factors) if self.train and self.speed_factors else 1.0
        samples = int(round(self.utterances[index].duration * self.sample_rate / slowest))
        return int(self.frontend.num_frames(samples))

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(
            (self.seed * 1_000_003 + self.epoch) * 10_000_019 + index
        )

    @torch.no_grad()
    def __getitem__(self, index: int) -> dict[str, Any] | None:
        utt = self.utterances[index]
        try:
            wave, rate = self.loader(utt)
        except AudioError as e:
            log.warning("skipping %s: %s", utt.id, e)
            return None
        if rate != self.sample_rate:
            from seqlab.audio import resample

            wave = resample(wave, rate, self.sample_rate)
        g = self._generator(index)
        if self.train and self.speed_factors:
            pick = int(torch.randint(len(self.speed_factors), (1,), generator=g))
            wave = speed_perturb(wave, self.sample_rate, self.speed_factors[pick])
        length = torch.tensor([wave.numel()])
        feats, frames = self.frontend(wave.unsqueeze(0), length, generator=g)
        if int(frames[0]) < 1:
            log.warning("skipping %s: audio shorter than one feature frame", utt.id)
            return None
        if self.cmvn is not None:
            feats = self.cmvn(feats, frames)
        if self.train and self.specaugment is not None:
            feats = self.specaugment(feats, frames, generator=g)
        tokens = torch.tensor(self.tokenizer.encode(utt.text), dtype=torch.long)
        return {"id": utt.id, "text": utt.text, "features": feats[0].float(), "tokens": tokens}


def collate(items: list[dict[str, Any] | None]) -> dict[str, Any]:
    """Pad a list of items into a batch; ``None`` items (failed loads) are dropped and counted.

    Returns ``{"ids", "texts", "features" (B, T, D) zero-padded, "lengths" (B,),
    "targets" (B, U) zero-padded, "target_lengths" (B,), "failed": int}``.
    """
    good = [it for it in items if it is not None]
    failed = len(items) - len(good)
    if not good:
        return {"ids": [], "texts": [], "features": torch.zeros(0, 0, 0), "lengths": torch.zeros(0, dtype=torch.long),
                "targets": torch.zeros(0, 0, dtype=torch.long), "target_lengths": torch.zeros(0, dtype=torch.long),
                "failed": failed}  # fmt: skip
    lengths = torch.tensor([it["features"].shape[0] for it in good])
    target_lengths = torch.tensor([it["tokens"].numel() for it in good])
    dim = good[0]["features"].shape[1]
    feats = torch.zeros(len(good), int(lengths.max()), dim)
    targets = torch.zeros(len(good), int(target_lengths.max()), dtype=torch.long)
    for b, it in enumerate(good):
        feats[b, : lengths[b]] = it["features"]
        targets[b, : target_lengths[b]] = it["tokens"]
    return {
        "ids": [it["id"] for it in good],
        "texts": [it["text"] for it in good],
        "features": feats,
        "lengths": lengths,
        "targets": targets,
        "target_lengths": target_lengths,
        "failed": failed,
    }
