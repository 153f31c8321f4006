"""SpecAugment (Park et al., 2019) on padded feature batches, length-aware and seeded.

All random draws come from a ``torch.Generator`` on the CPU (so a seed gives the same masks on
any device) and are then moved to the features' device. Only valid frames are warped or
masked; padding stays untouched.
"""

from __future__ import annotations

import torch

from seqlab.features.errors import FeatureError
from seqlab.features.functional import length_mask

__all__ = ["mask_along_axis", "time_warp", "spec_augment"]


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def mask_along_axis(
    features: torch.Tensor,
    lengths: torch.Tensor,
    num_masks: int,
    max_width: torch.Tensor | int,
    axis: str,
    *,
    mask_value: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero (``mask_value``) ``num_masks`` random bands per utterance.

    Args:
        features: ``(B, T, D)``.
        lengths: ``(B,)`` valid frames.
        max_width: widest band, an int or a ``(B,)`` tensor (per utterance); each width is
            uniform in ``[0, max_width]`` and each start uniform among the positions where the
            band fits inside the valid region (``[0, length)`` for time, ``[0, D)`` for freq).
        axis: ``"time"`` or ``"freq"``.
    """
    if axis not in ("time", "freq"):
        raise FeatureError(f"mask axis must be 'time' or 'freq', got {axis!r}")
    batch, t, d = features.shape
    if num_masks <= 0 or batch == 0:
        return features
    size = (
        lengths.cpu().double()
        if axis == "time"
        else torch.full((batch,), float(d), dtype=torch.float64)
    )
    cap = torch.as_tensor(max_width, dtype=torch.float64).expand(batch)
    width = torch.floor(_uniform((batch, num_masks), generator) * (cap[:, None] + 1))
    width = torch.minimum(width, size[:, None])
    start = torch.floor(_uniform((batch, num_masks), generator) * (size[:, None] - width + 1))
    start, end = start.long().to(features.device), (start + width).long().to(features.device)
    n = t if axis == "time" else d
    pos = torch.arange(n, device=features.device)[None, None, :]
    band = ((pos >= start[..., None]) & (pos < end[..., None])).any(dim=1)  # (B, n)
    if axis == "time":
        return features.masked_fill(band[:, :, None], mask_value)
    frames = length_mask(lengths.to(features.device), t)
    return features.masked_fill(band[:, None, :] & frames[:, :, None], mask_value)  # not padding


def time_warp(
    features: torch.Tensor,
    lengths: torch.Tensor,
    max_warp: int,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Piecewise-linear time warp of each utterance's valid frames.

    A centre ``c`` is drawn in ``[W, length - W)`` and moved by ``w`` in ``[-W, W]``; frames
    ``[0, c)`` are stretched onto ``[0, c + w)`` and ``[c, length)`` onto ``[c + w, length)``
    with linear interpolation. Utterances with ``length <= 2 W`` are left unchanged.
    """
    batch, t, d = features.shape
    if max_warp <= 0 or batch == 0 or t == 0:
        return features
    length = lengths.cpu().double()
    room = length - 2 * max_warp
    centre = max_warp + torch.floor(_uniform((batch,), generator) * room.clamp_min(1))
    shift = torch.floor(_uniform((batch,), generator) * (2 * max_warp + 1)) - max_warp
    shift = torch.where(room > 0, shift, torch.zeros_like(shift))
    target = centre + shift
    pos = torch.arange(t, dtype=torch.float64)[None, :]
    left = pos * (centre / target.clamp_min(1e-9))[:, None]
    right = (
        centre[:, None]
        + (pos - target[:, None]) * ((length - centre) / (length - target).clamp_min(1e-9))[:, None]
    )
    src = torch.where(pos < target[:, None], left, right)
    src = torch.minimum(src, (length - 1).clamp_min(0)[:, None])
    valid = pos < length[:, None]
    src = torch.where(valid, src, pos)  # padding maps to itself
    lo = src.floor().long()
    # the next frame, but never past the last valid one (where frac is 0 anyway: 0 * NaN
    # padding would be NaN)
    last = torch.where(valid, (length - 1).clamp_min(0)[:, None], pos).long()
    hi = torch.minimum(lo + 1, last)
    frac = (src - lo.double()).to(features.dtype).to(features.device)[..., None]
    lo, hi = lo.to(features.device), hi.to(features.device)
    gather = lambda idx: torch.gather(features, 1, idx[..., None].expand(-1, -1, d))  # noqa: E731
    return gather(lo) * (1 - frac) + gather(hi) * frac


def spec_augment(
    features: torch.Tensor,
    lengths: torch.Tensor | None = None,
    *,
    freq_masks: int = 2,
    freq_width: int = 27,
    time_masks: int = 2,
    time_width: float | int = 0.05,
    time_warp_width: int = 0,
    mask_value: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Time warp, then frequency masks, then time masks on ``(B, T, D)`` features.

    ``time_width`` is a fraction of each utterance's length when a float below 1, else a frame
    count. Returns a new tensor; padded frames are unchanged.
    """
    if features.dim() != 3:
        raise FeatureError(f"spec_augment expects (B, T, D) features, got {tuple(features.shape)}")
    batch, t, _ = features.shape
    if lengths is None:
        lengths = torch.full((batch,), t, dtype=torch.long)
    lengths = torch.as_tensor(lengths).long()
    if isinstance(time_width, float) and time_width < 1.0:
        if time_width < 0:
            raise FeatureError(f"time_width must be non-negative, got {time_width}")
        cap = torch.floor(lengths.cpu().double() * time_width)
    else:
        cap = torch.as_tensor(int(time_width), dtype=torch.float64)
    out = time_warp(features, lengths, time_warp_width, generator=generator)
    out = mask_along_axis(
        out, lengths, freq_masks, freq_width, "freq", mask_value=mask_value, generator=generator
    )
    out = mask_along_axis(
        out, lengths, time_masks, cap, "time", mask_value=mask_value, generator=generator
    )
    keep = length_mask(lengths.to(features.device), t)[..., None]
    return torch.where(keep, out, features)  # padding exactly as it came in
