"""Reading and writing ARPA (SRILM ngram-format) backoff language models.

Writing: ``\\data\\`` counts, then ``\\k-grams:`` sections of ``log10prob<TAB>w1 .. wk[<TAB>
log10backoff]`` (every n-gram below the highest order has a backoff, 0 when it is no context,
as in KenLM's files), then ``\\end\\``; ``<unk>`` is always present and ``<s>`` has log10 probability -99 (SRILM; KenLM
writes 0, which means the same since ``<s>`` is never predicted). Files are written atomically;
``-`` is standard output; ``.gz`` paths are gzip-compressed.

Reading accepts any valid file from KenLM, SRILM or seqlab (``.gz`` too): text before
``\\data\\`` and blank lines are ignored, ``-inf`` reads as -99. A missing ``<unk>`` is added
with log10 probability -100 (as KenLM does); missing ``<s>`` or ``</s>`` is an error. N-grams
whose prefix or suffix is not listed (pruned SRILM models) get "blank" entries holding the
probability the backoff recursion gives and backoff 0, which changes no score under the ARPA
definition. Every problem raises :class:`ArpaFormatError` naming the file and line.
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from collections.abc import Iterator
from itertools import chain

import numpy as np

from seqlab.io import atomic_write
from seqlab.lm.arpa_format import VocabBytes, format_lines
from seqlab.lm.errors import ArpaFormatError
from seqlab.lm.tables import LOG_ZERO, NGramTables, OrderTable
from seqlab.lm.vocab import BOS, EOS, UNK

UNK_MISSING_LOGPROB = -100.0


def ngram_ids(tables: NGramTables) -> list[np.ndarray]:
    """int64 ``(M_k, k)`` word ids of the n-grams of every order, in row order."""
    ids = [tables.orders[0].word.reshape(-1, 1)]
    for t in tables.orders[1:]:
        ids.append(np.column_stack([ids[-1][t.context], t.word]))
    return ids


def arpa_chunks(tables: NGramTables) -> Iterator[bytes]:
    """The UTF-8 text of the ARPA file of ``tables``, section by section.

    Like KenLM, every n-gram below the highest order carries a backoff (0 when it is no
    context); numbers have at most 6 decimals (trailing zeros dropped).
    """
    yield (
        "\n\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(tables.counts(), 1))
    ).encode()
    vocab = VocabBytes(tables.vocab)
    for k, ids in enumerate(ngram_ids(tables), start=1):
        t = tables.orders[k - 1]
        yield f"\n\\{k}-grams:\n".encode()
        yield format_lines(t.logprob, ids, vocab, t.logbackoff if k < tables.order else None)
    yield b"\n\\end\\\n"


def write_arpa(tables: NGramTables, path: str | os.PathLike) -> None:
    """Write ``tables`` as an ARPA file (atomic; ``-`` = stdout; ``.gz`` = gzip)."""
    if str(path) == "-":
        for chunk in arpa_chunks(tables):
            sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
        return
    with atomic_write(path, "wb") as raw:
        out = (
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6)
            if str(path).endswith(".gz")
            else raw
        )
        for chunk in arpa_chunks(tables):
            out.write(chunk)
        if out is not raw:
            out.close()


_LINE_CHUNK = 1 << 18  # section lines split and converted at a time


class _WordIndex:
    """Unigram words (UTF-8 bytes) -> ids, looked up in bulk."""

    def __init__(self, words: list[bytes]) -> None:
        self.ids = {w: i for i, w in enumerate(words)}

    def lookup(self, tokens: list[bytes]) -> np.ndarray:
        """int64 ids of ``tokens``; -1 for tokens that are not unigrams."""
        try:
            return np.fromiter(map(self.ids.__getitem__, tokens), dtype=np.int64, count=len(tokens))
        except KeyError:
            return np.array([self.ids.get(t, -1) for t in tokens], dtype=np.int64)


class _Parser:
    """ARPA parser over the file's bytes: header line by line, each n-gram section vectorized.

    Words are split on ASCII whitespace (like KenLM), kept as UTF-8 bytes until the unigrams
    are decoded; numbers are parsed by numpy in one call per section.
    """

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = data
        self.pos = 0

    def lineno_at(self, pos: int) -> int:
        return self.data.count(b"\n", 0, pos) + 1

    def error(self, message: str, lineno: int | None = None) -> ArpaFormatError:
        line = lineno if lineno is not None else self.lineno_at(self.pos)
        return ArpaFormatError(f"{self.name}:{line}: {message}")

    def next_line(self) -> bytes | None:
        """The next line (without newline), advancing; ``None`` at the end of the data."""
        if self.pos >= len(self.data):
            return None
        end = self.data.find(b"\n", self.pos)
        end = len(self.data) if end < 0 else end
        line = self.data[self.pos : end]
        self.last = self.pos
        self.pos = end + 1
        return line

    def next_nonblank(self) -> bytes | None:
        while (line := self.next_line()) is not None:
            if line.strip():
                return line.strip()
        return None

    def numbers(self, tokens: list[bytes], linenos: np.ndarray, what: str) -> np.ndarray:
        """float64 values of ``tokens``; ``-inf`` -> -99; errors name the line."""
        try:
            values = np.array(tokens, dtype=np.float64)
        except ValueError:  # find the culprit (numpy and Python parse a few spellings differently)
            parsed = []
            for token, line in zip(tokens, linenos.tolist()):
                try:
                    parsed.append(float(token))
                except ValueError:
                    raise self.error(f"{what} {token[:40]!r} is not a number", line) from None
            values = np.array(parsed, dtype=np.float64)
        bad = np.isnan(values) | (values == np.inf)
        if bad.any():
            i = int(np.argmax(bad))
            raise self.error(
                f"{what} {tokens[i][:40]!r} is not a valid log10 value", int(linenos[i])
            )
        return np.where(values == -np.inf, LOG_ZERO, values)

    def section(
        self, k: int, n: int, highest: bool, index: _WordIndex | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        r"""Parse the body of ``\k-grams:`` (starting at ``self.pos``), leaving ``pos`` after it.

        Returns ``(words, log10 probs, log10 backoffs, line numbers)``; ``words`` is an
        int64 ``(n, k)`` array of ids through ``index``, or a list of bytes when ``index`` is
        None (unigrams). Structure is checked on the whole body with numpy, then tokens are
        split and converted in chunks of lines to bound memory.
        """
        first_line = self.lineno_at(self.pos)
        if self.data.startswith(b"\\", self.pos):
            end = self.pos
        else:
            match = self.data.find(b"\n\\", self.pos)
            end = len(self.data) if match < 0 else match + 1
        body = self.data[self.pos : end]
        self.pos = end
        newlines = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)
        line_start = np.concatenate([[0], newlines + 1])
        line_end = np.append(newlines, len(body))
        if n > line_start.size:  # before allocating n entries (a corrupt count can be huge)
            raise self.error(
                f"\\data\\ declares {n} {k}-grams, but the section has {line_start.size} lines",
                first_line,
            )
        prob = np.empty(n)
        backoff = np.zeros(n)
        lines_l: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        words: list = [] if index is None else [np.empty((0, k), dtype=np.int64)]
        allowed = f"{k + 1}" if highest else f"{k + 1} or {k + 2}"
        done = 0  # entries parsed so far
        for first in range(0, len(line_start), _LINE_CHUNK):
            last = min(first + _LINE_CHUNK, len(line_start)) - 1
            fields = list(map(bytes.split, body[line_start[first] : line_end[last]].split(b"\n")))
            counts = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
            filled = np.flatnonzero(counts)
            part = counts[filled]
            linenos = first_line + first + filled
            if done + len(part) > n:
                raise self.error(
                    f"more {k}-grams than the {n} declared in \\data\\", int(linenos[n - done])
                )
            ok = (part == k + 1) | ((part == k + 2) & (not highest))
            if not ok.all():
                i = int(np.argmin(ok))
                raise self.error(
                    f"a {k}-gram line needs {allowed} fields, got {part[i]}", int(linenos[i])
                )
            lo, hi = done, done + len(part)
            done = hi
            lines_l.append(linenos)
            tokens = np.empty(int(part.sum()), dtype=object)
            tokens[:] = list(chain.from_iterable(fields))
            del fields
            offsets = np.cumsum(part) - part
            prob[lo:hi] = self.numbers(tokens[offsets].tolist(), linenos, "log10 probability")
            has_bo = np.flatnonzero(part == k + 2)
            if len(has_bo):
                backoff[lo + has_bo] = self.numbers(
                    tokens[offsets[has_bo] + k + 1].tolist(), linenos[has_bo], "backoff"
                )
            grams = tokens[offsets[:, None] + 1 + np.arange(k)].ravel().tolist()
            if index is None:
                words.extend(grams)
                continue
            ids = index.lookup(grams)
            if (ids < 0).any():
                i = int(np.argmax(ids < 0))
                word = grams[i].decode(errors="replace")
                raise self.error(f"word {word!r} is not among the unigrams", int(linenos[i // k]))
            words.append(ids.reshape(-1, k))
        if done < n:
            raise self.error(f"{done} {k}-grams but {n} declared in \\data\\", self.lineno_at(end))
        if index is not None:
            words = np.concatenate(words)
        return words, prob, backoff, np.concatenate(lines_l)

    def header(self) -> list[int]:
        """Skip to ``\\data\\`` and read the declared n-gram counts per order."""
        while (line := self.next_line()) is not None and line.strip() != b"\\data\\":
            pass
        if line is None:
            raise ArpaFormatError(f"{self.name}:1: no \\data\\ header")
        declared: list[int] = []
        while (line := self.next_nonblank()) is not None and line.startswith(b"ngram "):
            head, _, value = line[6:].partition(b"=")
            try:
                k, n = int(head), int(value)
            except ValueError:
                raise self.error(
                    f"bad count line {line[:40]!r}", self.lineno_at(self.last)
                ) from None
            if k != len(declared) + 1 or n < 0:
                raise self.error(
                    f"expected 'ngram {len(declared) + 1}=<count>', got {line[:40]!r}",
                    self.lineno_at(self.last),
                )
            declared.append(n)
        if line is None:
            raise self.error("file ends inside \\data\\")
        if not declared:
            raise self.error("no 'ngram k=count' lines in \\data\\", self.lineno_at(self.last))
        if declared[0] == 0:
            raise self.error("a model needs unigrams ('ngram 1=0')", self.lineno_at(self.last))
        self.pos = self.last  # the section header is read again by section_header()
        return declared

    def section_header(self, k: int) -> None:
        line = self.next_nonblank()
        if line is None:
            raise self.error(f"file ends before \\{k}-grams:")
        if line != f"\\{k}-grams:".encode():
            raise self.error(f"expected \\{k}-grams:, got {line[:40]!r}", self.lineno_at(self.last))

    def end(self) -> None:
        line = self.next_nonblank()
        if line is None:
            raise self.error("missing \\end\\")
        if line != b"\\end\\":
            raise self.error(f"expected \\end\\, got {line[:40]!r}", self.lineno_at(self.last))


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0)`` with the inverse index, safe for zero rows."""
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _read_bytes(path: str | os.PathLike) -> bytes:
    if str(path) == "-":
        return sys.stdin.buffer.read()
    if str(path).endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def read_arpa(path: str | os.PathLike) -> NGramTables:
    """Read an ARPA file into :class:`NGramTables` (see module docstring for the conventions)."""
    name = str(path)
    try:
        data = _read_bytes(path)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise ArpaFormatError(f"{name}: unreadable compressed file ({e})") from e
    parser = _Parser(name, data)
    declared = parser.header()
    parser.section_header(1)
    words1, uni_prob, uni_bo, lines1 = parser.section(1, declared[0], len(declared) == 1, None)
    index: dict[bytes, int] = {}
    vocab: list[str] = []
    for i, w in enumerate(words1):
        if w in index:
            raise parser.error(f"duplicate unigram {w.decode(errors='replace')!r}", int(lines1[i]))
        try:
            vocab.append(w.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise parser.error(f"not valid UTF-8 ({e})", int(lines1[i])) from None
        index[w] = i
    ids: list[np.ndarray] = [np.arange(len(vocab), dtype=np.int64).reshape(-1, 1)]
    prob_l, bo_l, line_l = [uni_prob], [uni_bo], [lines1]
    word_index = _WordIndex(list(words1))
    for k in range(2, len(declared) + 1):
        parser.section_header(k)
        grams, prob, bo, linenos = parser.section(
            k, declared[k - 1], k == len(declared), word_index
        )
        ids.append(grams)
        prob_l.append(prob)
        bo_l.append(bo)
        line_l.append(linenos)
    parser.end()
    for marker in (BOS, EOS):
        if marker.encode() not in index:
            raise ArpaFormatError(f"{name}: the model has no {marker} unigram")
    if UNK.encode() not in index:
        vocab.append(UNK)
        ids[0] = np.arange(len(vocab), dtype=np.int64).reshape(-1, 1)
        prob_l[0] = np.append(prob_l[0], UNK_MISSING_LOGPROB)
        bo_l[0] = np.append(bo_l[0], 0.0)
        line_l[0] = np.append(line_l[0], 0)
    blank_l = [np.zeros(len(p), dtype=bool) for p in prob_l]
    try:
        return _build_tables(tuple(vocab), ids, prob_l, bo_l, blank_l, line_l, parser)
    except _NotClosed:
        pass
    _close(ids, prob_l, bo_l, blank_l, line_l)
    return _build_tables(tuple(vocab), ids, prob_l, bo_l, blank_l, line_l, parser)


class _NotClosed(Exception):
    """Some n-gram's prefix or suffix is not listed: add blanks and rebuild."""


def _close(ids: list[np.ndarray], prob_l: list, bo_l: list, blank_l: list, line_l: list) -> None:
    """Add missing prefixes and suffixes as blank entries, from the top order down."""
    for k in range(len(ids), 2, -1):
        existing = ids[k - 2]
        need = np.concatenate([ids[k - 1][:, :-1], ids[k - 1][:, 1:]])
        uniq, inverse = _unique_rows(np.concatenate([existing, need]))
        present = np.zeros(len(uniq), dtype=bool)
        present[inverse[: len(existing)]] = True
        missing = uniq[~present]
        if len(missing):
            n = len(missing)
            ids[k - 2] = np.concatenate([existing, missing])
            prob_l[k - 2] = np.concatenate([prob_l[k - 2], np.zeros(n)])
            bo_l[k - 2] = np.concatenate([bo_l[k - 2], np.zeros(n)])
            blank_l[k - 2] = np.concatenate([blank_l[k - 2], np.ones(n, dtype=bool)])
            line_l[k - 2] = np.concatenate([line_l[k - 2], np.zeros(n, dtype=np.int64)])


def _build_tables(
    vocab: tuple[str, ...],
    ids: list[np.ndarray],
    prob_l: list[np.ndarray],
    bo_l: list[np.ndarray],
    blank_l: list[np.ndarray],
    line_l: list[np.ndarray],
    parser: _Parser,
) -> NGramTables:
    """Sort every order by ``(prefix row, word)``, check closure, fill blank probabilities."""
    size = len(vocab)
    orders = [
        OrderTable(
            np.zeros(size, dtype=np.int64), np.arange(size, dtype=np.int64), prob_l[0], bo_l[0]
        )
    ]
    partial = NGramTables(vocab=vocab, orders=orders)
    for k in range(2, len(ids) + 1):
        grams = ids[k - 1]
        prefix = grams[:, 0].copy()
        suffix = grams[:, 1].copy()
        for j in range(2, k):
            prefix = partial.lookup(j, prefix, grams[:, j - 1])
            suffix = partial.lookup(j, suffix, grams[:, j])
        if (prefix < 0).any() or (suffix < 0).any():
            raise _NotClosed
        key = prefix * size + grams[:, -1]
        perm = np.argsort(key, kind="stable")
        key = key[perm]
        dup = np.flatnonzero(key[1:] == key[:-1])
        if len(dup):
            lines = line_l[k - 1][perm]
            raise parser.error(f"duplicate {k}-gram", int(max(lines[dup[0]], lines[dup[0] + 1])))
        prob = prob_l[k - 1][perm]
        blank = blank_l[k - 1][perm]
        prefix, suffix = prefix[perm], suffix[perm]
        prev = partial.orders[k - 2]
        prob[blank] = prev.logbackoff[prefix[blank]] + prev.logprob[suffix[blank]]
        orders.append(OrderTable(prefix, grams[perm, -1].copy(), prob, bo_l[k - 1][perm]))
        partial = NGramTables(vocab=vocab, orders=orders)
    return partial
