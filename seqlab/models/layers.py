"""Building blocks shared by the encoders and decoders: masks, positions, subsampling.

Every block takes batch-first tensors ``(B, T, D)`` plus a ``lengths`` tensor ``(B,)`` (int64,
in frames) and guarantees that the valid frames of an utterance never depend on its padding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import nn

__all__ = [
    "make_pad_mask",
    "SinusoidalPositionalEncoding",
    "Conv2dSubsampling",
    "FrameStacking",
    "FeedForward",
    "SubsampledEncoder",
]


def make_pad_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Return a bool mask ``(B, T)`` that is ``True`` on padding frames (``t >= lengths[b]``).

    Args:
        lengths: ``(B,)`` int64 valid lengths.
        max_len: ``T``; defaults to ``lengths.max()``.
    """
    if max_len is None:
        max_len = int(lengths.max()) if lengths.numel() > 0 else 0
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) >= lengths.unsqueeze(1)


def sinusoidal_table(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """Sinusoidal positions of Vaswani et al. (2017): ``(length, dim)`` float32.

    ``pe[t, 2i] = sin(t / 10000^(2i/dim))`` and ``pe[t, 2i+1] = cos(t / 10000^(2i/dim))``.
    """
    position = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    div = torch.exp(
        torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim)
    )
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """Scale ``(B, T, D)`` inputs by ``sqrt(D)`` and add sinusoidal positions, then dropout."""

    def __init__(self, dim: int, dropout: float = 0.0, max_len: int = 5000) -> None:
        super().__init__()
        self.dim = dim
        self.scale = math.sqrt(dim)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("table", sinusoidal_table(max_len, dim), persistent=False)

    def forward(self, x: torch.Tensor, offset: int = 0) -> torch.Tensor:
        """``x``: ``(B, T, D)``; ``offset``: position of the first frame. Returns ``(B, T, D)``."""
        length = x.size(1)
        if offset + length > self.table.size(0):
            table = sinusoidal_table(offset + length, self.dim, x.device)
        else:
            table = self.table
        return self.dropout(x * self.scale + table[offset : offset + length].to(x.dtype))


class Conv2dSubsampling(nn.Module):
    """Two 3x3 stride-2 convolutions with ReLU (time and frequency /4), then a linear layer.

    Output length ``((L - 1) // 2 - 1) // 2`` (no padding in time), so every valid output frame
    sees only valid input frames; inputs shorter than 7 frames give 0 output frames.

    Args:
        input_dim: feature dimension ``D``.
        output_dim: model dimension.
        channels: convolution channels (defaults to ``output_dim``).
    """

    def __init__(self, input_dim: int, output_dim: int, channels: int = 0) -> None:
        super().__init__()
        channels = channels or output_dim
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2),
            nn.ReLU(),
        )
        freq = ((input_dim - 1) // 2 - 1) // 2
        if freq < 1:
            raise ValueError(f"Conv2dSubsampling needs input_dim >= 7, got {input_dim}")
        self.out = nn.Linear(channels * freq, output_dim)

    @staticmethod
    def output_lengths(lengths: torch.Tensor) -> torch.Tensor:
        """Frames after subsampling for input ``lengths`` ``(B,)`` (clamped at 0)."""
        return torch.clamp(
            torch.div(
                torch.div(lengths - 1, 2, rounding_mode="floor") - 1, 2, rounding_mode="floor"
            ),
            min=0,
        )

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(B, T, D)`` -> ``(B, T', output_dim)`` and ``(B,)`` output lengths."""
        t_in = x.size(1)
        if t_in < 7:  # too short for two 3-frame kernels: compute on zeros, keep 0 frames
            x = nn.functional.pad(x, (0, 0, 0, 7 - t_in))
        y = self.conv(x.unsqueeze(1))  # (B, C, T', F')
        y = y[:, :, : max(0, ((t_in - 1) // 2 - 1) // 2)]
        b, c, t, f = y.shape
        y = self.out(y.transpose(1, 2).reshape(b, t, c * f))
        return y, self.output_lengths(lengths)


class FrameStacking(nn.Module):
    """Concatenate ``factor`` consecutive frames: ``(B, T, D)`` -> ``(B, T // factor, D * factor)``.

    Output length ``L // factor``; a trailing partial group is dropped.
    """

    def __init__(self, factor: int) -> None:
        super().__init__()
        if factor < 1:
            raise ValueError(f"subsampling factor must be >= 1, got {factor}")
        self.factor = factor

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths, self.factor, rounding_mode="floor")

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.factor == 1:
            return x, lengths
        b, t, d = x.shape
        t_out = t // self.factor
        x = x[:, : t_out * self.factor].reshape(b, t_out, d * self.factor)
        return x, self.output_lengths(lengths)


class FeedForward(nn.Module):
    """Position-wise ``Linear -> activation -> dropout -> Linear`` on ``(..., D)``."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SubsampledEncoder(nn.Module):
    """Conv2d subsampling (x4), sinusoidal positions, a stack of layers, an optional final norm.

    The common frame of the Transformer and Conformer encoders. Each layer is called as
    ``layer(x (B, T', dim), pad_mask (B, T') bool, True on padding)``.

    Args:
        input_dim: feature dimension ``D`` (>= 7).
        dim: model dimension (the output size).
        layers: the encoder layers, in order.
        dropout: dropout after the positional encoding.
        final_norm: a ``LayerNorm`` after the last layer (pre-LN stacks need one).
    """

    def __init__(
        self,
        input_dim: int,
        dim: int,
        layers: Iterable[nn.Module],
        dropout: float,
        final_norm: bool,
    ) -> None:
        super().__init__()
        self.subsampling = Conv2dSubsampling(input_dim, dim)
        self.pos = SinusoidalPositionalEncoding(dim, dropout)
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(dim) if final_norm else nn.Identity()
        self.output_dim = dim

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames ``(B,)`` for ``lengths`` input frames."""
        return Conv2dSubsampling.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(B, T, D)``, ``lengths``: ``(B,)`` -> ``(B, T', dim)`` (zeros on padding), ``(B,)``."""
        x, lengths = self.subsampling(x, lengths)
        x = self.pos(x)
        if x.size(1) == 0:  # every input shorter than 7 frames: nothing to attend over
            return x, lengths
        pad = make_pad_mask(lengths, x.size(1))
        for layer in self.layers:
            x = layer(x, pad)
        x = self.norm(x)
        return x.masked_fill(pad.unsqueeze(-1), 0.0), lengths
