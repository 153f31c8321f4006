"""Word and character error rates over a corpus, with the full S/D/I breakdown.

Conventions (the same as Kaldi ``compute-wer`` and jiwer unless stated):

* corpus rate = total errors / total reference tokens (not a mean of utterance rates);
* words are ``str.split()`` tokens; characters are the code points of the stripped string,
  spaces included (as ``jiwer.cer``); sequences that are not ``str`` are taken as ready token
  lists (characters of an OCR line, ids...);
* **empty references**: when the reference length is 0 the rate is ``0.0`` if there are no
  errors and ``inf`` otherwise (Kaldi prints ``inf``; it prints ``nan`` for 0/0 where seqlab
  says 0.0). jiwer instead returns the number of insertions. Per-utterance rates follow the same
  rule. An empty corpus (no utterances) has rate 0.0;
* alignment ties are broken like RapidFuzz/jiwer (see :mod:`seqlab.metrics.align`), so S, D,
  I and hits equal jiwer's on the same tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from seqlab.metrics.counts import DELS, HITS, INS, SUBS, edit_counts
from seqlab.text.normalize import NormalizationOptions, normalize

__all__ = ["ErrorRate", "UtteranceResult", "MetricError", "wer", "cer", "error_rate"]

Transcript = str | Sequence[Hashable]


class MetricError(ValueError):
    """Inputs to a metric do not fit together (e.g. different numbers of utterances)."""


def _rate(errors: int, ref_len: int) -> float:
    if ref_len > 0:
        return errors / ref_len
    return 0.0 if errors == 0 else math.inf


@dataclass(frozen=True)
class UtteranceResult:
    """Edit counts of one reference/hypothesis pair.

    ``rate`` is ``errors / ref_len`` (``0.0`` or ``inf`` for an empty reference).
    """

    index: int
    hits: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def ref_len(self) -> int:
        return self.hits + self.substitutions + self.deletions

    @property
    def hyp_len(self) -> int:
        return self.hits + self.substitutions + self.insertions

    @property
    def rate(self) -> float:
        return _rate(self.errors, self.ref_len)


@dataclass(frozen=True)
class ErrorRate:
    """Corpus-level error rate with its breakdown.

    Attributes:
        unit: ``"word"`` (WER) or ``"char"`` (CER); only used for display.
        hits, substitutions, deletions, insertions: summed over utterances.
        ref_len, hyp_len: total reference and hypothesis tokens.
        sentences: number of utterances.
        sentence_errors: utterances with at least one error (for %SER).
        counts: ``(sentences, 4)`` int64 ``[hits, subs, dels, ins]`` per utterance, in input
            order (see :attr:`utterances` for objects).
    """

    unit: str
    hits: int
    substitutions: int
    deletions: int
    insertions: int
    ref_len: int
    hyp_len: int
    sentences: int
    sentence_errors: int
    counts: np.ndarray = field(repr=False, compare=False)

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors per reference token (a fraction: 0.1234 is 12.34 %)."""
        return _rate(self.errors, self.ref_len)

    @property
    def sentence_error_rate(self) -> float:
        return self.sentence_errors / self.sentences if self.sentences else 0.0

    @cached_property
    def utterances(self) -> tuple[UtteranceResult, ...]:
        """Per-utterance results, in input order."""
        return tuple(
            UtteranceResult(k, h, s, d, i) for k, (h, s, d, i) in enumerate(self.counts.tolist())
        )

    def summary(self) -> str:
        """Kaldi-style line, e.g. ``%WER 12.34 [ 123 / 1000, 12 ins, 34 del, 77 sub ]``."""
        name = "%CER" if self.unit == "char" else "%WER"
        return (
            f"{name} {100 * self.rate:.2f} [ {self.errors} / {self.ref_len}, "
            f"{self.insertions} ins, {self.deletions} del, {self.substitutions} sub ]"
        )

    def sentence_summary(self) -> str:
        """Kaldi-style line, e.g. ``%SER 40.00 [ 4 / 10 ]``."""
        return (
            f"%SER {100 * self.sentence_error_rate:.2f} "
            f"[ {self.sentence_errors} / {self.sentences} ]"
        )

    def as_dict(self) -> dict[str, int | float | str]:
        """Plain numbers (YAML/JSON friendly), derived values included."""
        return {
            "unit": self.unit,
            "rate": self.rate,
            "errors": self.errors,
            "substitutions": self.substitutions,
            "deletions": self.deletions,
            "insertions": self.insertions,
            "hits": self.hits,
            "ref_len": self.ref_len,
            "hyp_len": self.hyp_len,
            "sentences": self.sentences,
            "sentence_errors": self.sentence_errors,
        }

    def __str__(self) -> str:
        return self.summary()


def error_rate(
    refs: Sequence[Any],
    hyps: Sequence[Any],
    unit: str = "word",
    tokenize: Callable[[Any], Sequence[Hashable]] | None = None,
) -> ErrorRate:
    """Error rate of token sequences (the core of :func:`wer` and :func:`cer`).

    Args:
        refs: reference token sequences (lists of words, strings as characters, ids...).
        hyps: hypothesis token sequences, same length and order.
        unit: ``"word"`` or ``"char"``, only used by :meth:`ErrorRate.summary`.
        tokenize: turns each reference and hypothesis into its tokens first (e.g.
            ``str.split``); cheaper than tokenizing the whole corpus up front, see
            :func:`seqlab.metrics.counts.edit_counts`. ``None``: already tokenized.
    """
    if len(refs) != len(hyps):
        raise MetricError(f"got {len(refs)} references but {len(hyps)} hypotheses")
    counts = edit_counts(refs, hyps, tokenize)
    hits, subs, dels, ins = (int(x) for x in counts.sum(axis=0)) if len(counts) else (0,) * 4
    errors = counts[:, SUBS] + counts[:, DELS] + counts[:, INS]
    return ErrorRate(
        unit=unit,
        hits=hits,
        substitutions=subs,
        deletions=dels,
        insertions=ins,
        ref_len=int((counts[:, HITS] + counts[:, SUBS] + counts[:, DELS]).sum()),
        hyp_len=int((counts[:, HITS] + counts[:, SUBS] + counts[:, INS]).sum()),
        sentences=len(counts),
        sentence_errors=int(np.count_nonzero(errors)),
        counts=counts,
    )


def _check_pair(refs: Sequence[Transcript], hyps: Sequence[Transcript]) -> None:
    if isinstance(refs, str) or isinstance(hyps, str):
        raise MetricError("refs and hyps must be lists of transcripts, not single strings")
    if len(refs) != len(hyps):
        raise MetricError(f"got {len(refs)} references but {len(hyps)} hypotheses")


def wer(
    refs: Sequence[Transcript],
    hyps: Sequence[Transcript],
    normalization: NormalizationOptions | None = None,
) -> ErrorRate:
    """Word error rate of a corpus.

    Args:
        refs: reference transcripts: strings (split on whitespace) or token lists.
        hyps: hypothesis transcripts, same length and order as ``refs``.
        normalization: applied to string transcripts before splitting (token lists are used
            as given); ``None`` only splits on whitespace.

    Returns:
        :class:`ErrorRate` with ``rate = errors / ref_len``.

    >>> r = wer(["the cat sat", "hello"], ["the cat sat down", "yellow"])
    >>> r.summary()
    '%WER 50.00 [ 2 / 4, 1 ins, 0 del, 1 sub ]'
    """
    _check_pair(refs, hyps)

    def words(text: Transcript) -> Sequence[Hashable]:
        if isinstance(text, str):
            if normalization is not None:
                text = normalize(text, normalization)
            return text.split()
        return text

    if normalization is None and set(map(type, refs)) | set(map(type, hyps)) <= {str}:
        return error_rate(refs, hyps, unit="word", tokenize=str.split)
    return error_rate(refs, hyps, unit="word", tokenize=words)


def cer(
    refs: Sequence[Transcript],
    hyps: Sequence[Transcript],
    normalization: NormalizationOptions | None = None,
) -> ErrorRate:
    """Character error rate of a corpus; spaces count as characters.

    Strings are stripped (as jiwer does) but inner whitespace is kept as written; pass
    ``NormalizationOptions()`` to also collapse runs of whitespace. Sequences that are not
    strings are token lists (e.g. multi-code-point graphemes of an OCR alphabet).

    >>> cer(["abc d"], ["abd d"]).summary()
    '%CER 20.00 [ 1 / 5, 0 ins, 0 del, 1 sub ]'
    """
    _check_pair(refs, hyps)

    def chars(text: Transcript) -> Sequence[Hashable]:
        if isinstance(text, str):
            return normalize(text, normalization) if normalization is not None else text.strip()
        return text

    return error_rate(refs, hyps, unit="char", tokenize=chars)
