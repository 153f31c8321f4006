"""``seqlab features``: compute features for a wav.scp, or plot one file's features."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from seqlab.cli.arguments import positive_float, positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("features", help="compute or plot speech features")
    sub = parser.add_subparsers(dest="features_command", metavar="ACTION", required=True)
    c = sub.add_parser(
        "compute", help="features for every entry of a wav.scp, one .npy per utterance"
    )
    _common(c)
    c.add_argument("--deltas", action="store_true", help="append Kaldi deltas and delta-deltas")
    c.add_argument("--cmvn", action="store_true", help="per-utterance mean normalization")
    c.add_argument("--norm-vars", action="store_true", help="with --cmvn, also normalize variances")
    c.add_argument("--resample", action="store_true", help="resample audio to the preset's rate")
    c.add_argument(
        "--batch-seconds", type=positive_float, default=100.0, help="audio per batch (seconds)"
    )
    c.add_argument("wav_scp", help="Kaldi wav.scp: utt-id /path/to/audio")
    c.add_argument(
        "out_dir",
        help="output folder: feats/<utt>.npy, feats.scp, utt2num_frames, manifest.jsonl, cmvn_stats.txt",
    )
    c.set_defaults(func=compute_handler)
    p = sub.add_parser("plot", help="waveform, spectrogram and features of one audio file")
    _common(p)
    p.add_argument("audio", help="audio file")
    p.add_argument("-o", "--output", required=True, help="figure file (png, pdf, svg)")
    p.set_defaults(func=plot_handler)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preset", default="kaldi", choices=["kaldi", "librosa"])
    p.add_argument("--kind", default="fbank", choices=["fbank", "mfcc"])
    p.add_argument(
        "--sample-rate",
        type=positive_int,
        default=None,
        help="override the preset's sample rate (Hz)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a FeatureConfig field (YAML value)",
    )


def _module(args: argparse.Namespace) -> Any:
    from seqlab.features import MFCC, Fbank, FeatureError

    overrides: dict[str, Any] = {"dither": 0.0}
    if args.sample_rate:
        overrides["sample_rate"] = args.sample_rate
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise FeatureError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise FeatureError(f"--set {item!r}: cannot parse the value ({e})") from None
    cls = MFCC if args.kind == "mfcc" else Fbank
    return cls(args.preset, **overrides).eval()


def compute_handler(args: argparse.Namespace) -> int:
    from seqlab.audio import AudioError, audio_info, read_wav_scp

    if args.norm_vars and not args.cmvn:
        raise ValueError("--norm-vars normalizes variances within --cmvn: pass both")
    module = _module(args)
    rate = module.config.sample_rate
    table = read_wav_scp(args.wav_scp)
    for utt in table:
        if "/" in utt or utt.startswith("."):
            raise AudioError(f"{args.wav_scp}: utterance id {utt!r} cannot be a file name")
    utts = list(table)
    sizes = []
    for utt in utts:
        file_rate, frames, _ = audio_info(table[utt])
        if file_rate != rate and not args.resample:
            raise AudioError(
                f"{table[utt]}: sample rate {file_rate} Hz, the preset expects {rate} Hz (pass --resample or --sample-rate)"
            )
        sizes.append(int(frames * rate / file_rate))
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Everything is written into a staging folder first and moved into place at the end, so
    # a failed run leaves an earlier run's results as they were (and no half of its own).
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        _compute_into(args, module, table, utts, sizes, stage, out)
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return 0


OUTPUT_FILES = ("feats.scp", "utt2num_frames", "manifest.jsonl", "cmvn_stats.txt", "config.yaml")


def _publish(stage: Path, out: Path) -> None:
    """Move a finished run from ``stage`` into ``out``, replacing the previous run's files
    (one a run did not write, e.g. ``cmvn_stats.txt`` without frames, is removed)."""
    previous = stage / "feats.previous"  # removed with the stage
    if (out / "feats").exists():
        os.replace(out / "feats", previous)
    try:
        os.replace(stage / "feats", out / "feats")
    except OSError:
        if previous.exists():  # put the previous run's features back
            os.replace(previous, out / "feats")
        raise
    for name in OUTPUT_FILES:
        if (stage / name).exists():
            os.replace(stage / name, out / name)
        else:
            (out / name).unlink(missing_ok=True)


def _compute_into(
    args: argparse.Namespace,
    module: Any,
    table: dict[str, str],
    utts: list[str],
    sizes: list[int],
    stage: Path,
    out: Path,
) -> None:
    """Compute every utterance's features into ``stage`` (``feats/`` and the index files,
    whose paths point into ``out``)."""
    import numpy as np
    import torch
    from tqdm import tqdm

    from seqlab.audio import load_audio
    from seqlab.features import CMVN, Deltas, GlobalCMVN
    from seqlab.features.batching import length_buckets, pad_batch
    from seqlab.io import atomic_write

    rate = module.config.sample_rate
    (stage / "feats").mkdir()
    deltas, cmvn, stats = Deltas(), CMVN(norm_vars=args.norm_vars), GlobalCMVN()
    counts: dict[str, int] = {}
    dim = 0
    with tqdm(total=len(utts), unit="utt", desc="features") as bar, torch.inference_mode():
        for bucket in length_buckets(sizes, max_samples=int(args.batch_seconds * rate)):
            wavs = [load_audio(table[utts[i]], sample_rate=rate)[0] for i in bucket]
            batch, lengths = pad_batch(wavs)
            feats, frames = module(batch, lengths)
            if args.deltas:
                feats = deltas(feats, frames)
            stats.update(feats, frames)
            if args.cmvn:
                feats = cmvn(feats, frames)
            dim = feats.shape[-1]
            for row, i in enumerate(bucket):
                utt = utts[i]
                counts[utt] = int(frames[row])
                np.save(stage / "feats" / f"{utt}.npy", feats[row, : counts[utt]].numpy())
                bar.update(1)
    with atomic_write(stage / "feats.scp") as f:
        f.writelines(f"{u} {(out / 'feats' / (u + '.npy')).as_posix()}\n" for u in utts)
    with atomic_write(stage / "utt2num_frames") as f:
        f.writelines(f"{u} {counts[u]}\n" for u in utts)
    with atomic_write(stage / "manifest.jsonl") as f:
        for u in utts:
            record = {"utt": u, "path": f"feats/{u}.npy", "num_frames": counts[u], "dim": dim}
            f.write(json.dumps(record) + "\n")
    if stats.count > 0:
        stats.save(stage / "cmvn_stats.txt")
    else:  # no utterance is as long as a frame: no stats (and none left from an earlier run)
        print("no frames: cmvn_stats.txt not written", file=sys.stderr)
    with atomic_write(stage / "config.yaml") as f:
        settings = {
            "kind": args.kind,
            "deltas": args.deltas,
            "cmvn": args.cmvn,
            "norm_vars": args.norm_vars,
        }
        yaml.safe_dump({"features": module.config.to_dict(), **settings}, f, sort_keys=False)
    print(f"wrote {len(utts)} utterances ({sum(counts.values())} frames, dim {dim}) to {out}")


def column_span(config: Any, num_frames: int) -> tuple[float, float]:
    """Time span in seconds of ``num_frames`` image columns of ``config``'s frames, each
    column one hop wide and centred on its frame's centre (Kaldi's first frame is centred at
    half a window, librosa's ``center=True`` first frame at 0)."""
    from seqlab.features.framing import frame_offset

    hop, wlen = config.frame_shift_samples, config.frame_length_samples
    offset = frame_offset(wlen, hop, center=config.center, snip_edges=config.snip_edges)
    left = (wlen / 2 - offset - hop / 2) / config.sample_rate
    return left, left + num_frames * hop / config.sample_rate


def plot_handler(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from seqlab.audio import load_audio
    from seqlab.features import Spectrogram
    from seqlab.features.mel import mel_frequencies, resolve_f_max
    from seqlab.io import atomic_write

    module = _module(args)
    cfg = module.config
    wav, rate = load_audio(args.audio, sample_rate=cfg.sample_rate)
    feats, _ = module(wav[None])
    spec, _ = Spectrogram(cfg, log="db", top_db=80.0, use_energy=False).eval()(wav[None])
    duration = wav.numel() / rate
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, constrained_layout=True)
    axes[0].plot(torch.arange(wav.numel()) / rate, wav.numpy(), linewidth=0.5)
    axes[0].set(ylabel="amplitude", title=Path(args.audio).name, xlim=(0, duration))
    im = axes[1].imshow(
        spec[0].T.numpy(),
        origin="lower",
        aspect="auto",
        extent=(*column_span(cfg, spec.shape[1]), 0, rate / 2),
        cmap="magma",
    )
    axes[1].set(ylabel="frequency (Hz)", title="power spectrogram (dB)")
    fig.colorbar(im, ax=axes[1])
    data = feats[0].T.numpy()
    im = axes[2].imshow(
        data,
        origin="lower",
        aspect="auto",
        extent=(*column_span(cfg, feats.shape[1]), 0, data.shape[0]),
        cmap="viridis",
    )
    if args.kind == "fbank":
        high = resolve_f_max(cfg.f_max, rate)  # Kaldi's f_max <= 0 is an offset from Nyquist
        centres = mel_frequencies(cfg.n_mels + 2, cfg.f_min, high, cfg.mel_scale)[1:-1]
        first = 1 if cfg.use_energy else 0  # row 0 holds the log-energy
        ticks = list(range(0, cfg.n_mels, max(1, cfg.n_mels // 6)))
        labels = [f"{float(centres[t]):.0f}" for t in ticks]
        rows = [first + t + 0.5 for t in ticks]
        if first:
            rows, labels = [0.5, *rows], ["energy", *labels]
        axes[2].set_yticks(rows, labels)
        axes[2].set(ylabel="mel bin centre (Hz)", title=f"{cfg.n_mels} log mel filterbank energies")
    else:
        axes[2].set(ylabel="cepstral coefficient", title=f"{cfg.n_mfcc} MFCCs")
    axes[2].set(xlabel="time (s)", xlim=(0, duration))  # the axes share x: all three
    fig.colorbar(im, ax=axes[2])
    fmt = Path(args.output).suffix.lstrip(".") or "png"
    with atomic_write(args.output, "wb") as f:
        fig.savefig(f, format=fmt, dpi=100)
    plt.close(fig)
    print(f"wrote {args.output}")
    return 0
