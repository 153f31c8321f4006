"""Optimizers by name and warmup learning-rate schedules (pure functions + ``LambdaLR``)."""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlab.training.config import OptimConfig, SchedulerConfig

__all__ = ["OPTIMIZERS", "SCHEDULES", "build_optimizer", "lr_factor", "build_scheduler"]

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("constant", "step", "linear", "cosine", "noam")


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Create the ``torch.optim`` optimizer named by ``cfg.name`` over ``params``."""
    name = cfg.name.lower()
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
            weight_decay=cfg.weight_decay,
        )  # fmt: skip
    if name in ("adam", "adamw"):
        cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return cls(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=cfg.lr, momentum=cfg.momentum, eps=cfg.eps, weight_decay=cfg.weight_decay
        )
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, eps=cfg.eps, weight_decay=cfg.weight_decay)
    raise ValueError(f"optim.name must be one of {OPTIMIZERS}, got {cfg.name!r}")


def lr_factor(cfg: SchedulerConfig, step: int, steps_per_epoch: int, total_steps: int) -> float:
    """Multiplier of the peak learning rate for the optimizer step ``step`` (0-based).

    With ``n = step + 1`` and warmup ``W``: warmup multiplies by ``min(1, n / W)``; then
    ``step`` multiplies by ``gamma`` per milestone epoch passed (epoch ``= step //
    steps_per_epoch``); ``linear`` and ``cosine`` decay from 1 at ``W`` to ``min_lr_ratio`` at
    ``total_steps``; ``noam`` is ``min(n / W, sqrt(W / n))`` (peak at ``W``, then inverse sqrt).
    """
    n = step + 1
    warm = cfg.warmup_steps
    if cfg.name == "noam":
        if warm <= 0:
            raise ValueError("scheduler.warmup_steps must be > 0 for the noam schedule")
        return min(n / warm, math.sqrt(warm / n))
    factor = min(1.0, n / warm) if warm > 0 else 1.0
    if cfg.name == "constant":
        return factor
    if cfg.name == "step":
        epoch = step // max(1, steps_per_epoch)
        return factor * cfg.gamma ** sum(1 for m in cfg.milestones if epoch >= m)
    if cfg.name in ("linear", "cosine"):
        horizon = cfg.total_steps or total_steps
        progress = min(1.0, max(0.0, (n - warm) / max(1, horizon - warm)))
        if cfg.name == "linear":
            decay = 1.0 - progress
        else:
            decay = 0.5 * (1.0 + math.cos(math.pi * progress))
        return factor * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * decay)
    raise ValueError(f"scheduler.name must be one of {SCHEDULES}, got {cfg.name!r}")


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    cfg: SchedulerConfig,
    steps_per_epoch: int,
    epochs: int,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` applying :func:`lr_factor`; call ``.step()`` after each optimizer step."""
    lr_factor(cfg, 0, steps_per_epoch, 1)  # validate the name/settings now
    total = max(1, steps_per_epoch * epochs)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(cfg, step, steps_per_epoch, total)
    )


def parameter_count(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
