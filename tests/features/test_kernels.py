"""The in-place inference path (seqlab.features.kernels) against plain tensor arithmetic."""

from __future__ import annotations

import pytest
import torch

from seqlab.features import MFCC, Fbank, kernels
from seqlab.features import functional as F


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_fft": 512, "n_mels": 23, "f_min": 20.0, "f_max": 0.0, "scale": "kaldi"},
        {"n_fft": 2048, "n_mels": 128, "f_min": 0.0, "f_max": None, "scale": "slaney"},
        {"n_fft": 400, "n_mels": 40, "f_min": 300.0, "f_max": 5000.0, "scale": "htk"},
    ],
)
@pytest.mark.parametrize("power", [2.0, 1.0])
def test_banded_mel_equals_dense_product(kwargs: dict, power: float) -> None:
    construction = "kaldi" if kwargs["scale"] == "kaldi" else "librosa"
    fb = F.mel_filterbank(
        kwargs["n_fft"],
        kwargs["n_mels"],
        16000,
        kwargs["f_min"],
        kwargs["f_max"],
        scale=kwargs["scale"],
        construction=construction,
        norm="slaney" if kwargs["scale"] == "slaney" else None,
        dtype=torch.float64,
    )
    plan = kernels.mel_plan(fb, torch.float64, torch.device("cpu"))
    # every nonzero weight lies in its filter's band; bands tile the filters in order
    assert [b[0] for b in plan.bands][0] == 0 and plan.bands[-1][1] == fb.shape[1]
    for (m0, m1, lo, hi), nxt in zip(plan.bands, plan.bands[1:] + ((fb.shape[1],) * 4,)):
        assert m1 == nxt[0]
        outside = fb[:, m0:m1].clone()
        outside[lo:hi] = 0
        assert not outside.any()
    g = torch.Generator().manual_seed(0)
    spec = torch.randn(37, fb.shape[0], dtype=torch.complex128, generator=g)
    dense = spec.abs().pow(power) @ fb
    ours = kernels.mel_energies(spec.clone(), plan, power)
    torch.testing.assert_close(ours.t(), dense, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("offset", [0.0, 0.3, -0.7777, 0.123456789, 1e-3])
def test_constant_frames_are_exactly_silent(offset: float) -> None:
    """DC removal leaves exactly zero on digital silence with any offset (Kaldi's log floor)."""
    g = torch.Generator().manual_seed(1)
    wav = torch.full((1, 8000), offset)
    wav[0, 4000:] += torch.randn(4000, generator=g) * 0.01
    feats, _ = Fbank("kaldi", dither=0.0, use_energy=True).eval()(wav)
    silent = feats[0, : (4000 - 400) // 160 + 1]
    assert torch.all(silent == torch.log(torch.tensor(F.FLT_EPSILON)))


def test_chunking_does_not_change_results() -> None:
    g = torch.Generator().manual_seed(2)
    frames = (torch.randn(3, 4000, generator=g) * 300.0).unfold(-1, 400, 160)
    window = F.window("povey", 400)
    plan = kernels.mel_plan(
        F.mel_filterbank(512, 23, 16000, 20.0, 0.0, scale="kaldi", construction="kaldi"),
        torch.float32,
        torch.device("cpu"),
    )
    opts = {
        "n_fft": 512,
        "power": 2.0,
        "preemphasis": 0.97,
        "remove_dc_offset": True,
        "energy": "raw",
    }
    whole = kernels.analyze(frames, window, plan, chunk_frames=10_000, **opts)
    pieces = kernels.analyze(frames, window, plan, chunk_frames=7, **opts)
    for a, b in zip(whole, pieces):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-3)


def test_in_place_buffer_changes_are_seen() -> None:
    """Memoized casts of a module's buffers follow in-place edits of the buffers."""
    module = MFCC("librosa", sample_rate=16000).eval()
    wav = torch.randn(1, 16000, generator=torch.Generator().manual_seed(3)) * 0.1
    before, _ = module(wav)
    with torch.no_grad():
        module.mel_weights.mul_(10.0)  # +10 dB in every mel bin: only C0 moves
    after, _ = module(wav)
    c0_shift = 10.0 * torch.sqrt(torch.tensor(128.0))  # ortho DCT of a constant
    torch.testing.assert_close(after[..., 0] - before[..., 0], c0_shift.expand(1, 32))
    torch.testing.assert_close(after[..., 1:], before[..., 1:], rtol=1e-4, atol=1e-3)


def test_empty_waveform_gives_no_frames() -> None:
    feats, frames = Fbank("kaldi", dither=0.0).eval()(torch.zeros(1, 0))
    assert feats.shape == (1, 0, 23) and frames.tolist() == [0]


def test_scratch_made_under_inference_mode_serves_grad_free_calls() -> None:
    """A thread's reused scratch buffers, first allocated under ``torch.inference_mode``, can
    be written by a later ``torch.no_grad`` call (and the results agree)."""
    import threading

    wav = torch.randn(2, 48000, generator=torch.Generator().manual_seed(4)) * 0.1
    module = Fbank("kaldi", dither=0.0).eval()
    results: list[torch.Tensor] = []

    def run() -> None:  # a fresh thread: its scratch pool starts empty
        with torch.inference_mode():
            results.append(module(wav)[0].clone())
        with torch.no_grad():
            results.append(module(wav)[0])

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert len(results) == 2
    torch.testing.assert_close(results[1], results[0], rtol=0, atol=0)


def test_buffers_of_a_module_built_in_inference_mode_are_memoized() -> None:
    """Inference tensors have no version counter: derived buffers are reused while the source
    is unchanged and rebuilt after an in-place edit."""
    built: list[int] = []
    with torch.inference_mode():
        weights = torch.ones(3)
        for _ in range(3):
            kernels.derived(weights, ("test",), lambda: built.append(1) or weights.sum())
        assert len(built) == 1
        weights.mul_(2.0)
        value = kernels.derived(weights, ("test",), lambda: built.append(1) or weights.sum())
    assert len(built) == 2 and float(value) == 6.0
