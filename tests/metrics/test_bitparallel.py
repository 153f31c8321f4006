"""Bit-parallel distance columns and backtrace against the classic DP and RapidFuzz."""

from __future__ import annotations

import random

import editdistance
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from seqlab.metrics.align import common_affix
from seqlab.metrics.bitparallel import (
    backtrace_deletions,
    deletions_one,
    match_masks,
    padded_width,
    vertical_deltas,
)


def padded(rows: list[list[int]], pad: int, width: int) -> np.ndarray:
    return np.array([row + [pad] * (width - len(row)) for row in rows], dtype=np.int64)


def run_batch(refs: list[list[int]], hyps: list[list[int]]):
    n = np.array([len(r) for r in refs], dtype=np.int64)
    m = np.array([len(h) for h in hyps], dtype=np.int64)
    eq = match_masks(padded(refs, -1, padded_width(int(n.max()))), padded(hyps, -2, int(m.max())))
    vp, vn = vertical_deltas(eq)
    return vp, vn, backtrace_deletions(vp, vn, n, m)


pairs = st.lists(
    st.tuples(
        st.lists(st.integers(0, 3), min_size=1, max_size=140),
        st.lists(st.integers(0, 3), min_size=1, max_size=40),
    ),
    min_size=1,
    max_size=6,
)


def bit(vectors: np.ndarray, j: int, b: int, i: int) -> int:
    """Bit ``i`` of the multi-word vector of column ``j``, pair ``b``."""
    return int(vectors[j, i // 64, b] >> np.uint64(i % 64) & np.uint64(1))


@settings(max_examples=100, deadline=None)
@given(pairs)
def test_columns_rebuild_the_distance_matrix(batch):
    # References past 64 and 128 tokens need carries and shifts across words.
    refs, hyps = [p[0] for p in batch], [p[1] for p in batch]
    vp, vn, _ = run_batch(refs, hyps)
    for b, (ref, hyp) in enumerate(zip(refs, hyps)):
        for j in range(len(hyp) + 1):
            deltas = [bit(vp, j, b, i) - bit(vn, j, b, i) for i in range(len(ref))]
            expected = [editdistance.eval(ref[: i + 1], hyp[:j]) for i in range(len(ref))]
            assert (j + np.cumsum(deltas)).tolist() == expected


def rapidfuzz_deletions(ref: list[int], hyp: list[int]) -> int:
    return sum(op[0] == "delete" for op in Levenshtein.editops(ref, hyp).as_list())


@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200])
def test_backtrace_deletions_match_rapidfuzz_at_word_boundaries(n):
    rng = random.Random(n)
    refs, hyps = [], []
    while len(refs) < 40:
        ref = [rng.randrange(3) for _ in range(n)]
        hyp = [rng.randrange(3) for _ in range(rng.randint(1, 2 * n))]
        prefix, suffix = common_affix(ref, hyp)
        if prefix == 0 and suffix == 0:  # the batched path strips affixes before this step
            refs.append(ref)
            hyps.append(hyp)
    _, _, dels = run_batch(refs, hyps)
    assert dels.tolist() == [rapidfuzz_deletions(r, h) for r, h in zip(refs, hyps)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=90), st.lists(st.integers(0, 3), max_size=90))
def test_single_pair_python_path_matches_rapidfuzz(ref, hyp):
    prefix, suffix = common_affix(ref, hyp)
    middle_ref, middle_hyp = ref[prefix : len(ref) - suffix], hyp[prefix : len(hyp) - suffix]
    assert deletions_one(middle_ref, middle_hyp) == rapidfuzz_deletions(ref, hyp)


def test_padded_width_and_bad_widths():
    widths = [padded_width(k) for k in (1, 8, 9, 16, 17, 32, 33, 64, 65, 129)]
    assert widths == [8, 8, 16, 16, 32, 32, 64, 64, 128, 192]
    with pytest.raises(ValueError, match="got 5"):
        match_masks(np.zeros((1, 5), dtype=np.int64), np.zeros((1, 2), dtype=np.int64))
