"""Bit-parallel (Myers/Hyyrö) edit distance and backtrace for many short pairs at once.

For a reference of ``n <= 64`` tokens, one column ``j`` of the edit-distance matrix ``D`` is
held in two 64-bit words: bit ``i - 1`` of ``VP[j]`` is set when
``D[i][j] - D[i-1][j] == +1`` and bit ``i - 1`` of ``VN[j]`` when it is ``-1`` (otherwise the
vertical difference is 0). Myers' algorithm, in Hyyrö's formulation for the global
(Levenshtein) distance, derives column ``j + 1`` from column ``j`` with a dozen word
operations, given ``Eq``: the bit mask of reference positions equal to hypothesis token
``j + 1``. Here every word is a ``uint64`` numpy array holding one pair per element, so one
column step advances a whole batch.

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

from collections.abc import Hashable, Sequence

import numpy as np

__all__ = [
    "MAX_REF_LEN",
    "backtrace_deletions",
    "deletions_one",
    "match_masks",
    "vertical_deltas",
    "word_width",
]

MAX_REF_LEN = 64  # one machine word per column
_WIDTHS = (8, 16, 32, 64)  # bits of the unsigned integer types match masks are packed into
_ONE = np.uint64(1)


def word_width(length: int) -> int:
    """Smallest of 8, 16, 32 and 64 bits that holds ``length`` reference tokens."""
    for width in _WIDTHS:
        if length <= width:
            return width
    raise ValueError(f"references of {length} tokens do not fit in a 64-bit word")


def match_masks(ref: np.ndarray, hyp: np.ndarray) -> np.ndarray:
    """``Eq`` words: bit ``i`` of ``out[j, b]`` is set when ``ref[b, i] == hyp[b, j]``.

    Args:
        ref: ``(B, W)`` integer reference tokens with ``W`` in 8, 16, 32, 64 (see
            :func:`word_width`), padded with a value that no hypothesis token takes.
        hyp: ``(B, M)`` integer hypothesis tokens, padded likewise.

    Returns:
        ``(M, B)`` uint64 array (column-major, so that one column of a batch is contiguous).
    """
    batch, width = ref.shape
    if width not in _WIDTHS:
        raise ValueError(f"reference rows must be 8, 16, 32 or 64 tokens wide, got {width}")
    same = hyp.T[:, :, None] == ref[None, :, :]  # (M, B, W) booleans, contiguous
    # W booleans in a row become one little-endian W-bit integer: bit i = ref position i.
    packed = np.packbits(same, axis=None, bitorder="little")
    return packed.view(f"<u{width // 8}").reshape(hyp.shape[1], batch).astype(np.uint64)


def vertical_deltas(eq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run Myers' recurrence over all columns of a batch.

    Args:
        eq: ``(M, B)`` uint64 match masks from :func:`match_masks`.

    Returns:
        ``(VP, VN)``, each ``(M + 1, B)`` uint64: the positive and negative vertical
        difference bits of columns ``0..M`` (column 0 is ``D[i][0] = i``: all ``+1``).
    """
    cols, batch = eq.shape
    vp_cols = np.empty((cols + 1, batch), dtype=np.uint64)
    vn_cols = np.empty((cols + 1, batch), dtype=np.uint64)
    vp_cols[0] = ~np.uint64(0)
    vn_cols[0] = 0
    x, d0, hp, hn = (np.empty(batch, dtype=np.uint64) for _ in range(4))
    for j in range(cols):
        vp, vn = vp_cols[j], vn_cols[j]
        np.bitwise_or(eq[j], vn, out=x)  # X = Eq | VN
        np.bitwise_and(x, vp, out=d0)  # D0 = (((X & VP) + VP) ^ VP) | X
        np.add(d0, vp, out=d0)
        np.bitwise_xor(d0, vp, out=d0)
        np.bitwise_or(d0, x, out=d0)
        np.bitwise_or(d0, vp, out=hp)  # HP = VN | ~(D0 | VP)
        np.invert(hp, out=hp)
        np.bitwise_or(hp, vn, out=hp)
        np.bitwise_and(vp, d0, out=hn)  # HN = VP & D0
        np.left_shift(hp, _ONE, out=hp)  # row 0 is D[0][j] = j: horizontal +1 enters
        np.bitwise_or(hp, _ONE, out=hp)
        np.left_shift(hn, _ONE, out=hn)
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
        vp_cols, vn_cols: ``(M + 1, B)`` uint64 from :func:`vertical_deltas`.
        n, m: ``(B,)`` int64 reference and hypothesis lengths (``n <= 64``, ``m <= M``).

    Returns:
        ``(B,)`` int64 number of deletions, reference tokens left over at the border included.
    """
    batch = n.size
    dels = np.zeros(batch, dtype=np.int64)
    vp_flat, vn_flat = vp_cols.reshape(-1), vn_cols.reshape(-1)
    live = np.arange(batch)
    i = n.copy()
    pos = m * batch + live  # flat index of column j, pair b
    bit = np.left_shift(_ONE, np.maximum(i - 1, 0).astype(np.uint64))  # row i's bit
    counted = np.zeros(batch, dtype=np.int64)  # deletions of the live pairs so far
    while True:
        done = (i == 0) | (pos < batch)  # i == 0 or j == 0
        if done.any():
            dels[live[done]] = counted[done] + i[done]  # leftover reference is deleted
            keep = ~done
            live, i, pos, bit, counted = live[keep], i[keep], pos[keep], bit[keep], counted[keep]
            if live.size == 0:
                return dels
        is_del = (vp_flat[pos] & bit) != 0  # D[i][j] - D[i-1][j] == 1: up
        is_ins = (vn_flat[pos - batch] & bit) != 0  # D[i][j-1] - D[i-1][j-1] == -1: left
        is_ins &= ~is_del
        counted += is_del
        moves_up = ~is_ins  # deletion or diagonal: i - 1
        i -= moves_up
        bit >>= moves_up.view(np.uint8)
        pos -= batch * ~is_del  # insertion or diagonal: j - 1


def deletions_one(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> int:
    """Deletions on the tie-broken backtrace of one pair, with Python integers as bit vectors.

    The same recurrence and backtrace as the batched functions above, for a single pair and
    any length (Python integers grow as needed): cheaper than a numpy batch when only a few
    pairs need a backtrace, e.g. when scoring one utterance. The common prefix and suffix
    must already be stripped.

    >>> deletions_one("ab", "bc")  # two substitutions, no deletion (RapidFuzz's choice)
    0
    """
    n = len(ref)
    mask = (1 << n) - 1
    peq: dict[Hashable, int] = {}  # token -> bit mask of its reference positions
    for i, token in enumerate(ref):
        peq[token] = peq.get(token, 0) | 1 << i
    vp, vn = mask, 0
    vp_cols, vn_cols = [vp], [vn]
    for token in hyp:
        x = peq.get(token, 0) | vn
        d0 = (((x & vp) + vp) ^ vp) | x
        hp = ((vn | ~(d0 | vp)) << 1 | 1) & mask
        hn = (vp & d0) << 1
        vp = (hn | ~(d0 | hp)) & mask
        vn = hp & d0
        vp_cols.append(vp)
        vn_cols.append(vn)
    dels, i, j = 0, n, len(hyp)
    while i and j:
        bit = 1 << (i - 1)
        if vp_cols[j] & bit:  # deletion: up
            dels += 1
            i -= 1
        elif vn_cols[j - 1] & bit:  # insertion: left
            j -= 1
        else:  # match or substitution: diagonal
            i -= 1
            j -= 1
    return dels + i
