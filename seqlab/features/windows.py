"""Analysis windows with Kaldi and librosa/scipy conventions.

Every window is computed in float64 and cast to the requested dtype, so float32 windows agree
with Kaldi (which builds them in double) to the last bit that float32 can hold.
"""

from __future__ import annotations

import math

import torch

from seqlab.features.errors import FeatureError

__all__ = ["WINDOWS", "window", "pad_window"]

WINDOWS = ("hann", "hamming", "povey", "blackman", "rectangular")
BLACKMAN_COEFF = 0.42  # Kaldi's --blackman-coeff default; 0.42 is also the classic Blackman


def window(
    name: str,
    length: int,
    periodic: bool = False,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return the window ``name`` of ``length`` samples, shape ``(length,)``.

    Args:
        name: ``hann``, ``hamming``, ``povey`` (Kaldi: hann ** 0.85), ``blackman`` or
            ``rectangular``.
        length: number of samples (>= 1).
        periodic: ``True`` for the DFT-even window used by librosa/scipy ``get_window``
            (``a = 2 pi / length``); ``False`` for the symmetric window Kaldi uses
            (``a = 2 pi / (length - 1)``).

    >>> window("povey", 400).shape
    torch.Size([400])
    """
    if name not in WINDOWS:
        raise FeatureError(f"window: unknown window {name!r}; expected one of {WINDOWS}")
    if length < 1:
        raise FeatureError(f"window: length must be >= 1, got {length}")
    if name == "rectangular":
        return torch.ones(length, dtype=dtype, device=device)
    if length == 1:  # [1] for every shape, periodic or not (as scipy, librosa and torch)
        return torch.ones(1, dtype=dtype, device=device)
    denom = length if periodic else length - 1
    phase = torch.arange(length, dtype=torch.float64, device=device) * (2.0 * math.pi / denom)
    if name == "hann":
        w = 0.5 - 0.5 * torch.cos(phase)
    elif name == "povey":
        w = (0.5 - 0.5 * torch.cos(phase)).pow(0.85)
    elif name == "hamming":
        w = 0.54 - 0.46 * torch.cos(phase)
    else:  # blackman
        w = (
            BLACKMAN_COEFF
            - 0.5 * torch.cos(phase)
            + (0.5 - BLACKMAN_COEFF) * torch.cos(2.0 * phase)
        )
    return w.to(dtype)


def pad_window(win: torch.Tensor, frame_length: int) -> torch.Tensor:
    """Zero-pad a ``(W,)`` window to ``(frame_length,)``, centred (librosa ``pad_center``).

    Used when the window is shorter than the analysis frame (librosa ``win_length < n_fft``):
    the window starts at ``(frame_length - W) // 2``.
    """
    w = win.shape[-1]
    if w > frame_length:
        raise FeatureError(f"window length {w} exceeds the frame length {frame_length}")
    left = (frame_length - w) // 2
    return torch.nn.functional.pad(win, (left, frame_length - w - left))
