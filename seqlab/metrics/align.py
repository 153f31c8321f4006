"""Levenshtein alignment of two token sequences with a fixed, documented tie-breaking rule.

Several minimal alignments can split the same distance differently: reference ``a b`` against
hypothesis ``b c`` is two substitutions or one deletion plus one insertion. Scores are only
comparable across toolkits when the split is the same, so seqlab reproduces the rule of
RapidFuzz's ``Levenshtein.editops`` (Hyyrö's bit-parallel alignment, used by jiwer >= 3):

1. strip the common prefix and suffix (they are matches);
2. fill the unit-cost edit-distance matrix ``D`` of the remaining middle parts
   (``D[i][j]`` = distance between the first ``i`` reference and first ``j`` hypothesis tokens);
3. walk back from ``(n, m)`` while ``i > 0`` and ``j > 0``, preferring in this order:
   a deletion when ``D[i][j] - D[i-1][j] == 1``; an insertion when
   ``D[i][j-1] - D[i-1][j-1] == -1``; otherwise the diagonal (a match or a substitution);
4. what is left of the reference is deleted, what is left of the hypothesis is inserted.

The distance itself equals ``editdistance.eval``; the matrix is computed here (vectorised with
numpy, one row at a time) because neither editdistance nor jiwer expose the backtrace.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["EditOp", "align", "common_affix", "distance_matrix"]

MATCH, SUBSTITUTION, DELETION, INSERTION = "=", "S", "D", "I"


@dataclass(frozen=True)
class EditOp:
    """One step of an alignment.

    Attributes:
        op: ``"="`` match, ``"S"`` substitution, ``"D"`` deletion (reference token missing from
            the hypothesis), ``"I"`` insertion (extra hypothesis token).
        ref_index: position in the reference, ``None`` for an insertion.
        hyp_index: position in the hypothesis, ``None`` for a deletion.
        ref: the reference token, ``None`` for an insertion.
        hyp: the hypothesis token, ``None`` for a deletion.
    """

    op: str
    ref_index: int | None
    hyp_index: int | None
    ref: Hashable | None
    hyp: Hashable | None


def common_affix(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> tuple[int, int]:
    """Return ``(prefix_len, suffix_len)`` of the common prefix and suffix (not overlapping)."""
    n, m = len(ref), len(hyp)
    shortest = min(n, m)
    prefix = 0
    while prefix < shortest and ref[prefix] == hyp[prefix]:
        prefix += 1
    suffix = 0
    while suffix < shortest - prefix and ref[n - 1 - suffix] == hyp[m - 1 - suffix]:
        suffix += 1
    return prefix, suffix


def distance_matrix(ref: np.ndarray, hyp: np.ndarray) -> np.ndarray:
    """Edit-distance matrices of a batch of padded integer sequences, column-shifted.

    Args:
        ref: ``(B, n)`` integer reference tokens; padding must never equal a hypothesis value.
        hyp: ``(B, m)`` integer hypothesis tokens; padding must never equal a reference value.

    Returns:
        ``(B, n + 1, m + 1)`` array ``E`` with ``E[b, i, j] = D[b, i, j] - j`` where ``D`` is
        the unit-cost Levenshtein distance between ``ref[b, :i]`` and ``hyp[b, :j]``
        (int16 when ``n + m`` allows, else int32). Differences along a column, all the
        backtrace needs, are those of ``D``. Cells inside each pair's true lengths do not
        depend on the padding, since a cell only reads cells above and to its left.

    In this shifted form a row is two shifted candidates and a running minimum:
    ``E[i, j] = min(E[i-1, j] + 1, E[i-1, j-1] - [ref_i == hyp_j], E[i, j-1])``, with
    ``E[0, j] = 0`` and ``E[i, 0] = i``.
    """
    batch, n = ref.shape
    m = hyp.shape[1]
    dtype = np.int16 if n + m < 32000 else np.int32
    out = np.empty((batch, n + 1, m + 1), dtype=dtype)
    out[:, 0, :] = 0
    out[:, :, 0] = np.arange(n + 1, dtype=dtype)
    if n == 0 or m == 0:
        return out
    same = (ref[:, :, None] == hyp[:, None, :]).view(np.int8)  # (B, n, m)
    up = np.empty((batch, m), dtype=dtype)
    for i in range(1, n + 1):
        prev = out[:, i - 1, :]
        np.add(prev[:, 1:], 1, out=up)
        row = out[:, i, 1:]
        np.subtract(prev[:, :-1], same[:, i - 1, :], out=row, casting="unsafe")
        np.minimum(row, up, out=row)
        np.minimum.accumulate(out[:, i, :], axis=1, out=out[:, i, :])
    return out


def align(ref: Sequence[Hashable], hyp: Sequence[Hashable]) -> list[EditOp]:
    """Align two token sequences (words, characters, ids) with RapidFuzz/jiwer tie-breaking.

    Args:
        ref: reference tokens (a ``str`` is a sequence of characters).
        hyp: hypothesis tokens.

    Returns:
        The full alignment in order, matches included: ``len(ops) == hits + S + D + I`` and
        the ``ref`` (``hyp``) fields of the ops, ``None`` skipped, spell ``ref`` (``hyp``).

    >>> [o.op for o in align("a b c".split(), "a x c d".split())]
    ['=', 'S', '=', 'I']
    """
    ref, hyp = list(ref), list(hyp)
    prefix, suffix = common_affix(ref, hyp)
    n, m = len(ref) - prefix - suffix, len(hyp) - prefix - suffix
    vocab: dict[Hashable, int] = {}
    ref_ids = [vocab.setdefault(t, len(vocab)) for t in ref[prefix : prefix + n]]
    hyp_ids = [vocab.setdefault(t, len(vocab)) for t in hyp[prefix : prefix + m]]
    dist = distance_matrix(
        np.asarray(ref_ids, dtype=np.int64).reshape(1, n),
        np.asarray(hyp_ids, dtype=np.int64).reshape(1, m),
    )[0].tolist()

    tail = [
        EditOp(MATCH, k, len(hyp) - len(ref) + k, ref[k], hyp[len(hyp) - len(ref) + k])
        for k in range(len(ref) - suffix, len(ref))
    ]
    middle: list[EditOp] = []
    i, j = n, m
    while i > 0 and j > 0:
        if dist[i][j] > dist[i - 1][j]:  # D[i][j] - D[i-1][j] == 1
            i -= 1
            middle.append(EditOp(DELETION, prefix + i, None, ref[prefix + i], None))
        elif dist[i][j - 1] < dist[i - 1][j - 1]:  # D[i][j-1] - D[i-1][j-1] == -1
            j -= 1
            middle.append(EditOp(INSERTION, None, prefix + j, None, hyp[prefix + j]))
        else:
            i -= 1
            j -= 1
            r, h = ref[prefix + i], hyp[prefix + j]
            middle.append(EditOp(MATCH if r == h else SUBSTITUTION, prefix + i, prefix + j, r, h))
    while i > 0:
        i -= 1
        middle.append(EditOp(DELETION, prefix + i, None, ref[prefix + i], None))
    while j > 0:
        j -= 1
        middle.append(EditOp(INSERTION, None, prefix + j, None, hyp[prefix + j]))
    head = [EditOp(MATCH, k, k, ref[k], hyp[k]) for k in range(prefix)]
    return head + middle[::-1] + tail
