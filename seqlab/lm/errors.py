"""Exceptions of the n-gram LM package; all are ``ValueError``s so the CLI reports them cleanly."""

from __future__ import annotations


class LMError(ValueError):
    """Invalid LM configuration or input (bad order, unknown smoothing, unusable vocabulary...)."""


class ArpaFormatError(LMError):
    """A malformed ARPA file; the message names the file and the 1-based line number."""


class DiscountError(LMError):
    """Kneser-Ney discounts cannot be estimated from the count-of-counts (tiny or artificial data)."""


class CorpusError(LMError):
    """Bad training text; ``sentence`` is its 1-based number (the line, for a text file)."""

    def __init__(self, sentence: int, reason: str) -> None:
        super().__init__(f"sentence {sentence}: {reason}")
        self.sentence, self.reason = sentence, reason
