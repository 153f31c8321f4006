"""Fused CTC loss on logits in Triton: log-softmax, forward, backward, deterministic gradient.

Five launches, none of which syncs with the host (lengths and targets are read on device; block
sizes come from tensor shapes only):

1. ``_row_lse_kernel`` (all SMs, one read of the logits): per-frame log-sum-exp ``lse[t, b]``,
   online over ``BLOCK_C`` class chunks; frames past ``input_length`` are skipped.
2. ``_alpha_kernel`` (one program per utterance): the whole forward recursion. ``alpha`` over the
   ``S = 2L + 1`` extended labels lives in registers (``BLOCK_S = next_pow2(S)``), the ``s-1`` and
   ``s-2`` neighbours come from on-chip ``tl.gather``; the emissions
   ``logit[t, b, l'_s] - lse[t, b]`` are gathered from the logits four steps ahead (the loop is
   unrolled by 4, one register set per step, so no prefetched value is rotated). Only every
   ``K``-th alpha row is written (checkpoints), plus ``log p(l|x)``.
3. ``_beta_kernel`` (one program per utterance): segment by segment from the end, recomputes the
   ``K`` alphas of a segment from its checkpoint into a small per-utterance scratch (L2 resident),
   then runs the beta recursion in registers and writes the per-label-position posteriors
   ``gamma[t, b, j]`` (slot 0: blank total, slot ``1 + i``: the ``i``-th label).
4. ``_softmax_grad_kernel`` (all SMs, read + write): ``grad = g_b * exp(logit - lse)``, zero past
   ``input_length``.
5. ``_gamma_scatter_kernel`` (all SMs): repeated labels are merged deterministically (label slots
   sorted by class once per call; segmented ``tl.associative_scan``), then
   ``grad[t, b, c] = g_b * (exp(logit - lse) - gamma_c)`` is stored at the distinct classes. No
   atomics anywhere: results are bitwise reproducible.

Memory besides the gradient: ``lse`` (T x B), checkpoints (T/K x B x BLOCK_S), scratch
(B x K x BLOCK_S x 2) and gamma (T x B x (L+1)), all float32 -- versus PyTorch's log-probs
(T x B x C), alpha and beta (2 x T x B x S) and two T x B x C gradients.

Kernels are defined at import time; on CPU tensors they only run under the Triton interpreter
(``TRITON_INTERPRET=1`` set before this module is imported), which the tests use.
"""

from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl
from torch import Tensor

INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"
"""True when the kernels were built for Triton's CPU interpreter (TRITON_INTERPRET=1 at import)."""

_ROW_TILE = 4096  # elements per (rows x classes) tile of the row-parallel kernels
_MAX_BLOCK_C = 1024  # class chunk of the online log-sum-exp


@triton.jit
def _lse3(a, b, c):
    """Elementwise log(exp(a) + exp(b) + exp(c)); -inf when all three are -inf (never NaN)."""
    m = tl.maximum(tl.maximum(a, b), c)
    m = tl.where(m == float("-inf"), 0.0, m)
    return m + tl.log(tl.exp(a - m) + tl.exp(b - m) + tl.exp(c - m))


@triton.jit
def _labels(tgt_ptr, off_ptr, tgt_len_ptr, b, L_CAP, blank, BLOCK_S: tl.constexpr):
    """Extended labels of utterance ``b``: classes, skip mask, ``S_b`` and whether L fits."""
    s = tl.arange(0, BLOCK_S)
    off = tl.load(off_ptr + b).to(tl.int64)
    length = tl.load(tgt_len_ptr + b)
    fits = length <= L_CAP
    n_ext = 2 * tl.minimum(length, L_CAP) + 1
    is_lab = (s % 2 == 1) & (s < n_ext)
    j = (s - 1) // 2
    lab = tl.load(tgt_ptr + off + j, mask=is_lab, other=blank).to(tl.int32)
    has_prev = is_lab & (s >= 3)
    prev = tl.load(tgt_ptr + off + j - 1, mask=has_prev, other=blank).to(tl.int32)
    lab = tl.where(is_lab, lab, blank)
    skip = has_prev & (lab != prev)
    return s, lab, skip, n_ext, fits


@triton.jit
def _emission(x_row, lse_ptr, t, T_b, B, stride_t, lab, in_seq, NORMALIZED: tl.constexpr):
    """fp32 ``log_softmax(x)[t, b, lab[s]]`` (masked to ``-inf`` outside the sequence)."""
    ok = in_seq & (t < T_b)
    x = tl.load(x_row + tl.cast(t, tl.int64) * stride_t + lab, mask=ok, other=float("-inf"))
    x = x.to(tl.float32)
    if not NORMALIZED:
        x = x - tl.load(lse_ptr + t * B, mask=t < T_b, other=0.0)
    return x


@triton.jit
def _alpha_step(alpha, e, s, skip, in_seq, BLOCK_S: tl.constexpr):
    a1 = tl.gather(alpha, tl.maximum(s - 1, 0), 0)
    a1 = tl.where(s >= 1, a1, float("-inf"))
    a2 = tl.gather(alpha, tl.maximum(s - 2, 0), 0)
    a2 = tl.where(skip, a2, float("-inf"))
    return tl.where(in_seq, _lse3(alpha, a1, a2) + e, float("-inf"))


@triton.jit
def _row_lse_kernel(
    x_ptr, lse_ptr, in_len_ptr, n_rows, B, C, T, stride_t, stride_b,
    BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    t = rows // B
    b = rows % B
    in_range = rows < n_rows
    T_b = tl.minimum(tl.load(in_len_ptr + b, mask=in_range, other=0), T)
    valid = in_range & (t < T_b)
    base = x_ptr + t.to(tl.int64) * stride_t + b.to(tl.int64) * stride_b
    m = tl.full([BLOCK_R], float("-inf"), tl.float32)
    acc = tl.zeros([BLOCK_R], tl.float32)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = valid[:, None] & (c < C)[None, :]
        x = tl.load(base[:, None] + c[None, :], mask=mask, other=float("-inf")).to(tl.float32)
        m_new = tl.maximum(m, tl.max(x, 1))
        m_safe = tl.where(m_new == float("-inf"), 0.0, m_new)
        acc = acc * tl.exp(m - m_safe) + tl.sum(tl.exp(x - m_safe[:, None]), 1)
        m = m_new
    m_safe = tl.where(m == float("-inf"), 0.0, m)
    tl.store(lse_ptr + rows, m_safe + tl.log(acc), mask=in_range)


@triton.jit
def _advance(alpha, e, live, s, skip, in_seq, BLOCK_S: tl.constexpr):
    """One alpha step where ``live`` (scalar), identity otherwise (unrolled-loop tail)."""
    return tl.where(live, _alpha_step(alpha, e, s, skip, in_seq, BLOCK_S), alpha)


@triton.jit
def _alpha_kernel(
    x_ptr, lse_ptr, tgt_ptr, off_ptr, in_len_ptr, tgt_len_ptr, ckpt_ptr, logz_ptr,
    B, T, L_CAP, stride_t, stride_b, blank,
    NORMALIZED: tl.constexpr, K: tl.constexpr, BLOCK_S: tl.constexpr,
):  # fmt: skip
    b = tl.program_id(0)
    s, lab, skip, n_ext, fits = _labels(tgt_ptr, off_ptr, tgt_len_ptr, b, L_CAP, blank, BLOCK_S)
    in_seq = s < n_ext
    T_b = tl.minimum(tl.load(in_len_ptr + b), T)
    x_row = x_ptr + b.to(tl.int64) * stride_b
    lse_row = lse_ptr + b
    e = _emission(x_row, lse_row, 0, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    alpha = tl.where(s < 2, e, float("-inf"))
    ckpt_row = ckpt_ptr + b.to(tl.int64) * BLOCK_S + s
    tl.store(ckpt_row, alpha)
    # Unrolled by 4 with four emission registers, each refilled right after its use: every
    # gather has three recursion steps to arrive, and no register is rotated (which would stall).
    ea = _emission(x_row, lse_row, 1, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    eb = _emission(x_row, lse_row, 2, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    ec = _emission(x_row, lse_row, 3, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    ed = _emission(x_row, lse_row, 4, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    for t in range(1, T_b, 4):
        alpha = _advance(alpha, ea, t < T_b, s, skip, in_seq, BLOCK_S)
        tl.store(ckpt_row + (t // K) * B * BLOCK_S, alpha, mask=(t % K == 0) & (t < T_b))
        ea = _emission(x_row, lse_row, t + 4, T_b, B, stride_t, lab, in_seq, NORMALIZED)
        u = t + 1
        alpha = _advance(alpha, eb, u < T_b, s, skip, in_seq, BLOCK_S)
        tl.store(ckpt_row + (u // K) * B * BLOCK_S, alpha, mask=(u % K == 0) & (u < T_b))
        eb = _emission(x_row, lse_row, t + 5, T_b, B, stride_t, lab, in_seq, NORMALIZED)
        u = t + 2
        alpha = _advance(alpha, ec, u < T_b, s, skip, in_seq, BLOCK_S)
        tl.store(ckpt_row + (u // K) * B * BLOCK_S, alpha, mask=(u % K == 0) & (u < T_b))
        ec = _emission(x_row, lse_row, t + 6, T_b, B, stride_t, lab, in_seq, NORMALIZED)
        u = t + 3
        alpha = _advance(alpha, ed, u < T_b, s, skip, in_seq, BLOCK_S)
        tl.store(ckpt_row + (u // K) * B * BLOCK_S, alpha, mask=(u % K == 0) & (u < T_b))
        ed = _emission(x_row, lse_row, t + 7, T_b, B, stride_t, lab, in_seq, NORMALIZED)
    a_last = tl.max(tl.where(s == n_ext - 1, alpha, float("-inf")), 0)
    a_prev = tl.max(tl.where(s == n_ext - 2, alpha, float("-inf")), 0)
    hi = tl.maximum(a_last, a_prev)
    hi_safe = tl.where(hi == float("-inf"), 0.0, hi)
    logz = hi_safe + tl.log(tl.exp(a_last - hi_safe) + tl.exp(a_prev - hi_safe))
    empty = tl.where(n_ext == 1, 0.0, float("-inf"))  # zero frames: only the empty labelling
    logz = tl.where(T_b == 0, empty, logz)
    logz = tl.where(fits, logz, float("-inf"))
    tl.store(logz_ptr + b, logz)


@triton.jit
def _recompute(alpha_buf, emit_buf, k, n_steps, alpha, e, s, skip, in_seq, BLOCK_S: tl.constexpr):
    """Alpha step ``k`` of a segment into the scratch rows (no-op past the segment)."""
    live = k < n_steps
    alpha = _advance(alpha, e, live, s, skip, in_seq, BLOCK_S)
    tl.store(alpha_buf + k * BLOCK_S, alpha, mask=live & (s >= 0))
    tl.store(emit_buf + k * BLOCK_S, e, mask=live & (s >= 0))
    return alpha


@triton.jit
def _beta_step(
    beta, alpha, e, t, T_b, live, logz, feasible, g_base, B, G,
    s, skip2, up2, in_seq, is_final, BLOCK_S: tl.constexpr,
):  # fmt: skip
    """Beta at frame ``t`` from beta at ``t + 1``; stores the posteriors of frame ``t``."""
    b1 = tl.gather(beta, tl.minimum(s + 1, BLOCK_S - 1), 0)
    b1 = tl.where(s + 1 < BLOCK_S, b1, float("-inf"))
    b2 = tl.gather(beta, up2, 0)
    b2 = tl.where(skip2, b2, float("-inf"))
    stepped = tl.where(in_seq, _lse3(beta, b1, b2) + e, float("-inf"))
    new = tl.where(t == T_b - 1, tl.where(is_final, e, float("-inf")), stepped)
    both = alpha + new  # -inf off every complete path (guards -inf - -inf below)
    post = tl.where(both == float("-inf"), 0.0, tl.exp(both - e - logz))
    post = tl.where(feasible, tl.where(in_seq, post, 0.0), 0.0)
    g_row = g_base + t.to(tl.int64) * B * G
    tl.store(g_row + (s + 1) // 2, post, mask=live & in_seq & (s % 2 == 1))
    tl.store(g_row, tl.sum(tl.where(s % 2 == 0, post, 0.0), 0), mask=live)
    return tl.where(live, new, beta)


@triton.jit
def _beta_kernel(
    x_ptr, lse_ptr, tgt_ptr, off_ptr, in_len_ptr, tgt_len_ptr, ckpt_ptr, logz_ptr,
    scratch_ptr, gamma_ptr,
    B, T, L_CAP, G, stride_t, stride_b, blank,
    NORMALIZED: tl.constexpr, K: tl.constexpr, BLOCK_S: tl.constexpr,
):  # fmt: skip
    b = tl.program_id(0)
    s, lab, skip, n_ext, fits = _labels(tgt_ptr, off_ptr, tgt_len_ptr, b, L_CAP, blank, BLOCK_S)
    in_seq = s < n_ext
    T_b = tl.minimum(tl.load(in_len_ptr + b), T)
    logz = tl.load(logz_ptr + b)
    feasible = logz > float("-inf")
    logz = tl.where(feasible, logz, 0.0)
    x_row = x_ptr + b.to(tl.int64) * stride_b
    lse_row = lse_ptr + b
    # skip2[s]: the transition s -> s + 2 is allowed (read beta[s + 2]).
    up2 = tl.minimum(s + 2, BLOCK_S - 1)
    skip2 = (tl.gather(skip.to(tl.int32), up2, 0) != 0) & (s + 2 < BLOCK_S)
    is_final = (s == n_ext - 1) | (s == n_ext - 2)
    g_base = gamma_ptr + b.to(tl.int64) * G
    ckpt_row = ckpt_ptr + b.to(tl.int64) * BLOCK_S + s
    alpha_buf = scratch_ptr + b.to(tl.int64) * (2 * K * BLOCK_S) + s
    emit_buf = alpha_buf + K * BLOCK_S
    beta = tl.full([BLOCK_S], float("-inf"), tl.float32)
    n_seg = tl.cdiv(T_b, K)
    for i in range(0, n_seg):
        seg = n_seg - 1 - i
        t0 = seg * K
        n_steps = tl.minimum(T_b - t0, K)
        end = t0 + n_steps
        # Recompute this segment's alphas (and emissions) from its checkpoint, unrolled by 4
        # with prefetched emissions as in _alpha_kernel.
        alpha = tl.load(ckpt_row + seg.to(tl.int64) * B * BLOCK_S)
        e = _emission(x_row, lse_row, t0, end, B, stride_t, lab, in_seq, NORMALIZED)
        tl.store(alpha_buf, alpha)
        tl.store(emit_buf, e)
        ea = _emission(x_row, lse_row, t0 + 1, end, B, stride_t, lab, in_seq, NORMALIZED)
        eb = _emission(x_row, lse_row, t0 + 2, end, B, stride_t, lab, in_seq, NORMALIZED)
        ec = _emission(x_row, lse_row, t0 + 3, end, B, stride_t, lab, in_seq, NORMALIZED)
        ed = _emission(x_row, lse_row, t0 + 4, end, B, stride_t, lab, in_seq, NORMALIZED)
        for k in range(1, n_steps, 4):
            alpha = _recompute(alpha_buf, emit_buf, k, n_steps, alpha, ea, s, skip, in_seq, BLOCK_S)
            ea = _emission(x_row, lse_row, t0 + k + 4, end, B, stride_t, lab, in_seq, NORMALIZED)
            alpha = _recompute(alpha_buf, emit_buf, k + 1, n_steps, alpha, eb, s, skip, in_seq,
                               BLOCK_S)  # fmt: skip
            eb = _emission(x_row, lse_row, t0 + k + 5, end, B, stride_t, lab, in_seq, NORMALIZED)
            alpha = _recompute(alpha_buf, emit_buf, k + 2, n_steps, alpha, ec, s, skip, in_seq,
                               BLOCK_S)  # fmt: skip
            ec = _emission(x_row, lse_row, t0 + k + 6, end, B, stride_t, lab, in_seq, NORMALIZED)
            alpha = _recompute(alpha_buf, emit_buf, k + 3, n_steps, alpha, ed, s, skip, in_seq,
                               BLOCK_S)  # fmt: skip
            ed = _emission(x_row, lse_row, t0 + k + 7, end, B, stride_t, lab, in_seq, NORMALIZED)
        tl.debug_barrier()
        # Beta backwards through the segment, scratch rows prefetched two steps ahead.
        k_a = n_steps - 1
        a_a = tl.load(alpha_buf + k_a * BLOCK_S)
        e_a = tl.load(emit_buf + k_a * BLOCK_S)
        a_b = tl.load(alpha_buf + (k_a - 1) * BLOCK_S, mask=(k_a >= 1) & (s >= 0), other=0.0)
        e_b = tl.load(emit_buf + (k_a - 1) * BLOCK_S, mask=(k_a >= 1) & (s >= 0), other=0.0)
        for back in range(0, n_steps, 2):
            kk = n_steps - 1 - back
            beta = _beta_step(beta, a_a, e_a, t0 + kk, T_b, kk >= 0, logz, feasible, g_base, B,
                              G, s, skip2, up2, in_seq, is_final, BLOCK_S)  # fmt: skip
            ok = (kk >= 2) & (s >= 0)
            a_a = tl.load(alpha_buf + (kk - 2) * BLOCK_S, mask=ok, other=0.0)
            e_a = tl.load(emit_buf + (kk - 2) * BLOCK_S, mask=ok, other=0.0)
            beta = _beta_step(beta, a_b, e_b, t0 + kk - 1, T_b, kk >= 1, logz, feasible, g_base,
                              B, G, s, skip2, up2, in_seq, is_final, BLOCK_S)  # fmt: skip
            ok = (kk >= 3) & (s >= 0)
            a_b = tl.load(alpha_buf + (kk - 3) * BLOCK_S, mask=ok, other=0.0)
            e_b = tl.load(emit_buf + (kk - 3) * BLOCK_S, mask=ok, other=0.0)
        tl.debug_barrier()


@triton.jit
def _softmax_grad_kernel(
    x_ptr, lse_ptr, scale_ptr, in_len_ptr, grad_ptr, n_rows, B, C, T,
    stride_t, stride_b, gstride_t, gstride_b,
    BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    t = rows // B
    b = rows % B
    in_range = rows < n_rows
    T_b = tl.minimum(tl.load(in_len_ptr + b, mask=in_range, other=0), T)
    valid = in_range & (t < T_b)
    scale = tl.load(scale_ptr + b, mask=in_range, other=0.0)
    scale = tl.where(valid, scale, 0.0)
    lse = tl.load(lse_ptr + rows, mask=valid, other=0.0)
    base = x_ptr + t.to(tl.int64) * stride_t + b.to(tl.int64) * stride_b
    gbase = grad_ptr + t.to(tl.int64) * gstride_t + b.to(tl.int64) * gstride_b
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        cmask = (c < C)[None, :]
        x = tl.load(base[:, None] + c[None, :], mask=valid[:, None] & cmask, other=float("-inf"))
        g = tl.exp(x.to(tl.float32) - lse[:, None]) * scale[:, None]
        tl.store(
            gbase[:, None] + c[None, :],
            g.to(grad_ptr.dtype.element_ty),
            mask=in_range[:, None] & cmask,
        )


@triton.jit
def _segment_sum(a, a_start, b, b_start):
    return tl.where(b_start != 0, b, a + b), a_start | b_start


@triton.jit
def _gamma_scatter_kernel(
    x_ptr, lse_ptr, scale_ptr, in_len_ptr, gamma_ptr, cls_ptr, perm_ptr, start_ptr, end_ptr,
    grad_ptr, n_rows, B, C, T, G, stride_t, stride_b, gstride_t, gstride_b,
    BLOCK_R: tl.constexpr, BLOCK_G: tl.constexpr,
):  # fmt: skip
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    t = rows // B
    b = rows % B
    in_range = rows < n_rows
    T_b = tl.minimum(tl.load(in_len_ptr + b, mask=in_range, other=0), T)
    valid = in_range & (t < T_b)
    scale = tl.load(scale_ptr + b, mask=valid, other=0.0)
    lse = tl.load(lse_ptr + rows, mask=valid, other=0.0)
    k = tl.arange(0, BLOCK_G)
    meta = b[:, None] * G + k[None, :]
    kmask = valid[:, None] & (k < G)[None, :]
    cls = tl.load(cls_ptr + meta, mask=kmask, other=C)
    used = kmask & (cls < C)
    perm = tl.load(perm_ptr + meta, mask=used, other=0)
    start = tl.load(start_ptr + meta, mask=used, other=1)  # int32 flags (scan-friendly)
    last = tl.load(end_ptr + meta, mask=used, other=0) != 0
    gam = tl.load(gamma_ptr + rows.to(tl.int64)[:, None] * G + perm, mask=used, other=0.0)
    total, _ = tl.associative_scan((gam, start), 1, _segment_sum)
    write = used & last
    col = cls.to(tl.int64)
    base = t.to(tl.int64) * stride_t + b.to(tl.int64) * stride_b
    x = tl.load(x_ptr + base[:, None] + col, mask=write, other=0.0).to(tl.float32)
    g = (tl.exp(x - lse[:, None]) - total) * scale[:, None]
    gbase = t.to(tl.int64) * gstride_t + b.to(tl.int64) * gstride_b
    tl.store(grad_ptr + gbase[:, None] + col, g.to(grad_ptr.dtype.element_ty), mask=write)


def _checkpoint_interval(time: int) -> int:
    """Alpha checkpoint spacing K ~ sqrt(T) (balances checkpoint and scratch memory)."""
    return max(8, triton.next_power_of_2(max(1, math.isqrt(max(time, 1)))))


def _recursion_warps(block_s: int) -> int:
    """Warps for the per-utterance recursions: one warp up to 256 states (the neighbour gathers
    stay warp shuffles), then more so that each thread keeps ~8 states in registers."""
    return min(8, max(1, block_s // 256))


def _row_blocks(classes: int) -> tuple[int, int]:
    block_c = min(triton.next_power_of_2(max(classes, 1)), _MAX_BLOCK_C)
    return max(1, _ROW_TILE // block_c), block_c


def _check_device(x: Tensor) -> None:
    if not x.is_cuda and not INTERPRETED:
        raise RuntimeError(
            "seqlab.losses.ctc_triton: CPU tensors need the Triton interpreter; set "
            "TRITON_INTERPRET=1 before importing seqlab.losses.ctc_triton, or use impl='torch'"
        )


def ctc_forward(
    logits: Tensor,
    targets: Tensor,
    offsets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int,
    max_label: int,
    normalized: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Run kernels 1-2.

    Args:
        logits: ``(T, B, C)`` fp32/fp16/bf16 (any strides with unit class stride).
        targets: 1-D int32 labels; utterance ``b`` reads ``targets[offsets[b] + i]``.
        offsets, input_lengths, target_lengths: ``(B,)`` int32 on the logits' device.
        blank: blank class index.
        max_label: static bound on target lengths (from shapes); longer targets give ``inf``.
        normalized: logits are already log-probabilities (skip the log-sum-exp).

    Returns:
        ``logz`` ``(B,)`` fp32 log-likelihoods (``-inf`` when impossible), ``lse`` ``(T, B)``
        fp32 and the alpha checkpoints, both needed by :func:`ctc_backward`.
    """
    _check_device(logits)
    time, batch, classes = logits.shape
    block_s = triton.next_power_of_2(2 * max_label + 1)
    k = _checkpoint_interval(time)
    n_seg = triton.cdiv(max(time, 1), k)
    dev = logits.device
    if normalized:  # log-probabilities: the row log-sum-exp is 0 by definition
        lse = torch.zeros((time, batch), dtype=torch.float32, device=dev)
    elif time * batch > 0:
        lse = torch.empty((time, batch), dtype=torch.float32, device=dev)
        block_r, block_c = _row_blocks(classes)
        grid = (triton.cdiv(time * batch, block_r),)
        _row_lse_kernel[grid](
            logits, lse, input_lengths, time * batch, batch, classes, time,
            logits.stride(0), logits.stride(1), BLOCK_R=block_r, BLOCK_C=block_c,
        )  # fmt: skip
    else:
        lse = torch.empty((time, batch), dtype=torch.float32, device=dev)
    ckpt = torch.empty((n_seg, batch, block_s), dtype=torch.float32, device=dev)
    logz = torch.empty((batch,), dtype=torch.float32, device=dev)
    _alpha_kernel[(batch,)](
        logits, lse, targets, offsets, input_lengths, target_lengths, ckpt, logz,
        batch, time, max_label, logits.stride(0), logits.stride(1), blank,
        NORMALIZED=normalized, K=k, BLOCK_S=block_s, num_warps=_recursion_warps(block_s),
    )  # fmt: skip
    return logz, lse, ckpt


def ctc_backward(
    logits: Tensor,
    targets: Tensor,
    offsets: Tensor,
    input_lengths: Tensor,
    target_lengths: Tensor,
    blank: int,
    max_label: int,
    normalized: bool,
    logz: Tensor,
    lse: Tensor,
    ckpt: Tensor,
    scale: Tensor,
) -> Tensor:
    """Run kernels 3-5: ``grad = scale[b] * (softmax(logits) - gamma)``, shaped like ``logits``.

    ``scale`` is the ``(B,)`` fp32 incoming gradient of each utterance's loss. The gradient has the
    dtype and memory layout of ``logits``; frames ``t >= input_length`` are zero and impossible
    utterances get ``gamma = 0``.
    """
    time, batch, classes = logits.shape
    block_s = ckpt.shape[2]
    k = _checkpoint_interval(time)
    dev = logits.device
    slots = max_label + 1
    gamma = torch.empty((time, batch, slots), dtype=torch.float32, device=dev)
    scratch = torch.empty((batch, 2, k, block_s), dtype=torch.float32, device=dev)
    _beta_kernel[(batch,)](
        logits, lse, targets, offsets, input_lengths, target_lengths, ckpt, logz, scratch, gamma,
        batch, time, max_label, slots, logits.stride(0), logits.stride(1), blank,
        NORMALIZED=normalized, K=k, BLOCK_S=block_s, num_warps=_recursion_warps(block_s),
    )  # fmt: skip
    grad = torch.empty_like(logits)
    n_rows = time * batch
    if n_rows == 0:
        return grad
    block_r, block_c = _row_blocks(classes)
    _softmax_grad_kernel[(triton.cdiv(n_rows, block_r),)](
        logits, lse, scale, input_lengths, grad, n_rows, batch, classes, time,
        logits.stride(0), logits.stride(1), grad.stride(0), grad.stride(1),
        BLOCK_R=block_r, BLOCK_C=block_c,
    )  # fmt: skip
    cls, perm, start, end = _label_segments(
        targets, offsets, target_lengths, blank, max_label, classes
    )
    block_g = triton.next_power_of_2(slots)
    block_r = max(1, _ROW_TILE // block_g)
    _gamma_scatter_kernel[(triton.cdiv(n_rows, block_r),)](
        logits, lse, scale, input_lengths, gamma, cls, perm, start, end, grad,
        n_rows, batch, classes, time, slots,
        logits.stride(0), logits.stride(1), grad.stride(0), grad.stride(1),
        BLOCK_R=block_r, BLOCK_G=block_g,
    )  # fmt: skip
    return grad


def _label_segments(
    targets: Tensor,
    offsets: Tensor,
    target_lengths: Tensor,
    blank: int,
    max_label: int,
    classes: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per-utterance gamma slots sorted by class, with segment start/end flags (device ops only).

    Slot 0 is the blank, slot ``1 + i`` the ``i``-th label, unused slots get the sentinel class
    ``C`` (sorted last, never written). Returns int32 ``(B, L+1)`` tensors ``cls`` (sorted classes),
    ``perm`` (slot of each sorted entry), ``start`` and ``end`` (segment boundary flags).
    """
    batch = offsets.shape[0]
    dev = offsets.device
    pos = torch.arange(max_label, device=dev, dtype=torch.int64)
    used = pos.unsqueeze(0) < target_lengths.unsqueeze(1).to(torch.int64)
    index = (offsets.to(torch.int64).unsqueeze(1) + pos).clamp(max=max(targets.numel() - 1, 0))
    if targets.numel() > 0:
        labels = targets.to(torch.int64)[index]
    else:
        labels = torch.zeros_like(index)
    labels = torch.where(used, labels, classes)
    slots = torch.cat([torch.full((batch, 1), blank, device=dev, dtype=torch.int64), labels], 1)
    cls, perm = torch.sort(slots, dim=1, stable=True)
    change = cls[:, 1:] != cls[:, :-1]
    edge = torch.ones((batch, 1), dtype=torch.bool, device=dev)
    start = torch.cat([edge, change], 1)
    end = torch.cat([change, edge], 1)
    as_i32 = [v.to(torch.int32).contiguous() for v in (cls, perm, start, end)]
    return as_i32[0], as_i32[1], as_i32[2], as_i32[3]
