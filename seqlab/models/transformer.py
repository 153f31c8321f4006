"""Transformer encoder (conv subsampling x4, sinusoidal positions, pre-LayerNorm) and decoder."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from seqlab.models.layers import (
    FeedForward,
    SinusoidalPositionalEncoding,
    SubsampledEncoder,
    make_pad_mask,
)

__all__ = [
    "TransformerEncoderConfig",
    "TransformerEncoder",
    "TransformerDecoderConfig",
    "TransformerDecoder",
    "causal_mask",
]


@dataclass(frozen=True)
class TransformerEncoderConfig:
    """Transformer encoder settings."""

    dim: int = 256  # model dimension
    num_layers: int = 6
    num_heads: int = 4
    ffn_dim: int = 1024  # hidden units of the feed-forward blocks
    dropout: float = 0.1


@dataclass(frozen=True)
class TransformerDecoderConfig:
    """Attention decoder settings."""

    dim: int = 0  # model dimension; 0: the encoder output size (else a linear bridge is added)
    num_layers: int = 3
    num_heads: int = 4
    ffn_dim: int = 1024
    dropout: float = 0.1


def causal_mask(length: int, device: torch.device | None = None) -> torch.Tensor:
    """Bool ``(length, length)`` mask, ``True`` above the diagonal (future positions hidden)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class EncoderLayer(nn.Module):
    """Pre-LN block: ``x + MHSA(LN(x))`` then ``x + FFN(LN(x))`` on ``(B, T, D)``."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """``pad_mask``: ``(B, T)`` bool, ``True`` on padding (ignored as attention keys)."""
        h = self.norm_attn(x)
        h, _ = self.attn(h, h, h, key_padding_mask=pad_mask, need_weights=False)
        x = x + self.dropout(h)
        return x + self.dropout(self.ffn(self.norm_ffn(x)))


class TransformerEncoder(SubsampledEncoder):
    """Conv2d subsampling (x4), sinusoidal positions, pre-LN Transformer layers, final LayerNorm.

    Args:
        input_dim: feature dimension ``D`` (>= 7).
        dim, num_layers, num_heads, ffn_dim, dropout: see :class:`TransformerEncoderConfig`.

    >>> enc = TransformerEncoder(40, dim=64, num_layers=2, num_heads=4, ffn_dim=128)
    >>> y, y_len = enc(torch.randn(2, 100, 40), torch.tensor([100, 61]))  # (2, 24, 64), [24, 14]
    """

    def __init__(
        self,
        input_dim: int,
        dim: int = 256,
        num_layers: int = 6,
        num_heads: int = 4,
        ffn_dim: int = 1024,
        dropout: float = 0.1,
    ) -> None:
        layers = (EncoderLayer(dim, num_heads, ffn_dim, dropout) for _ in range(num_layers))
        super().__init__(input_dim, dim, layers, dropout, final_norm=True)

    @classmethod
    def from_config(cls, input_dim: int, cfg: TransformerEncoderConfig) -> TransformerEncoder:
        return cls(input_dim, **dataclasses.asdict(cfg))


class DecoderLayer(nn.Module):
    """Pre-LN decoder block: causal self-attention, cross-attention, feed-forward."""

    def __init__(self, dim: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm_self = nn.LayerNorm(dim)
        self.self_attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(dim)
        self.cross_attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        y: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor,
        memory_pad_mask: torch.Tensor,
    ) -> torch.Tensor:
        h = self.norm_self(y)
        h, _ = self.self_attn(h, h, h, attn_mask=self_mask, need_weights=False)
        y = y + self.dropout(h)
        h = self.norm_cross(y)
        h, _ = self.cross_attn(
            h, memory, memory, key_padding_mask=memory_pad_mask, need_weights=False
        )
        y = y + self.dropout(h)
        return y + self.dropout(self.ffn(self.norm_ffn(y)))


class TransformerDecoder(nn.Module):
    """Autoregressive Transformer decoder over token ids with cross-attention to the encoder.

    Args:
        vocab_size: output classes (including the ``<sos/eos>`` id).
        dim: model dimension (the encoder output size).
        num_layers, num_heads, ffn_dim, dropout: see :class:`TransformerDecoderConfig`.
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int,
        num_layers: int = 3,
        num_heads: int = 4,
        ffn_dim: int = 1024,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = SinusoidalPositionalEncoding(dim, dropout)
        self.layers = nn.ModuleList(
            DecoderLayer(dim, num_heads, ffn_dim, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(dim)
        self.out = nn.Linear(dim, vocab_size)

    @classmethod
    def from_config(
        cls, vocab_size: int, dim: int, cfg: TransformerDecoderConfig
    ) -> TransformerDecoder:
        return cls(vocab_size, dim, cfg.num_layers, cfg.num_heads, cfg.ffn_dim, cfg.dropout)

    def forward(
        self, tokens: torch.Tensor, memory: torch.Tensor, memory_lengths: torch.Tensor
    ) -> torch.Tensor:
        """Score the next token at every position.

        Args:
            tokens: ``(B, U)`` int64 input ids (``<sos>`` followed by the prefix).
            memory: ``(B, T, dim)`` encoder output.
            memory_lengths: ``(B,)`` valid encoder frames.

        Returns:
            ``(B, U, vocab_size)`` unnormalized logits; position ``u`` only sees tokens ``<= u``.
        """
        y = self.pos(self.embed(tokens))
        self_mask = causal_mask(tokens.size(1), tokens.device)
        memory_pad = make_pad_mask(memory_lengths, memory.size(1))
        for layer in self.layers:
            y = layer(y, memory, self_mask, memory_pad)
        return self.out(self.norm(y))
