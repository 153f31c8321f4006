"""Vectorized n-gram counting over an integer-encoded corpus.

Every sentence is padded as ``<s> w1 ... wn </s>`` (one ``<s>``, as KenLM and SRILM), so no
n-gram spans two sentences and none ends in ``<s>``. N-grams are identified without Python
tuples: the k-gram ending at token ``i`` has the int64 key ``row(k-1-gram ending at i-1) * V +
w_i``, and ``np.unique`` over all keys of an order gives its distinct n-grams (sorted by key),
their counts and, through the inverse index, the rows the next order builds its keys from. A
corpus of T tokens needs O(T) int64 work arrays per order and no per-token Python objects
beyond the first encoding pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from seqlab.lm.errors import CorpusError, LMError
from seqlab.lm.vocab import BOS_ID, EOS_ID, SPECIALS, limit_vocab

_CHUNK = 1 << 20  # tokens buffered in a Python list before conversion to numpy


@dataclass(frozen=True)
class Corpus:
    """An integer-encoded, sentence-padded corpus.

    Attributes:
        vocab: units in id order (``<unk>``, ``<s>``, ``</s>`` first).
        tokens: int32 ``(T,)`` ids of every sentence as ``<s> w1 ... wn </s>``, concatenated.
        position: int32 ``(T,)`` index of each token inside its sentence (0 for ``<s>``).
        num_sentences: number of sentences.
    """

    vocab: tuple[str, ...]
    tokens: np.ndarray
    position: np.ndarray
    num_sentences: int


@dataclass(frozen=True)
class OrderCounts:
    """The distinct n-grams of one order k, sorted by ``(context, word)``.

    Rows of order 1 are word ids (one row per vocabulary entry, count possibly 0).

    Attributes:
        context: int64 ``(M,)`` row of the prefix ``w1..w(k-1)`` in order k-1 (0 for k = 1).
        word: int64 ``(M,)`` id of the last word ``wk``.
        count: int64 ``(M,)`` raw occurrence count.
        suffix: int64 ``(M,)`` row of ``w2..wk`` in order k-1 (-1 for k = 1).
    """

    context: np.ndarray
    word: np.ndarray
    count: np.ndarray
    suffix: np.ndarray

    def __len__(self) -> int:
        return len(self.word)


@dataclass(frozen=True)
class NGramCounts:
    """Counts of all orders 1..N of a corpus (``orders[k-1]`` holds the k-grams)."""

    vocab: tuple[str, ...]
    orders: list[OrderCounts]
    num_sentences: int

    @property
    def order(self) -> int:
        return len(self.orders)


def encode_corpus(
    sentences: Iterable[Sequence[str]],
    top_k: int | None = None,
    word_list: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Corpus:
    """Map sentences of units to ids, pad them with ``<s>``/``</s>`` and apply vocabulary limits.

    Args:
        sentences: iterable of unit lists (already split, see :class:`~seqlab.lm.units.UnitSplitter`).
            Empty sentences count (they give the bigram ``<s> </s>``).
        top_k, word_list: vocabulary limits, see :func:`~seqlab.lm.vocab.limit_vocab`.
        progress: called with the number of sentences read since the last call.

    Raises:
        LMError: the corpus is empty; :class:`CorpusError` (with the sentence number): a
            sentence contains ``<s>`` / ``</s>`` literally.
    """
    index: defaultdict[str, int] = defaultdict(lambda: len(index))  # new units get the next id
    index.update((s, i) for i, s in enumerate(SPECIALS))
    lookup = index.__getitem__
    chunks: list[np.ndarray] = []
    lengths: list[int] = []
    buf: list[int] = []
    pending = 0
    for units in sentences:
        buf.append(BOS_ID)
        buf.extend(map(lookup, units))
        buf.append(EOS_ID)
        lengths.append(len(units) + 2)
        pending += 1
        if len(buf) >= _CHUNK:
            chunks.append(np.array(buf, dtype=np.int32))
            buf = []
            if progress is not None:
                progress(pending)
                pending = 0
    chunks.append(np.array(buf, dtype=np.int32))
    if progress is not None and pending:
        progress(pending)
    if not lengths:
        raise LMError("the training text has no sentences")
    tokens = np.concatenate(chunks)
    vocab = tuple(index)
    counts = np.bincount(tokens, minlength=len(vocab))
    if counts[BOS_ID] != len(lengths) or counts[EOS_ID] != len(lengths):
        lens = np.asarray(lengths, dtype=np.int64)
        marker = np.isin(tokens, (BOS_ID, EOS_ID))
        marker[np.cumsum(lens) - lens] = False  # each sentence's own <s>
        marker[np.cumsum(lens) - 1] = False  # and </s>
        first = int(np.searchsorted(np.cumsum(lens), int(np.argmax(marker)), side="right"))
        raise CorpusError(first + 1, "<s> or </s> as a word; remove the markers")
    if top_k is not None or word_list is not None:
        vocab, mapping = limit_vocab(vocab, counts, top_k, word_list)
        tokens = mapping.astype(np.int32)[tokens]
    lens = np.asarray(lengths, dtype=np.int64)
    starts = np.repeat(np.cumsum(lens) - lens, lens)
    position = (np.arange(len(tokens), dtype=np.int64) - starts).astype(np.int32)
    return Corpus(vocab=vocab, tokens=tokens, position=position, num_sentences=len(lengths))


def count_ngrams(corpus: Corpus, order: int) -> NGramCounts:
    """Count every n-gram of orders 1..``order`` of ``corpus``.

    Returns:
        :class:`NGramCounts`; order k holds the k-grams inside sentences (``<s>`` only as first
        word). The unigram table covers the whole vocabulary, ``<s>`` counted once per sentence.
    """
    if order < 1:
        raise LMError(f"order must be >= 1, got {order}")
    vocab_size = len(corpus.vocab)
    toks = corpus.tokens.astype(np.int64)
    pos = corpus.position
    unigram = OrderCounts(
        context=np.zeros(vocab_size, dtype=np.int64),
        word=np.arange(vocab_size, dtype=np.int64),
        count=np.bincount(toks, minlength=vocab_size).astype(np.int64),
        suffix=np.full(vocab_size, -1, dtype=np.int64),
    )
    orders = [unigram]
    row = toks  # row of the (k-1)-gram ending at each position (valid where position >= k-2)
    for k in range(2, order + 1):
        ends = np.flatnonzero(pos >= k - 1)
        if len(ends) == 0:
            empty = np.zeros(0, dtype=np.int64)
            orders.append(OrderCounts(empty, empty, empty, empty))
            row = np.full(len(toks), -1, dtype=np.int64)
            continue
        keys = row[ends - 1] * vocab_size + toks[ends]
        uniq, inverse, count = np.unique(keys, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        suffix = np.empty(len(uniq), dtype=np.int64)
        suffix[inverse] = row[ends]  # every occurrence of an n-gram has the same suffix
        orders.append(
            OrderCounts(
                context=uniq // vocab_size,
                word=uniq % vocab_size,
                count=count.astype(np.int64),
                suffix=suffix,
            )
        )
        row = np.full(len(toks), -1, dtype=np.int64)
        row[ends] = inverse
    return NGramCounts(vocab=corpus.vocab, orders=orders, num_sentences=corpus.num_sentences)
