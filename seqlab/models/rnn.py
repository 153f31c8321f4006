"""Recurrent encoder: frame stacking, then a stack of RNN/GRU/LSTM layers over packed sequences."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.models.layers import FrameStacking

__all__ = ["RNNEncoderConfig", "RNNEncoder"]

RNN_KINDS = ("rnn", "gru", "lstm")


@dataclass(frozen=True)
class RNNEncoderConfig:
    """Recurrent encoder settings."""

    kind: str = "lstm"  # "rnn" (tanh), "gru" or "lstm"
    hidden: int = 256  # units per direction
    num_layers: int = 3
    bidirectional: bool = True
    projection: int = 0  # linear projection of the final outputs (0: none)
    subsampling: int = 1  # frames stacked before the first layer (time reduction factor)
    dropout: float = 0.0  # between recurrent layers


class RNNEncoder(nn.Module):
    """Stacked (bi)directional RNN/GRU/LSTM over packed sequences.

    Packing makes the output of an utterance independent of the padding around it: the backward
    direction starts at the utterance's last valid frame.

    Args:
        input_dim: feature dimension ``D``.
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        hidden: units per direction.
        num_layers: recurrent layers.
        bidirectional: run a backward direction too (output ``2 * hidden``).
        projection: if > 0, a linear layer maps the output to this size.
        subsampling: stack this many consecutive frames first (time reduction).
        dropout: dropout between recurrent layers.

    >>> enc = RNNEncoder(40, kind="lstm", hidden=64, num_layers=2)
    >>> y, y_len = enc(torch.randn(3, 100, 40), torch.tensor([100, 80, 50]))  # (3, 100, 128)
    """

    def __init__(
        self,
        input_dim: int,
        kind: str = "lstm",
        hidden: int = 256,
        num_layers: int = 3,
        bidirectional: bool = True,
        projection: int = 0,
        subsampling: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if kind not in RNN_KINDS:
            raise ValueError(f"RNNEncoder kind must be one of {RNN_KINDS}, got {kind!r}")
        self.stack = FrameStacking(subsampling)
        rnn_cls = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind]
        self.rnn = rnn_cls(
            input_dim * subsampling,
            hidden,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        out_dim = hidden * (2 if bidirectional else 1)
        self.proj = nn.Linear(out_dim, projection) if projection > 0 else nn.Identity()
        self.output_dim = projection if projection > 0 else out_dim

    @classmethod
    def from_config(cls, input_dim: int, cfg: RNNEncoderConfig) -> RNNEncoder:
        return cls(
            input_dim,
            kind=cfg.kind,
            hidden=cfg.hidden,
            num_layers=cfg.num_layers,
            bidirectional=cfg.bidirectional,
            projection=cfg.projection,
            subsampling=cfg.subsampling,
            dropout=cfg.dropout,
        )

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames for input ``lengths`` ``(B,)``."""
        return self.stack.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(B, T, D)`` float, ``lengths``: ``(B,)`` int64.

        Returns ``(B, T', output_dim)`` (zeros on padding) and ``(B,)`` output lengths.
        """
        x, lengths = self.stack(x, lengths)
        total = x.size(1)
        # Packing needs >= 1 frame per utterance; empty ones are clamped and zeroed afterwards.
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        y, _ = self.rnn(packed)
        y, _ = pad_packed_sequence(y, batch_first=True, total_length=total)
        y = self.proj(y)
        valid = torch.arange(total, device=y.device).unsqueeze(0) < lengths.unsqueeze(1)
        return y * valid.unsqueeze(-1).to(y.dtype), lengths
