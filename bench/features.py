"""Feature throughput (seconds of audio per second) of seqlab vs torchaudio and librosa.

100 utterances of 2-15 s at 16 kHz (seeded noise; speed does not depend on content). Every row
is timed in the same run; contenders are interleaved round by round (each round times every
contender once) and each keeps its best round, so a load change on a shared machine hits all
of them alike. Ratios are seqlab over the reference.

    .venv/bin/python bench/features.py [--repeats 5] [--threads N] [--settle 0.5] [--min-time 0.5]
        [--device cuda]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from arguments import device_name, non_negative_float, positive_int


def _best(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> float:
    fn()
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def _interleaved(
    contenders: dict[str, Callable[[], object]], rounds: int, settle: float, min_time: float
) -> dict[str, float]:
    """Best time per call of each contender over ``rounds`` rounds that run every contender.

    In a round each contender runs ``settle`` seconds after the previous one finished (thread
    pools busy-wait for a while after their last task: numpy's OpenBLAS threads after librosa,
    the OpenMP team after torch, and a contender started right away would share the cores
    with them), then back to back until ``min_time`` seconds have passed; its time is the mean
    over those calls. On a VM a core that idled through the settle takes a while to come back
    to full speed; repeating the corpus for ``min_time`` measures the steady throughput of a
    long feature run rather than that wake-up, alike for every contender.
    """
    for fn in contenders.values():
        fn()  # warm-up: caches, plans, allocator
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            time.sleep(settle)
            calls, start = 0, time.perf_counter()
            while True:
                fn()
                calls += 1
                elapsed = time.perf_counter() - start
                if elapsed >= min_time:
                    break
            best[name] = min(best[name], elapsed / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=positive_int, default=5, help="interleaved rounds")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--settle", type=non_negative_float, default=0.5, help="idle seconds before each timing"
    )
    parser.add_argument(
        "--min-time",
        type=non_negative_float,
        default=0.5,
        help="seconds each timing repeats the corpus",
    )
    parser.add_argument(
        "--device",
        type=device_name,
        default="cpu",
        help="also time a 64 x 15 s batch on this device",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import librosa
    import torchaudio
    import torchaudio.compliance.kaldi as kaldi

    from seqlab.features import MFCC, Fbank, compute_in_buckets
    from seqlab.features.batching import pad_batch

    g = torch.Generator().manual_seed(0)
    rate = 16000
    sizes = ((torch.rand(100, generator=g) * 13 + 2) * rate).long().tolist()
    wavs = [torch.randn(n, generator=g) * 0.1 for n in sizes]
    audio_s = sum(sizes) / rate
    rows: list[tuple[str, str, str, str]] = []

    with torch.inference_mode():
        fb = Fbank("kaldi", dither=0.0).eval()
        mf = MFCC("librosa", sample_rate=rate).eval()
        ta_like = MFCC(
            "librosa",
            sample_rate=rate,
            frame_length=400,
            frame_shift=200,
            pad_mode="reflect",
            mel_scale="htk",
            mel_norm=None,
            n_mels=128,
            n_mfcc=40,
        ).eval()
        tm = torchaudio.transforms.MFCC(sample_rate=rate)
        padded, _ = pad_batch(wavs)
        times = _interleaved(
            {
                "fbank": lambda: compute_in_buckets(fb, wavs),
                "fbank loop": lambda: [fb(w[None]) for w in wavs],
                "kaldi": lambda: [kaldi.fbank(w[None] * 32768.0, dither=0.0) for w in wavs],
                "mfcc": lambda: compute_in_buckets(mf, wavs),
                "librosa": lambda: [librosa.feature.mfcc(y=w.numpy(), sr=rate) for w in wavs],
                "ta-like": lambda: compute_in_buckets(ta_like, wavs),
                "ta per utt": lambda: [tm(w) for w in wavs],
                "ta batch": lambda: tm(padded),
            },
            args.repeats,
            args.settle,
            args.min_time,
        )
        speed = {name: audio_s / t for name, t in times.items()}
        rows += [
            ("Kaldi fbank", "torchaudio.compliance.kaldi.fbank, per utterance", "fbank", "kaldi"),
            ("Kaldi fbank", "seqlab per-utterance loop", "fbank", "fbank loop"),
            ("librosa MFCC", "librosa.feature.mfcc, per utterance", "mfcc", "librosa"),
            (
                "torchaudio-style MFCC",
                "torchaudio.transforms.MFCC, per utterance",
                "ta-like",
                "ta per utt",
            ),
            (
                "torchaudio-style MFCC",
                "torchaudio.transforms.MFCC, padded batch",
                "ta-like",
                "ta batch",
            ),
        ]

        if args.device != "cpu":
            dev = torch.device(args.device)
            big = torch.randn(64, 15 * rate, generator=g).to(dev) * 0.1
            gpu_fb = Fbank("kaldi", dither=0.0).eval().to(dev)
            sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
            t = _best(lambda: gpu_fb(big), args.repeats, sync)
            print(f"{args.device}: Kaldi fbank on 64 x 15 s: {64 * 15 / t:,.0f}x real time")

    print(
        f"{len(wavs)} utterances, {audio_s:.0f} s of audio at {rate} Hz, torch threads {torch.get_num_threads()}"
    )
    print("| features | reference | seqlab (s audio/s) | reference (s audio/s) | ratio |")
    print("|---|---|---:|---:|---:|")
    for what, reference, ours, ref in rows:
        print(
            f"| {what} | {reference} | {speed[ours]:,.0f} | {speed[ref]:,.0f} "
            f"| {speed[ours] / speed[ref]:.2f}x |"
        )


if __name__ == "__main__":
    main()
