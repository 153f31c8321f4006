"""Exceptions of the n-gram LM package; all are ``ValueError``s so the CLI reports them cleanly."""

from __future__ import annotations


class LMError(ValueError):
    """Invalid LM configuration or input (bad order, unknown smoothing, unusable vocabulary...)."""


class ArpaFormatError(LMError):
    """A malformed ARPA file; the message names the file and the 1-based line number."""


class DiscountError(LMError):
    """Kneser-Ney discounts cannot be estimated from the count-of-counts (tiny or artificial data)."""
