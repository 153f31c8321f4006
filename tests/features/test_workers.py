"""The feature workers (seqlab.features.workers): with several torch threads, whole row groups
or frame chunks run on single-threaded workers; results equal the single-threaded path."""

from __future__ import annotations

import threading

import pytest
import torch

from seqlab.features import MFCC, Fbank, FeatureError, compute_in_buckets, cpu_kernels, workers

pytestmark = pytest.mark.skipif(cpu_kernels.numba is None, reason="numba is not installed")

MODULES = {
    "kaldi fbank": lambda: Fbank("kaldi", dither=0.0, use_energy=True),
    "kaldi mfcc": lambda: MFCC("kaldi", dither=0.0),
    "librosa mfcc": lambda: MFCC("librosa", sample_rate=16000),
}


@pytest.fixture
def threads():
    """``threads(n)`` sets torch's thread count for the test (restored after)."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


def _batch(rows: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    wav = torch.randn(rows, 30000, generator=g) * 0.1 + 0.05
    lengths = torch.randint(0, 30001, (rows,), generator=g)
    lengths[0] = 30000
    return wav, lengths


@pytest.mark.parametrize("name", list(MODULES))
@pytest.mark.parametrize("rows", [1, 3, 9])  # chunks shared out (1, 3 rows) or row groups (9)
def test_workers_equal_one_thread(name: str, rows: int, threads) -> None:
    module = MODULES[name]().eval()
    wav, lengths = _batch(rows)
    with torch.inference_mode():
        threads(1)
        ref, ref_counts = module(wav, lengths)
        threads(2)
        assert workers.pool_size() == 2
        ours, counts = module(wav, lengths)
    assert torch.equal(counts, ref_counts)
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-4)


def test_dither_does_not_depend_on_the_split(threads) -> None:
    module = Fbank("kaldi")  # training mode: dither 1.0
    wav, lengths = _batch(8)
    threads(1)
    ref, _ = module(wav, lengths, generator=torch.Generator().manual_seed(9))
    threads(2)
    ours, _ = module(wav, lengths, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(ours, ref, rtol=1e-6, atol=1e-4)


def test_workers_keep_one_thread_and_the_caller_its_count(threads) -> None:
    threads(2)
    with torch.inference_mode():
        MFCC("librosa", sample_rate=16000).eval()(*_batch(8))
    assert torch.get_num_threads() == 2
    seen: list[int] = []
    lock = threading.Lock()

    def record(_: int) -> None:
        with lock:
            seen.append(torch.get_num_threads())

    workers.for_each(record, list(range(8)))
    assert seen == [1] * 8
    # a thread started later still gets the process-wide count
    later: list[int] = []
    thread = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert later == [2]


def test_nan_rows_are_named_from_the_workers(threads) -> None:
    threads(2)
    wav, lengths = _batch(8)
    wav[5, 100] = float("nan")
    with pytest.raises(FeatureError, match=r"rows \[5\]"):
        Fbank("kaldi", dither=0.0).eval()(wav, lengths)


def test_worker_errors_reach_the_caller(threads) -> None:
    threads(2)

    def fail(i: int) -> None:
        if i == 3:
            raise ValueError("item 3")

    with pytest.raises(ValueError, match="item 3"):
        workers.for_each(fail, list(range(6)))


def test_buckets_on_workers_equal_one_thread(threads) -> None:
    g = torch.Generator().manual_seed(4)
    wavs = [torch.randn(int(n), generator=g) * 0.1 for n in torch.randint(300, 40000, (40,))]
    module = Fbank("kaldi", dither=0.0).eval()
    with torch.inference_mode():
        threads(1)
        ref = compute_in_buckets(module, wavs, max_samples=100_000)
        threads(2)
        ours = compute_in_buckets(module, wavs, max_samples=100_000)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-4)


def test_seeded_dither_in_buckets_does_not_depend_on_the_thread_count(threads) -> None:
    g = torch.Generator().manual_seed(6)
    wavs = [torch.randn(int(n), generator=g) * 0.1 for n in torch.randint(300, 40000, (24,))]
    module = Fbank("kaldi")  # training mode: dither 1.0 from the global generator
    results = []
    with torch.inference_mode():
        for n in (1, 2, 2):
            threads(n)
            torch.manual_seed(11)
            results.append(compute_in_buckets(module, wavs, max_samples=100_000))
    for run in results[1:]:
        for a, b in zip(run, results[0]):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-4)


def test_gradients_stay_in_the_calling_thread(threads) -> None:
    threads(2)
    wav = (torch.randn(6, 4000, dtype=torch.float64) * 0.1).requires_grad_()
    feats, _ = MFCC("kaldi", dither=0.0).eval()(wav)
    feats.sum().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all()
