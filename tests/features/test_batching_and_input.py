"""Batched == per-utterance, gradcheck, fused == composed steps, and bad input."""

from __future__ import annotations

import pytest
import torch

from seqlab.features import (
    CMVN,
    MFCC,
    Deltas,
    Fbank,
    FeatureError,
    GlobalCMVN,
    SpecAugment,
    compute_in_buckets,
)
from seqlab.features import functional as F
from seqlab.features.batching import pad_batch

CONFIGS = [
    ("kaldi", {}),
    ("kaldi", {"snip_edges": False, "use_energy": True}),
    ("librosa", {"sample_rate": 16000}),
    ("librosa", {"sample_rate": 16000, "pad_mode": "reflect"}),
]


@pytest.mark.parametrize("preset,overrides", CONFIGS)
@pytest.mark.parametrize("cls", [Fbank, MFCC])
def test_batched_equals_unbatched(cls, preset: str, overrides: dict, make_signals) -> None:
    module = cls(preset, dither=0.0, **overrides).eval()
    sig = make_signals(16000)
    wavs = [sig["speech"], sig["odd"], sig["speech_dc"][:4001], sig["noise"]]
    batch, lengths = pad_batch(wavs)
    batch = batch + 7.0 * (torch.arange(batch.shape[1]) >= lengths[:, None])  # garbage padding
    feats, frames = module(batch, lengths)
    assert torch.equal(frames, module.num_frames(lengths))
    for i, w in enumerate(wavs):
        alone, n = module(w[None])
        assert int(n[0]) == int(frames[i])
        torch.testing.assert_close(feats[i, : frames[i]], alone[0], atol=2e-4, rtol=1e-5)
        assert torch.all(feats[i, frames[i] :] == 0)


def test_buckets_match_and_keep_order(make_signals) -> None:
    module = Fbank("kaldi", dither=0.0).eval()
    wavs = list(make_signals(16000).values())
    out = compute_in_buckets(module, wavs, max_samples=30000)
    for w, f in zip(wavs, out):
        torch.testing.assert_close(f, module(w[None])[0][0], atol=2e-4, rtol=1e-5)


def test_cmvn_and_deltas_ignore_padding() -> None:
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 40, 5, generator=g)
    lengths = torch.tensor([40, 17, 9])
    padded = feats.clone()
    for i, n in enumerate(lengths):
        padded[i, n:] = (99.0, float("nan"), float("-inf"))[i]  # padding reaches no statistic
    for module in (CMVN(), CMVN(norm_vars=True), Deltas(), Deltas(style="librosa")):
        out = module(padded, lengths)
        for i, n in enumerate(lengths):
            torch.testing.assert_close(out[i, :n], module(feats[i : i + 1, :n])[0])
    gc = GlobalCMVN()
    gc.update(padded, lengths)
    valid = torch.cat([feats[i, :n] for i, n in enumerate(lengths)])
    torch.testing.assert_close(gc.stats[0, :-1], valid.double().sum(0))
    out = gc(valid[None])[0]
    torch.testing.assert_close(out.mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(0, unbiased=False), torch.ones(5), atol=1e-5, rtol=0)


def test_global_cmvn_dimension_and_load_options(tmp_path) -> None:
    feats = torch.randn(1, 6, 40)
    with pytest.raises(FeatureError, match="holds 23-dim stats, got 40-dim"):
        GlobalCMVN(23).update(feats)  # a stated dimension is kept, even before any frame
    gc = GlobalCMVN()
    gc.update(feats)  # no stated dimension: the first update sets it
    gc.save(tmp_path / "stats.txt")
    assert GlobalCMVN.load(tmp_path / "stats.txt", norm_vars=False).norm_vars is False
    filled = GlobalCMVN(norm_vars=True).load(tmp_path / "stats.txt", norm_vars=False)
    assert filled.norm_vars is False and filled.num_features == 40
    torch.testing.assert_close(filled(feats).mean(1), torch.zeros(1, 40), atol=1e-5, rtol=0)
    with pytest.raises(FeatureError, match="norm_vars=True requires norm_means=True"):
        GlobalCMVN().load(tmp_path / "stats.txt", norm_means=False)


def test_gradcheck_float64() -> None:
    g = torch.Generator().manual_seed(1)
    wav = (torch.randn(2, 700, generator=g, dtype=torch.float64) * 0.1).requires_grad_()
    lengths = torch.tensor([700, 560])
    for module in (
        MFCC(
            "kaldi",
            dither=0.0,
            frame_length=200,
            frame_shift=100,
            frame_unit="samples",
            n_fft=256,
            use_energy=True,
        ),
        MFCC(
            "librosa",
            sample_rate=16000,
            frame_length=256,
            frame_shift=128,
            n_mels=20,
            n_mfcc=8,
            top_db=None,
        ),
    ):
        module.eval()
        assert torch.autograd.gradcheck(
            lambda x, m=module: m(x, lengths)[0], (wav,), eps=1e-6, atol=1e-4
        )
    feats = torch.randn(2, 12, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: Deltas()(x, torch.tensor([12, 9])), (feats,))
    assert torch.autograd.gradcheck(
        lambda x: CMVN(norm_vars=True)(x, torch.tensor([12, 9])), (feats,)
    )


def test_fused_pipeline_equals_composed_steps(make_signals) -> None:
    """The fused fast path == frame -> DC -> energy -> pre-emphasis -> window -> rFFT -> mel -> log."""
    wav = make_signals(16000)["speech_dc"].double()
    module = MFCC("kaldi", dither=0.0).eval()
    ours, _ = module(wav[None])
    frames, _ = F.frame(wav * 32768.0, 400, 160)
    frames = F.remove_dc_offset(frames)
    energy = F.log_energy(frames)
    spec = F.spectrum(
        F.preemphasis(frames, 0.97) * F.window("povey", 400, dtype=torch.float64), 512
    )
    mel = F.log_with_floor(
        spec
        @ F.mel_filterbank(
            512,
            23,
            16000,
            20.0,
            0.0,
            scale="kaldi",
            construction="kaldi",
            norm=None,
            dtype=torch.float64,
        )
    )
    ceps = F.apply_lifter(mel @ F.dct_matrix(13, 23, dtype=torch.float64), 22.0)
    ceps[:, 0] = energy
    torch.testing.assert_close(ours[0], ceps, atol=1e-8, rtol=1e-9)


def test_short_empty_and_bad_input() -> None:
    module = Fbank("kaldi", dither=0.0).eval()
    feats, frames = module(torch.zeros(2, 399), torch.tensor([399, 100]))  # shorter than a frame
    assert feats.shape == (2, 0, 23) and frames.tolist() == [0, 0]
    feats, frames = module(torch.zeros(0, 16000))  # empty batch
    assert feats.shape == (0, 0, 23) and frames.shape == (0,)
    feats, frames = module(torch.randn(16000) * 0.1)  # unbatched
    assert feats.shape == (98, 23) and frames.shape == ()
    bad = torch.randn(2, 1600)
    bad[1, 5] = float("nan")
    with pytest.raises(FeatureError, match=r"rows \[1\]"):
        module(bad)
    bad[1, 5] = float("inf")
    with pytest.raises(FeatureError, match="NaN or infinite"):
        module(bad)
    with pytest.raises(FeatureError, match="8000 Hz does not match"):
        module(torch.zeros(1, 1600), sample_rate=8000)
    with pytest.raises(FeatureError, match="lengths must lie"):
        module(torch.zeros(1, 1600), torch.tensor([1601]))
    with pytest.raises(FeatureError, match="float32 or float64"):
        module(torch.zeros(1, 1600, dtype=torch.int16))
    for half in (torch.float16, torch.bfloat16):
        with pytest.raises(FeatureError, match=r"cast half-precision audio with \.float\(\)"):
            module(torch.zeros(1, 1600, dtype=half))
    with pytest.raises(FeatureError, match=r"integer tensor of shape \(1,\), got torch.float32"):
        module(torch.zeros(1, 1600), torch.tensor([1600.0]))
    with pytest.raises(FeatureError, match="unknown feature option"):
        Fbank("kaldi", n_bins=40)
    with pytest.raises(FeatureError, match="unknown feature preset"):
        Fbank("htk")
    with pytest.raises(FeatureError, match="f_min < f_max"):
        Fbank("kaldi", f_min=9000.0)
    with pytest.raises(FeatureError, match="no statistics"):
        GlobalCMVN()(torch.zeros(1, 3, 4))
    with pytest.raises(FeatureError, match="fewer than"):
        F.delta(torch.zeros(1, 5, 3), width=9)


@pytest.mark.parametrize("preset,overrides", CONFIGS)
@pytest.mark.parametrize("cls", [Fbank, MFCC])
@pytest.mark.parametrize("grad", [False, True])
def test_nan_and_inf_in_the_padding_change_nothing(cls, preset, overrides, grad, cpu_path) -> None:
    """Only samples below a row's length are checked and read: padding past it may hold
    NaN or inf (a NaN-padded collate) and the result equals zero padding, on every path
    (``grad``: the composed differentiable steps)."""
    module = cls(preset, **overrides).eval()
    lengths = torch.tensor([8000, 20000, 12345])
    clean = torch.randn(3, 20000, generator=torch.Generator().manual_seed(5)) * 0.1
    dirty = clean.clone()
    for row, n in enumerate(lengths.tolist()):
        clean[row, n:] = 0.0
        dirty[row, n:] = float("nan") if row == 0 else float("-inf")
    with torch.set_grad_enabled(grad):
        got, frames = module(dirty.requires_grad_(grad), lengths)
        want, want_frames = module(clean.requires_grad_(grad), lengths)
    assert torch.equal(frames, want_frames)
    assert torch.equal(got, want)
    if grad:  # 0 * NaN from the frames past a count must not reach the valid samples
        got.sum().backward()
        want.sum().backward()
        torch.testing.assert_close(dirty.grad.nan_to_num(), clean.grad)
        for row, n in enumerate(lengths.tolist()):
            assert torch.isfinite(dirty.grad[row, :n]).all()


def test_specaugment_masks_seeded_length_aware_and_eval_identity() -> None:
    feats = torch.randn(3, 100, 40) + 5.0
    lengths = torch.tensor([100, 60, 10])
    aug = SpecAugment(
        freq_masks=2, freq_width=10, time_masks=2, time_width=0.1, time_warp=5, seed=0
    )
    a = aug(feats, lengths, generator=torch.Generator().manual_seed(4))
    b = aug(feats, lengths, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, feats)
    for i, n in enumerate(lengths):
        assert torch.equal(a[i, n:], feats[i, n:])  # padding untouched
        masked_frames = (a[i, :n] == 0).all(dim=1).sum()
        assert masked_frames <= 2 * int(0.1 * n)
    masked_bins = (a[0] == 0).all(dim=0).sum()
    assert masked_bins <= 20
    # over a few seeds the masks do mask (features are near 5, so zeros come from masks only)
    draws = [aug(feats, lengths, generator=torch.Generator().manual_seed(s)) for s in range(8)]
    assert any(int((d[0] == 0).all(dim=0).sum()) > 0 for d in draws)  # frequency bands
    assert any(int((d[0] == 0).all(dim=1).sum()) > 0 for d in draws)  # time spans
    aug.eval()
    assert aug(feats, lengths) is feats
