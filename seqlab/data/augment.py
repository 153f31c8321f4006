"""Waveform augmentation: speed perturbation by resampling (Ko et al., 2015)."""

from __future__ import annotations

import torch

from seqlab.audio import resample

__all__ = ["speed_perturb"]


def speed_perturb(waveform: torch.Tensor, sample_rate: int, factor: float) -> torch.Tensor:
    """Play ``(..., N)`` audio ``factor`` times faster (pitch shifts too, like ``sox speed``).

    Implemented as a resampling from ``round(sample_rate * factor)`` to ``sample_rate`` Hz, so
    the output has about ``N / factor`` samples at the same nominal rate.
    """
    if factor <= 0:
        raise ValueError(f"speed factor must be positive, got {factor}")
    if factor == 1.0:
        return waveform
    return resample(waveform, int(round(sample_rate * factor)), sample_rate)
