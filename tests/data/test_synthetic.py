"""eSpeak NG synthesis: audio comes out, at the asked rate, deterministic, thread-safe."""

from __future__ import annotations

import threading

import librosa
import numpy as np
import pytest
import torch

from seqlab.data.synthetic import SynthesisError, list_voices, synthesize


def test_speech_is_nonempty_float_audio() -> None:
    wav = synthesize("hello world")
    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert 0.3 * 16000 < wav.numel() < 3 * 16000
    assert 0.05 < float(wav.abs().max()) <= 1.0
    assert torch.isfinite(wav).all()


def test_sample_rate_changes_length_and_keeps_spectrum() -> None:
    wav16 = synthesize("one two three", sample_rate=16000)
    wav8 = synthesize("one two three", sample_rate=8000)
    assert abs(wav8.numel() * 2 - wav16.numel()) <= 4
    # the 8 kHz version is the 16 kHz one resampled (librosa as the independent resampler)
    ref = librosa.resample(wav16.numpy(), orig_sr=16000, target_sr=8000, res_type="soxr_hq")
    n = min(ref.size, wav8.numel())
    corr = np.corrcoef(ref[:n], wav8.numpy()[:n])[0, 1]
    assert corr > 0.95


def test_deterministic_for_same_arguments() -> None:
    a = synthesize("she sells sea shells", rate_wpm=170, pitch=40)
    synthesize("something in between")
    b = synthesize("she sells sea shells", rate_wpm=170, pitch=40)
    assert torch.equal(a, b)


def test_different_texts_and_parameters_differ() -> None:
    a = synthesize("yes")
    b = synthesize("no thank you")
    assert a.numel() != b.numel() or not torch.equal(a, b)
    slow = synthesize("counting to ten", rate_wpm=100)
    fast = synthesize("counting to ten", rate_wpm=300)
    assert slow.numel() > 1.5 * fast.numel()
    assert _median_f0(synthesize("a long vowel", pitch=90)) > 1.2 * _median_f0(
        synthesize("a long vowel", pitch=10)
    )


def _median_f0(wav: torch.Tensor) -> float:
    """Median YIN f0 (librosa) over the loudest half of the frames."""
    y = wav.numpy()
    f0 = librosa.yin(y, fmin=60, fmax=400, sr=16000, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=256)[0][: f0.size]
    return float(np.median(f0[rms >= np.median(rms)]))


def test_other_voices_and_listing() -> None:
    assert {"en", "de", "fr"} <= set(list_voices()) or len(list_voices()) > 50
    assert synthesize("guten Tag", voice="de").numel() > 0


def test_thread_safe_many_calls() -> None:
    results: dict[int, torch.Tensor] = {}

    def work(i: int) -> None:
        results[i] = synthesize("the same sentence")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(results[0], r) for r in results.values())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": ""},
        {"text": "  "},
        {"text": "hi", "voice": "xx-nope"},
        {"text": "hi", "rate_wpm": 5},
        {"text": "hi", "pitch": 101},
    ],
)
def test_bad_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(SynthesisError):
        synthesize(**kwargs)
