"""Splitting text lines into LM units: words, characters (space made visible) or sentencepieces.

A character LM (for OCR or character-level ASR) models the space too: ``"ab cd"`` becomes
``a b | c d`` with the default ``space_token="|"``, the same symbol as
:class:`seqlab.text.CharTokenizer`. Runs of whitespace collapse to one space and leading or
trailing whitespace is dropped, so the unit sequence never starts or ends with the space token.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from seqlab.lm.errors import LMError

UNITS = ("word", "char", "spm")
DEFAULT_SPACE_TOKEN = "|"


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

            processor = sentencepiece.SentencePieceProcessor(model_file=str(self.spm_model))
            object.__setattr__(self, "_encode", lambda line: processor.encode(line, out_type=str))
        elif self.unit == "word":
            object.__setattr__(self, "_encode", str.split)
        else:
            object.__setattr__(self, "_encode", self._chars)

    def _chars(self, line: str) -> list[str]:
        if self.space_token in line:
            raise LMError(
                f"the space token {self.space_token!r} occurs literally in {line[:60]!r}; "
                "choose another one (space_token / --space-token)"
            )
        return [self.space_token if c == " " else c for c in " ".join(line.split())]

    def __call__(self, line: str) -> list[str]:
        return self._encode(line)

    def join(self, units: list[str]) -> str:
        """Inverse of the split for display: characters are glued and the space token restored."""
        if self.unit == "char":
            return "".join(" " if u == self.space_token else u for u in units)
        if self.unit == "spm":
            return "".join(units).replace("\u2581", " ").strip()
        return " ".join(units)
