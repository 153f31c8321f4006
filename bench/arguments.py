"""Argument types shared by the bench scripts: a count or time of 0 would give no measurement
(and a ratio of 0 / 0), so argparse rejects it with a message naming the option."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def non_negative_float(text: str) -> float:
    """A number >= 0."""
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def device_name(text: str) -> str:
    """A torch device that exists here (``cuda`` without a GPU is refused before any timing)."""
    import torch

    device = torch.device(text)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA device on this machine")
    return text
