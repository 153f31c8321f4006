"""Scoring: WER/CER with S/D/I breakdown and token alignments (jiwer-compatible counts)."""

from seqlab.metrics.align import EditOp, align
from seqlab.metrics.counts import edit_counts
from seqlab.metrics.error_rate import (
    ErrorRate,
    MetricError,
    UtteranceResult,
    cer,
    error_rate,
    wer,
)

__all__ = [
    "EditOp",
    "ErrorRate",
    "MetricError",
    "UtteranceResult",
    "align",
    "cer",
    "edit_counts",
    "error_rate",
    "wer",
]
