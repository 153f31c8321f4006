"""Length-bucketing batch sampler: dynamic batches capped by total padded frames.

Batches are formed once from the utterances sorted by length, so similar lengths share a
batch and little compute is wasted on padding; each epoch shuffles the order of the batches
with a generator seeded by ``(seed, epoch)``. Under DDP every process takes every
``num_replicas``-th batch (for training the list is padded by repeating batches so all
processes run the same number of steps). The position inside an epoch can be saved and restored for exact
mid-epoch resumption.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

__all__ = ["BucketBatchSampler", "make_batches"]


def make_batches(
    lengths: Sequence[int], max_frames: int, max_batch_size: int = 0
) -> list[list[int]]:
    """Group indices sorted by length so ``len(batch) * longest <= max_frames``.

    An utterance longer than ``max_frames`` gets a batch of its own. ``max_batch_size > 0``
    also caps the number of utterances per batch.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max(lengths[i], lengths[current[-1]] if current else 0)
        too_many = max_batch_size > 0 and len(current) >= max_batch_size
        if current and (too_many or (len(current) + 1) * longest > max_frames):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class BucketBatchSampler(Sampler[list[int]]):
    """Yield lists of dataset indices (use as ``DataLoader(batch_sampler=...)``).

    Args:
        lengths: size of each item (input frames), used for sorting and the cap.
        max_frames: cap on ``batch size x longest item``.
        max_batch_size: cap on items per batch (0: none).
        shuffle: shuffle the batch order every epoch (deterministic for ``seed``).
        seed: base seed.
        num_replicas, rank: DDP world size and this process's rank (default: from
            ``torch.distributed`` when initialized, else 1 and 0).
        even: repeat batches so every process gets the same number (needed for training, where
            processes synchronize each step); ``False`` for evaluation, so nothing is counted
            twice.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_frames: int,
        max_batch_size: int = 0,
        shuffle: bool = True,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        even: bool = True,
    ) -> None:
        if max_frames <= 0:
            raise ValueError(f"max_frames must be positive, got {max_frames}")
        if num_replicas is None or rank is None:
            from seqlab.training.distributed import rank as _rank
            from seqlab.training.distributed import world_size

            num_replicas = world_size() if num_replicas is None else num_replicas
            rank = _rank() if rank is None else rank
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside [0, {num_replicas})")
        self.batches = make_batches(lengths, max_frames, max_batch_size)
        self.shuffle, self.seed = shuffle, seed
        self.num_replicas, self.rank = num_replicas, rank
        self.even = even
        self.epoch = 0
        self.start = 0  # batches of this epoch to skip on the next iteration (resumption)
        self.position = 0  # batches of this epoch handed out so far

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffle of ``epoch`` and restart from its first batch."""
        self.epoch = epoch
        self.start = self.position = 0

    def state_dict(self) -> dict[str, int]:
        """The epoch and the batches of it handed out so far. A ``DataLoader`` with workers
        prefetches, so a training loop should save the count it consumed instead (as
        :class:`seqlab.training.Trainer` does with ``batches_done``)."""
        return {"epoch": self.epoch, "start": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue epoch ``state["epoch"]`` after its first ``state["start"]`` batches."""
        self.epoch, self.start = int(state["epoch"]), int(state["start"])
        self.position = self.start

    def _epoch_batches(self) -> list[list[int]]:
        order = list(range(len(self.batches)))
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(len(order), generator=g).tolist()
        if self.even:
            total = -(-len(order) // self.num_replicas) * self.num_replicas
            order = (order * (total // max(1, len(order)) + 1))[:total] if order else []
        return [self.batches[i] for i in order[self.rank :: self.num_replicas]]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._epoch_batches()
        start, self.start = self.start, 0
        self.position = start
        for batch in batches[start:]:
            self.position += 1
            yield batch

    def __len__(self) -> int:
        if self.even:
            return -(-len(self.batches) // self.num_replicas)
        return len(range(self.rank, len(self.batches), self.num_replicas))
