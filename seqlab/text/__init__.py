"""Text side of the pipeline: tokenizers (char, word, sentencepiece) and normalization."""

from seqlab.text.normalize import NormalizationOptions, normalize

__all__ = ["NormalizationOptions", "normalize"]
