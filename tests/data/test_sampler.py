"""Length-bucketing batch sampler: frame cap, coverage, determinism, DDP split, resume."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data import BucketBatchSampler, make_batches


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.integers(1, 300), min_size=1, max_size=60), st.integers(50, 1000), st.integers(0, 8)
)
def test_batches_respect_the_cap_and_cover_every_index_once(lengths, max_frames, max_bs):
    batches = make_batches(lengths, max_frames, max_bs)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) == 1 or len(b) * longest <= max_frames
        assert max_bs == 0 or len(b) <= max_bs


def test_similar_lengths_are_batched_together():
    lengths = [10, 500, 11, 490, 12, 505]
    batches = make_batches(lengths, 1100)
    assert sorted(map(sorted, batches)) == [[0, 2, 4], [1, 3], [5]]


def test_epochs_are_deterministic_for_a_seed_and_differ_between_epochs():
    rng = random.Random(0)
    lengths = [rng.randint(10, 200) for _ in range(200)]
    a = BucketBatchSampler(lengths, 800, seed=3, num_replicas=1, rank=0)
    b = BucketBatchSampler(lengths, 800, seed=3, num_replicas=1, rank=0)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    b.set_epoch(2)
    assert list(a) != list(b)
    assert sorted(map(sorted, a)) == sorted(map(sorted, b)), "same batches, other order"


def test_distributed_ranks_split_batches_evenly_and_disjointly():
    lengths = list(range(1, 100))
    samplers = [BucketBatchSampler(lengths, 300, seed=0, num_replicas=3, rank=r) for r in range(3)]
    per_rank = [list(s) for s in samplers]
    assert len({len(p) for p in per_rank}) == 1 and len(per_rank[0]) == len(samplers[0])
    seen = [i for p in per_rank for b in p for i in b]
    assert set(seen) == set(range(len(lengths)))
    total = len(make_batches(lengths, 300))
    assert len(seen) - len(lengths) <= sum(len(b) for b in make_batches(lengths, 300)[:3])
    assert len(per_rank[0]) * 3 >= total


def test_resume_position_skips_consumed_batches_once():
    lengths = list(range(1, 60))
    s = BucketBatchSampler(lengths, 200, seed=1, num_replicas=1, rank=0)
    s.set_epoch(4)
    full = list(s)
    s.load_state_dict({"epoch": 4, "start": 3})
    assert list(s) == full[3:]
    assert list(s) == full, "the skip applies to one pass only"
    it = iter(s)
    taken = [next(it) for _ in range(5)]
    assert s.state_dict() == {"epoch": 4, "start": 5}  # saved mid-epoch, where it is
    resumed = BucketBatchSampler(lengths, 200, seed=1, num_replicas=1, rank=0)
    resumed.load_state_dict(s.state_dict())
    assert taken + list(resumed) == full


def test_uneven_split_for_evaluation_counts_every_batch_once():
    lengths = list(range(1, 100))
    batches = make_batches(lengths, 300)
    assert len(batches) % 3 != 0
    samplers = [BucketBatchSampler(lengths, 300, shuffle=False, num_replicas=3, rank=r, even=False)
                for r in range(3)]  # fmt: skip
    seen = sorted(i for s in samplers for b in s for i in b)
    assert seen == list(range(len(lengths)))
    assert sum(len(s) for s in samplers) == len(batches)
