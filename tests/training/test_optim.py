"""Optimizers by name and schedules, checked against torch.optim.lr_scheduler references."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.training import (
    OptimConfig,
    SchedulerConfig,
    build_optimizer,
    build_scheduler,
    lr_factor,
)


def _lrs(scheduler, optimizer, steps):
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


def _opt(lr=1.0, name="sgd"):
    return build_optimizer([torch.nn.Parameter(torch.zeros(1))], OptimConfig(name=name, lr=lr))


@pytest.mark.parametrize("name, cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                       ("adamw", torch.optim.AdamW), ("rmsprop", torch.optim.RMSprop),
                                       ("adagrad", torch.optim.Adagrad)])  # fmt: skip
def test_optimizers_by_name_carry_weight_decay(name, cls):
    opt = build_optimizer(
        [torch.nn.Parameter(torch.zeros(2))], OptimConfig(name=name, lr=0.5, weight_decay=0.1)
    )
    assert isinstance(opt, cls)
    assert opt.param_groups[0]["weight_decay"] == 0.1 and opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="optim.name"):
        build_optimizer([torch.nn.Parameter(torch.zeros(1))], OptimConfig(name="lamb"))


def test_step_schedule_matches_multisteplr():
    opt = _opt()
    ours = _lrs(
        build_scheduler(opt, SchedulerConfig(name="step", milestones=(2, 3)), 5, 5), opt, 25
    )
    ref_opt = _opt()
    ref = torch.optim.lr_scheduler.MultiStepLR(ref_opt, milestones=[10, 15], gamma=0.1)
    assert ours == pytest.approx(_lrs(ref, ref_opt, 25))


def test_cosine_after_warmup_matches_cosineannealinglr():
    warm, total = 5, 25
    opt = _opt()
    cfg = SchedulerConfig(name="cosine", warmup_steps=warm, total_steps=total, min_lr_ratio=0.1)
    ours = _lrs(build_scheduler(opt, cfg, 5, 5), opt, total)
    assert ours[:warm] == pytest.approx([(i + 1) / warm for i in range(warm)])
    ref_opt = _opt()
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(ref_opt, T_max=total - warm, eta_min=0.1)
    assert ours[warm - 1 :] == pytest.approx(_lrs(ref, ref_opt, total - warm + 1))


def test_linear_after_warmup_matches_linearlr():
    opt = _opt()
    cfg = SchedulerConfig(name="linear", warmup_steps=3, total_steps=13)
    ours = _lrs(build_scheduler(opt, cfg, 1, 1), opt, 13)
    ref_opt = _opt()
    ref = torch.optim.lr_scheduler.LinearLR(ref_opt, 1.0, 0.0, total_iters=10)
    assert ours[2:] == pytest.approx(_lrs(ref, ref_opt, 11))


def test_noam_peaks_at_warmup_then_inverse_sqrt():
    cfg = SchedulerConfig(name="noam", warmup_steps=100)
    factors = [lr_factor(cfg, s, 1, 1) for s in range(400)]
    assert max(factors) == pytest.approx(1.0) and factors.index(max(factors)) == 99
    assert factors[399] == pytest.approx(math.sqrt(100 / 400))
    # Vaswani et al.: d^-0.5 * min(n^-0.5, n * w^-1.5), normalized at its peak n = w.
    for n in (1, 50, 100, 250):
        ref = min(n**-0.5, n * 100**-1.5) / 100**-0.5
        assert factors[n - 1] == pytest.approx(ref)
    with pytest.raises(ValueError, match="warmup_steps"):
        lr_factor(SchedulerConfig(name="noam"), 0, 1, 1)
    with pytest.raises(ValueError, match="scheduler.name"):
        lr_factor(SchedulerConfig(name="poly"), 0, 1, 1)
