"""Vectorized formatting of ARPA n-gram lines into UTF-8 bytes (no Python loop per line).

Each line ``log10p<TAB>w1 w2 .. wk[<TAB>log10bo]<NEWLINE>`` is assembled in a uint8 buffer:
numbers in fixed-point with :data:`DECIMALS` digits (absolute error <= 5e-7, like the 6-7
significant digits of SRILM and KenLM files) written digit by digit with integer arithmetic,
words copied from one byte buffer of the vocabulary with ``np.repeat`` index arithmetic.
"""

from __future__ import annotations

import numpy as np

DECIMALS = 6
_SCALE = 10**DECIMALS
_MAX_ABS = 1e12  # larger magnitudes are clipped (never occur in log10 probabilities)
_CHUNK = 1 << 17  # lines formatted per buffer
_POW10 = 10 ** np.arange(19, dtype=np.int64)


class VocabBytes:
    """The vocabulary as one UTF-8 byte buffer with per-word offsets and lengths."""

    def __init__(self, vocab: tuple[str, ...]) -> None:
        encoded = [w.encode("utf-8") for w in vocab]
        self.lengths = np.array([len(b) for b in encoded], dtype=np.int64)
        self.offsets = np.cumsum(self.lengths) - self.lengths
        self.buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8)


def _number_parts(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(negative, integer part, fraction * 10^DECIMALS, integer digits, fraction digits)``.

    Trailing zeros of the fraction are dropped (``-99``, ``-1.5``), as SRILM prints numbers.
    """
    scaled = np.rint(np.minimum(np.abs(x), _MAX_ABS) * _SCALE).astype(np.int64)
    negative = ((x < 0) & (scaled > 0)).astype(np.int64)
    integer, fraction = np.divmod(scaled, _SCALE)
    digits = np.ones(len(x), dtype=np.int64)
    bound = 10
    while True:
        more = integer >= bound
        if not more.any():
            break
        digits += more
        bound *= 10
    frac_digits = np.full(len(x), DECIMALS, dtype=np.int64)
    rest = fraction.copy()
    for _ in range(DECIMALS):
        zero = (rest % 10 == 0) & (frac_digits > 0)
        frac_digits -= zero
        rest = np.where(zero, rest // 10, rest)
    return negative, integer, fraction, digits, frac_digits


def _put_number(out: np.ndarray, pos: np.ndarray, parts: tuple) -> None:
    negative, integer, fraction, digits, frac_digits = parts
    out[pos[negative == 1]] = ord("-")
    p = pos + negative
    out[p] = 48 + integer // _POW10[digits - 1] % 10  # leading digit
    for d in range(1, int(digits.max())):
        m = np.flatnonzero(d < digits)
        out[p[m] + d] = 48 + integer[m] // _POW10[digits[m] - 1 - d] % 10
    has_dot = frac_digits > 0
    dot = (p + digits)[has_dot]
    out[dot] = ord(".")
    fraction, frac_digits = fraction[has_dot], frac_digits[has_dot]
    for d in range(DECIMALS):
        m = np.flatnonzero(d < frac_digits)
        out[dot[m] + 1 + d] = 48 + fraction[m] // _POW10[DECIMALS - 1 - d] % 10


def _put_words(out: np.ndarray, pos: np.ndarray, words: np.ndarray, vocab: VocabBytes) -> None:
    lengths = vocab.lengths[words]
    total = int(lengths.sum())
    before = np.cumsum(lengths) - lengths
    step = np.arange(total, dtype=np.int64)
    out[np.repeat(pos - before, lengths) + step] = vocab.buffer[
        np.repeat(vocab.offsets[words] - before, lengths) + step
    ]


def _width(parts: tuple) -> np.ndarray:
    negative, _, _, digits, frac_digits = parts
    return negative + digits + np.where(frac_digits > 0, 1 + frac_digits, 0)


def format_lines(
    logprob: np.ndarray, ngrams: np.ndarray, vocab: VocabBytes, logbackoff: np.ndarray | None = None
) -> bytes:
    """UTF-8 text of ARPA lines.

    Args:
        logprob: float64 ``(n,)`` log10 probabilities.
        ngrams: int64 ``(n, k)`` word ids of each n-gram.
        vocab: the vocabulary bytes.
        logbackoff: float64 ``(n,)`` log10 backoffs, or ``None`` for lines without one.
    """
    chunks = []
    for lo in range(0, len(logprob), _CHUNK):
        hi = min(lo + _CHUNK, len(logprob))
        bo = None if logbackoff is None else logbackoff[lo:hi]
        chunks.append(_format_chunk(logprob[lo:hi], ngrams[lo:hi], vocab, bo))
    return b"".join(chunks)


def _format_chunk(
    logprob: np.ndarray, ngrams: np.ndarray, vocab: VocabBytes, logbackoff: np.ndarray | None
) -> bytes:
    n, k = ngrams.shape
    prob = _number_parts(logprob)
    word_len = vocab.lengths[ngrams]
    length = _width(prob) + 1 + word_len.sum(axis=1) + (k - 1) + 1
    if logbackoff is not None:
        bo = _number_parts(logbackoff)
        length += 1 + _width(bo)
    start = np.cumsum(length) - length
    out = np.empty(int(length.sum()), dtype=np.uint8)
    _put_number(out, start, prob)
    pos = start + _width(prob)
    out[pos] = ord("\t")
    pos = pos + 1
    for j in range(k):
        _put_words(out, pos, ngrams[:, j], vocab)
        pos = pos + word_len[:, j]
        out[pos] = ord(" ") if j < k - 1 else ord("\t")
        pos = pos + 1
    if logbackoff is not None:
        _put_number(out, pos, bo)
        pos = pos + _width(bo)
    else:
        pos = pos - 1  # no backoff: the separator after the last word becomes the newline
    out[pos] = ord("\n")
    return out.tobytes()
