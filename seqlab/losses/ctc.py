"""CTC loss: a drop-in for ``torch.nn.functional.ctc_loss``, a fused path on logits, a module.

Three implementations behind one API (``impl``):

- ``"triton"``: :mod:`seqlab.losses.ctc_triton`, fused log-softmax + forward-backward on the GPU
  (fp32/fp16/bf16 logits, fp32 accumulation, deterministic, no host synchronization). On CPU
  tensors it only runs under the Triton interpreter (``TRITON_INTERPRET=1``; tests only).
- ``"torch"``: ``log_softmax`` + PyTorch's own ``F.ctc_loss`` (computed in fp32 for half inputs).
- ``"reference"``: :mod:`seqlab.losses.ctc_reference`, exact float64 (small inputs, debugging).

``impl=None`` picks Triton for CUDA fp32/fp16/bf16 tensors and PyTorch otherwise (float64, CPU).

Conventions are PyTorch's: inputs ``(T, B, C)`` (``(B, T, C)`` with ``batch_first=True``) or
unbatched ``(T, C)``; targets padded ``(B, S)`` or concatenated 1-D (``sum(target_lengths)``);
``reduction="mean"`` divides each loss by ``max(target_length, 1)`` then averages over the batch.
One deliberate difference: an impossible alignment (``inf`` loss) without ``zero_infinity`` gets the
finite gradient ``softmax`` times the incoming gradient from the Triton and reference paths,
where PyTorch returns NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlab.losses.ctc_reference import ctc_reference

Impl = Literal["triton", "torch", "reference"]
Reduction = Literal["none", "mean", "sum"]
IMPLS: tuple[str, ...] = ("triton", "torch", "reference")
REDUCTIONS: tuple[str, ...] = ("none", "mean", "sum")

LengthsLike = Tensor | Sequence[int] | int


class CTCError(ValueError):
    """Invalid arguments to a CTC loss; the message names the argument and the offending value."""


def _as_lengths(value: LengthsLike, name: str, batch: int, device: torch.device) -> Tensor:
    """``(B,)`` int32 lengths on ``device`` (no host synchronization for device tensors)."""
    lengths = torch.as_tensor(value, device=device)
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise CTCError(f"{name} must be integers, got dtype {lengths.dtype}")
    lengths = lengths.reshape(-1)
    if lengths.shape[0] != batch:
        raise CTCError(f"{name} has {lengths.shape[0]} entries for a batch of {batch}")
    return lengths.to(torch.int32)


def _prepare(
    inputs: Tensor,
    targets: Tensor,
    input_lengths: LengthsLike,
    target_lengths: LengthsLike,
    blank: int,
    reduction: str,
    batch_first: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, bool]:
    """Validate shapes (never values) and return ``(T, B, C)`` inputs, targets and lengths."""
    if reduction not in REDUCTIONS:
        raise CTCError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if inputs.dim() not in (2, 3):
        raise CTCError(f"inputs must be (T, C) or (T, B, C), got shape {tuple(inputs.shape)}")
    if not inputs.dtype.is_floating_point:
        raise CTCError(f"inputs must be floating point, got dtype {inputs.dtype}")
    unbatched = inputs.dim() == 2
    if unbatched:
        inputs = inputs.unsqueeze(1)
        if targets.dim() == 1:
            targets = targets.unsqueeze(0)
    elif batch_first:
        inputs = inputs.transpose(0, 1)
    classes = inputs.shape[2]
    if not 0 <= blank < classes:
        raise CTCError(f"blank={blank} is outside [0, {classes}) classes")
    if targets.dim() not in (1, 2) or targets.dtype.is_floating_point:
        raise CTCError(
            f"targets must be integer (B, S) or concatenated 1-D, got {targets.dtype} "
            f"{tuple(targets.shape)}"
        )
    batch = inputs.shape[1]
    if targets.dim() == 2 and targets.shape[0] != batch:
        raise CTCError(f"targets has {targets.shape[0]} rows for a batch of {batch}")
    device = inputs.device
    in_len = _as_lengths(input_lengths, "input_lengths", batch, device)
    tgt_len = _as_lengths(target_lengths, "target_lengths", batch, device)
    return inputs, targets.to(device), in_len, tgt_len, unbatched


def _reduce(losses: Tensor, target_lengths: Tensor, reduction: str, zero_infinity: bool) -> Tensor:
    """Apply ``zero_infinity`` and the reduction to per-utterance losses ``(B,)``."""
    if zero_infinity:
        losses = torch.where(torch.isinf(losses), torch.zeros_like(losses), losses)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return (losses / target_lengths.clamp(min=1).to(losses.dtype)).mean()


def _padded(targets: Tensor, target_lengths: Tensor) -> Tensor:
    """``(B, Lmax)`` padded targets from padded or concatenated ones (reference path only)."""
    if targets.dim() == 2:
        return targets
    lengths = target_lengths.long().cpu()
    rows = torch.split(targets.long(), lengths.tolist())
    return torch.nn.utils.rnn.pad_sequence(list(rows), batch_first=True) if rows else targets


class _ReferenceCTC(torch.autograd.Function):
    """Per-utterance float64 losses with the alpha-beta gradient ``exp(lp) - gamma``."""

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank):  # type: ignore[override]
        loss, grad = ctc_reference(log_probs, targets, input_lengths, target_lengths, blank)
        ctx.save_for_backward(grad)
        ctx.dtype = log_probs.dtype
        return loss.to(log_probs.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        out = grad * grad_loss.to(grad.dtype).view(1, -1, 1)
        return out.to(ctx.dtype), None, None, None, None


class _TritonCTC(torch.autograd.Function):
    """Per-utterance fp32 losses from the fused kernels; backward is the gradient wrt inputs."""

    @staticmethod
    def forward(
        ctx, inputs, targets, offsets, input_lengths, target_lengths, blank, max_label, normalized
    ):  # type: ignore[override]  # noqa: E501
        from seqlab.losses import ctc_triton

        args = (inputs, targets, offsets, input_lengths, target_lengths, blank, max_label)
        logz, lse, ckpt = ctc_triton.ctc_forward(*args, normalized)
        ctx.save_for_backward(
            inputs, targets, offsets, input_lengths, target_lengths, logz, lse, ckpt
        )
        ctx.static = (blank, max_label, normalized)
        return -logz

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_loss):  # type: ignore[override]
        from seqlab.losses import ctc_triton

        inputs, targets, offsets, in_len, tgt_len, logz, lse, ckpt = ctx.saved_tensors
        blank, max_label, normalized = ctx.static
        scale = grad_loss.to(torch.float32).contiguous()
        grad = ctc_triton.ctc_backward(
            inputs, targets, offsets, in_len, tgt_len, blank, max_label, normalized,
            logz, lse, ckpt, scale,
        )  # fmt: skip
        return grad, None, None, None, None, None, None, None


def _triton_losses(
    inputs: Tensor, targets: Tensor, in_len: Tensor, tgt_len: Tensor, blank: int, normalized: bool
) -> Tensor:
    """Per-utterance losses ``(B,)`` (fp32; fp64 for fp64 inputs) from the Triton kernels."""
    time = inputs.shape[0]
    if inputs.stride(2) != 1:
        inputs = inputs.contiguous()
    if targets.dim() == 2:
        flat = targets.contiguous().reshape(-1)
        offsets = torch.arange(targets.shape[0], device=targets.device, dtype=torch.int32)
        offsets = offsets * targets.shape[1]
        bound = targets.shape[1]
    else:
        flat = targets.contiguous()
        offsets = (torch.cumsum(tgt_len, 0) - tgt_len).to(torch.int32)
        bound = targets.shape[0]
    # A labelling longer than T has no alignment, so T bounds the useful label length.
    max_label = max(0, min(bound, time))
    losses = _TritonCTC.apply(inputs, flat, offsets, in_len, tgt_len, blank, max_label, normalized)
    return losses.to(inputs.dtype) if inputs.dtype == torch.float64 else losses


def _select(inputs: Tensor, impl: str | None) -> str:
    if impl is None:
        fused = inputs.is_cuda and inputs.dtype in (torch.float32, torch.float16, torch.bfloat16)
        return "triton" if fused else "torch"
    if impl not in IMPLS:
        raise CTCError(f"impl must be one of {IMPLS} or None, got {impl!r}")
    return impl


def ctc_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: LengthsLike,
    target_lengths: LengthsLike,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
    batch_first: bool = False,
    impl: Impl | None = None,
) -> Tensor:
    """Connectionist Temporal Classification loss on log-probabilities (``F.ctc_loss`` drop-in).

    Args:
        log_probs: ``(T, B, C)`` (``(B, T, C)`` if ``batch_first``) or ``(T, C)`` log-softmax
            outputs, natural log.
        targets: ``(B, S)`` padded or 1-D concatenated class indices (never ``blank``).
        input_lengths: ``(B,)`` frames per utterance, ``<= T``.
        target_lengths: ``(B,)`` labels per utterance, ``<= S`` for padded targets.
        blank: blank class index.
        reduction: ``"none"`` -> ``(B,)``, ``"sum"``, or ``"mean"`` (loss divided by
            ``max(target_length, 1)``, averaged over the batch).
        zero_infinity: replace infinite losses (impossible alignments) and their gradients by 0.
        batch_first: inputs are ``(B, T, C)``.
        impl: ``"triton"``, ``"torch"``, ``"reference"``, or ``None`` (automatic).

    Returns:
        The loss in nats (scalar, or ``(B,)`` for ``"none"``). Its gradient with respect to
        ``log_probs`` follows PyTorch's convention ``exp(log_probs) - gamma``.

    >>> lp = torch.randn(50, 2, 20).log_softmax(-1)
    >>> loss = ctc_loss(lp, torch.randint(1, 20, (2, 10)), [50, 40], [10, 7])
    """
    inputs, targets, in_len, tgt_len, unbatched = _prepare(
        log_probs, targets, input_lengths, target_lengths, blank, reduction, batch_first
    )
    chosen = _select(inputs, impl)
    if chosen == "torch":
        losses = F.ctc_loss(inputs, targets, in_len, tgt_len, blank, "none", zero_infinity)
    elif chosen == "reference":
        padded = _padded(targets, tgt_len)
        losses = _ReferenceCTC.apply(inputs, padded, in_len, tgt_len, blank)
    else:
        losses = _triton_losses(inputs, targets, in_len, tgt_len, blank, normalized=True)
    out = _reduce(losses, tgt_len, reduction, zero_infinity)
    return out.squeeze(0) if unbatched and reduction == "none" else out


def ctc_loss_from_logits(
    logits: Tensor,
    targets: Tensor,
    input_lengths: LengthsLike,
    target_lengths: LengthsLike,
    blank: int = 0,
    reduction: Reduction = "mean",
    zero_infinity: bool = False,
    batch_first: bool = False,
    impl: Impl | None = None,
) -> Tensor:
    """CTC loss on unnormalized logits, with the log-softmax fused into the loss.

    Equivalent to ``ctc_loss(logits.float().log_softmax(-1), ...)``, but on CUDA the Triton path
    never materializes log-probabilities: it reads fp32/fp16/bf16 logits, accumulates in fp32, and
    its backward writes ``softmax(logits) - gamma`` (scaled by the incoming gradient) directly in
    the logits' dtype and layout. Arguments as :func:`ctc_loss`; the returned loss is fp32 for
    half-precision logits.

    >>> logits = torch.randn(50, 2, 20, requires_grad=True)
    >>> ctc_loss_from_logits(logits, torch.randint(1, 20, (2, 10)), [50, 40], [10, 7]).backward()
    """
    inputs, targets, in_len, tgt_len, unbatched = _prepare(
        logits, targets, input_lengths, target_lengths, blank, reduction, batch_first
    )
    chosen = _select(inputs, impl)
    if chosen == "triton":
        losses = _triton_losses(inputs, targets, in_len, tgt_len, blank, normalized=False)
    else:
        work = torch.float64 if chosen == "reference" or inputs.dtype == torch.float64 else None
        log_probs = inputs.to(work or torch.float32).log_softmax(-1)
        if chosen == "torch":
            losses = F.ctc_loss(log_probs, targets, in_len, tgt_len, blank, "none", zero_infinity)
        else:
            losses = _ReferenceCTC.apply(
                log_probs, _padded(targets, tgt_len), in_len, tgt_len, blank
            )
        if inputs.dtype in (torch.float32, torch.float64):
            losses = losses.to(inputs.dtype)
        else:
            losses = losses.float()
    out = _reduce(losses, tgt_len, reduction, zero_infinity)
    return out.squeeze(0) if unbatched and reduction == "none" else out


class CTCLoss(nn.Module):
    """``nn.CTCLoss`` drop-in with a choice of implementation and an optional fused log-softmax.

    Args:
        blank, reduction, zero_infinity, batch_first: as :func:`ctc_loss`.
        from_logits: inputs are unnormalized logits (uses :func:`ctc_loss_from_logits`).
        impl: ``"triton"``, ``"torch"``, ``"reference"`` or ``None`` (Triton on CUDA, PyTorch on
            CPU).

    >>> crit = CTCLoss(from_logits=True)
    >>> loss = crit(torch.randn(30, 2, 10), torch.randint(1, 10, (2, 5)), [30, 30], [5, 3])
    """

    def __init__(
        self,
        blank: int = 0,
        reduction: Reduction = "mean",
        zero_infinity: bool = False,
        batch_first: bool = False,
        from_logits: bool = False,
        impl: Impl | None = None,
    ) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise CTCError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if impl is not None and impl not in IMPLS:
            raise CTCError(f"impl must be one of {IMPLS} or None, got {impl!r}")
        self.blank = blank
        self.reduction = reduction
        self.zero_infinity = zero_infinity
        self.batch_first = batch_first
        self.from_logits = from_logits
        self.impl = impl

    def forward(
        self,
        inputs: Tensor,
        targets: Tensor,
        input_lengths: LengthsLike,
        target_lengths: LengthsLike,
    ) -> Tensor:
        """Loss of ``inputs`` ``(T, B, C)`` (or ``(B, T, C)``/``(T, C)``) against ``targets``."""
        fn = ctc_loss_from_logits if self.from_logits else ctc_loss
        return fn(
            inputs, targets, input_lengths, target_lengths, blank=self.blank,
            reduction=self.reduction, zero_infinity=self.zero_infinity,
            batch_first=self.batch_first, impl=self.impl,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"blank={self.blank}, reduction={self.reduction!r}, zero_infinity={self.zero_infinity}"
            f", batch_first={self.batch_first}, from_logits={self.from_logits}, impl={self.impl!r}"
        )
