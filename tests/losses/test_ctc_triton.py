"""Fused Triton CTC against PyTorch's F.ctc_loss and the published vectors.

Without a GPU the kernels run in Triton's CPU interpreter (set up in conftest.py), which is slow:
default cases stay tiny (T <= 12, B <= 4, C <= 8); the broad sweep is marked ``slow``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from seqlab.losses import CTCLoss, ctc_loss, ctc_loss_from_logits

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # interpreter's masked inf-inf

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _torch_ref(case, concatenated: bool = False, reduction: str = "none", zero_infinity=False):
    x = case.logits.double().to(DEVICE).requires_grad_()
    targets = case.concatenated() if concatenated else case.targets
    loss = F.ctc_loss(
        x.log_softmax(-1), targets.to(DEVICE), case.input_lengths, case.target_lengths,
        blank=case.blank, reduction=reduction, zero_infinity=zero_infinity,
    )  # fmt: skip
    weights = torch.where(torch.isfinite(loss), 1.0, 0.0) if reduction == "none" else 1.0
    (grad,) = torch.autograd.grad((loss * weights).sum(), x)
    return loss.detach(), grad


def _fused(case, concatenated: bool = False, reduction: str = "none", zero_infinity=False, **kw):
    x = case.logits.to(DEVICE).requires_grad_()
    targets = case.concatenated() if concatenated else case.targets
    loss = ctc_loss_from_logits(
        x, targets.to(DEVICE), case.input_lengths.to(DEVICE), case.target_lengths.to(DEVICE),
        blank=case.blank, reduction=reduction, zero_infinity=zero_infinity, impl="triton", **kw,
    )  # fmt: skip
    weights = torch.where(torch.isfinite(loss), 1.0, 0.0) if reduction == "none" else 1.0
    (grad,) = torch.autograd.grad((loss * weights).sum(), x)
    return loss.detach(), grad


def _assert_close(got, want, rtol=1e-5, atol=1e-5):
    # Gradients are softmax - gamma, within [-1, 1]: atol 1e-5 is 1e-5 of their scale. fp32
    # accumulation over T steps leaves ~1e-6 absolute error (PyTorch's fp32 path does the same).
    torch.testing.assert_close(got.double().cpu(), want.double().cpu(), rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    ("seed", "time", "batch", "classes", "max_label", "blank", "concatenated"),
    [
        (0, 12, 3, 6, 4, 0, False),  # two checkpoint segments (K = 8), lengths < T, repeats
        (1, 9, 3, 8, 3, 7, True),  # blank = C - 1, concatenated targets
        (2, 7, 1, 5, 3, 0, False),  # B = 1
    ],
)
def test_matches_pytorch(seed, time, batch, classes, max_label, blank, concatenated, case_factory):
    case = case_factory(seed, time, batch, classes, max_label, blank=blank)
    loss, grad = _fused(case, concatenated)
    want_loss, want_grad = _torch_ref(case, concatenated)
    _assert_close(loss, want_loss)
    _assert_close(grad, want_grad)


def test_tight_empty_and_impossible(case_factory):
    case = case_factory(5, 6, 4, 5, 4, repeats=False, full_length=True)
    targets = torch.tensor([[1, 1, 2, 2], [1, 2, 3, 4], [3, 0, 0, 0], [2, 2, 2, 3]])
    # T = L + repeats exactly (4 + 2 = 6); L = 4 < T; empty target; needs 4 + 2 = 6 <= 5 frames: no.
    case = replace(case, targets=targets, input_lengths=torch.tensor([6, 6, 6, 5]),
                   target_lengths=torch.tensor([4, 4, 0, 4]))  # fmt: skip
    loss, grad = _fused(case)
    want_loss, want_grad = _torch_ref(case)
    assert math.isinf(loss[3].item()) and torch.isfinite(loss[:3]).all()
    assert not torch.isnan(grad).any()
    _assert_close(loss[:3], want_loss[:3])
    _assert_close(grad[:, :3], want_grad[:, :3])
    zero_loss, zero_grad = _fused(case, zero_infinity=True)
    assert zero_loss[3].item() == 0.0 and zero_grad[:, 3].abs().max().item() == 0.0
    _assert_close(zero_grad[:, :3], want_grad[:, :3])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reductions(reduction, case_factory):
    case = case_factory(7, 8, 3, 5, 3)
    loss, grad = _fused(case, reduction=reduction, zero_infinity=True)
    want_loss, want_grad = _torch_ref(case, reduction=reduction, zero_infinity=True)
    _assert_close(loss, want_loss)
    _assert_close(grad, want_grad)


def test_graves_vectors_fused_and_normalized(graves):
    args = (graves["targets"], graves["input_lengths"], graves["target_lengths"])
    x = graves["log_probs"].float().to(DEVICE).requires_grad_()
    loss = ctc_loss_from_logits(x, *args, blank=5, reduction="none", impl="triton")
    (grad,) = torch.autograd.grad(loss.sum(), x)
    _assert_close(loss, graves["costs"], rtol=0, atol=2e-5)
    _assert_close(grad, graves["grads"], rtol=0, atol=2e-5)
    # The drop-in on log-probabilities returns the same "gradient" convention as PyTorch.
    lp = graves["log_probs"].float().log_softmax(-1).to(DEVICE).requires_grad_()
    loss = ctc_loss(lp, *args, blank=5, reduction="none", impl="triton")
    (grad,) = torch.autograd.grad(loss.sum(), lp)
    _assert_close(loss, graves["costs"], rtol=0, atol=2e-5)
    _assert_close(grad, graves["grads"], rtol=0, atol=2e-5)


def test_warpctc_small_unbatched_batch_first(warp_small):
    x = warp_small["logits"].float().to(DEVICE)
    unbatched = ctc_loss_from_logits(x[:, 0], torch.tensor([1, 2]), 2, 2, reduction="none",
                                     impl="triton")  # fmt: skip
    assert math.isclose(unbatched.item(), warp_small["cost"], rel_tol=1e-5)
    crit = CTCLoss(reduction="sum", batch_first=True, from_logits=True, impl="triton")
    batched = crit(x.transpose(0, 1), warp_small["targets"], [2], [2])
    assert math.isclose(batched.item(), warp_small["cost"], rel_tol=1e-5)


def test_deterministic_bitwise(case_factory):
    case = case_factory(9, 10, 3, 6, 4)
    case.targets[:, 2] = case.targets[:, 0]  # non-adjacent repeats merge in the scatter
    first = _fused(case)
    second = _fused(case)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_logits(dtype, case_factory):
    case = case_factory(4, 8, 2, 6, 3, dtype=dtype)
    loss, grad = _fused(case)
    assert loss.dtype == torch.float32 and grad.dtype == dtype
    want_loss, want_grad = _torch_ref(case)  # float64 on the same rounded values
    _assert_close(loss, want_loss, rtol=1e-5, atol=1e-5)
    _assert_close(grad, want_grad, rtol=1e-2, atol=4e-3)  # bf16 keeps 8 significant bits


def test_no_labels_and_zero_frames(case_factory):
    base = case_factory(6, 5, 2, 4, 1)
    for targets in (torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, dtype=torch.long)):
        case = replace(base, targets=targets, input_lengths=torch.tensor([5, 3]),
                       target_lengths=torch.tensor([0, 0]))  # fmt: skip
        loss, grad = _fused(case)
        want_loss, want_grad = _torch_ref(case)
        _assert_close(loss, want_loss)
        _assert_close(grad, want_grad)
    # Zero frames: loss 0 for the empty labelling, inf otherwise (as PyTorch).
    case = replace(base, logits=base.logits[:1], targets=torch.tensor([[1], [1]]),
                   input_lengths=torch.tensor([0, 0]), target_lengths=torch.tensor([0, 1]))  # fmt: skip
    loss, grad = _fused(case)
    assert loss[0].item() == 0.0 and math.isinf(loss[1].item()) and grad.abs().max() == 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
def test_random_sweep(seed, case_factory):
    gen = torch.Generator().manual_seed(100 + seed)
    time, batch = (int(v) for v in torch.randint(1, 20, (2,), generator=gen))
    classes = int(torch.randint(2, 12, (1,), generator=gen))
    max_label = int(torch.randint(0, 8, (1,), generator=gen))
    blank = [0, classes - 1][seed % 2]
    case = case_factory(seed, time, batch, classes, max_label, blank=blank)
    loss, grad = _fused(case, concatenated=seed % 3 == 0)
    want_loss, want_grad = _torch_ref(case, concatenated=seed % 3 == 0)
    _assert_close(loss, want_loss)
    # Long log-space sums leave fp32 gradients ~1e-5 off in places; PyTorch's own fp32 path is
    # off by as much, so the bound is the larger of 1e-5 and twice PyTorch's fp32 error.
    x32 = case.logits.float().requires_grad_()
    lp32 = F.ctc_loss(x32.log_softmax(-1), case.targets, case.input_lengths, case.target_lengths,
                      blank=blank, reduction="none")  # fmt: skip
    (g32,) = torch.autograd.grad((lp32 * torch.isfinite(lp32)).sum(), x32)
    finite = torch.isfinite(want_loss)
    torch_err = (g32.double() - want_grad)[:, finite].abs().max().item() if finite.any() else 0.0
    _assert_close(grad[:, finite], want_grad[:, finite], atol=max(1e-5, 2 * torch_err))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize(("classes", "dtype"), [(29, torch.float32), (1000, torch.float32),
                                                (1000, torch.bfloat16)])  # fmt: skip
def test_gpu_large(classes, dtype, case_factory):
    case = case_factory(21, 300, 16, classes, 60, dtype=dtype)
    logits = case.logits.cuda()
    targets, in_len, tgt_len = (v.cuda() for v in (case.targets, case.input_lengths,
                                                   case.target_lengths))  # fmt: skip

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        x = logits.clone().requires_grad_()
        loss = ctc_loss_from_logits(x, targets, in_len, tgt_len, reduction="none", impl="triton")
        (grad,) = torch.autograd.grad(loss.sum(), x)
        return loss.detach(), grad

    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")  # any host synchronization inside raises
    try:
        loss, grad = run()
        again = run()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert torch.equal(loss, again[0]) and torch.equal(grad, again[1])
    want_loss, want_grad = _torch_ref(case)
    assert torch.isfinite(want_loss).all()
    _assert_close(loss, want_loss)
    grad_tol = (1e-5, 1e-5) if dtype == torch.float32 else (2e-2, 4e-3)
    _assert_close(grad, want_grad, *grad_tol)
