"""Fast per-utterance edit counts (hits, substitutions, deletions, insertions) for a corpus.

Same counts as summing the ops of :func:`seqlab.metrics.align.align` pair by pair (and as
jiwer), without building any per-op Python object:

* ``editdistance.eval`` gives the distance ``d`` of every pair. Because
  ``S + D + I = d`` and ``I - D = m - n`` (``n``/``m`` reference/hypothesis lengths), the
  split is fixed as soon as ``d - |m - n| <= 1``: then ``S = d - |m - n|`` and only deletions
  or only insertions make up the length difference. Identical pairs, empty sides and most
  single-error pairs take this path.
* every other pair goes to one batched numpy pass: tokens are interned to integers, common
  prefixes/suffixes stripped, and the backtraces of all pairs walked in lock step over
  bit-parallel distance columns (:mod:`seqlab.metrics.bitparallel`), in chunks of pairs of
  similar size. Only deletions are counted there; ``I`` and
  ``S`` follow from the two equations above. Calls with only a few pairs (one utterance)
  skip numpy and run the same recurrence on Python integers.

Transcripts can be tokenized on the fly (``tokenize=str.split``): pairs are then tokenized
and measured a block at a time, the tokens of the pairs that need a backtrace are interned
right away, and every token list is freed while it is still in the CPU cache. The cyclic
garbage collector is paused meanwhile: the lists hold only tokens and cannot form cycles, yet
thousands of young lists would trip collections that walk all of them.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, islice
from typing import Any

import editdistance
import numpy as np

from seqlab.metrics.align import common_affix
from seqlab.metrics.bitparallel import (
    backtrace_deletions,
    deletions_one,
    match_masks,
    padded_width,
    vertical_deltas,
)

__all__ = ["edit_counts", "HITS", "SUBS", "DELS", "INS"]

HITS, SUBS, DELS, INS = 0, 1, 2, 3
_BLOCK = 1024  # pairs tokenized and measured at a time
_FEW_PAIRS = 16  # up to this many pairs, plain Python beats numpy's per-call overhead
_RUN_BLOCK = 8  # positions compared per round when measuring common prefixes and suffixes
_CHUNK_CELLS = 1 << 22  # bytes of bit vectors kept per batched backtrace call


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block, then restore its state."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def edit_counts(
    refs: Sequence[Any],
    hyps: Sequence[Any],
    tokenize: Callable[[Any], Sequence[Hashable]] | None = None,
) -> np.ndarray:
    """Count alignment operations pair by pair.

    Args:
        refs: ``N`` references: token sequences (lists of words, strings of characters, ids),
            or anything ``tokenize`` turns into one.
        hyps: ``N`` hypotheses, likewise.
        tokenize: applied to every reference and hypothesis first (e.g. ``str.split``);
            ``None`` takes them as token sequences.

    Returns:
        ``(N, 4)`` int64 array of ``[hits, substitutions, deletions, insertions]`` per pair,
        with the tie-breaking rule of :mod:`seqlab.metrics.align`.
    """
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses")
    count = len(refs)
    if count <= _FEW_PAIRS:
        return _few_counts(refs, hyps, tokenize)
    ref_len = np.empty(count, dtype=np.int64)
    hyp_len = np.empty(count, dtype=np.int64)
    dist = np.empty(count, dtype=np.int64)
    vocab: defaultdict = defaultdict()
    vocab.default_factory = vocab.__len__  # token -> id, new tokens get the next id
    pending, ref_ids, hyp_ids = [], [], []  # per block: pair indices, their flat token ids
    ref_iter, hyp_iter = iter(refs), iter(hyps)
    with _gc_paused():
        for start in range(0, count, _BLOCK):
            block_refs = islice(ref_iter, _BLOCK)
            block_hyps = islice(hyp_iter, _BLOCK)
            if tokenize is not None:
                block_refs, block_hyps = map(tokenize, block_refs), map(tokenize, block_hyps)
            block_refs, block_hyps = list(block_refs), list(block_hyps)
            size = len(block_refs)
            n = ref_len[start : start + size]
            m = hyp_len[start : start + size]
            d = dist[start : start + size]
            n[:] = np.fromiter(map(len, block_refs), dtype=np.int64, count=size)
            m[:] = np.fromiter(map(len, block_hyps), dtype=np.int64, count=size)
            d[:] = np.fromiter(map(editdistance.eval, block_refs, block_hyps), np.int64, size)
            # Pairs whose split is not forced keep their tokens, as ids, for the backtrace.
            picked = np.flatnonzero(d - np.abs(m - n) > 1)
            if picked.size:
                pending.append(picked + start)
                ref_ids.append(_intern(block_refs, picked, int(n[picked].sum()), vocab))
                hyp_ids.append(_intern(block_hyps, picked, int(m[picked].sum()), vocab))
            del block_refs, block_hyps  # freed before the collector resumes
    diff = hyp_len - ref_len
    dels = np.maximum(-diff, 0)  # forced split: only deletions or only insertions
    if pending:
        idx = np.concatenate(pending)
        dels[idx] = _batched_deletions(
            np.concatenate(ref_ids), ref_len[idx], np.concatenate(hyp_ids), hyp_len[idx]
        )
    out = np.empty((count, 4), dtype=np.int64)
    out[:, DELS] = dels
    out[:, INS] = dels + diff
    out[:, SUBS] = dist - 2 * dels - diff
    out[:, HITS] = ref_len - out[:, SUBS] - dels
    return out


def _few_counts(
    refs: Sequence[Any], hyps: Sequence[Any], tokenize: Callable[[Any], Sequence[Hashable]] | None
) -> np.ndarray:
    """:func:`edit_counts` for a few pairs, in plain Python (e.g. scoring one utterance)."""
    rows = []
    for ref, hyp in zip(refs, hyps):
        if tokenize is not None:
            ref, hyp = tokenize(ref), tokenize(hyp)
        n, m, d = len(ref), len(hyp), editdistance.eval(ref, hyp)
        if d - abs(m - n) > 1:
            prefix, suffix = common_affix(ref, hyp)
            dels = deletions_one(ref[prefix : n - suffix], hyp[prefix : m - suffix])
        else:
            dels = max(n - m, 0)
        subs = d - 2 * dels - (m - n)
        rows.append((n - subs - dels, subs, dels, dels + m - n))
    return np.array(rows, dtype=np.int64).reshape(len(rows), 4)


def _intern(
    seqs: list[Sequence[Hashable]], picked: np.ndarray, total: int, vocab: dict
) -> np.ndarray:
    """Flat int64 ids of the tokens of ``seqs[k]`` for ``k`` in ``picked``, in order."""
    tokens = chain.from_iterable(map(seqs.__getitem__, picked.tolist()))
    return np.fromiter(map(vocab.__getitem__, tokens), dtype=np.int64, count=total)


def _gather(
    flat: np.ndarray, start: np.ndarray, length: np.ndarray, pad: int, width: int
) -> np.ndarray:
    """``(B, width)`` rows ``flat[start[b]:start[b] + length[b]]``, padded with ``pad``."""
    cols = np.arange(width)
    rows = flat.take(start[:, None] + cols, mode="clip")
    return np.where(cols < length[:, None], rows, pad)


def _common_run(
    ref: np.ndarray,
    r_first: np.ndarray,
    hyp: np.ndarray,
    h_first: np.ndarray,
    limit: np.ndarray,
    step: int,
) -> np.ndarray:
    """Length of the run of equal tokens from ``ref[r_first]``/``hyp[h_first]`` on.

    Walks forwards (``step=1``) or backwards (``step=-1``) in the flat id arrays, at most
    ``limit`` tokens per pair. Compares ``_RUN_BLOCK`` positions per round and keeps going
    only with the pairs that matched all of them, so the cost follows the actual run lengths.
    """
    run = np.zeros_like(limit)
    live = np.flatnonzero(limit > 0)
    offsets = np.arange(_RUN_BLOCK + 1) * step
    while live.size:
        base = run[live] * step
        same = ref.take((r_first[live] + base)[:, None] + offsets, mode="clip") == hyp.take(
            (h_first[live] + base)[:, None] + offsets, mode="clip"
        )
        same[:, -1] = False  # one column past the block: a mismatch in every row
        grow = np.minimum(same.argmin(axis=1), limit[live] - run[live])
        run[live] += grow
        live = live[(grow == _RUN_BLOCK) & (run[live] < limit[live])]
    return run


def _batched_deletions(
    ref: np.ndarray, n: np.ndarray, hyp: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Number of deletions on the backtrace of each pair (all pairs have ``n, m > 0``).

    Args:
        ref, hyp: flat int64 token ids of all references / hypotheses, one after the other.
        n, m: ``(B,)`` lengths of the references / hypotheses.

    The common prefix and suffix are stripped first, then the middles go through the
    bit-parallel path (:mod:`seqlab.metrics.bitparallel`) in chunks of pairs of similar size.
    """
    # Narrow ids make the (columns x pairs x reference positions) comparisons cheaper.
    top = max(int(ref.max()), int(hyp.max()))
    dtype = np.int16 if top < np.iinfo(np.int16).max else np.int32
    ref, hyp = ref.astype(dtype), hyp.astype(dtype)
    r_start, h_start = np.cumsum(n) - n, np.cumsum(m) - m
    shortest = np.minimum(n, m)
    prefix = _common_run(ref, r_start, hyp, h_start, shortest, 1)
    suffix = _common_run(ref, r_start + n - 1, hyp, h_start + m - 1, shortest - prefix, -1)
    n, m = n - prefix - suffix, m - prefix - suffix  # both stay > 0 for pending pairs
    r_start, h_start = r_start + prefix, h_start + prefix
    dels = np.zeros(n.size, dtype=np.int64)
    order = np.lexsort((n, m))
    start = 0
    while start < order.size:
        # Longest run of (sorted) pairs whose padded arrays fit in the cell budget.
        tail = order[start:]
        width_n = np.maximum.accumulate(n[tail])
        width_m = np.maximum.accumulate(m[tail])
        # per pair: two (M + 1, K) blocks of 8-byte words kept for the backtrace
        cells = (width_m + 1) * 16 * (width_n // 64 + 1) * np.arange(1, tail.size + 1)
        stop = start + max(1, int(np.searchsorted(cells, _CHUNK_CELLS, side="right")))
        idx = order[start:stop]
        if idx.size <= _FEW_PAIRS and int(n[idx].max()) > 64:
            # Long pairs, a few per chunk: numpy would loop in Python over the 64-bit words of
            # every column (quadratic Python overhead); Python integers do a whole column per
            # operation.
            for i in idx:
                r, h = r_start[i], h_start[i]
                dels[i] = deletions_one(ref[r : r + n[i]].tolist(), hyp[h : h + m[i]].tolist())
        else:
            dels[idx] = _chunk_deletions(ref, r_start[idx], n[idx], hyp, h_start[idx], m[idx])
        start = stop
    return dels


def _chunk_deletions(
    ref: np.ndarray,
    r_start: np.ndarray,
    n: np.ndarray,
    hyp: np.ndarray,
    h_start: np.ndarray,
    m: np.ndarray,
) -> np.ndarray:
    """Deletions of one chunk of pairs, stored flat from ``r_start``/``h_start`` on."""
    eq = match_masks(
        _gather(ref, r_start, n, -1, padded_width(int(n.max()))),
        _gather(hyp, h_start, m, -2, int(m.max())),
    )
    vp_cols, vn_cols = vertical_deltas(eq)
    return backtrace_deletions(vp_cols, vn_cols, n, m)
