"""Splitting text lines into LM units: words, characters (space made visible) or sentencepieces.

A character LM (for OCR or character-level ASR) models the space too: ``"ab cd"`` becomes
``a b | c d`` with the default ``space_token="|"``, the same symbol as
:class:`seqlab.text.CharTokenizer`. Runs of whitespace collapse to one space and leading or
trailing whitespace is dropped, so the unit sequence never starts or ends with the space token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from seqlab.lm.errors import LMError

UNITS = ("word", "char", "spm")
DEFAULT_SPACE_TOKEN = "|"

# str.split() also splits on these; KenLM, lmplz and bytes.split() do not (a no-break space
# stays inside a word)
_NON_ASCII_SPACE = re.compile(
    "[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
_ASCII_SPACE = re.compile("[ \t\n\r\x0b\x0c]+")


def split_words(line: str) -> list[str]:
    """The words of ``line``, split on ASCII whitespace only, as KenLM and lmplz split them."""
    if _NON_ASCII_SPACE.search(line) is None:
        return line.split()  # the same split, at str.split's speed
    return [word for word in _ASCII_SPACE.split(line) if word]


@dataclass(frozen=True)
class UnitSplitter:
    """Callable turning one line of text into a list of LM units.

    Args:
        unit: ``"word"`` (whitespace split), ``"char"`` (one unit per code point, the space as
            ``space_token``) or ``"spm"`` (pieces of the sentencepiece model ``spm_model``).
        space_token: visible symbol for the space in ``"char"`` mode. A line that contains it
            literally raises :class:`LMError` (it would be confused with a space).
        spm_model: path of a sentencepiece ``.model`` file, required for ``"spm"``.

    >>> UnitSplitter("char")("ab  c")
    ['a', 'b', '|', 'c']
    """

    unit: str = "word"
    space_token: str = DEFAULT_SPACE_TOKEN
    spm_model: str | None = None
    _encode: Callable[[str], list[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise LMError(f"unknown unit {self.unit!r}; expected one of {', '.join(UNITS)}")
        if self.unit == "char" and (
            not self.space_token or any(c.isspace() for c in self.space_token)
        ):
            raise LMError(
                f"space token must be a non-empty symbol without whitespace, got {self.space_token!r}"
            )
        if self.unit == "spm":
            if not self.spm_model:
                raise LMError("unit 'spm' needs a sentencepiece model (spm_model / --spm-model)")
            if not os.path.isfile(self.spm_model):
                raise LMError(f"{self.spm_model}: sentencepiece model not found")
            import sentencepiece

            try:
                processor = sentencepiece.SentencePieceProcessor(model_file=str(self.spm_model))
            except (RuntimeError, OSError) as e:
                raise LMError(f"{self.spm_model}: not a sentencepiece model ({e})") from None
            object.__setattr__(self, "_encode", lambda line: processor.encode(line, out_type=str))
        elif self.unit == "word":
            object.__setattr__(self, "_encode", split_words)
        else:
            object.__setattr__(self, "_encode", self._chars)

    def _chars(self, line: str) -> list[str]:
        if self.space_token in line:
            raise LMError(
                f"the space token {self.space_token!r} occurs literally in {line[:60]!r}; "
                "choose another one (space_token / --space-token)"
            )
        return [self.space_token if c == " " else c for c in " ".join(split_words(line))]

    def __call__(self, line: str) -> list[str]:
        return self._encode(line)

    def join(self, units: list[str]) -> str:
        """Inverse of the split for display: characters are glued and the space token restored."""
        if self.unit == "char":
            return "".join(" " if u == self.space_token else u for u in units)
        if self.unit == "spm":
            return "".join(units).replace("\u2581", " ").strip()
        return " ".join(units)
