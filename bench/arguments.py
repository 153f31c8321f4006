"""Argument types shared by the bench scripts: a count or time of 0 would give no measurement
(and a ratio of 0 / 0), so argparse rejects it with a message naming the option."""

from __future__ import annotations

import argparse

from seqlab.cli.arguments import non_negative_float, positive_int

__all__ = ["positive_int", "non_negative_float", "device_name"]


def device_name(text: str) -> str:
    """A torch device that exists here (``cuda`` without a GPU is refused before any timing)."""
    import torch

    device = torch.device(text)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: no CUDA device on this machine")
    return text
