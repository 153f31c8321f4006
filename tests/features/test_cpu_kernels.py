"""The fused numba CPU kernels (seqlab.features.cpu_kernels) against the torch kernels and
plain float64 arithmetic; serial vs parallel builds, threads and forked processes."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest
import torch

from seqlab.features import MFCC, Fbank, Spectrogram, cpu_kernels
from seqlab.features import functional as F

pytestmark = pytest.mark.skipif(cpu_kernels.numba is None, reason="numba is not installed")


@pytest.fixture(autouse=True)
def _one_thread(single_thread):
    """The numba kernels serve torch's single-threaded mode (cpu_kernels.usable)."""
    yield


@pytest.fixture
def use_numba(monkeypatch):
    """``use_numba(flag)`` routes the CPU inference path to the numba or the torch kernels."""

    def set_flag(flag: bool) -> None:
        monkeypatch.setattr(cpu_kernels, "ENABLED", flag)

    return set_flag


def _batch(seed: int = 0, dc: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([24000, 16001, 400, 9999])
    wav = torch.randn(4, 24000, generator=g) * 0.1 + dc
    wav[1, 3000:4000] = dc  # a stretch of digital silence with an offset
    return wav, lengths


MODULES = [
    lambda: Fbank("kaldi", dither=0.0),
    lambda: Fbank("kaldi", dither=0.0, use_energy=True),
    lambda: Fbank("kaldi", dither=0.0, use_energy=True, raw_energy=False, power=1.0),
    lambda: Fbank("kaldi", dither=0.0, preemphasis=0.0, remove_dc_offset=False, snip_edges=False),
    lambda: MFCC("kaldi", dither=0.0),
    lambda: Spectrogram("kaldi", dither=0.0),
    lambda: MFCC("librosa", sample_rate=16000),
    lambda: Fbank("librosa", sample_rate=16000, power=1.0),
    lambda: Fbank("kaldi", dither=0.0, frame_length=64.0, n_mels=40),  # 1024-point FFT
]


@pytest.mark.parametrize("make", MODULES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_numba_path_equals_torch_path(make, dtype: torch.dtype, use_numba) -> None:
    module = make().eval()
    wav, lengths = _batch()
    wav = wav.to(dtype)
    with torch.inference_mode():
        use_numba(False)
        ref, ref_counts = module(wav, lengths)
        use_numba(True)
        ours, counts = module(wav, lengths)
    assert torch.equal(counts, ref_counts) and ours.dtype == dtype
    tol = 2e-3 if dtype == torch.float32 else 1e-8
    torch.testing.assert_close(ours, ref, rtol=0, atol=tol)


def test_fill_frames_matches_float64_arithmetic() -> None:
    """Kaldi frame processing of DC-offset audio to float64 accuracy, and exact zeros for a
    constant frame."""
    g = torch.Generator().manual_seed(1)
    wav = torch.randn(2, 4000, generator=g) * 0.01 + 0.7777
    wav[1, :1000] = 0.7777
    frames = wav.unfold(-1, 400, 160)
    b, t, w = frames.shape
    window = F.window("povey", 400) * 32768.0
    out = torch.empty(b * t, 512)
    energy = torch.empty(b * t, dtype=torch.float64)
    cpu_kernels.fill_frames(
        wav.reshape(-1),
        4000,
        np.full(b, 4000),
        160,
        slice(0, b),
        slice(0, t),
        window.numpy(),
        out,
        preemphasis=0.97,
        remove_dc_offset=True,
        energy="raw",
        energy_out=energy,
    )
    x = frames.double()
    z = x - x.mean(dim=-1, keepdim=True)
    y = torch.cat([z[..., :1] * 0.03, z[..., 1:] - 0.97 * z[..., :-1]], dim=-1) * window.double()
    got = out.view(b, t, 512)
    assert not got[..., 400:].any()
    torch.testing.assert_close(got[..., :400].double(), y, rtol=1e-6, atol=1e-3)
    torch.testing.assert_close(energy.view(b, t), (z * z).sum(-1), rtol=1e-6, atol=1e-9)
    silent = (1000 - 400) // 160 + 1
    assert not got[1, :silent].any() and not energy.view(b, t)[1, :silent].any()


@pytest.mark.parametrize("pad_mode", ["constant", "reflect", "symmetric", "edge"])
def test_edge_padding_equals_pad_for_framing(pad_mode: str, use_numba) -> None:
    """Frames reaching past a signal's ends are padded in the kernel as
    :func:`seqlab.features.framing.pad_for_framing` pads the batch, also for signals shorter
    than the padding (repeated reflections), one sample long, or empty."""
    module = Spectrogram(
        "librosa", sample_rate=16000, frame_length=256, frame_shift=64, pad_mode=pad_mode
    )
    g = torch.Generator().manual_seed(7)
    wav = torch.randn(5, 2000, generator=g)
    lengths = torch.tensor([2000, 1999, 70, 1, 0])
    with torch.inference_mode():
        use_numba(False)
        ref, ref_counts = module.eval()(wav, lengths)
        use_numba(True)
        ours, counts = module(wav, lengths)
    assert torch.equal(counts, ref_counts)
    torch.testing.assert_close(ours, ref, rtol=0, atol=2e-3)


@pytest.mark.parametrize("power", [2.0, 1.0, 0.5])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_power_spectrum_equals_abs_pow(power: float, dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(2)
    spec = torch.randn(37, 257, dtype=dtype, generator=g)
    real = torch.float32 if dtype == torch.complex64 else torch.float64
    out = torch.empty(37, 257, dtype=real)
    assert cpu_kernels.power_spectrum(spec, power, out) is out
    tol = 1e-6 if real == torch.float32 else 1e-14
    torch.testing.assert_close(out, spec.abs().pow(power), rtol=tol, atol=tol)


def test_concurrent_threads_get_their_own_results() -> None:
    module = MFCC("kaldi", dither=0.0).eval()
    batches = [_batch(seed)[0] for seed in range(4)]
    with torch.inference_mode():
        expected = [module(w)[0] for w in batches]
    results: dict[int, torch.Tensor] = {}

    def run(i: int) -> None:
        with torch.inference_mode():
            for _ in range(3):
                results[i] = module(batches[i])[0].clone()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, ref in enumerate(expected):
        assert torch.equal(results[i], ref)


def _big_batch() -> torch.Tensor:
    return torch.randn(8, 48000, generator=torch.Generator().manual_seed(5)) * 0.1


def _child(queue) -> None:
    torch.set_num_threads(1)  # as a DataLoader worker does (torch's own OpenMP needs it)
    with torch.inference_mode():
        feats, _ = Fbank("kaldi", dither=0.0).eval()(_big_batch())
    queue.put(feats.numpy())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_forked_child_after_parent() -> None:
    """A DataLoader-style forked worker computes features after the parent compiled and ran
    the kernels."""
    module = Fbank("kaldi", dither=0.0).eval()
    with torch.inference_mode():
        parent, _ = module(_big_batch())
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    result = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(result, parent.numpy())


def test_usable_for_cpu_float_tensors(use_numba) -> None:
    use_numba(True)
    wav = torch.zeros(1, 16000)
    assert cpu_kernels.usable(wav) and cpu_kernels.usable(wav.double())
    assert not cpu_kernels.usable(wav.to(torch.float16))
    use_numba(False)
    assert not cpu_kernels.usable(wav)


@pytest.mark.parametrize("power", [2.0, 1.0, 0.5])
def test_power_mel_equals_dense_product(power: float) -> None:
    from seqlab.features import kernels
    from seqlab.features.compute import build_mel_weights
    from seqlab.features.presets import resolve_config

    g = torch.Generator().manual_seed(3)
    for preset in ("kaldi", "librosa"):
        config = resolve_config(preset, "fbank", sample_rate=16000)
        weights = build_mel_weights(config, torch.float64)
        plan = kernels.mel_plan(weights, torch.float64, torch.device("cpu"))
        spec = torch.randn(23, config.num_freqs, dtype=torch.complex128, generator=g)
        out = torch.empty(23, config.n_mels, dtype=torch.float64)
        expected = spec.abs().pow(power) @ weights
        assert cpu_kernels.power_mel(spec, power, *plan.sparse, out) is out
        torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mel", [False, True])
def test_rows_longer_than_a_chunk_stop_at_their_counts(mel: bool) -> None:
    """Pieces of one row skip the frames past its count; every row's tail is zero, and the
    valid frames equal a one-chunk run's."""
    from seqlab.features import kernels
    from seqlab.features.compute import build_mel_weights, frame_counts
    from seqlab.features.presets import resolve_config

    config = resolve_config("kaldi", "fbank", sample_rate=16000, use_energy=True)
    wav, lengths = _batch()
    counts = frame_counts(lengths, config)
    plan = None
    if mel:
        plan = kernels.mel_plan(build_mel_weights(config), torch.float32, torch.device("cpu"))
    opts = {
        "hop": config.frame_shift_samples,
        "offset": 0,
        "pad_mode": "constant",
        "n_fft": config.fft_length,
        "power": 2.0,
        "preemphasis": 0.97,
        "remove_dc_offset": True,
        "energy": "raw",
    }
    window = F.window("povey", config.frame_length_samples)
    whole = kernels.analyze_waveforms(
        wav, lengths, counts, window, plan, chunk_frames=10_000, **opts
    )
    pieces = kernels.analyze_waveforms(wav, lengths, counts, window, plan, chunk_frames=7, **opts)
    t_max = int(counts.max())
    for values_and_energy in (whole, pieces):
        for got in values_and_energy:
            assert got.shape[:2] == (4, t_max)
            for row, count in enumerate(counts.tolist()):
                assert count < t_max or row == 0
                assert torch.all(got[row, count:] == 0)
    for got, expected in zip(pieces, whole):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
