"""Querying a backoff n-gram LM: sentence scores, per-token scores, perplexity, decoder states.

Scores are log10 probabilities with the ARPA backoff recursion: if ``w1..wn`` is listed its
probability, else ``backoff(w1..w(n-1)) + p(wn | w2..w(n-1))`` (a missing context contributes 0).
Words outside the vocabulary are scored as ``<unk>`` and flagged as OOV; they stay in the
context as ``<unk>`` (as kenlm.Model does).

The batch path (:meth:`NGramLM.full_scores_batch`) looks up all tokens of all sentences at once:
for each order k, the row of the k-gram ending at every token is found with ``np.searchsorted``
on the sorted int64 keys ``context row * V + word``, then the longest match and the backoff
chain are combined with array operations. The per-sentence methods use it too.

The state API (:meth:`NGramLM.begin_state`, :meth:`NGramLM.advance`) is for beam-search
decoders: a state is a tuple of word ids (most recent last), minimized like KenLM's states to
the longest suffix of the history that can still matter (a listed n-gram that is a context or
has a backoff), so equal states mean equal futures and states can key dictionaries.
"""

from __future__ import annotations

import math
import operator
import os
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

from seqlab.lm.errors import LMError
from seqlab.lm.tables import LOG_ZERO, NGramTables
from seqlab.lm.units import UnitSplitter, split_words

State = tuple[int, ...]
Sentence = str | Sequence[str]
_CACHE_LIMIT = 1 << 20


@dataclass(frozen=True)
class BatchScores:
    """Per-token scores of several sentences, flattened.

    Attributes:
        logprob: float64 ``(T,)`` log10 probability of each scored token (``</s>`` included).
        ngram_length: int64 ``(T,)`` order of the longest listed n-gram used.
        oov: bool ``(T,)`` the token is out of the vocabulary (scored as ``<unk>``).
        is_eos: bool ``(T,)`` the token is the appended ``</s>``.
        offsets: int64 ``(B + 1,)`` sentence ``b`` owns tokens ``offsets[b]:offsets[b + 1]``.
    """

    logprob: np.ndarray
    ngram_length: np.ndarray
    oov: np.ndarray
    is_eos: np.ndarray
    offsets: np.ndarray

    def sentence_scores(self) -> np.ndarray:
        """float64 ``(B,)`` log10 probability of each sentence."""
        sums = np.concatenate([[0.0], np.cumsum(self.logprob)])
        return sums[self.offsets[1:]] - sums[self.offsets[:-1]]


@dataclass(frozen=True)
class Perplexity:
    """Perplexity summary with SRILM ``ngram -ppl`` conventions.

    ``words`` excludes ``</s>``; OOVs and zero-probability tokens (log10 p <= -99) are left out
    of ``logprob``; ``ppl = 10^(-logprob / (words - oovs - zeroprobs + sentences))`` (``</s>``
    counted) and ``ppl1 = 10^(-logprob / (words - oovs - zeroprobs))``; NaN where the count is
    0, printed ``undefined`` as SRILM does.
    """

    sentences: int
    words: int
    oovs: int
    zeroprobs: int
    logprob: float
    ppl: float
    ppl1: float

    def __str__(self) -> str:
        return (
            f"{self.sentences} sentences, {self.words} words, {self.oovs} OOVs\n"
            f"{self.zeroprobs} zeroprobs, logprob= {self.logprob:.6g} ppl= {_srilm(self.ppl)} "
            f"ppl1= {_srilm(self.ppl1)}"
        )


def _srilm(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.6g}"


class NGramLM:
    """A backoff n-gram language model (see the module docstring).

    Args:
        tables: the model arrays (from :func:`load_arpa` or :func:`seqlab.lm.train_lm`).
        splitter: how a sentence given as a string is split into units (default: words).

    >>> from seqlab.lm import TrainConfig, train_lm
    >>> lm = train_lm(["the cat sat", "the dog sat"], TrainConfig(order=2, smoothing="witten-bell"))
    >>> round(lm.score("the cat sat"), 4)  # log10 p(the cat sat </s> | <s>)
    -0.9719
    """

    def __init__(self, tables: NGramTables, splitter: UnitSplitter | None = None) -> None:
        self.tables = tables
        self.splitter = splitter or UnitSplitter("word")
        self.vocab = tables.vocab
        self.index = tables.index
        self.order = tables.order
        self.unk_id, self.bos_id, self.eos_id = tables.unk_id, tables.bos_id, tables.eos_id
        self._size = len(self.vocab)
        self._ids = _Ids(self.index, self.unk_id)
        self._logprob = [t.logprob for t in tables.orders]
        self._logbackoff = [t.logbackoff for t in tables.orders]
        self._useful = [
            tables.is_context(k) | (tables.orders[k - 1].logbackoff != 0.0)
            for k in range(1, self.order + 1)
        ]
        self._row_cache: list[dict[int, int]] = [{} for _ in range(self.order + 1)]
        self._state_rows: dict[State, tuple[int, ...]] = {}
        self._advance_cache: dict[tuple[State, int], tuple[State, float]] = {}
        self._scalar: tuple[list, list, list] | None = None

    # ------------------------------------------------------------------ vocabulary
    def __contains__(self, word: str) -> bool:
        return word in self.index

    def tokenize(self, sentence: Sentence) -> list[str]:
        """Units of ``sentence``: a string is split by the model's splitter, a list is kept."""
        return self.splitter(sentence) if isinstance(sentence, str) else list(sentence)

    def word_id(self, word: str) -> int:
        """Id of ``word``; ``<unk>``'s id for words outside the vocabulary."""
        return self.index.get(word, self.unk_id)

    # ------------------------------------------------------------------ batch scoring
    def full_scores_batch(
        self, sentences: Iterable[Sentence], bos: bool = True, eos: bool = True
    ) -> BatchScores:
        """Score every token of every sentence in one vectorized pass (see :class:`BatchScores`)."""
        unk = self.unk_id
        if self.splitter.unit == "word":  # fast path: no per-sentence method calls
            units = [split_words(s) if isinstance(s, str) else list(s) for s in sentences]
        else:
            units = [self.tokenize(s) for s in sentences]
        lens = np.fromiter(map(len, units), dtype=np.int64, count=len(units))
        words = np.fromiter(
            map(self._ids.__getitem__, chain.from_iterable(units)),
            dtype=np.int64,
            count=int(lens.sum()),
        )
        padded = lens + bos + eos
        ends = np.cumsum(padded)
        starts = ends - padded
        toks = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
        is_word = np.ones(len(toks), dtype=bool)
        if bos:
            toks[starts] = self.bos_id
            is_word[starts] = False
        if eos:
            toks[ends - 1] = self.eos_id
            is_word[ends - 1] = False
        toks[is_word] = words
        pos = np.arange(len(toks), dtype=np.int64) - np.repeat(starts, padded)
        logprob, length = self._score_positions(toks, pos)
        scored = pos >= 1 if bos else np.ones(len(toks), dtype=bool)
        is_eos = np.zeros(len(toks), dtype=bool)
        if eos:
            is_eos[ends - 1] = True
        oov = (toks == unk) & is_word  # a literal <unk> counts as OOV, as in kenlm
        offsets = np.concatenate([[0], np.cumsum(padded - bos)]).astype(np.int64)
        return BatchScores(
            logprob=logprob[scored],
            ngram_length=length[scored],
            oov=oov[scored],
            is_eos=is_eos[scored],
            offsets=offsets,
        )

    def _score_positions(self, toks: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log10 p and match length of every token given the tokens before it in its sentence."""
        n = len(toks)
        rows = toks  # rows of the k-grams ending at each token, order by order
        contexts = []  # contexts[j-1]: row of the j-gram ending just before each token, or -1
        length = np.ones(n, dtype=np.int64)
        logprob = self._logprob[0][toks]
        for k in range(2, self.order + 1):
            ctx = np.empty(n, dtype=np.int64)
            ctx[0:1] = -1
            ctx[1:] = rows[:-1]
            ctx[pos < k - 1] = -1
            contexts.append(ctx)
            rows = self.tables.lookup(k, ctx, toks)
            hit = np.flatnonzero(rows >= 0)
            length[hit] = k
            logprob[hit] = self._logprob[k - 1][rows[hit]]
        # Backoffs of the contexts at least as long as the match (context length j).
        for j, ctx in enumerate(contexts, start=1):
            use = np.flatnonzero((ctx >= 0) & (length <= j))
            logprob[use] += self._logbackoff[j - 1][ctx[use]]
        return logprob, length

    def score_batch(
        self, sentences: Iterable[Sentence], bos: bool = True, eos: bool = True
    ) -> np.ndarray:
        """float64 ``(B,)`` log10 probability of each sentence (vectorized)."""
        return self.full_scores_batch(sentences, bos, eos).sentence_scores()

    # ------------------------------------------------------------------ kenlm-like API
    def full_scores(
        self, sentence: Sentence, bos: bool = True, eos: bool = True
    ) -> Iterator[tuple[float, int, bool]]:
        """Yield ``(log10 p, n-gram length used, is_oov)`` per token, ``</s>`` last (kenlm.Model)."""
        s = self.full_scores_batch([sentence], bos, eos)
        yield from zip(s.logprob.tolist(), s.ngram_length.tolist(), s.oov.tolist())

    def score(self, sentence: Sentence, bos: bool = True, eos: bool = True) -> float:
        """log10 probability of ``sentence`` (with ``</s>`` when ``eos``)."""
        return float(self.full_scores_batch([sentence], bos, eos).logprob.sum())

    def perplexity(
        self, sentences: Iterable[Sentence], bos: bool = True, eos: bool = True
    ) -> Perplexity:
        """SRILM-style perplexity summary of ``sentences`` (see :class:`Perplexity`)."""
        s = self.full_scores_batch(sentences, bos, eos)
        zero = (s.logprob <= LOG_ZERO) & ~s.oov
        counted = ~s.oov & ~zero
        num_sent = len(s.offsets) - 1
        words = int((~s.is_eos).sum())
        oovs, zeroprobs = int(s.oov.sum()), int(zero.sum())
        logprob = float(s.logprob[counted].sum())
        denom = words - oovs - zeroprobs
        return Perplexity(
            sentences=num_sent,
            words=words,
            oovs=oovs,
            zeroprobs=zeroprobs,
            logprob=logprob,
            ppl=_ppl(logprob, int(counted.sum())),
            ppl1=_ppl(logprob, denom),
        )

    # ------------------------------------------------------------------ decoder states
    def begin_state(self) -> State:
        """State after ``<s>`` (start of a sentence)."""
        return self._minimize((self.bos_id,), (self.bos_id,))

    def null_state(self) -> State:
        """Empty context (scores without ``<s>``, like kenlm's NullContextWrite)."""
        return ()

    def _lists(self) -> tuple[list[array], list[array], list[array]]:
        """Compact ``array.array`` copies of the tables for fast scalar access in :meth:`advance`.

        Built on the first call (a memory copy, 8 bytes per value); indexing them is several
        times cheaper than indexing numpy arrays one element at a time.
        """
        if self._scalar is None:
            self._scalar = (
                [array("d", p.astype(np.float64).tobytes()) for p in self._logprob],
                [array("d", b.astype(np.float64).tobytes()) for b in self._logbackoff],
                [array("b", u.astype(np.int8).tobytes()) for u in self._useful],
            )
        return self._scalar

    def _row(self, k: int, context_row: int, word: int) -> int:
        """Row of the k-gram (context row, word) or -1, memoized per order."""
        if k == 1:
            return word
        key = context_row * self._size + word
        cache = self._row_cache[k]
        row = cache.get(key)
        if row is None:
            keys = self.tables.keys[k - 1]
            i = int(keys.searchsorted(key))
            row = i if i < len(keys) and int(keys[i]) == key else -1
            if len(cache) < _CACHE_LIMIT:
                cache[key] = row
        return row

    def _rows_of(self, state: State) -> tuple[int, ...]:
        """Rows of the suffixes of ``state`` of lengths 1..len(state) (-1 once unlisted)."""
        rows = self._state_rows.get(state)
        if rows is None:
            out: list[int] = []
            for j in range(1, len(state) + 1):
                ids = state[-j:]
                row = ids[0]
                for k in range(2, j + 1):
                    row = self._row(k, row, ids[k - 1]) if row >= 0 else -1
                out.append(row)
            rows = tuple(out)
        return rows

    def _minimize(self, ids: tuple[int, ...], rows: list[int] | tuple[int, ...]) -> State:
        """Longest suffix of ``ids`` (<= order-1 words) that is listed and useful as a context."""
        useful = self._lists()[2]
        for j in range(min(len(rows), self.order - 1), 0, -1):
            if useful[j - 1][rows[j - 1]]:
                state = ids[-j:]
                if len(self._state_rows) < _CACHE_LIMIT:
                    self._state_rows[state] = tuple(rows[:j])
                return state
        return ()

    def advance(self, state: State, token: str | int) -> tuple[State, float]:
        """Extend ``state`` by ``token`` (a unit, or an id: any integer type, e.g. from a numpy
        or torch argmax): ``(new state, log10 p(token | state))``. An unknown unit is
        ``<unk>``; an id outside the vocabulary raises :class:`LMError`.

        Pass ``"</s>"`` to close a sentence. Results are memoized per ``(state, token id)``.
        """
        if isinstance(token, str):
            word = self.index.get(token, self.unk_id)
        else:
            word = operator.index(token)  # int, numpy or 0-d torch integers
            if not 0 <= word < self._size:
                raise LMError(f"advance: token id {word} outside [0, {self._size})")
        cached = self._advance_cache.get((state, word))
        if cached is not None:
            return cached
        probs, backoffs, _ = self._lists()
        ctx_rows = self._state_rows.get(state) or self._rows_of(state)
        rows = [word]
        for j in range(2, min(len(state) + 1, self.order) + 1):
            ctx = ctx_rows[j - 2]
            row = self._row(j, ctx, word) if ctx >= 0 else -1
            if row < 0:
                break
            rows.append(row)
        m = len(rows)
        logp = probs[m - 1][rows[-1]]
        for j in range(m, min(len(state), self.order - 1) + 1):
            ctx = ctx_rows[j - 1]
            if ctx >= 0:
                logp += backoffs[j - 1][ctx]
        result = (self._minimize((*state, word), rows), logp)
        if len(self._advance_cache) >= _CACHE_LIMIT:
            self._advance_cache.clear()
        self._advance_cache[(state, word)] = result
        return result


class _Ids(dict):
    """Word -> id mapping that answers ``<unk>``'s id for unknown words (without storing them)."""

    def __init__(self, index: dict[str, int], unk: int) -> None:
        super().__init__(index)
        self.unk = unk

    def __missing__(self, key: str) -> int:
        return self.unk


def _ppl(logprob: float, count: int) -> float:
    return float(10.0 ** (-logprob / count)) if count > 0 else float("nan")


def load_arpa(
    path: str | os.PathLike,
    unit: str = "word",
    spm_model: str | None = None,
    space_token: str = "|",
) -> NGramLM:
    """Load an ARPA file (KenLM, SRILM or seqlab; ``.gz`` ok) as an :class:`NGramLM`.

    ``unit``/``spm_model``/``space_token`` say how string sentences are split (see
    :class:`~seqlab.lm.units.UnitSplitter`); sentences given as lists of units are used as is.
    """
    from seqlab.lm.arpa import read_arpa

    return NGramLM(read_arpa(path), UnitSplitter(unit, space_token, spm_model))
