"""Model configuration (frozen dataclasses, YAML-serializable) and :func:`build_model`."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from seqlab.models.asr import ASRModel, AttentionModel, CTCModel, JointCTCAttentionModel
from seqlab.models.conformer import ConformerEncoder, ConformerEncoderConfig
from seqlab.models.rnn import RNNEncoder, RNNEncoderConfig
from seqlab.models.transformer import (
    TransformerDecoder,
    TransformerDecoderConfig,
    TransformerEncoder,
    TransformerEncoderConfig,
)

__all__ = ["ModelConfig", "build_encoder", "build_model", "MODEL_TYPES", "ENCODER_TYPES"]

MODEL_TYPES = ("ctc", "attention", "joint")
ENCODER_TYPES = ("rnn", "transformer", "conformer")


@dataclass(frozen=True)
class ModelConfig:
    """Which model to build; only the sub-config named by ``encoder`` is used."""

    type: str = "ctc"  # "ctc", "attention" or "joint" (CTC + attention)
    encoder: str = "conformer"  # "rnn" (kind in rnn.kind), "transformer" or "conformer"
    rnn: RNNEncoderConfig = field(default_factory=RNNEncoderConfig)
    transformer: TransformerEncoderConfig = field(default_factory=TransformerEncoderConfig)
    conformer: ConformerEncoderConfig = field(default_factory=ConformerEncoderConfig)
    decoder: TransformerDecoderConfig = field(default_factory=TransformerDecoderConfig)
    ctc_weight: float = 0.3  # joint models: weight of the CTC loss
    label_smoothing: float = 0.1  # attention models
    max_decode_len: int = 256  # attention greedy decoding cap (tokens)
    blank_id: int = 0  # CTC blank (the tokenizer's blank id)
    decode_with: str = "attention"  # joint models: greedy decoding branch ("attention" or "ctc")


def build_encoder(cfg: ModelConfig, input_dim: int) -> nn.Module:
    """Build the encoder named by ``cfg.encoder`` for ``input_dim``-dimensional features."""
    if cfg.encoder == "rnn":
        return RNNEncoder.from_config(input_dim, cfg.rnn)
    if cfg.encoder == "transformer":
        check_heads("model.transformer", cfg.transformer.dim, cfg.transformer.num_heads)
        return TransformerEncoder.from_config(input_dim, cfg.transformer)
    if cfg.encoder == "conformer":
        check_heads("model.conformer", cfg.conformer.dim, cfg.conformer.num_heads)
        return ConformerEncoder.from_config(input_dim, cfg.conformer)
    raise ValueError(f"model.encoder must be one of {ENCODER_TYPES}, got {cfg.encoder!r}")


def check_heads(section: str, dim: int, num_heads: int) -> None:
    """``ValueError`` naming ``section.num_heads`` unless it divides ``dim``."""
    if num_heads < 1 or dim % num_heads:
        raise ValueError(f"{section}.num_heads: {num_heads} heads must divide the dimension {dim}")


def build_model(cfg: ModelConfig, vocab_size: int, input_dim: int) -> ASRModel:
    """Build the ASR model described by ``cfg``.

    Args:
        cfg: the model configuration.
        vocab_size: tokenizer classes (including the blank for CTC).
        input_dim: feature dimension ``D``.

    >>> model = build_model(ModelConfig(type="ctc", encoder="transformer"), 30, 80)
    """
    encoder = build_encoder(cfg, input_dim)
    if cfg.type == "ctc":
        return CTCModel(encoder, vocab_size, blank_id=cfg.blank_id)
    if cfg.type not in MODEL_TYPES:
        raise ValueError(f"model.type must be one of {MODEL_TYPES}, got {cfg.type!r}")
    dim = cfg.decoder.dim or encoder.output_dim
    check_heads("model.decoder", dim, cfg.decoder.num_heads)
    decoder = TransformerDecoder.from_config(vocab_size + 1, dim, cfg.decoder)
    if cfg.type == "attention":
        return AttentionModel(
            encoder, decoder, vocab_size, cfg.label_smoothing, cfg.max_decode_len, dim
        )
    return JointCTCAttentionModel(
        encoder,
        decoder,
        vocab_size,
        ctc_weight=cfg.ctc_weight,
        label_smoothing=cfg.label_smoothing,
        max_decode_len=cfg.max_decode_len,
        decoder_dim=dim,
        blank_id=cfg.blank_id,
        decode_with=cfg.decode_with,
    )
