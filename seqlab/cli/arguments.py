"""Argument types for the ``seqlab`` commands: a bad value is a usage error (status 2) that
names the option, before any work starts."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _finite_number(text, strict=True)


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    return _finite_number(text, strict=False)


def _finite_number(text: str, strict: bool) -> float:
    value = float(text)
    if not (math.isfinite(value) and (value > 0 if strict else value >= 0)):
        raise argparse.ArgumentTypeError(
            f"must be a number {'>' if strict else '>='} 0, got {text}"
        )
    return value
