"""Compute features for many utterances: sort by length, pad into buckets, run the module.

Sorting keeps padding small (a batch of 2-15 s utterances padded to the longest wastes about
half its work) and a bounded bucket keeps the working set small on a CPU. The default bucket
(1M samples, about 60 s at 16 kHz) is large enough that the per-bucket steps that do not
spread over torch's intra-op threads (Python dispatch, small matrix products, padding) stay
small next to the chunked per-frame work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch

from seqlab.features import kernels, workers

__all__ = ["length_buckets", "pad_batch", "compute_in_buckets"]


def length_buckets(
    lengths: Sequence[int], max_samples: int = 1_000_000, max_batch: int = 64
) -> Iterator[list[int]]:
    """Yield index lists: utterances sorted by length (longest first), each bucket's padded size
    ``len(bucket) * longest`` at most ``max_samples`` (an over-long utterance gets its own)."""
    order = sorted(range(len(lengths)), key=lambda i: -int(lengths[i]))
    bucket: list[int] = []
    for i in order:
        longest = int(lengths[bucket[0]]) if bucket else int(lengths[i])
        if bucket and ((len(bucket) + 1) * longest > max_samples or len(bucket) >= max_batch):
            yield bucket
            bucket = []
        bucket.append(i)
    if bucket:
        yield bucket


def pad_batch(waveforms: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack ``(N_i,)`` waveforms into ``(B, max N)`` zero-padded plus ``(B,)`` long lengths."""
    lengths = torch.tensor([int(w.shape[-1]) for w in waveforms], dtype=torch.long)
    if not waveforms:
        return torch.zeros(0, 0), lengths
    return torch.nn.utils.rnn.pad_sequence(list(waveforms), batch_first=True), lengths


def compute_in_buckets(
    frontend: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    waveforms: Sequence[torch.Tensor],
    max_samples: int = 1_000_000,
    max_batch: int = 64,
    device: torch.device | str | None = None,
) -> list[torch.Tensor]:
    """Run ``frontend(batch (B, N), lengths (B,))`` over length-sorted buckets of ``(N_i,)``
    waveforms; returns each utterance's ``(T_i, D)`` features in input order (on the CPU when
    ``device`` is given, else on the frontend's output device).

    Each bucket is zero-padded into a staging buffer that the thread reuses from bucket to
    bucket (a fresh buffer per bucket costs page faults comparable to the features
    themselves); features that alias it are copied out. When everything stays on the CPU (the
    waveforms, ``device``, and a ``frontend`` that is an ``nn.Module`` with CPU parameters and
    buffers) and torch runs on several threads, whole buckets go to the single-threaded feature
    workers (:mod:`seqlab.features.workers`): each pads its bucket and runs the frontend on it.
    A frontend in training mode (which may draw random numbers: dither) runs the buckets in
    order in this thread instead, so a seeded run gives the same features on any thread count.
    """
    out: list[torch.Tensor | None] = [None] * len(waveforms)
    buckets = list(length_buckets([w.shape[-1] for w in waveforms], max_samples, max_batch))
    if not buckets:
        return []
    first = waveforms[buckets[0][0]]
    target = torch.device(device) if device is not None else first.device

    def run(bucket: list[int]) -> None:
        longest = int(waveforms[bucket[0]].shape[-1])
        staging = kernels.workspace(len(bucket) * longest, first.dtype, target, slot="staging")
        batch = staging[: len(bucket) * longest].view(len(bucket), longest)
        lengths = torch.tensor([int(waveforms[i].shape[-1]) for i in bucket], dtype=torch.long)
        # on the CPU numpy copies: one memcpy each, no thread-team start per row
        on_cpu = batch.device.type == "cpu" and all(
            waveforms[i].device.type == "cpu" for i in bucket
        )
        rows = batch.numpy() if on_cpu else batch
        for row, i in enumerate(bucket):
            n = int(waveforms[i].shape[-1])
            rows[row, :n] = waveforms[i].detach().numpy() if on_cpu else waveforms[i]
            rows[row, n:] = 0.0
        feats, frames = frontend(batch, lengths.to(batch.device))
        if _aliases(feats, staging):
            feats = feats.clone()
        if device is not None:
            feats, frames = feats.cpu(), frames.cpu()
        for row, (i, t) in enumerate(zip(bucket, frames.tolist())):
            out[i] = feats[row, :t]

    if _runs_on_cpu(frontend, waveforms, target):
        workers.for_each(run, buckets)
    else:
        for bucket in buckets:
            run(bucket)
    return out  # type: ignore[return-value]


def _runs_on_cpu(
    frontend: Callable, waveforms: Sequence[torch.Tensor], target: torch.device
) -> bool:
    """Whether the whole computation stays on the CPU and draws no random numbers (an
    ``nn.Module`` in eval mode), so its buckets may run on the workers in any order."""
    if target.type != "cpu" or not isinstance(frontend, torch.nn.Module) or frontend.training:
        return False
    tensors = [*frontend.parameters(), *frontend.buffers(), *waveforms]
    return all(t.device.type == "cpu" for t in tensors)


def _aliases(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
