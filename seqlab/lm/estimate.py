"""Training an n-gram LM from text: configuration, reading, counting, smoothing, pruning."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields

from seqlab.io import numbered_lines
from seqlab.lm.counting import NGramCounts, count_ngrams, encode_corpus
from seqlab.lm.errors import CorpusError, LMError
from seqlab.lm.kneser_ney import DEFAULT_FALLBACK, kneser_ney
from seqlab.lm.model import NGramLM
from seqlab.lm.smoothing import (
    SMOOTHINGS,
    Estimate,
    add_k,
    mle,
    normalize_prune,
    to_tables,
    witten_bell,
)
from seqlab.lm.tables import NGramTables
from seqlab.lm.units import DEFAULT_SPACE_TOKEN, UnitSplitter
from seqlab.lm.vocab import read_word_list


@dataclass(frozen=True)
class TrainConfig:
    """How to build an n-gram LM (every field maps to a ``seqlab lm train`` option)."""

    order: int = 3  # n-gram order N >= 1
    smoothing: str = "kneser-ney"  # mle | laplace | add-k | witten-bell | kneser-ney
    k: float = 0.5  # add-k constant (laplace is k = 1)
    unit: str = "word"  # word | char | spm
    spm_model: str | None = None  # sentencepiece model path for unit = spm
    space_token: str = DEFAULT_SPACE_TOKEN  # visible space for unit = char
    prune: tuple[int, ...] = ()  # count thresholds per order (count <= t is dropped); () = none
    vocab_size: int | None = None  # keep the most frequent units only (others -> <unk>)
    vocab_file: str | None = None  # keep only the units listed in this file
    discount_fallback: tuple[float, float, float] | None = DEFAULT_FALLBACK  # KN, None = error
    discounts: tuple[tuple[float, float, float], ...] | None = field(default=None)  # KN override

    def __post_init__(self) -> None:
        if self.order < 1:
            raise LMError(f"order must be >= 1, got {self.order}")
        if self.smoothing not in SMOOTHINGS:
            raise LMError(
                f"unknown smoothing {self.smoothing!r}; expected one of {', '.join(SMOOTHINGS)}"
            )
        if self.smoothing == "add-k" and not self.k > 0:
            raise LMError(f"add-k needs k > 0, got {self.k}")
        if self.discounts is not None and len(self.discounts) != self.order:
            raise LMError(f"{len(self.discounts)} discount triples for an order-{self.order} model")
        normalize_prune(self.prune, self.order)

    def to_dict(self) -> dict:
        """Plain dict of the fields (tuples as lists), safe for ``yaml.safe_dump``."""

        def plain(value):
            return [plain(v) for v in value] if isinstance(value, (tuple, list)) else value

        return {k: plain(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict` (lists become tuples); unknown keys raise :class:`LMError`."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise LMError(f"unknown TrainConfig fields: {', '.join(sorted(unknown))}")

        def frozen(value):
            return tuple(frozen(v) for v in value) if isinstance(value, list) else value

        return cls(**{k: frozen(v) for k, v in data.items()})

    def splitter(self) -> UnitSplitter:
        return UnitSplitter(self.unit, self.space_token, self.spm_model)


def read_lines(path: str | os.PathLike) -> Iterator[str]:
    """Lines of a UTF-8 text file (``-`` = stdin), ``\n`` or ``\r\n`` stripped.

    A blank line is an empty sentence (it adds the bigram ``<s> </s>``), as in lmplz. Only
    ``\n`` ends a line (a lone ``\r`` is whitespace inside it, as for lmplz).

    Raises:
        LMError: ``path:line: not valid UTF-8 text``.
    """
    for _, line in numbered_lines(path, LMError):
        yield line


def smooth(counts: NGramCounts, config: TrainConfig) -> Estimate:
    """Apply ``config.smoothing`` to ``counts``."""
    if config.smoothing == "mle":
        return mle(counts)
    if config.smoothing == "laplace":
        return add_k(counts, 1.0)
    if config.smoothing == "add-k":
        return add_k(counts, config.k)
    if config.smoothing == "witten-bell":
        return witten_bell(counts)
    discounts = [tuple(d) for d in config.discounts] if config.discounts else None
    return kneser_ney(counts, config.discount_fallback, discounts)  # type: ignore[arg-type]


def count_text(
    text: str | os.PathLike | Iterable[str],
    config: TrainConfig,
    progress: Callable[[int], None] | None = None,
) -> NGramCounts:
    """Split ``text`` (a file path, ``-`` for stdin, or an iterable of sentences) and count it."""
    is_file = isinstance(text, (str, os.PathLike))
    lines = read_lines(text) if is_file else text
    split = config.splitter()
    word_list = read_word_list(config.vocab_file) if config.vocab_file else None
    try:
        corpus = encode_corpus(_split(lines, split), config.vocab_size, word_list, progress)
    except CorpusError as e:
        if is_file:  # a sentence is a line of the file
            raise LMError(f"{text}:{e.sentence}: {e.reason}") from None
        raise
    return count_ngrams(corpus, config.order)


def _split(lines: Iterable[str], split: Callable[[str], list[str]]) -> Iterator[list[str]]:
    """Units of each line; a line the splitter rejects raises :class:`CorpusError` with its
    number (errors of reading the lines pass through: they name their file and line)."""
    for number, line in enumerate(lines, 1):
        try:
            yield split(line)
        except LMError as e:
            raise CorpusError(number, str(e)) from None


def train_lm(
    text: str | os.PathLike | Iterable[str],
    config: TrainConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> NGramLM:
    """Train an n-gram LM on ``text`` (path, ``-``, or iterable of sentence strings).

    >>> lm = train_lm(["the cat sat", "the dog sat"], TrainConfig(order=2, smoothing="mle"))
    >>> round(lm.score("the cat sat"), 5)  # MLE: log10 p(cat | the) = log10 1/2
    -0.30103
    """
    config = config or TrainConfig()
    counts = count_text(text, config, progress)
    tables = estimate_tables(counts, config)
    return NGramLM(tables, config.splitter())


def estimate_tables(counts: NGramCounts, config: TrainConfig) -> NGramTables:
    """Smooth and prune ``counts`` into ARPA-form tables."""
    return to_tables(counts, smooth(counts, config), config.prune)
