"""Edge cases of the functional core against independent references: Kaldi framing with a hop
longer than the frame, empty time axes, gradients at digital silence and at the top_db clip,
non-finite padding under SpecAugment, one-sample windows and librosa's |ref|."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import scipy.signal
import torch
from torchaudio.compliance.kaldi import _get_strided

from seqlab.features import CMVN, Deltas, Fbank, FeatureError
from seqlab.features import functional as F
from seqlab.features.augment import mask_along_axis, spec_augment, time_warp


@pytest.mark.parametrize("frame_length, hop", [(25, 160), (4, 10), (1, 2), (400, 160)])
def test_kaldi_framing_without_snip_edges_matches_torchaudio(frame_length: int, hop: int) -> None:
    """Kaldi centres frame t at t * hop + hop / 2: with a hop longer than the frame the first
    frame starts inside the signal (a negative padding offset)."""
    x = torch.randn(1000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    want = _get_strided(x, frame_length, hop, snip_edges=False)
    got, count = F.frame(x[None], frame_length, hop, snip_edges=False)
    assert int(count[0]) == want.shape[0]
    torch.testing.assert_close(got[0], want, rtol=0, atol=0)


def test_kaldi_fbank_hop_longer_than_frame_with_gradients() -> None:
    import torchaudio.compliance.kaldi as kaldi

    module = Fbank("kaldi", dither=0.0, snip_edges=False, frame_length=5.0, frame_shift=20.0)
    wav = (torch.randn(1, 16000, generator=torch.Generator().manual_seed(1)) * 0.1).double()
    want = kaldi.fbank(wav * 32768.0, dither=0.0, snip_edges=False, frame_length=5.0,
                       frame_shift=20.0, energy_floor=0.0)  # fmt: skip
    feats, frames = module.double()(wav.requires_grad_())  # the differentiable path
    assert int(frames[0]) == want.shape[0]
    torch.testing.assert_close(feats[0].detach(), want, rtol=0, atol=1e-3)
    feats.sum().backward()
    assert torch.isfinite(wav.grad).all()


def test_an_empty_time_axis_passes_through() -> None:
    """A batch shorter than one frame gives (B, 0, D) features; what follows takes them."""
    feats, frames = Fbank("kaldi", dither=0.0).eval()(torch.randn(2, 300), torch.tensor([300, 0]))
    assert feats.shape == (2, 0, 23) and frames.tolist() == [0, 0]
    assert Deltas(order=2)(feats, frames).shape == (2, 0, 69)
    assert Deltas(style="librosa")(feats, frames).shape == (2, 0, 69)
    assert CMVN(norm_vars=True)(feats, frames).shape == (2, 0, 23)
    assert F.power_to_db(feats, lengths=frames).shape == (2, 0, 23)
    framed, counts = F.frame(torch.zeros(2, 0), 4, 2)
    assert framed.shape == (2, 0, 4) and counts.tolist() == [0, 0]


def test_lengths_must_match_the_leading_shape() -> None:
    with pytest.raises(FeatureError, match=r"leading shape \(2, 2\)"):
        F.cmvn(torch.randn(2, 2, 5, 3), torch.tensor([5, 4]))  # would pair lengths by column
    assert F.cmvn(torch.randn(2, 2, 5, 3), torch.tensor([[5, 4], [3, 2]])).shape == (2, 2, 5, 3)


@pytest.mark.parametrize("power", [1.0, 1.5])
def test_magnitude_gradient_is_finite_at_digital_silence(power: float) -> None:
    frames = torch.zeros(1, 2, 8, dtype=torch.float64)
    frames[0, 0] = torch.randn(8, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    frames.requires_grad_()
    F.spectrum(frames, power=power).sum().backward()
    want = frames.detach().clone().requires_grad_()
    torch.fft.rfft(want).abs().pow(power).sum().backward()
    torch.testing.assert_close(frames.grad, want.grad)
    assert torch.isfinite(frames.grad).all()


def test_power_to_db_gradient_reaches_the_peak_of_clipped_cells() -> None:
    power = torch.tensor([[[1.0, 1e-4], [0.5, 0.02]]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p: F.power_to_db(p, top_db=10.0), (power,))
    clipped = F.power_to_db(power, top_db=10.0)[0, 0, 1]
    (grad,) = torch.autograd.grad(clipped, power)
    assert grad[0, 0, 0].item() == pytest.approx(10 / np.log(10))  # moves with the peak


def test_power_to_db_uses_the_magnitude_of_ref_like_librosa() -> None:
    spec = np.array([[1.0, 0.1], [0.01, 1e-3]])
    for ref in (-2.0, -1.0, 0.5):
        got = F.power_to_db(torch.tensor(spec), ref=ref, top_db=None).numpy()
        np.testing.assert_allclose(got, librosa.power_to_db(spec, ref=ref, top_db=None), atol=1e-9)


def test_time_warp_and_masks_never_read_or_write_padding() -> None:
    x = torch.randn(2, 60, 5, generator=torch.Generator().manual_seed(3))
    lengths = torch.tensor([40, 10])
    x[0, 40:], x[1, 10:] = float("nan"), float("-inf")
    for seed in range(30):
        g = torch.Generator().manual_seed(seed)
        warped = time_warp(x, lengths, 5, generator=g)
        assert torch.isfinite(warped[0, :40]).all() and torch.equal(warped[1, :10], x[1, :10])
        out = spec_augment(x, lengths, time_warp_width=5, generator=g)
        assert torch.isfinite(out[0, :40]).all() and torch.isfinite(out[1, :10]).all()
    ones = torch.ones(2, 10, 8)
    masked = mask_along_axis(ones, torch.tensor([10, 4]), 2, 4, "freq",
                             generator=torch.Generator().manual_seed(1))  # fmt: skip
    assert torch.equal(masked[1, 4:], ones[1, 4:]) and (masked[0] == 0).any()


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "povey", "rectangular"])
@pytest.mark.parametrize("periodic", [True, False])
def test_one_sample_windows_are_one(name: str, periodic: bool) -> None:
    got = F.window(name, 1, periodic=periodic, dtype=torch.float64)
    assert got.tolist() == [1.0]
    if name in ("hann", "hamming", "blackman"):
        assert scipy.signal.get_window(name, 1, fftbins=periodic).tolist() == [1.0]


def test_kaldi_deltas_match_torchaudio_compute_deltas() -> None:
    """Kaldi's add-deltas (window 2): the deltas are torchaudio's compute_deltas(win_length=5)
    (replicated edges); away from the edges the delta-deltas are it applied twice (Kaldi
    composes the filters on the original frames, so they differ within 4 frames of an end)."""
    import torchaudio.functional as TAF

    feats = torch.randn(2, 50, 13, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    out = Deltas(order=2)(feats)
    first = TAF.compute_deltas(feats.transpose(1, 2), win_length=5).transpose(1, 2)
    second = TAF.compute_deltas(first.transpose(1, 2), win_length=5).transpose(1, 2)
    torch.testing.assert_close(out[..., :13], feats)
    torch.testing.assert_close(out[..., 13:26], first)
    torch.testing.assert_close(out[:, 4:-4, 26:], second[:, 4:-4])


def test_cmvn_gives_zero_mean_unit_variance_over_valid_frames() -> None:
    feats = torch.randn(2, 30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    feats = feats * 3.0 + 5.0
    lengths = torch.tensor([30, 12])
    out = CMVN(norm_vars=True)(feats, lengths)
    for row, n in enumerate(lengths.tolist()):
        valid = out[row, :n].numpy()
        np.testing.assert_allclose(valid.mean(0), 0.0, atol=1e-12)
        np.testing.assert_allclose(valid.std(0), 1.0, atol=1e-12)  # population, as Kaldi
        reference = feats[row, :n].numpy()
        np.testing.assert_allclose(valid, (reference - reference.mean(0)) / reference.std(0))


def test_time_warp_moves_frames_and_keeps_the_ends() -> None:
    x = torch.arange(40.0)[None, :, None].repeat(1, 1, 3)  # frame t holds t
    moved = 0
    for seed in range(20):
        y = time_warp(x, torch.tensor([40]), 5, generator=torch.Generator().manual_seed(seed))
        assert y[0, 0, 0] == 0 and 38 <= y[0, 39, 0] <= 39  # the ends stay in place
        assert (y[0, 1:, 0] >= y[0, :-1, 0]).all()  # monotonic: a warp, not a shuffle
        moved += int(not torch.equal(y, x))
    assert moved > 10
