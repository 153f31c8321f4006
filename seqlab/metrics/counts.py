"""Fast per-utterance edit counts (hits, substitutions, deletions, insertions) for a corpus.

Same counts as summing the ops of :func:`seqlab.metrics.align.align` pair by pair (and as
jiwer), without building any per-op Python object:

* ``editdistance.eval`` gives the distance ``d`` of every pair. Because
  ``S + D + I = d`` and ``I - D = m - n`` (``n``/``m`` reference/hypothesis lengths), the
  split is fixed as soon as ``d - |m - n| <= 1``: then ``S = d - |m - n|`` and only deletions
  or only insertions make up the length difference. Identical pairs, empty sides and most
  single-error pairs take this path.
* every other pair goes to one batched numpy pass: tokens are interned to integers, common
  prefixes/suffixes stripped, the distance matrices of pairs of similar size filled at once,
  and all backtraces walked in lock step. Only deletions are counted there; ``I`` and ``S``
  follow from the two equations above.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from itertools import chain

import editdistance
import numpy as np

from seqlab.metrics.align import distance_matrix

__all__ = ["edit_counts", "HITS", "SUBS", "DELS", "INS"]

HITS, SUBS, DELS, INS = 0, 1, 2, 3
_CHUNK_CELLS = 1 << 19  # matrix cells per batched DP call (1 MiB of int16)


def edit_counts(
    refs: Sequence[Sequence[Hashable]], hyps: Sequence[Sequence[Hashable]]
) -> np.ndarray:
    """Count alignment operations pair by pair.

    Args:
        refs: ``N`` reference token sequences (lists of words, strings of characters, ids).
        hyps: ``N`` hypothesis token sequences.

    Returns:
        ``(N, 4)`` int64 array of ``[hits, substitutions, deletions, insertions]`` per pair,
        with the tie-breaking rule of :mod:`seqlab.metrics.align`.
    """
    if len(refs) != len(hyps):
        raise ValueError(f"got {len(refs)} references but {len(hyps)} hypotheses")
    count = len(refs)
    ref_len = np.fromiter(map(len, refs), dtype=np.int64, count=count)
    hyp_len = np.fromiter(map(len, hyps), dtype=np.int64, count=count)
    dist = np.fromiter(map(editdistance.eval, refs, hyps), dtype=np.int64, count=count)
    diff = hyp_len - ref_len
    # Deletions where the split is forced; the batched pass fills in the others.
    dels = np.maximum(-diff, 0)
    pending = np.flatnonzero(dist - np.abs(diff) > 1)
    if pending.size:
        dels[pending] = _batched_deletions(
            [refs[k] for k in pending],
            [hyps[k] for k in pending],
            ref_len[pending],
            hyp_len[pending],
        )
    out = np.empty((count, 4), dtype=np.int64)
    out[:, DELS] = dels
    out[:, INS] = dels + diff
    out[:, SUBS] = dist - 2 * dels - diff
    out[:, HITS] = ref_len - out[:, SUBS] - dels
    return out


def _interned(seqs: list[Sequence[Hashable]], lengths: np.ndarray, vocab: defaultdict) -> tuple:
    """Flat int64 ids of all tokens and the start offset of each sequence."""
    flat = np.fromiter(
        map(vocab.__getitem__, chain.from_iterable(seqs)), dtype=np.int64, count=int(lengths.sum())
    )
    return flat, np.cumsum(lengths) - lengths


def _affix(
    ref: np.ndarray,
    r_start: np.ndarray,
    n: np.ndarray,
    hyp: np.ndarray,
    h_start: np.ndarray,
    m: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Common prefix and suffix lengths of flat-stored pairs (not overlapping)."""
    shortest = np.minimum(n, m)
    width = int(shortest.max())
    k = np.arange(width)
    inside = k < shortest[:, None]
    head = np.where(inside, r_start[:, None] + k, 0)
    same = (ref[head] == hyp[np.where(inside, h_start[:, None] + k, 0)]) & inside
    prefix = np.cumprod(same, axis=1).sum(axis=1)
    tail_r = np.where(inside, (r_start + n - 1)[:, None] - k, 0)
    same = (ref[tail_r] == hyp[np.where(inside, (h_start + m - 1)[:, None] - k, 0)]) & inside
    suffix = np.minimum(np.cumprod(same, axis=1).sum(axis=1), shortest - prefix)
    return prefix, suffix


def _gather(flat: np.ndarray, start: np.ndarray, length: np.ndarray, pad: int) -> np.ndarray:
    """``(B, max(length))`` rows ``flat[start[b]:start[b] + length[b]]`` padded with ``pad``."""
    cols = np.arange(int(length.max()))
    valid = cols < length[:, None]
    return np.where(valid, flat[np.where(valid, start[:, None] + cols, 0)], pad)


def _batched_deletions(
    refs: list[Sequence[Hashable]], hyps: list[Sequence[Hashable]], n: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Number of deletions on the backtrace of each pair (all pairs have ``n, m > 0``)."""
    vocab: defaultdict = defaultdict()
    vocab.default_factory = vocab.__len__
    ref, r_start = _interned(refs, n, vocab)
    hyp, h_start = _interned(hyps, m, vocab)
    prefix, suffix = _affix(ref, r_start, n, hyp, h_start, m)
    n, m = n - prefix - suffix, m - prefix - suffix  # both stay > 0 for pending pairs
    r_start, h_start = r_start + prefix, h_start + prefix
    dels = np.zeros(len(refs), dtype=np.int64)
    order = np.lexsort((m, n))
    start = 0
    while start < order.size:
        # Longest run of (sorted) pairs whose padded matrices fit in the cell budget.
        tail = order[start:]
        cells = (n[tail] + 1) * (np.maximum.accumulate(m[tail]) + 1) * np.arange(1, tail.size + 1)
        stop = start + max(1, int(np.searchsorted(cells, _CHUNK_CELLS, side="right")))
        idx = order[start:stop]
        dels[idx] = _backtrace_deletions(
            _gather(ref, r_start[idx], n[idx], -1),
            _gather(hyp, h_start[idx], m[idx], -2),
            n[idx],
            m[idx],
        )
        start = stop
    return dels


def _backtrace_deletions(
    ref: np.ndarray, hyp: np.ndarray, n: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Walk the backtraces of one padded chunk in lock step; return deletions per pair."""
    shifted = distance_matrix(ref, hyp)  # column differences equal those of D
    batch, rows, width = shifted.shape
    flat = shifted.reshape(-1)
    dels = np.zeros(batch, dtype=np.int64)
    live = np.arange(batch)
    i, j = n.copy(), m.copy()
    pos = live * (rows * width) + i * width + j
    while True:
        done = (i == 0) | (j == 0)
        if done.any():
            dels[live[done]] += i[done]  # what is left of the reference is deleted
            keep = ~done
            live, i, j, pos = live[keep], i[keep], j[keep], pos[keep]
            if live.size == 0:
                return dels
        here = flat[pos]
        is_del = here > flat[pos - width]  # D[i][j] - D[i-1][j] == 1
        diag = pos - width - 1
        is_ins = (flat[pos - 1] < flat[diag]) & ~is_del  # D[i][j-1] - D[i-1][j-1] == -1
        dels[live] += is_del
        # deletion: up; insertion: left; otherwise diagonal.
        pos = np.where(is_del, pos - width, np.where(is_ins, pos - 1, diag))
        i -= ~is_ins
        j -= ~is_del
