"""Conformer encoder built from ``torchaudio.models.conformer.ConformerLayer`` blocks.

torchaudio's layers are reused as they are (same parameters and state-dict names), but driven
by :class:`PaddedConformerLayer`, which zeroes padding frames before the depthwise
convolution: torchaudio's own forward lets the convolution read the padding, so the last valid
frames of a short utterance would change with the length of the batch it sits in.
BatchNorm in the convolution module uses batch statistics in training (as in the paper and in
torchaudio); the padding invariance holds in eval mode (running statistics).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn
from torchaudio.models.conformer import ConformerLayer

from seqlab.models.layers import SubsampledEncoder

__all__ = ["ConformerEncoderConfig", "ConformerEncoder", "PaddedConformerLayer"]


@dataclass(frozen=True)
class ConformerEncoderConfig:
    """Conformer encoder settings."""

    dim: int = 256
    num_layers: int = 12
    num_heads: int = 4
    ffn_dim: int = 1024
    conv_kernel: int = 31  # depthwise convolution kernel (odd)
    dropout: float = 0.1


class PaddedConformerLayer(nn.Module):
    """A torchaudio :class:`ConformerLayer` run batch first with padding kept out of the conv.

    Same computation as ``ConformerLayer.forward`` (macaron FFN halves, MHSA, convolution
    module, final LayerNorm; attention before convolution) with the GLU output zeroed on padding
    frames before the depthwise convolution.
    """

    def __init__(
        self, dim: int, ffn_dim: int, num_heads: int, conv_kernel: int, dropout: float
    ) -> None:
        super().__init__()
        self.layer = ConformerLayer(dim, ffn_dim, num_heads, conv_kernel, dropout=dropout)

    def forward(self, x: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """``x``: ``(B, T, D)``; ``pad_mask``: ``(B, T)`` bool, ``True`` on padding."""
        layer = self.layer
        x = x + 0.5 * layer.ffn1(x)
        h = layer.self_attn_layer_norm(x).transpose(0, 1)
        h, _ = layer.self_attn(h, h, h, key_padding_mask=pad_mask, need_weights=False)
        x = x + layer.self_attn_dropout(h.transpose(0, 1))
        seq = layer.conv_module.sequential
        h = layer.conv_module.layer_norm(x).transpose(1, 2)  # (B, D, T)
        h = seq[1](seq[0](h))  # pointwise conv + GLU
        h = h.masked_fill(pad_mask.unsqueeze(1), 0.0)
        h = seq[6](seq[5](seq[4](seq[3](seq[2](h)))))  # depthwise, norm, SiLU, pointwise, dropout
        x = x + h.transpose(1, 2)
        x = x + 0.5 * layer.ffn2(x)
        return layer.final_layer_norm(x)


class ConformerEncoder(SubsampledEncoder):
    """Conv2d subsampling (x4), sinusoidal positions, torchaudio Conformer layers.

    Args:
        input_dim: feature dimension ``D`` (>= 7).
        dim, num_layers, num_heads, ffn_dim, conv_kernel, dropout: see
            :class:`ConformerEncoderConfig`.

    >>> enc = ConformerEncoder(40, dim=64, num_layers=2, ffn_dim=128, conv_kernel=15)
    >>> y, y_len = enc(torch.randn(2, 100, 40), torch.tensor([100, 61]))  # (2, 24, 64)
    """

    def __init__(
        self,
        input_dim: int,
        dim: int = 256,
        num_layers: int = 12,
        num_heads: int = 4,
        ffn_dim: int = 1024,
        conv_kernel: int = 31,
        dropout: float = 0.1,
    ) -> None:
        layers = (
            PaddedConformerLayer(dim, ffn_dim, num_heads, conv_kernel, dropout)
            for _ in range(num_layers)
        )
        super().__init__(input_dim, dim, layers, dropout, final_norm=False)

    @classmethod
    def from_config(cls, input_dim: int, cfg: ConformerEncoderConfig) -> ConformerEncoder:
        return cls(input_dim, **dataclasses.asdict(cfg))
