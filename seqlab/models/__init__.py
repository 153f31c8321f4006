"""ASR encoders, decoders and models; see ``docs/asr.md``."""

from seqlab.models.asr import (
    ASRModel,
    AttentionModel,
    CTCModel,
    JointCTCAttentionModel,
    ctc_greedy,
)
from seqlab.models.config import ModelConfig, build_encoder, build_model
from seqlab.models.conformer import ConformerEncoder, ConformerEncoderConfig
from seqlab.models.init import init_weights
from seqlab.models.layers import Conv2dSubsampling, make_pad_mask
from seqlab.models.rnn import RNNEncoder, RNNEncoderConfig
from seqlab.models.transformer import (
    TransformerDecoder,
    TransformerDecoderConfig,
    TransformerEncoder,
    TransformerEncoderConfig,
)

__all__ = [
    "ASRModel",
    "AttentionModel",
    "CTCModel",
    "JointCTCAttentionModel",
    "ctc_greedy",
    "ModelConfig",
    "build_encoder",
    "build_model",
    "ConformerEncoder",
    "ConformerEncoderConfig",
    "init_weights",
    "Conv2dSubsampling",
    "make_pad_mask",
    "RNNEncoder",
    "RNNEncoderConfig",
    "TransformerDecoder",
    "TransformerDecoderConfig",
    "TransformerEncoder",
    "TransformerEncoderConfig",
]
