"""The feature frontends on a CUDA device equal the CPU results (``pytest -m gpu`` on a GPU).

``SEQLAB_TEST_DEVICE=cpu`` runs the same code on the CPU (then both sides take one path: it checks
that this file runs, not that the devices agree; that needs a CUDA machine).
"""

from __future__ import annotations

import os

import pytest
import torch

from seqlab.features import MFCC, Fbank, SpecAugment, Spectrogram, compute_in_buckets

DEVICE = os.environ.get("SEQLAB_TEST_DEVICE", "cuda")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        DEVICE == "cuda" and not torch.cuda.is_available(), reason="needs a CUDA device"
    ),
]

MODULES = {
    "kaldi fbank": lambda: Fbank("kaldi", dither=0.0, use_energy=True),
    "kaldi mfcc": lambda: MFCC("kaldi", dither=0.0),
    "kaldi spectrogram": lambda: Spectrogram("kaldi", dither=0.0),
    "librosa mfcc": lambda: MFCC("librosa", sample_rate=16000),
    "librosa fbank 80": lambda: Fbank(
        "librosa", sample_rate=16000, n_mels=80, frame_length=512, frame_shift=128
    ),
}


def _batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(5, 24000, generator=g) * 0.1
    lengths = torch.tensor([24000, 17001, 4000, 399, 0])
    for row, n in enumerate(lengths.tolist()):
        wav[row, n:] = float("nan")  # padding must not matter on any device
    return wav, lengths


@pytest.mark.parametrize("name", list(MODULES))
def test_device_equals_cpu(name: str) -> None:
    module = MODULES[name]().eval()
    wav, lengths = _batch()
    with torch.inference_mode():
        want, want_frames = module(wav, lengths)
        got, frames = module.to(DEVICE)(wav.to(DEVICE), lengths.to(DEVICE))
    assert got.device.type == torch.device(DEVICE).type
    assert torch.equal(frames.cpu(), want_frames)
    # log domain (natural log or dB/cepstra of dB): FFT libraries differ in the last bits
    tol = 2e-2 if "librosa" in name else 1e-3
    torch.testing.assert_close(got.cpu(), want, rtol=0, atol=tol)


def test_gradients_on_device() -> None:
    module = Fbank("kaldi", dither=0.0).to(DEVICE)
    wav = (torch.randn(2, 8000, generator=torch.Generator().manual_seed(1)) * 0.1).to(DEVICE)
    wav.requires_grad_()
    feats, frames = module(wav, torch.tensor([8000, 5000], device=DEVICE))
    feats.sum().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all()
    assert wav.grad[1, 5000:].abs().max() == 0  # padding gets no gradient
    assert frames.tolist() == [48, 29]


def test_specaugment_and_buckets_on_device() -> None:
    feats = torch.randn(3, 100, 40)
    lengths = torch.tensor([100, 60, 10])
    aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=10, time_warp=5)
    # the masks are drawn on the CPU (a CPU generator), so both devices get the same ones
    want = aug.train()(feats, lengths, generator=torch.Generator().manual_seed(0))
    got = aug(feats.to(DEVICE), lengths.to(DEVICE), generator=torch.Generator().manual_seed(0))
    assert got.device.type == torch.device(DEVICE).type
    torch.testing.assert_close(got.cpu(), want, rtol=0, atol=1e-5)
    assert torch.equal(got[1, 60:].cpu(), feats[1, 60:])  # padding untouched
    module = Fbank("kaldi", dither=0.0).eval()
    wavs = [torch.randn(n) * 0.1 for n in (16000, 8000, 12345)]
    with torch.inference_mode():
        on_cpu = compute_in_buckets(module, wavs)
        on_device = compute_in_buckets(module.to(DEVICE), wavs, device=DEVICE)
    for a, b in zip(on_device, on_cpu):
        assert a.device.type == "cpu"
        torch.testing.assert_close(a, b, rtol=0, atol=1e-3)
