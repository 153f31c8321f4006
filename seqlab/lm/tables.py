"""The backoff n-gram model in arrays: what an ARPA file holds, indexed for vectorized lookup.

Order 1 has one row per vocabulary id (row == word id). Rows of order k >= 2 are sorted by the
int64 key ``context * V + word``, where ``context`` is the row of the prefix ``w1..w(k-1)`` in
order k-1; so ``np.searchsorted`` on the keys finds an n-gram once its context row is known.
The tables are closed: the prefix and the suffix ``w2..wk`` of every listed n-gram are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from seqlab.lm.vocab import BOS, EOS, UNK

LOG_ZERO = -99.0  # log10 probability written for impossible events (SRILM convention)


@dataclass(frozen=True)
class OrderTable:
    """The n-grams of one order.

    Attributes:
        context: int64 ``(M,)`` row of the prefix in the previous order (0 for unigrams).
        word: int64 ``(M,)`` id of the last word.
        logprob: float64 ``(M,)`` log10 p(word | prefix).
        logbackoff: float64 ``(M,)`` log10 backoff weight of the n-gram as a context (0 if none).
    """

    context: np.ndarray
    word: np.ndarray
    logprob: np.ndarray
    logbackoff: np.ndarray

    def __len__(self) -> int:
        return len(self.word)


@dataclass
class NGramTables:
    """A backoff LM: vocabulary plus one :class:`OrderTable` per order (``orders[k-1]``)."""

    vocab: tuple[str, ...]
    orders: list[OrderTable]
    index: dict[str, int] = field(init=False, repr=False)
    keys: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {w: i for i, w in enumerate(self.vocab)}
        size = len(self.vocab)
        self.keys = [t.context * size + t.word for t in self.orders]

    @property
    def order(self) -> int:
        return len(self.orders)

    @property
    def unk_id(self) -> int:
        return self.index[UNK]

    @property
    def bos_id(self) -> int:
        return self.index[BOS]

    @property
    def eos_id(self) -> int:
        return self.index[EOS]

    def counts(self) -> list[int]:
        """Number of n-grams per order (the ``\\data\\`` section of an ARPA file)."""
        return [len(t) for t in self.orders]

    def is_context(self, k: int) -> np.ndarray:
        """bool ``(len(orders[k-1]),)``: the k-gram is the prefix of some listed (k+1)-gram."""
        mask = np.zeros(len(self.orders[k - 1]), dtype=bool)
        if k < self.order:
            mask[self.orders[k].context] = True
        return mask

    def ngram_strings(self, k: int) -> list[str]:
        """The n-grams of order k as space-joined strings, in row order."""
        strings = list(self.vocab)
        for j in range(2, k + 1):
            t = self.orders[j - 1]
            strings = [
                strings[c] + " " + self.vocab[w]
                for c, w in zip(t.context.tolist(), t.word.tolist())
            ]
        return strings

    def lookup(self, k: int, context_rows: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Rows of the k-grams ``(context row, word)``; -1 where not listed or context is -1.

        Args:
            context_rows: int64 ``(B,)`` rows in order k-1 (ignored for k = 1; -1 = missing).
            words: int64 ``(B,)`` word ids.

        Queries are sorted before ``np.searchsorted`` (binary searches over sorted queries
        touch memory in order, several times faster on large tables) and only queries with a
        listed context are searched.
        """
        words = np.asarray(words, dtype=np.int64)
        if k == 1:
            return words.copy()
        out = np.full(len(words), -1, dtype=np.int64)
        keys = self.keys[k - 1]
        live = np.flatnonzero(np.asarray(context_rows) >= 0)
        if len(keys) == 0 or len(live) == 0:
            return out
        query = context_rows[live] * len(self.vocab) + words[live]
        order = np.argsort(query)
        sorted_query = query[order]
        where = np.minimum(np.searchsorted(keys, sorted_query), len(keys) - 1)
        found = keys[where] == sorted_query
        out[live[order[found]]] = where[found]
        return out
