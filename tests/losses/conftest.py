"""Shared CTC fixtures: published regression vectors and a random-case factory.

Without CUDA the Triton kernels run in Triton's CPU interpreter, which must be switched on before
``seqlab.losses.ctc_triton`` is first imported (the kernels are built at import time).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

# Graves' implementation, as published in TensorFlow's ctc_loss_op_test.py (testBasic) and
# warp-ctc's tests: T=5, C=6, blank=5; the inputs are probabilities (the tests feed their log).
GRAVES_PROBS = np.array(
    [
        [
            [0.633766, 0.221185, 0.0917319, 0.0129757, 0.0142857, 0.0260553],
            [0.111121, 0.588392, 0.278779, 0.0055756, 0.00569609, 0.010436],
            [0.0357786, 0.633813, 0.321418, 0.00249248, 0.00272882, 0.0037688],
            [0.0663296, 0.643849, 0.280111, 0.00283995, 0.0035545, 0.00331533],
            [0.458235, 0.396634, 0.123377, 0.00648837, 0.00903441, 0.00623107],
        ],
        [
            [0.30176, 0.28562, 0.0831517, 0.0862751, 0.0816851, 0.161508],
            [0.24082, 0.397533, 0.0557226, 0.0546814, 0.0557528, 0.19549],
            [0.230246, 0.450868, 0.0389607, 0.038309, 0.0391602, 0.202456],
            [0.280884, 0.429522, 0.0326593, 0.0339046, 0.0326856, 0.190345],
            [0.423286, 0.315517, 0.0338439, 0.0393744, 0.0339315, 0.154046],
        ],
    ]
)
GRAVES_GRADS = np.array(
    [
        [
            [-0.366234, 0.221185, 0.0917319, 0.0129757, 0.0142857, 0.0260553],
            [0.111121, -0.411608, 0.278779, 0.0055756, 0.00569609, 0.010436],
            [0.0357786, 0.633813, -0.678582, 0.00249248, 0.00272882, 0.0037688],
            [0.0663296, -0.356151, 0.280111, 0.00283995, 0.0035545, 0.00331533],
            [-0.541765, 0.396634, 0.123377, 0.00648837, 0.00903441, 0.00623107],
        ],
        [
            [-0.69824, 0.28562, 0.0831517, 0.0862751, 0.0816851, 0.161508],
            [0.24082, -0.602467, 0.0557226, 0.0546814, 0.0557528, 0.19549],
            [0.230246, 0.450868, 0.0389607, 0.038309, 0.0391602, -0.797544],
            [0.280884, -0.570478, 0.0326593, 0.0339046, 0.0326856, 0.190345],
            [-0.576714, 0.315517, 0.0338439, 0.0393744, 0.0339315, 0.154046],
        ],
    ]
)
GRAVES_TARGETS = [[0, 1, 2, 1, 0], [0, 1, 1, 0]]
GRAVES_COSTS = [3.34211, 5.42262]

# warp-ctc "small" test: T=2, C=5, blank 0, activations (softmax applied by the loss), labels [1, 2].
WARP_SMALL_ACTIVATIONS = [[0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.1, 0.6, 0.1, 0.1]]
WARP_SMALL_COST = 2.462858


@dataclass(frozen=True)
class CTCCase:
    """A CTC problem in PyTorch's layout: ``logits`` ``(T, B, C)``, padded ``targets`` ``(B, S)``."""

    logits: torch.Tensor
    targets: torch.Tensor
    input_lengths: torch.Tensor
    target_lengths: torch.Tensor
    blank: int

    def concatenated(self) -> torch.Tensor:
        """Targets as one 1-D tensor of the valid labels, utterance after utterance."""
        rows = [row[: int(n)] for row, n in zip(self.targets, self.target_lengths)]
        return torch.cat(rows) if rows else self.targets.reshape(-1)


def make_case(
    seed: int,
    time: int,
    batch: int,
    classes: int,
    max_label: int,
    blank: int = 0,
    dtype: torch.dtype = torch.float32,
    repeats: bool = True,
    full_length: bool = False,
) -> CTCCase:
    """Random feasible-or-not CTC case; labels avoid ``blank``; repeats forced when asked."""
    gen = torch.Generator().manual_seed(seed)
    logits = (2.0 * torch.randn(time, batch, classes, generator=gen)).to(dtype)
    labels = [c for c in range(classes) if c != blank]
    pick = torch.randint(0, len(labels), (batch, max(max_label, 1)), generator=gen)
    targets = torch.tensor(labels)[pick][:, :max_label]
    if repeats and max_label >= 2:
        targets[:, 1] = targets[:, 0]
    input_lengths = torch.randint(max(1, time // 2), time + 1, (batch,), generator=gen)
    if full_length:
        input_lengths.fill_(time)
    target_lengths = torch.randint(0, max_label + 1, (batch,), generator=gen)
    return CTCCase(logits, targets, input_lengths, target_lengths, blank)


@pytest.fixture
def case_factory() -> Callable[..., CTCCase]:
    return make_case


@pytest.fixture
def graves() -> dict:
    """The two-utterance Graves batch: ``(T, B, C)`` log-probabilities, targets, costs, grads."""
    log_probs = torch.from_numpy(np.log(GRAVES_PROBS)).permute(1, 0, 2).contiguous()
    targets = torch.tensor([GRAVES_TARGETS[0], GRAVES_TARGETS[1] + [0]])
    return {
        "log_probs": log_probs,
        "targets": targets,
        "input_lengths": torch.tensor([5, 5]),
        "target_lengths": torch.tensor([5, 4]),
        "blank": 5,
        "costs": torch.tensor(GRAVES_COSTS, dtype=torch.float64),
        "grads": torch.from_numpy(GRAVES_GRADS).permute(1, 0, 2).contiguous(),
    }


@pytest.fixture
def warp_small() -> dict:
    return {
        "logits": torch.tensor(WARP_SMALL_ACTIVATIONS, dtype=torch.float64).unsqueeze(1),
        "targets": torch.tensor([[1, 2]]),
        "input_lengths": torch.tensor([2]),
        "target_lengths": torch.tensor([2]),
        "cost": WARP_SMALL_COST,
    }
