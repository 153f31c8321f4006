"""Training losses. CTC: :func:`ctc_loss` (drop-in for ``F.ctc_loss``), the fused
:func:`ctc_loss_from_logits`, the :class:`CTCLoss` module, and the float64 oracle in
:mod:`seqlab.losses.ctc_reference`. The Triton kernels (:mod:`seqlab.losses.ctc_triton`) are
imported lazily, only when the Triton implementation runs."""

from seqlab.losses.ctc import CTCError, CTCLoss, ctc_loss, ctc_loss_from_logits
from seqlab.losses.ctc_reference import ctc_reference, ctc_reference_loss

__all__ = [
    "CTCError",
    "CTCLoss",
    "ctc_loss",
    "ctc_loss_from_logits",
    "ctc_reference",
    "ctc_reference_loss",
]
