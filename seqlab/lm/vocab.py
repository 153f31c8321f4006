"""LM vocabulary: special symbols, id layout and vocabulary limits (top-k or a word list).

Id layout (as KenLM): ``0`` is ``<unk>``, ``1`` is ``<s>``, ``2`` is ``</s>``, then the units in
order of first occurrence in the training text. Units outside a limited vocabulary are counted
as ``<unk>`` (SRILM's ``-vocab ... -unk`` behaviour; lmplz's ``--limit_vocab_file`` instead
drops the n-grams that contain them).
"""

from __future__ import annotations

import os

import numpy as np

from seqlab.lm.errors import LMError

UNK = "<unk>"
BOS = "<s>"
EOS = "</s>"
SPECIALS = (UNK, BOS, EOS)
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2


def read_word_list(path: str | os.PathLike) -> list[str]:
    """Read a vocabulary file: the first whitespace-separated field of every non-blank line.

    Works for plain word lists and for ``word count`` or ``word id`` tables. Fields are split
    on ASCII whitespace, like the training text.

    Raises:
        LMError: ``path:line`` of text that is not UTF-8, or a file with no words.
    """
    from seqlab.lm.estimate import read_lines  # (estimate imports this module)
    from seqlab.lm.units import split_words

    words = [fields[0] for fields in map(split_words, read_lines(path)) if fields]
    if not words:
        raise LMError(f"{path}: vocabulary file has no words")
    return words


def limit_vocab(
    tokens: tuple[str, ...],
    unigram_counts: np.ndarray,
    top_k: int | None = None,
    word_list: list[str] | None = None,
) -> tuple[tuple[str, ...], np.ndarray]:
    """Restrict a vocabulary to its ``top_k`` most frequent units and/or to ``word_list``.

    Args:
        tokens: current vocabulary in id order, starting with :data:`SPECIALS`.
        unigram_counts: int64 ``(len(tokens),)`` occurrence counts of each id.
        top_k: keep at most this many non-special units, the most frequent first (ties broken
            by first occurrence, i.e. by id).
        word_list: keep only these units (they are added with count 0 when unseen).

    Returns:
        ``(new_tokens, mapping)`` where ``mapping`` is int64 ``(len(tokens),)`` taking every old
        id to its new id (``UNK_ID`` for dropped units).
    """
    if top_k is not None and top_k < 1:
        raise LMError(f"vocabulary size must be >= 1, got {top_k}")
    keep = np.ones(len(tokens), dtype=bool)
    keep[: len(SPECIALS)] = False
    extra: list[str] = []
    if word_list is not None:
        allowed = set(word_list) - set(SPECIALS)
        keep &= np.fromiter((t in allowed for t in tokens), dtype=bool, count=len(tokens))
        known = set(tokens)
        extra = [w for w in dict.fromkeys(word_list) if w not in known and w not in SPECIALS]
    if top_k is not None:
        candidates = np.flatnonzero(keep)
        order = candidates[np.argsort(-unigram_counts[candidates], kind="stable")]
        keep[:] = False
        keep[order[:top_k]] = True
        extra = extra[: max(0, top_k - len(order))]
    kept = np.flatnonzero(keep)
    mapping = np.full(len(tokens), UNK_ID, dtype=np.int64)
    mapping[: len(SPECIALS)] = np.arange(len(SPECIALS))
    mapping[kept] = np.arange(len(SPECIALS), len(SPECIALS) + len(kept))
    new_tokens = SPECIALS + tuple(tokens[i] for i in kept) + tuple(extra)
    return new_tokens, mapping
