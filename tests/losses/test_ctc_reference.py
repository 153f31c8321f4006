"""The float64 oracle against published vectors, PyTorch, autograd and finite differences."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.losses.ctc_reference import ctc_reference, ctc_reference_loss


def test_graves_vectors(graves: dict) -> None:
    # TensorFlow feeds log(probs) as logits and applies a softmax: take the log-softmax likewise.
    log_probs = graves["log_probs"].log_softmax(-1)
    args = (graves["targets"], graves["input_lengths"], graves["target_lengths"], graves["blank"])
    loss, grad = ctc_reference(log_probs, *args)
    torch.testing.assert_close(loss, graves["costs"], rtol=0, atol=2e-5)
    torch.testing.assert_close(grad, graves["grads"], rtol=0, atol=2e-5)


def test_warpctc_small(warp_small: dict) -> None:
    log_probs = warp_small["logits"].log_softmax(-1)
    args = (warp_small["targets"], warp_small["input_lengths"], warp_small["target_lengths"])
    loss, _ = ctc_reference(log_probs, *args)
    exact = -(log_probs[0, 0, 1] + log_probs[1, 0, 2])
    assert math.isclose(loss.item(), warp_small["cost"], abs_tol=1e-6)
    assert math.isclose(loss.item(), exact.item(), rel_tol=1e-12)


@pytest.mark.parametrize("blank", [0, 6])
def test_matches_pytorch_float64(case_factory, blank: int) -> None:
    case = case_factory(seed=3 + blank, time=12, batch=5, classes=7, max_label=5, blank=blank)
    x = case.logits.double().requires_grad_()
    args = (case.targets, case.input_lengths, case.target_lengths, blank)
    want = F.ctc_loss(x.log_softmax(-1), *args, reduction="none")
    (want_grad,) = torch.autograd.grad(want[torch.isfinite(want)].sum(), x)
    loss, grad = ctc_reference(x.detach().log_softmax(-1), *args)
    torch.testing.assert_close(loss, want.detach(), rtol=1e-12, atol=1e-12)
    finite = torch.isfinite(want)
    # ctc_reference's gradient is already with respect to the logits (log_softmax inputs).
    torch.testing.assert_close(grad[:, finite], want_grad[:, finite], rtol=1e-10, atol=1e-12)


def test_alpha_beta_gradient_equals_autograd(case_factory) -> None:
    case = case_factory(seed=11, time=9, batch=3, classes=5, max_label=3)
    x = case.logits.double().requires_grad_()
    args = (case.targets, case.input_lengths, case.target_lengths)
    loss = ctc_reference_loss(x.log_softmax(-1), *args)
    finite = torch.isfinite(loss)
    (autograd_grad,) = torch.autograd.grad(loss[finite].sum(), x)
    _, grad = ctc_reference(x.detach().log_softmax(-1), *args)
    torch.testing.assert_close(grad[:, finite], autograd_grad[:, finite], rtol=1e-10, atol=1e-12)


def test_gradcheck_float64() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(6, 2, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    targets = torch.tensor([[1, 1, 2], [3, 2, 0]])
    in_len, tgt_len = torch.tensor([6, 5]), torch.tensor([3, 2])

    def fn(logits: torch.Tensor) -> torch.Tensor:
        return ctc_reference_loss(logits.log_softmax(-1), targets, in_len, tgt_len)

    assert torch.autograd.gradcheck(fn, (x,), eps=1e-6, atol=1e-7)
    # Through raw (unnormalized) log-probs too: the true partial derivative is -gamma.
    lp = x.detach().log_softmax(-1).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda v: ctc_reference_loss(v, targets, in_len, tgt_len), (lp,), eps=1e-6, atol=1e-7
    )


def test_impossible_and_empty() -> None:
    log_probs = torch.randn(3, 3, 4, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 1, 0], [1, 2, 3], [0, 0, 0]])
    # 1 1 needs 3 frames (has 2); 1 2 3 fits in 3; empty labelling over zero frames has p = 1.
    loss, grad = ctc_reference(log_probs, targets, torch.tensor([2, 3, 0]), torch.tensor([2, 3, 0]))
    assert math.isinf(loss[0].item()) and math.isfinite(loss[1].item()) and loss[2].item() == 0.0
    assert torch.isfinite(grad).all()
    torch.testing.assert_close(grad[:2, 0], log_probs[:2, 0].exp())  # gamma = 0 when impossible
    assert grad[2:, 0].abs().max() == 0 and grad[:, 2].abs().max() == 0


def _pytorch(lp: torch.Tensor, targets, in_len, tgt_len) -> tuple[torch.Tensor, torch.Tensor]:
    x = lp.detach().clone().requires_grad_()
    loss = F.ctc_loss(x, targets, in_len, tgt_len, reduction="none", zero_infinity=False)
    (grad,) = torch.autograd.grad(loss[torch.isfinite(loss)].sum(), x)
    return loss.detach(), grad


@pytest.mark.parametrize(
    "case",
    ["input length past T", "all targets empty", "padding -1 and >= C", "target length past S"],
)
def test_edge_inputs_match_pytorch(case: str) -> None:
    """The oracle reads only what PyTorch reads: input lengths clamp to T, labels past each
    target length are never looked at, and a target length beyond the padded width is inf."""
    g = torch.Generator().manual_seed(3)
    lp = torch.randn(8, 2, 5, generator=g, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 2, 3, 1], [3, 4, 4, 1]])
    in_len, tgt_len = torch.tensor([8, 7]), torch.tensor([3, 4])
    ref_in_len, ref_targets, ref_tgt_len = in_len, targets, tgt_len
    if case == "input length past T":
        in_len = torch.tensor([10, 7])
        ref_in_len = torch.tensor([8, 7])
    elif case == "all targets empty":
        targets, tgt_len = torch.zeros(2, 0, dtype=torch.long), torch.tensor([0, 0])
        ref_targets, ref_tgt_len = targets, tgt_len
    elif case == "padding -1 and >= C":
        targets = torch.tensor([[1, 2, -1, 9], [3, 4, 4, 1]])
        tgt_len = ref_tgt_len = torch.tensor([2, 4])
        ref_targets = targets.clamp(0, 4)
    else:  # the second utterance claims 6 labels in a width of 4
        tgt_len = torch.tensor([3, 6])
    want_loss, want_grad = _pytorch(lp, ref_targets, ref_in_len, ref_tgt_len)
    rows = [0, 1]
    if case == "target length past S":
        want_loss = torch.tensor([want_loss[0].item(), math.inf], dtype=torch.float64)
        rows = [0]  # the impossible utterance's gradient is not compared
    loss, grad = ctc_reference(lp, targets, in_len, tgt_len)
    torch.testing.assert_close(loss, want_loss, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(grad[:, rows], want_grad[:, rows], rtol=1e-9, atol=1e-9)
    assert grad[:, 0].abs().max() > 0.1  # a real gradient, not zeros
    auto = ctc_reference_loss(lp, targets, in_len, tgt_len)
    torch.testing.assert_close(auto, want_loss, rtol=1e-9, atol=1e-9)
