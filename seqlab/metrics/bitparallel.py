"""Bit-parallel (Myers/Hyyrö) edit distance and backtrace for many pairs at once.

One column ``j`` of the edit-distance matrix ``D`` of a reference of ``n`` tokens is held in
two bit vectors: bit ``i - 1`` of ``VP[j]`` is set when ``D[i][j] - D[i-1][j] == +1`` and bit
``i - 1`` of ``VN[j]`` when it is ``-1`` (otherwise the vertical difference is 0). Myers'
algorithm, in Hyyrö's formulation for the global (Levenshtein) distance, derives column
``j + 1`` from column ``j`` with a dozen bitwise operations, one addition and two shifts,
given ``Eq``: the bit mask of reference positions equal to hypothesis token ``j + 1``.

Here a bit vector is ``K = ceil(n / 64)`` words of a ``(K, B)`` uint64 numpy array that holds
one pair per column, so one column step advances a whole batch of ``B`` pairs. With ``K > 1``
the addition carries and the shifts move bits from word ``k`` into word ``k + 1``.

The tie-breaking backtrace of :mod:`seqlab.metrics.align` only ever reads vertical
differences (``D[i][j] - D[i-1][j] == 1`` means a deletion, ``D[i][j-1] - D[i-1][j-1] == -1``
an insertion, anything else the diagonal), that is one bit of ``VP[j]`` or ``VN[j - 1]``; it is
walked for all pairs in lock step, counting deletions only (RapidFuzz, which jiwer uses,
builds its edit operations from the very same bit vectors).

Bits at or above a pair's reference length are garbage (padding), but they never reach lower
bits: additions carry upwards and shifts move bits upwards. Columns past a pair's hypothesis
length are computed too and never read, so pairs of different sizes share a batch.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = [
    "backtrace_deletions",
    "deletions_one",
    "match_masks",
    "padded_width",
    "vertical_deltas",
]

_SMALL_WIDTHS = (8, 16, 32)  # references this short are packed into narrower integers first
_MASK_BYTES = 1 << 20  # booleans compared at a time while building match masks
_ONE = np.uint64(1)
_TOP = np.uint64(1 << 63)


def padded_width(length: int) -> int:
    """Reference row width for :func:`match_masks`: 8, 16, 32 or a multiple of 64 tokens."""
    for width in _SMALL_WIDTHS:
        if length <= width:
            return width
    return -(-length // 64) * 64


def match_masks(ref: np.ndarray, hyp: np.ndarray) -> np.ndarray:
    """``Eq`` bit vectors: bit ``i`` of column ``j`` of pair ``b`` is ``ref[b, i] == hyp[b, j]``.

    Args:
        ref: ``(B, W)`` integer reference tokens, ``W`` from :func:`padded_width`, padded
            with a value that no hypothesis token takes.
        hyp: ``(B, M)`` integer hypothesis tokens, padded likewise.

    Returns:
        ``(M, K, B)`` uint64 array, ``K = max(1, W // 64)`` words per vector (least
        significant first), laid out so that one column of a batch is contiguous.
    """
    batch, width = ref.shape
    if width not in _SMALL_WIDTHS and width % 64:
        raise ValueError(f"reference rows must be 8, 16, 32 or 64 * K tokens wide, got {width}")
    cols = hyp.shape[1]
    out = np.empty((cols, max(1, width // 64), batch), dtype=np.uint64)
    step = max(1, _MASK_BYTES // (batch * width))  # columns per block of booleans
    for first in range(0, cols, step):
        block = hyp[:, first : first + step].T
        same = block[:, :, None] == ref[None, :, :]  # (columns, B, W) booleans, contiguous
        # Each run of 8 booleans becomes a byte, bit i = position i (little-endian throughout).
        packed = np.packbits(same, axis=None, bitorder="little")
        if width < 64:
            out[first : first + step, 0] = packed.view(f"<u{width // 8}").reshape(-1, batch)
        else:
            words = packed.view("<u8").reshape(block.shape[0], batch, width // 64)
            out[first : first + step] = words.transpose(0, 2, 1)
    return out


def _add_with_carry(total: np.ndarray, addend: np.ndarray) -> None:
    """``total += addend`` for ``(K, B)`` multi-word integers (word 0 least significant)."""
    np.add(total, addend, out=total)  # each word wraps around on its own
    carry = total[0] < addend[0]
    for k in range(1, total.shape[0]):
        overflow = total[k] < addend[k]
        total[k] += carry
        carry = overflow | (carry & (total[k] == 0))


def _shift_up(vector: np.ndarray, carry_in: np.uint64) -> None:
    """``vector = (vector << 1) | carry_in`` for ``(K, B)`` multi-word bit vectors."""
    top = vector[:-1] >> np.uint64(63)  # bits that move into the next word
    np.left_shift(vector, _ONE, out=vector)
    vector[1:] |= top
    vector[0] |= carry_in


def vertical_deltas(eq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run Myers' recurrence over all columns of a batch.

    Args:
        eq: ``(M, K, B)`` uint64 match masks from :func:`match_masks`.

    Returns:
        ``(VP, VN)``, each ``(M + 1, K, B)`` uint64: the positive and negative vertical
        difference bits of columns ``0..M`` (column 0 is ``D[i][0] = i``: all ``+1``).
    """
    cols, words, batch = eq.shape
    vp_cols = np.empty((cols + 1, words, batch), dtype=np.uint64)
    vn_cols = np.empty((cols + 1, words, batch), dtype=np.uint64)
    vp_cols[0] = ~np.uint64(0)
    vn_cols[0] = 0
    x, d0, hp, hn = (np.empty((words, batch), dtype=np.uint64) for _ in range(4))
    for j in range(cols):
        vp, vn = vp_cols[j], vn_cols[j]
        np.bitwise_or(eq[j], vn, out=x)  # X = Eq | VN
        np.bitwise_and(x, vp, out=d0)  # D0 = (((X & VP) + VP) ^ VP) | X
        if words == 1:
            np.add(d0, vp, out=d0)
        else:
            _add_with_carry(d0, vp)
        np.bitwise_xor(d0, vp, out=d0)
        np.bitwise_or(d0, x, out=d0)
        np.bitwise_or(d0, vp, out=hp)  # HP = VN | ~(D0 | VP)
        np.invert(hp, out=hp)
        np.bitwise_or(hp, vn, out=hp)
        np.bitwise_and(vp, d0, out=hn)  # HN = VP & D0
        if words == 1:
            np.left_shift(hp, _ONE, out=hp)  # row 0 is D[0][j] = j: horizontal +1 enters
            np.bitwise_or(hp, _ONE, out=hp)
            np.left_shift(hn, _ONE, out=hn)
        else:
            _shift_up(hp, _ONE)
            _shift_up(hn, np.uint64(0))
        new_vp, new_vn = vp_cols[j + 1], vn_cols[j + 1]
        np.bitwise_or(d0, hp, out=new_vp)  # VP' = HN | ~(D0 | HP)
        np.invert(new_vp, out=new_vp)
        np.bitwise_or(new_vp, hn, out=new_vp)
        np.bitwise_and(hp, d0, out=new_vn)  # VN' = HP & D0
    return vp_cols, vn_cols


def backtrace_deletions(
    vp_cols: np.ndarray, vn_cols: np.ndarray, n: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """Deletions on the tie-broken backtrace of every pair of a batch.

    Args:
        vp_cols, vn_cols: ``(M + 1, K, B)`` uint64 from :func:`vertical_deltas`.
        n, m: ``(B,)`` int64 reference and hypothesis lengths (``n <= 64 K``, ``m <= M``).

    Returns:
        ``(B,)`` int64 number of deletions, reference tokens left over at the border included.
    """
    words, batch = vp_cols.shape[1:]
    column = words * batch  # flat distance between columns j and j - 1
    dels = np.zeros(batch, dtype=np.int64)
    vp_flat, vn_flat = vp_cols.reshape(-1), vn_cols.reshape(-1)
    live = np.arange(batch)
    i = n.copy()
    row = np.maximum(i - 1, 0)  # bit of row i: word row // 64, bit row % 64 in it
    pos = m * column + (row // 64) * batch + live  # flat index of (column j, word, pair b)
    bit = np.left_shift(_ONE, (row % 64).astype(np.uint64))
    counted = np.zeros(batch, dtype=np.int64)  # deletions of the live pairs so far
    while True:
        done = (i == 0) | (pos < column)  # i == 0 or j == 0
        if done.any():
            dels[live[done]] = counted[done] + i[done]  # leftover reference is deleted
            keep = ~done
            live, i, pos, bit, counted = live[keep], i[keep], pos[keep], bit[keep], counted[keep]
            if live.size == 0:
                return dels
        is_del = (vp_flat[pos] & bit) != 0  # D[i][j] - D[i-1][j] == 1: up
        is_ins = (vn_flat[pos - column] & bit) != 0  # D[i][j-1] - D[i-1][j-1] == -1: left
        is_ins &= ~is_del
        counted += is_del
        moves_up = ~is_ins  # deletion or diagonal: i - 1
        i -= moves_up
        bit >>= moves_up.view(np.uint8)
        if words > 1:  # row i left bit 0 of its word: go to the top bit of the word below
            crossed = bit == 0
            pos -= batch * crossed
            bit[crossed] = _TOP
        pos -= column * ~is_del  # insertion or diagonal: j - 1


def deletions_one(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> int:
    """Deletions on the tie-broken backtrace of one pair, with Python integers as bit vectors.

    The same recurrence and backtrace as the batched functions above, for a single pair and
    any length (Python integers grow as needed): cheaper than a numpy batch when only a few
    pairs need a backtrace, e.g. when scoring one utterance. The common prefix and suffix
    must already be stripped.

    The backtrace reads two ``n``-bit columns per hypothesis token. Up to
    :data:`FULL_BACKTRACE_BITS` they are all kept; beyond, only every ``sqrt(m)``-th column is
    kept and each block is recomputed from its checkpoint as the backtrace reaches it (the
    same result, twice the column steps, ``O(n sqrt(m))`` bits instead of ``O(n m)``).

    >>> deletions_one("ab", "bc")  # two substitutions, no deletion (RapidFuzz's choice)
    0
    """
    n, m = len(ref), len(hyp)
    mask = (1 << n) - 1
    peq: dict[Hashable, int] = {}  # token -> bit mask of its reference positions
    for i, token in enumerate(ref):
        peq[token] = peq.get(token, 0) | 1 << i
    masks = [peq.get(token, 0) for token in hyp]
    stride = 1 if n * m <= FULL_BACKTRACE_BITS else max(1, math.isqrt(m))
    kept = _columns(masks, 0, m, mask, 0, mask, stride)  # columns 0, stride, 2 stride, ...
    if stride == 1:
        dels, i, _ = _walk_back(kept[0], kept[1], 0, n, m)
        return dels + i
    dels, i, j = 0, n, m
    while i and j:
        block = (j - 1) // stride  # columns block * stride .. j hold the next steps
        base = block * stride
        vp_cols, vn_cols = _columns(masks, base, j, kept[0][block], kept[1][block], mask, 1)
        steps, i, j = _walk_back(vp_cols, vn_cols, base, i, j)
        dels += steps
    return dels + i


# up to this many n * m bits a single-pair backtrace keeps every column (2 x 32 MB at most)
FULL_BACKTRACE_BITS = 1 << 28


def _columns(
    masks: Sequence[int], start: int, stop: int, vp: int, vn: int, mask: int, stride: int
) -> tuple[list[int], list[int]]:
    """Vertical delta columns ``start, start + stride, ... <= stop`` of the recurrence, from
    column ``start``'s ``(vp, vn)``; ``masks[j]`` is hypothesis token ``j``'s match mask."""
    vp_cols, vn_cols = [vp], [vn]
    for j in range(start, stop):
        x = masks[j] | vn
        d0 = (((x & vp) + vp) ^ vp) | x
        hp = ((vn | ~(d0 | vp)) << 1 | 1) & mask
        hn = (vp & d0) << 1
        vp = (hn | ~(d0 | hp)) & mask
        vn = hp & d0
        if (j + 1 - start) % stride == 0:
            vp_cols.append(vp)
            vn_cols.append(vn)
    return vp_cols, vn_cols


def _walk_back(
    vp_cols: list[int], vn_cols: list[int], base: int, i: int, j: int
) -> tuple[int, int, int]:
    """Walk the backtrace from cell ``(i, j)`` while ``j > base`` (column ``c`` is stored at
    ``c - base``); returns ``(deletions, i, j)`` where it stopped."""
    dels = 0
    while i and j > base:
        bit = 1 << (i - 1)
        if vp_cols[j - base] & bit:  # deletion: up
            dels += 1
            i -= 1
        elif vn_cols[j - 1 - base] & bit:  # insertion: left
            j -= 1
        else:  # match or substitution: diagonal
            i -= 1
            j -= 1
    return dels, i, j
