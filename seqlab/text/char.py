"""Character tokenizer for CTC speech and text-line recognition.

Id layout of :meth:`CharTokenizer.build`: ``0`` blank, ``1`` unk, ``2`` the word-space symbol,
then the characters seen in the training texts in code-point order. A space is written with a
visible symbol (``"|"`` by default, as wav2vec 2.0 does) so that token lists and alignments
stay readable; :meth:`~CharTokenizer.decode` maps it back to ``" "``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from seqlab.text.base import TokenizerError
from seqlab.text.vocab import VocabTokenizer, specials_first

__all__ = ["CharTokenizer"]


class CharTokenizer(VocabTokenizer):
    """One id per Unicode code point; ``" "`` maps to the ``space`` symbol.

    Args:
        tokens: the vocabulary in id order; must contain ``blank``, ``unk`` and ``space``.
        blank: CTC blank symbol (``None``: no blank, e.g. for attention decoders).
        unk: symbol for characters outside the vocabulary.
        space: symbol standing for the space character (``" "`` keeps it literal).

    Only ``" "`` is a word separator; other whitespace characters (tabs, newlines) are ordinary
    characters. A literal occurrence of the space symbol in the input encodes as unk, since the
    symbol is reserved.

    >>> tok = CharTokenizer.build(["hello world"])
    >>> tok.encode("hold")
    [5, 7, 6, 3]
    >>> tok.decode(tok.encode("hello world"))
    'hello world'
    """

    kind = "char"

    def __init__(
        self,
        tokens: Iterable[str],
        blank: str | None = "<blank>",
        unk: str = "<unk>",
        space: str = "|",
    ):
        super().__init__(tokens, blank=blank, unk=unk)
        if space not in self._index:
            raise TokenizerError(f"space symbol {space!r} is not in the vocabulary")
        self.space = space
        # Character -> id for encoding: the space symbol is reached through " " only.
        self._char_ids = {tok: i for i, tok in enumerate(self._tokens) if len(tok) == 1}
        self._char_ids.pop(space, None)
        self._char_ids[" "] = self._index[space]
        self._pieces = [" " if tok == space else tok for tok in self._tokens]
        if blank is not None:
            self._pieces[self._index[blank]] = ""

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        blank: str | None = "<blank>",
        unk: str = "<unk>",
        space: str = "|",
        min_count: int = 1,
        extra_chars: Iterable[str] = (),
    ) -> CharTokenizer:
        """Collect the characters of ``texts`` (seen at least ``min_count`` times).

        Args:
            texts: training transcripts.
            blank, unk, space: special symbols (ids 0, 1, 2).
            min_count: rarer characters are left out (and will encode as unk).
            extra_chars: characters to include even if unseen (e.g. a known alphabet).
        """
        if min_count < 1:
            raise TokenizerError(f"min_count must be >= 1, got {min_count}")
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        if len(space) == 1 and space != " " and counts[space]:
            raise TokenizerError(
                f"the space symbol {space!r} occurs literally in the texts; choose another one"
            )
        specials = specials_first(blank, unk, space)
        chars = {c for c, n in counts.items() if n >= min_count and c != " "}
        chars.update(c for c in extra_chars if c != " ")
        if any(len(c) != 1 for c in chars):
            raise TokenizerError("extra_chars must be single characters")
        return cls(specials + sorted(chars - set(specials)), blank=blank, unk=unk, space=space)

    def options(self) -> dict[str, Any]:
        return {**super().options(), "space": self.space}

    def encode(self, text: str) -> list[int]:
        get, unk = self._char_ids.get, self._unk_id
        return [get(c, unk) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        pieces = self._pieces
        return "".join(pieces[i] for i in self._check_ids(ids))
