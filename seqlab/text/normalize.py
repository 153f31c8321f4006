"""Text normalization for scoring: explicit, composable options instead of hidden defaults.

Steps run in this order: Unicode normalization form, lowercasing, punctuation removal,
whitespace collapsing, stripping. Punctuation is every code point whose Unicode category
starts with ``P`` (as jiwer's ``RemovePunctuation``); it is deleted, not replaced by a space
(``"well-known"`` becomes ``"wellknown"``). Apostrophes inside words (``don't``, ``l’homme``)
can be kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["NormalizationOptions", "normalize"]

_APOSTROPHES = "'\u2019"
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)['\u2019]|['\u2019](?!\w)")
_WHITESPACE = re.compile(r"\s+")
_UNICODE_FORMS = ("NFC", "NFD", "NFKC", "NFKD")


@dataclass(frozen=True)
class NormalizationOptions:
    """What :func:`normalize` changes; the defaults only tidy whitespace.

    Attributes:
        lowercase: apply ``str.lower`` (Unicode-aware; ``"ÉCOLE"`` -> ``"école"``).
        remove_punctuation: delete every Unicode punctuation character (category ``P*``).
        keep_apostrophes: with ``remove_punctuation``, keep ``'`` and ``’`` between two word
            characters (``"don't"`` stays, ``"'quoted'"`` loses its quotes).
        collapse_whitespace: replace every run of whitespace (tabs, newlines...) by one space.
        strip: remove leading and trailing whitespace.
        unicode_form: ``"NFC"``, ``"NFD"``, ``"NFKC"``, ``"NFKD"`` or ``None`` (unchanged).
    """

    lowercase: bool = False
    remove_punctuation: bool = False
    keep_apostrophes: bool = True
    collapse_whitespace: bool = True
    strip: bool = True
    unicode_form: str | None = None

    def __post_init__(self) -> None:
        if self.unicode_form is not None and self.unicode_form not in _UNICODE_FORMS:
            raise ValueError(
                f"unicode_form must be one of {_UNICODE_FORMS} or None, got {self.unicode_form!r}"
            )


class _PunctuationTable(dict):
    """``str.translate`` table deleting punctuation, filled lazily one code point at a time."""

    def __init__(self, keep: str = "") -> None:
        super().__init__({ord(c): ord(c) for c in keep})

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)).startswith("P") else code
        self[code] = value
        return value


_DROP_ALL = _PunctuationTable()
_DROP_BUT_APOSTROPHES = _PunctuationTable(keep=_APOSTROPHES)


def normalize(text: str, options: NormalizationOptions | None = None) -> str:
    """Normalize one transcript according to ``options`` (``None``: the defaults).

    >>> normalize("  Don't STOP -- now!  ", NormalizationOptions(lowercase=True,
    ...           remove_punctuation=True))
    "don't stop now"
    """
    opts = options or NormalizationOptions()
    if opts.unicode_form is not None:
        text = unicodedata.normalize(opts.unicode_form, text)
    if opts.lowercase:
        text = text.lower()
    if opts.remove_punctuation:
        if opts.keep_apostrophes:
            text = _LOOSE_APOSTROPHE.sub("", text.translate(_DROP_BUT_APOSTROPHES))
        else:
            text = text.translate(_DROP_ALL)
    if opts.collapse_whitespace:
        text = _WHITESPACE.sub(" ", text)
    if opts.strip:
        text = text.strip()
    return text
