"""Word-level tokenizer (whitespace-separated words), e.g. for word-level LMs and tests.

Id layout of :meth:`WordTokenizer.build`: ``0`` blank, ``1`` unk, then words by decreasing
count (ties in code-point order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from seqlab.text.base import TokenizerError
from seqlab.text.vocab import VocabTokenizer, specials_first

__all__ = ["WordTokenizer"]


class WordTokenizer(VocabTokenizer):
    """One id per whitespace-separated word; ``decode`` joins words with single spaces.

    >>> tok = WordTokenizer.build(["the cat", "the dog"])
    >>> tok.encode("the bird")
    [2, 1]
    >>> tok.decode([2, 3])
    'the cat'
    """

    kind = "word"

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        min_count: int = 1,
        max_size: int | None = None,
        blank: str | None = "<blank>",
        unk: str = "<unk>",
    ) -> WordTokenizer:
        """Collect the words of ``texts``.

        Args:
            texts: training transcripts, split on whitespace.
            min_count: words seen fewer times are left out (they encode as unk).
            max_size: keep at most this many words (specials not counted), the most frequent.
            blank, unk: special symbols (ids 0 and 1).
        """
        if min_count < 1:
            raise TokenizerError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < 0:
            raise TokenizerError(f"max_size must be >= 0, got {max_size}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text.split())
        specials = specials_first(blank, unk)
        words = sorted(
            (w for w, n in counts.items() if n >= min_count and w not in specials),
            key=lambda w: (-counts[w], w),
        )
        return cls(specials + words[:max_size], blank=blank, unk=unk)

    def encode(self, text: str) -> list[int]:
        get, unk = self._index.get, self._unk_id
        return [get(w, unk) for w in text.split()]

    def decode(self, ids: Iterable[int]) -> str:
        tokens, blank = self._tokens, self._blank_id
        return " ".join(tokens[i] for i in self._check_ids(ids) if i != blank)
