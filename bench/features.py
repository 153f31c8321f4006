"""Feature throughput (seconds of audio per second) of seqlab vs torchaudio and librosa.

100 utterances of 2-15 s at 16 kHz (seeded noise; speed does not depend on content). Every row
is timed in the same run (best of ``--repeats``); ratios are seqlab over the reference.

    .venv/bin/python bench/features.py [--repeats 3] [--threads N] [--device cuda]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--device", default="cpu", help="also time a 64 x 15 s batch on this device"
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
    rows: list[tuple[str, str, float, float]] = []

    def speed(fn: Callable[[], object]) -> float:
        return audio_s / _best(fn, args.repeats)

    with torch.inference_mode():
        fb = Fbank("kaldi", dither=0.0).eval()
        ours = speed(lambda: compute_in_buckets(fb, wavs))
        loop = speed(lambda: [fb(w[None]) for w in wavs])
        ref = speed(lambda: [kaldi.fbank(w[None] * 32768.0, dither=0.0) for w in wavs])
        rows += [("Kaldi fbank", "torchaudio.compliance.kaldi.fbank, per utterance", ours, ref)]
        rows += [("Kaldi fbank", "seqlab per-utterance loop", ours, loop)]

        mf = MFCC("librosa", sample_rate=rate).eval()
        ours = speed(lambda: compute_in_buckets(mf, wavs))
        ref = speed(lambda: [librosa.feature.mfcc(y=w.numpy(), sr=rate) for w in wavs])
        rows += [("librosa MFCC", "librosa.feature.mfcc, per utterance", ours, ref)]

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
        ours = speed(lambda: compute_in_buckets(ta_like, wavs))
        per_utt = speed(lambda: [tm(w) for w in wavs])
        padded, _ = pad_batch(wavs)
        batch = speed(lambda: tm(padded))
        rows += [
            ("torchaudio-style MFCC", "torchaudio.transforms.MFCC, per utterance", ours, per_utt)
        ]
        rows += [("torchaudio-style MFCC", "torchaudio.transforms.MFCC, padded batch", ours, batch)]

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
    for what, reference, ours_speed, ref_speed in rows:
        print(
            f"| {what} | {reference} | {ours_speed:,.0f} | {ref_speed:,.0f} | {ours_speed / ref_speed:.2f}x |"
        )


if __name__ == "__main__":
    main()
