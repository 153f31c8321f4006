"""Shared test signals for the feature tests and a parity report in the terminal summary.

Signals (float32 in [-1, 1]) per sample rate: eSpeak NG speech, white noise, a linear chirp,
digital silence, speech with a DC offset, and an odd-length noise burst.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from seqlab.data.synthetic import synthesize

RATES = (8000, 16000, 22050, 44100)
PARITY: dict[str, float] = {}  # test id -> max abs error reached, printed at the end


@functools.cache
def signals(sample_rate: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(sample_rate)
    t = torch.arange(int(1.1 * sample_rate), dtype=torch.float64) / sample_rate
    f0, f1 = 50.0, 0.45 * sample_rate
    chirp = torch.sin(2 * math.pi * (f0 * t + (f1 - f0) / (2 * t[-1]) * t**2)) * 0.5
    speech = synthesize("seven quick frogs jumped", sample_rate=sample_rate)
    return {
        "speech": speech,
        "noise": (torch.randn(int(0.9 * sample_rate), generator=g) * 0.2).clamp(-1, 1),
        "chirp": chirp.float(),
        "silence": torch.zeros(int(0.5 * sample_rate)),
        "speech_dc": (speech * 0.5 + 0.3).clamp(-1, 1),
        "odd": torch.rand(int(0.37 * sample_rate) | 1, generator=g) - 0.5,
    }


def record(name: str, err: float) -> float:
    PARITY[name] = max(err, PARITY.get(name, 0.0))
    return err


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not PARITY:
        return
    terminalreporter.section("feature parity: max abs error reached")
    for name, err in sorted(PARITY.items()):
        terminalreporter.write_line(f"{name:60s} {err:.3e}")


@pytest.fixture(params=["numba", "workers", "torch"])
def cpu_path(request, monkeypatch):
    """Run the test on each CPU inference path: the fused numba kernels on one torch thread,
    the same kernels shared out to the feature workers (two torch threads), and the chain of
    torch steps (``SEQLAB_NUMBA=0``)."""
    from seqlab.features import cpu_kernels

    if request.param != "torch" and cpu_kernels.numba is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(cpu_kernels, "ENABLED", request.param != "torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if request.param == "numba" else max(2, threads))
    yield request.param
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def make_signals():
    """``make_signals(rate) -> {name: (N,) float32 tensor}`` (cached)."""
    return signals


@pytest.fixture(scope="session")
def parity():
    """``parity(name, err)`` records the max abs error reached for the terminal summary."""
    return record


RANGE_NATS = 8.0 * 2.302585092994046  # 80 dB in natural-log units


def masked_log_error(
    ours: torch.Tensor, ref: torch.Tensor, range_nats: float = RANGE_NATS
) -> float:
    """Max abs error over cells within ``range_nats`` of the reference's peak.

    Cells further below the peak (a chirp's far-off bins, DC-offset silence) hold float32
    rounding noise in every implementation (torchaudio float32 vs float64 differs there by
    more than 1 nat), so they are only required to stay that low in ``ours`` too.
    """
    ours, ref = ours.double(), ref.double()
    floor = float(ref.max()) - range_nats
    keep = ref >= floor
    assert bool((ours[~keep] <= floor + 1.0).all()), "cells below the range are not low in ours"
    return float((ours - ref)[keep].abs().max())


@pytest.fixture(scope="session")
def log_error():
    return masked_log_error
