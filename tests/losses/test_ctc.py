"""Public CTC API: argument handling, reductions, layouts and the PyTorch/reference backends."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.losses import CTCError, CTCLoss, ctc_loss, ctc_loss_from_logits


def _grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().clone().requires_grad_()
    loss = fn(x)
    (grad,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), grad


@pytest.mark.parametrize("impl", ["torch", "reference"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_reductions_match_pytorch(impl, reduction, case_factory):
    case = case_factory(1, 10, 4, 6, 4)
    args = (case.targets, case.input_lengths, case.target_lengths)
    want = _grad(lambda x: F.ctc_loss(x.log_softmax(-1), *args, reduction=reduction,
                                      zero_infinity=True), case.logits)  # fmt: skip
    got = _grad(lambda x: ctc_loss(x.log_softmax(-1), *args, reduction=reduction,
                                   zero_infinity=True, impl=impl), case.logits)  # fmt: skip
    fused = _grad(lambda x: ctc_loss_from_logits(x, *args, reduction=reduction,
                                                 zero_infinity=True, impl=impl), case.logits)  # fmt: skip
    for out in (got, fused):
        torch.testing.assert_close(out[0], want[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(out[1], want[1], rtol=1e-5, atol=1e-5)


def test_layouts_agree(case_factory):
    """Concatenated targets, batch_first, unbatched input and list lengths give the same losses."""
    case = case_factory(2, 9, 3, 5, 3, blank=4)
    lp = case.logits.log_softmax(-1)
    base = ctc_loss(lp, case.targets, case.input_lengths, case.target_lengths, blank=4,
                    reduction="none")  # fmt: skip
    concat = ctc_loss(lp, case.concatenated(), case.input_lengths.tolist(),
                      case.target_lengths.tolist(), blank=4, reduction="none")  # fmt: skip
    batch_first = ctc_loss(lp.transpose(0, 1), case.targets, case.input_lengths,
                           case.target_lengths, blank=4, reduction="none", batch_first=True)  # fmt: skip
    torch.testing.assert_close(concat, base)
    torch.testing.assert_close(batch_first, base)
    n, m = int(case.input_lengths[0]), int(case.target_lengths[0])
    single = ctc_loss(lp[:n, 0], case.targets[0, :m], n, m, blank=4, reduction="none")
    assert single.dim() == 0
    torch.testing.assert_close(single, base[0])


def test_from_logits_half_precision_on_cpu(case_factory):
    """The CPU fallback accepts bf16 logits (computes in fp32) and returns bf16 gradients."""
    case = case_factory(3, 8, 2, 5, 3, dtype=torch.bfloat16)
    x = case.logits.clone().requires_grad_()
    loss = ctc_loss_from_logits(x, case.targets, case.input_lengths, case.target_lengths)
    loss.backward()
    assert loss.dtype == torch.float32 and x.grad is not None and x.grad.dtype == torch.bfloat16
    want = F.ctc_loss(case.logits.float().log_softmax(-1), case.targets, case.input_lengths,
                      case.target_lengths)  # fmt: skip
    torch.testing.assert_close(loss, want)


def test_zero_infinity_never_nan():
    x = torch.randn(3, 2, 4)
    targets = torch.tensor([[1, 1, 1], [1, 2, 0]])  # utterance 0 needs 5 frames, has 3
    for impl in ("torch", "reference"):
        loss, grad = _grad(lambda v, impl=impl: ctc_loss_from_logits(
            v, targets, [3, 3], [3, 2], reduction="none", zero_infinity=True, impl=impl), x)  # fmt: skip
        assert loss[0].item() == 0.0 and torch.isfinite(loss).all()
        assert grad[:, 0].abs().max().item() == 0.0 and not torch.isnan(grad).any()
    loss = ctc_loss_from_logits(x, targets, [3, 3], [3, 2], reduction="none", impl="reference")
    assert torch.isinf(loss[0])


def test_module_matches_function(case_factory):
    case = case_factory(4, 7, 2, 5, 2)
    args = (case.targets, case.input_lengths, case.target_lengths)
    crit = CTCLoss(reduction="sum", from_logits=True)
    assert "from_logits=True" in repr(crit)
    torch.testing.assert_close(crit(case.logits, *args),
                               ctc_loss_from_logits(case.logits, *args, reduction="sum"))  # fmt: skip
    crit = CTCLoss(impl="reference")
    lp = case.logits.log_softmax(-1)
    torch.testing.assert_close(crit(lp, *args), F.ctc_loss(lp, *args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"blank": 5}, "blank=5"),
        ({"reduction": "avg"}, "reduction"),
        ({"impl": "cuda"}, "impl"),
        ({"input_lengths": [4]}, "input_lengths has 1 entries"),
        ({"targets": torch.zeros(3, 2)}, "targets must be integer"),
    ],
)
def test_invalid_arguments(kwargs, message):
    call = {"targets": torch.tensor([[1, 2], [2, 1]]), "input_lengths": [4, 4],
            "target_lengths": [2, 2]} | kwargs  # fmt: skip
    with pytest.raises(CTCError, match=message):
        ctc_loss(torch.randn(4, 2, 5).log_softmax(-1), **call)
    with pytest.raises(CTCError, match="impl|reduction"):
        CTCLoss(reduction="avg") if "reduction" in kwargs else CTCLoss(impl="cuda")


def test_triton_on_cpu_without_interpreter_is_an_error(monkeypatch):
    from seqlab.losses import ctc_triton

    monkeypatch.setattr(ctc_triton, "INTERPRETED", False)
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the Triton path would run")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET"):
        ctc_loss_from_logits(torch.randn(3, 1, 4), torch.tensor([[1]]), [3], [1], impl="triton")


def test_default_dispatch_on_cpu_is_pytorch(case_factory, monkeypatch):
    import seqlab.losses.ctc as ctc_module

    calls = []
    monkeypatch.setattr(ctc_module, "_triton_losses", lambda *a, **k: calls.append(a))
    case = case_factory(5, 6, 2, 4, 2)
    ctc_loss_from_logits(case.logits, case.targets, case.input_lengths, case.target_lengths)
    assert calls == []
