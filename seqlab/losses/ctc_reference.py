"""Exact float64 CTC forward-backward in pure PyTorch: the oracle the tests compare against.

Graves et al. (2006) in log space over the extended label sequence
``l' = (blank, l1, blank, l2, ..., lL, blank)`` of length ``S = 2L + 1``. The recursions are
vectorized over the batch and the label positions and loop over time, so this is meant for small
shapes (tests, debugging), not for training.

Unreachable states hold the finite sentinel ``NEG = -1e30`` instead of ``-inf`` so that the
autograd graph of :func:`ctc_reference_loss` never produces ``inf - inf`` (``gradcheck`` works on
every input); losses at or below the sentinel are reported as ``inf``.
"""

from __future__ import annotations

import torch
from torch import Tensor

NEG = -1.0e30  # log-space "zero" that keeps autograd finite
_IMPOSSIBLE = -1.0e29  # log-likelihoods below this mean "no alignment exists"


def _extended_labels(targets: Tensor, blank: int) -> tuple[Tensor, Tensor]:
    """Extended label sequence and skip mask.

    Args:
        targets: ``(B, Lmax)`` integer labels (padding past each length is ignored).
        blank: blank class index.

    Returns:
        ``ext`` ``(B, 2*Lmax + 1)`` int64 classes and ``skip`` ``(B, 2*Lmax + 1)`` bool, true where
        the transition ``s - 2 -> s`` is allowed (label position whose label differs from the
        previous label).
    """
    batch, lmax = targets.shape
    ext = torch.full((batch, 2 * lmax + 1), blank, dtype=torch.long, device=targets.device)
    ext[:, 1::2] = targets.long()
    skip = torch.zeros_like(ext, dtype=torch.bool)
    skip[:, 3::2] = ext[:, 3::2] != ext[:, 1:-2:2]
    return ext, skip


def _shift(x: Tensor, k: int, fill: float) -> Tensor:
    """``y[..., s] = x[..., s - k]`` (``k > 0``) or ``x[..., s + |k|]`` (``k < 0``), padded by fill."""
    if abs(k) >= x.shape[-1]:
        return torch.full_like(x, fill)
    pad = x.new_full(x.shape[:-1] + (abs(k),), fill)
    if k > 0:
        return torch.cat([pad, x[..., :-k]], dim=-1)
    return torch.cat([x[..., -k:], pad], dim=-1)


def _inputs(
    log_probs: Tensor, targets: Tensor, input_lengths: Tensor, target_lengths: Tensor, blank: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``(log_probs float64, input_lengths, target_lengths, overlong, ext, skip)``.

    Input lengths are clamped to ``[0, T]``; labels past each target length are never read
    (any padding value works); a target length beyond the padded width ``Lmax`` is clamped
    for the recursions and flagged in ``overlong`` (no alignment exists: ``inf``).
    """
    lp = log_probs.double()
    device = lp.device
    input_lengths = input_lengths.long().to(device).clamp(0, lp.shape[0])
    target_lengths = target_lengths.long().to(device)
    targets = targets.to(device).long()
    width = targets.shape[1]
    overlong = target_lengths > width
    target_lengths = target_lengths.clamp(0, width)
    inside = torch.arange(width, device=device) < target_lengths.unsqueeze(1)
    ext, skip = _extended_labels(torch.where(inside, targets, blank), blank)
    return lp, input_lengths, target_lengths, overlong, ext, skip


def _lse3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    return torch.logsumexp(torch.stack([a, b, c]), dim=0)


def _alphas(
    log_probs: Tensor, ext: Tensor, skip: Tensor, input_lengths: Tensor
) -> tuple[list[Tensor], Tensor]:
    """Forward variables ``alpha_t`` (each ``(B, S)``, float64) and the emissions ``(T, B, S)``.

    ``alpha_t`` is frozen (copied forward) for ``t >= input_length`` so that ``alpha[-1]`` holds
    each utterance's last valid step.
    """
    time = log_probs.shape[0]
    emit = log_probs.gather(2, ext.unsqueeze(0).expand(time, -1, -1))
    start = torch.full_like(emit[0], NEG)
    start[:, :2] = emit[0, :, :2]
    alphas = [start]
    for t in range(1, time):
        prev = alphas[-1]
        step = (
            _lse3(prev, _shift(prev, 1, NEG), torch.where(skip, _shift(prev, 2, NEG), NEG))
            + emit[t]
        )
        alphas.append(torch.where((t < input_lengths).unsqueeze(1), step, prev))
    return alphas, emit


def _log_likelihood(last_alpha: Tensor, input_lengths: Tensor, target_lengths: Tensor) -> Tensor:
    """``log p(l | x)`` per utterance from the final alphas ``(B, S)``; ``NEG`` when impossible."""
    end = (2 * target_lengths).unsqueeze(1)
    a_last = last_alpha.gather(1, end).squeeze(1)
    a_prev = last_alpha.gather(1, (end - 1).clamp(min=0)).squeeze(1)
    a_prev = torch.where(target_lengths > 0, a_prev, NEG)
    logz = torch.logaddexp(a_last, a_prev)
    # Zero frames: probability 1 for the empty labelling, 0 otherwise.
    empty = torch.where(target_lengths == 0, 0.0, NEG).to(logz)
    return torch.where(input_lengths == 0, empty, logz)


def ctc_reference_loss(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int = 0,
) -> Tensor:
    """Differentiable per-utterance CTC loss (negative log-likelihood), float64.

    Args:
        log_probs: ``(T, B, C)`` log-probabilities (any float dtype; computed in float64).
        targets: ``(B, Lmax)`` padded integer labels (padding past each length: any value).
        input_lengths: ``(B,)`` frames per utterance (clamped to ``T``).
        target_lengths: ``(B,)`` labels per utterance (beyond ``Lmax``: ``inf``).
        blank: blank class index.

    Returns:
        ``(B,)`` float64 losses in nats; ``inf`` where no alignment exists. Autograd through this
        function gives the true partial derivatives with respect to ``log_probs`` (``-gamma``).
    """
    lp, input_lengths, target_lengths, overlong, ext, skip = _inputs(
        log_probs, targets, input_lengths, target_lengths, blank
    )
    alphas, _ = _alphas(lp, ext, skip, input_lengths)
    logz = _log_likelihood(alphas[-1], input_lengths, target_lengths)
    return torch.where((logz < _IMPOSSIBLE) | overlong, torch.inf, -logz)


@torch.no_grad()
def ctc_reference(
    log_probs: Tensor,
    targets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int = 0,
) -> tuple[Tensor, Tensor]:
    """CTC loss and its gradient by the alpha-beta (forward-backward) algorithm, float64.

    Args: as :func:`ctc_reference_loss`.

    Returns:
        ``loss`` ``(B,)`` float64 (``inf`` where impossible) and ``grad`` ``(T, B, C)`` float64
        ``= exp(log_probs) - gamma``, the gradient with respect to the logits when ``log_probs``
        is a log-softmax (the convention of ``torch.nn.functional.ctc_loss``). ``gamma[t, b, c]``
        is the posterior probability of emitting class ``c`` at frame ``t``; it is zero for
        impossible utterances. Frames ``t >= input_length`` get zero gradient.
    """
    lp, input_lengths, target_lengths, overlong, ext, skip = _inputs(
        log_probs, targets, input_lengths, target_lengths, blank
    )
    time, device = lp.shape[0], lp.device
    alphas, emit = _alphas(lp, ext, skip, input_lengths)
    logz = _log_likelihood(alphas[-1], input_lengths, target_lengths)
    feasible = (logz >= _IMPOSSIBLE) & ~overlong

    positions = torch.arange(ext.shape[1], device=device)
    end = 2 * target_lengths
    is_final = (positions == end.unsqueeze(1)) | (
        (positions == (end - 1).unsqueeze(1)) & (target_lengths > 0).unsqueeze(1)
    )
    skip_next = _shift(skip, -2, False)
    gamma = torch.zeros_like(lp)
    beta = torch.full_like(emit[0], NEG)
    for t in range(time - 1, -1, -1):
        last = (t == input_lengths - 1).unsqueeze(1)
        inside = (t < input_lengths - 1).unsqueeze(1)
        step = (
            _lse3(beta, _shift(beta, -1, NEG), torch.where(skip_next, _shift(beta, -2, NEG), NEG))
            + emit[t]
        )
        init = torch.where(is_final, emit[t], NEG)
        beta = torch.where(last, init, torch.where(inside, step, NEG))
        post = torch.exp(alphas[t] + beta - emit[t] - logz.unsqueeze(1))
        post = torch.where((feasible & (t < input_lengths)).unsqueeze(1), post, 0.0)
        gamma[t].scatter_add_(1, ext, post)
    valid = (torch.arange(time, device=device).unsqueeze(1) < input_lengths).unsqueeze(2)
    grad = torch.where(valid, lp.exp() - gamma, 0.0)
    loss = torch.where(feasible, -logz, torch.inf)
    return loss, grad
