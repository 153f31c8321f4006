"""Reading and writing ARPA (SRILM ngram-format) backoff language models.

Writing: ``\\data\\`` counts, then ``\\k-grams:`` sections of ``log10prob<TAB>w1 .. wk[<TAB>
log10backoff]`` (backoffs only on n-grams that are the prefix of a longer one), then
``\\end\\``; ``<unk>`` is always present and ``<s>`` has log10 probability -99 (SRILM; KenLM
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

import contextlib
import gzip
import io
import math
import os
import sys
from collections.abc import Iterator
from typing import IO

import numpy as np

from seqlab.io import atomic_write
from seqlab.lm.errors import ArpaFormatError
from seqlab.lm.tables import LOG_ZERO, NGramTables, OrderTable
from seqlab.lm.vocab import BOS, EOS, UNK

UNK_MISSING_LOGPROB = -100.0


def _fmt(x: float) -> str:
    return f"{x:.7g}"


def arpa_lines(tables: NGramTables) -> Iterator[str]:
    """The lines of the ARPA text of ``tables`` (each ending with a newline), section by section."""
    yield "\n\\data\\\n"
    for k, n in enumerate(tables.counts(), start=1):
        yield f"ngram {k}={n}\n"
    for k in range(1, tables.order + 1):
        t = tables.orders[k - 1]
        yield f"\n\\{k}-grams:\n"
        names = tables.ngram_strings(k)
        probs = map(_fmt, t.logprob.tolist())
        if k < tables.order:
            ctx = tables.is_context(k).tolist()
            bos = map(_fmt, t.logbackoff.tolist())
            yield "".join(
                f"{p}\t{w}\t{b}\n" if c else f"{p}\t{w}\n"
                for p, w, b, c in zip(probs, names, bos, ctx)
            )
        else:
            yield "".join(f"{p}\t{w}\n" for p, w in zip(probs, names))
    yield "\n\\end\\\n"


def write_arpa(tables: NGramTables, path: str | os.PathLike) -> None:
    """Write ``tables`` as an ARPA file (atomic; ``-`` = stdout; ``.gz`` = gzip)."""
    if str(path).endswith(".gz"):
        with atomic_write(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as gz:
            for chunk in arpa_lines(tables):
                gz.write(chunk.encode("utf-8"))
        return
    with atomic_write(path) as f:
        for chunk in arpa_lines(tables):
            f.write(chunk)


@contextlib.contextmanager
def _open(path: str | os.PathLike) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin
    elif str(path).endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            yield f
    else:
        with open(path, encoding="utf-8") as f:
            yield f


class _Parser:
    """Line-by-line ARPA parser collecting raw entries per order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lineno = 0

    def error(self, message: str, lineno: int | None = None) -> ArpaFormatError:
        return ArpaFormatError(
            f"{self.name}:{lineno if lineno is not None else self.lineno}: {message}"
        )

    def number(self, text: str, what: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{what} {text!r} is not a number") from None
        if math.isnan(value) or value == math.inf:
            raise self.error(f"{what} {text!r} is not a valid log10 value")
        return max(value, LOG_ZERO) if value == -math.inf else value

    def parse(
        self, lines: IO[str]
    ) -> tuple[list[list[list[str]]], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        it = iter(lines)
        for line in it:
            self.lineno += 1
            if line.strip() == "\\data\\":
                break
        else:
            raise self.error("no \\data\\ header")
        declared: list[int] = []
        line = ""
        for line in it:
            self.lineno += 1
            s = line.strip()
            if not s:
                continue
            if not s.startswith("ngram "):
                break
            head, _, value = s[6:].partition("=")
            try:
                k, n = int(head), int(value)
            except ValueError:
                raise self.error(f"bad count line {s!r}") from None
            if k != len(declared) + 1 or n < 0:
                raise self.error(f"expected 'ngram {len(declared) + 1}=<count>', got {s!r}")
            declared.append(n)
        else:
            raise self.error("file ends inside \\data\\")
        if not declared:
            raise self.error("no 'ngram k=count' lines in \\data\\")
        if declared[0] == 0:
            raise self.error("a model needs unigrams ('ngram 1=0')")
        words: list[list[list[str]]] = []
        probs: list[np.ndarray] = []
        backoffs: list[np.ndarray] = []
        linenos: list[np.ndarray] = []
        for k, n in enumerate(declared, start=1):
            while not line.strip():
                line = next(it, None)
                if line is None:
                    raise self.error(f"file ends before \\{k}-grams:")
                self.lineno += 1
            if line.strip() != f"\\{k}-grams:":
                raise self.error(f"expected \\{k}-grams:, got {line.strip()[:40]!r}")
            grams: list[list[str]] = []
            prob = np.empty(n)
            bo = np.zeros(n)
            nums = np.empty(n, dtype=np.int64)
            i = 0
            for line in it:
                self.lineno += 1
                fields = line.split()
                if not fields:
                    continue
                if fields[0].startswith("\\"):
                    break
                if i == n:
                    raise self.error(f"more {k}-grams than the {n} declared in \\data\\")
                if len(fields) == k + 2 and k < len(declared):
                    bo[i] = self.number(fields[-1], "backoff")
                elif len(fields) != k + 1:
                    raise self.error(
                        f"a {k}-gram line needs {k + 1} fields"
                        + (f" or {k + 2}" if k < len(declared) else "")
                        + f", got {len(fields)}"
                    )
                prob[i] = self.number(fields[0], "log10 probability")
                grams.append(fields[1 : k + 1])
                nums[i] = self.lineno
                i += 1
            else:
                line = ""
            if i != n:
                raise self.error(f"{i} {k}-grams but {n} declared in \\data\\")
            words.append(grams)
            probs.append(prob)
            backoffs.append(bo)
            linenos.append(nums)
        while not line.strip():
            line = next(it, None)
            if line is None:
                raise self.error("missing \\end\\")
            self.lineno += 1
        if line.strip() != "\\end\\":
            raise self.error(f"expected \\end\\, got {line.strip()[:40]!r}")
        return words, probs, backoffs, linenos


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0)`` with the inverse index, safe for zero rows."""
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def read_arpa(path: str | os.PathLike) -> NGramTables:
    """Read an ARPA file into :class:`NGramTables` (see module docstring for the conventions)."""
    name = str(path)
    parser = _Parser(name)
    try:
        with _open(path) as f:
            words, probs, backoffs, linenos = parser.parse(f)
    except UnicodeDecodeError as e:
        raise ArpaFormatError(f"{name}: not valid UTF-8 text ({e})") from e
    except (EOFError, gzip.BadGzipFile, io.UnsupportedOperation) as e:
        raise ArpaFormatError(f"{name}: unreadable compressed file ({e})") from e

    vocab = [g[0] for g in words[0]]
    index: dict[str, int] = {}
    for i, w in enumerate(vocab):
        if w in index:
            raise parser.error(f"duplicate unigram {w!r}", int(linenos[0][i]))
        index[w] = i
    for marker in (BOS, EOS):
        if marker not in index:
            raise ArpaFormatError(f"{name}: the model has no {marker} unigram")
    uni_prob, uni_bo = probs[0], backoffs[0]
    if UNK not in index:
        index[UNK] = len(vocab)
        vocab.append(UNK)
        uni_prob = np.append(uni_prob, UNK_MISSING_LOGPROB)
        uni_bo = np.append(uni_bo, 0.0)
    order = len(words)
    ids: list[np.ndarray] = [np.arange(len(vocab), dtype=np.int64).reshape(-1, 1)]
    for k in range(2, order + 1):
        arr = np.empty((len(words[k - 1]), k), dtype=np.int64)
        for i, gram in enumerate(words[k - 1]):
            try:
                arr[i] = [index[w] for w in gram]
            except KeyError as e:
                raise parser.error(
                    f"word {e.args[0]!r} is not among the unigrams", int(linenos[k - 1][i])
                ) from None
        ids.append(arr)
    prob_l = [uni_prob] + probs[1:]
    bo_l = [uni_bo] + backoffs[1:]
    blank_l = [np.zeros(len(vocab), dtype=bool)] + [np.zeros(len(p), dtype=bool) for p in probs[1:]]
    for k in range(2, order + 1):
        _, inverse = _unique_rows(ids[k - 1])
        if len(inverse) and len(np.unique(inverse)) < len(inverse):
            first_seen = np.full(len(inverse), -1)
            for i, u in enumerate(inverse.tolist()):
                if first_seen[u] >= 0:
                    raise parser.error(f"duplicate {k}-gram", int(linenos[k - 1][i]))
                first_seen[u] = i
    # Close the tables: add missing prefixes and suffixes as blanks, top order down.
    for k in range(order, 2, -1):
        existing = ids[k - 2]
        need = np.concatenate([ids[k - 1][:, :-1], ids[k - 1][:, 1:]])
        uniq, inverse = _unique_rows(np.concatenate([existing, need]))
        present = np.zeros(len(uniq), dtype=bool)
        present[inverse[: len(existing)]] = True
        missing = uniq[~present]
        if len(missing):
            ids[k - 2] = np.concatenate([existing, missing])
            prob_l[k - 2] = np.concatenate([prob_l[k - 2], np.zeros(len(missing))])
            bo_l[k - 2] = np.concatenate([bo_l[k - 2], np.zeros(len(missing))])
            blank_l[k - 2] = np.concatenate([blank_l[k - 2], np.ones(len(missing), dtype=bool)])
    return _build_tables(tuple(vocab), ids, prob_l, bo_l, blank_l)


def _build_tables(
    vocab: tuple[str, ...],
    ids: list[np.ndarray],
    prob_l: list[np.ndarray],
    bo_l: list[np.ndarray],
    blank_l: list[np.ndarray],
) -> NGramTables:
    """Sort every order by ``(prefix row, word)`` and fill blank probabilities bottom-up."""
    size = len(vocab)
    orders = [
        OrderTable(
            np.zeros(size, dtype=np.int64), np.arange(size, dtype=np.int64), prob_l[0], bo_l[0]
        )
    ]
    partial = NGramTables(vocab=vocab, orders=orders)
    for k in range(2, len(ids) + 1):
        grams = ids[k - 1]
        rows = grams[:, 0].copy()
        for j in range(2, k):
            rows = partial.lookup(j, rows, grams[:, j - 1])
        context = rows
        srows = grams[:, 1].copy() if k > 1 else None
        for j in range(2, k):
            srows = partial.lookup(j, srows, grams[:, j])
        key = context * size + grams[:, -1]
        perm = np.argsort(key, kind="stable")
        prob = prob_l[k - 1][perm]
        blank = blank_l[k - 1][perm]
        context, suffix = context[perm], srows[perm]
        prev = partial.orders[k - 2]
        prob[blank] = prev.logbackoff[context[blank]] + prev.logprob[suffix[blank]]
        orders.append(OrderTable(context, grams[perm, -1].copy(), prob, bo_l[k - 1][perm]))
        partial = NGramTables(vocab=vocab, orders=orders)
    return partial
