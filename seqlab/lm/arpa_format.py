"""Vectorized formatting of ARPA n-gram lines into UTF-8 bytes (no Python loop per line).

Each line ``log10p<TAB>w1 w2 .. wk[<TAB>log10bo]<NEWLINE>`` is assembled in a uint8 buffer.
Numbers are printed in fixed point with at most :data:`DECIMALS` decimals, trailing zeros
dropped (``-99``, ``-1.5``, ``-0.30103``; absolute error <= 5e-7): their characters come from
lookup tables of 3-digit groups into a small fixed-width matrix, then every field (numbers and
words, the latter from one byte buffer of the vocabulary) is copied into the line buffer with
``np.repeat`` index arithmetic.
"""

from __future__ import annotations

import numpy as np

DECIMALS = 6
_SCALE = 10**DECIMALS
_CHUNK = 1 << 17  # lines formatted per buffer
_DIGITS3 = np.array([list(f"{i:03d}".encode()) for i in range(1000)], dtype=np.uint8)
_TRAILING3 = np.array(
    [3 if i == 0 else len(f"{i:03d}") - len(f"{i:03d}".rstrip("0")) for i in range(1000)]
)
_INT_WIDTH = 4  # sign + up to 3 integer digits in the fast path
_WIDTH = _INT_WIDTH + 1 + DECIMALS


class VocabBytes:
    """The vocabulary as one UTF-8 byte buffer with per-word offsets and lengths."""

    def __init__(self, vocab: tuple[str, ...]) -> None:
        encoded = [w.encode("utf-8") for w in vocab]
        self.lengths = np.array([len(b) for b in encoded], dtype=np.int64)
        self.offsets = np.cumsum(self.lengths) - self.lengths
        self.buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8)


def _copy(
    out: np.ndarray, dst: np.ndarray, src_buffer: np.ndarray, src: np.ndarray, lengths: np.ndarray
) -> None:
    """``out[dst[i] : dst[i] + lengths[i]] = src_buffer[src[i] : src[i] + lengths[i]]`` for all i."""
    total = int(lengths.sum())
    before = np.cumsum(lengths) - lengths
    step = np.arange(total, dtype=np.int64)
    out[np.repeat(dst - before, lengths) + step] = src_buffer[
        np.repeat(src - before, lengths) + step
    ]


def format_numbers(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Characters of float64 ``x`` as ``(buffer uint8, start offsets, lengths)``.

    Numbers below 1000 in magnitude take the table path; larger ones (never log10
    probabilities in practice) are printed by Python.
    """
    n = len(x)
    scaled = np.rint(np.abs(x) * _SCALE)
    small = scaled < 1000 * _SCALE
    scaled = np.where(small, scaled, 0).astype(np.int64)
    integer, fraction = np.divmod(scaled, _SCALE)
    hi, lo = np.divmod(fraction, 1000)
    trailing = np.where(lo == 0, 3 + _TRAILING3[hi], _TRAILING3[lo])
    frac_digits = DECIMALS - trailing
    int_digits = 1 + (integer >= 10) + (integer >= 100)
    negative = (x < 0) & (scaled > 0)
    table = np.empty((n, _WIDTH), dtype=np.uint8)
    table[:, 1:_INT_WIDTH] = _DIGITS3[integer]
    table[:, _INT_WIDTH] = ord(".")
    table[:, _INT_WIDTH + 1 : _INT_WIDTH + 4] = _DIGITS3[hi]
    table[:, _INT_WIDTH + 4 :] = _DIGITS3[lo]
    rows = np.arange(n, dtype=np.int64)
    table[rows[negative], (_INT_WIDTH - 1 - int_digits)[negative]] = ord("-")
    start = rows * _WIDTH + _INT_WIDTH - int_digits - negative
    length = int_digits + negative + np.where(frac_digits > 0, 1 + frac_digits, 0)
    buffer = table.reshape(-1)
    if not small.all():
        big = np.flatnonzero(~small)
        texts = [f"{v:.{DECIMALS}f}".rstrip("0").rstrip(".").encode() for v in x[big].tolist()]
        extra = np.frombuffer(b"".join(texts), dtype=np.uint8)
        sizes = np.array([len(t) for t in texts], dtype=np.int64)
        start[big] = len(buffer) + np.cumsum(sizes) - sizes
        length[big] = sizes
        buffer = np.concatenate([buffer, extra])
    return buffer, start, length


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
    k = ngrams.shape[1]
    fields = [format_numbers(logprob)]
    fields += [
        (vocab.buffer, vocab.offsets[ngrams[:, j]], vocab.lengths[ngrams[:, j]]) for j in range(k)
    ]
    if logbackoff is not None:
        fields.append(format_numbers(logbackoff))
    # Each field is followed by one separator byte: TAB after the number and the last word,
    # a space between words, the newline at the end of the line.
    seps = [ord("\t")] + [ord(" ")] * (k - 1) + [ord("\t")] * (logbackoff is not None) + [ord("\n")]
    length = sum(f[2] for f in fields) + len(fields)
    pos = np.cumsum(length) - length
    out = np.empty(int(length.sum()), dtype=np.uint8)
    for (buffer, start, size), sep in zip(fields, seps):
        _copy(out, pos, buffer, start, size)
        pos = pos + size
        out[pos] = sep
        pos = pos + 1
    return out.tobytes()
