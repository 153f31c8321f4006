"""CMVN statistics: accumulation over padded batches and Kaldi's text matrix format.

Statistics are Kaldi's ``2 x (D + 1)`` matrix (``compute-cmvn-stats``): row 0 holds the per-dim
sums and the frame count, row 1 the per-dim sums of squares and 0. They are kept in float64.
"""

from __future__ import annotations

import os

import torch

from seqlab.features.errors import FeatureError
from seqlab.features.functional import length_mask
from seqlab.io import atomic_write

__all__ = ["accumulate_stats", "stats_to_mean_std", "write_kaldi_stats", "read_kaldi_stats"]


def accumulate_stats(features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Kaldi CMVN stats ``(2, D + 1)`` float64 of the valid frames of ``(B, T, D)`` features."""
    if features.dim() != 3:
        raise FeatureError(f"features must have shape (B, T, D), got {tuple(features.shape)}")
    b, t, d = features.shape
    x = features.detach().double()
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=features.device).long()
        x = x.masked_fill(
            ~length_mask(lengths, t)[..., None], 0.0
        )  # padding (NaN included) adds nothing
        count = float(lengths.clamp(0, t).sum())
    else:
        count = float(b * t)
    stats = torch.zeros(2, d + 1, dtype=torch.float64)
    stats[0, :d] = x.sum(dim=(0, 1)).cpu()
    stats[1, :d] = x.pow(2).sum(dim=(0, 1)).cpu()
    stats[0, d] = count
    return stats


def stats_to_mean_std(
    stats: torch.Tensor, var_floor: float = 1e-20
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation ``(D,)`` float64 from Kaldi stats (variance floored)."""
    count = float(stats[0, -1])
    if count <= 0:
        raise FeatureError("CMVN statistics hold no frames (count 0)")
    mean = stats[0, :-1] / count
    var = (stats[1, :-1] / count - mean.pow(2)).clamp_min(var_floor)
    return mean, var.sqrt()


def write_kaldi_stats(path: str | os.PathLike, stats: torch.Tensor) -> None:
    """Write stats as a Kaldi text matrix (``[`` rows ``]``), atomically."""
    rows = [" ".join(repr(float(v)) for v in row) for row in stats.tolist()]
    with atomic_write(path) as f:
        f.write(" [\n  " + "\n  ".join(rows) + " ]\n")


def read_kaldi_stats(path: str | os.PathLike) -> torch.Tensor:
    """Read a ``2 x (D + 1)`` Kaldi text matrix (``copy-matrix --binary=false`` output)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FeatureError(f"{path}: cannot read CMVN statistics ({e})") from e
    body = text.strip()
    if not body.startswith("[") or not body.endswith("]"):
        raise FeatureError(f"{path}: not a Kaldi text matrix (expected '[ ... ]')")
    rows = []
    for lineno, line in enumerate(body[1:-1].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append([float(v) for v in line.split()])
        except ValueError as e:
            raise FeatureError(
                f"{path}:{lineno}: non-numeric value in CMVN statistics ({e})"
            ) from e
    if len(rows) != 2 or len(rows[0]) != len(rows[1]) or len(rows[0]) < 2:
        raise FeatureError(
            f"{path}: CMVN statistics must be a 2 x (D + 1) matrix, got {[len(r) for r in rows]}"
        )
    return torch.tensor(rows, dtype=torch.float64)
