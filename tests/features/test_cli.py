"""``seqlab features compute`` / ``plot`` end to end on synthesized speech."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as kaldi
from PIL import Image

from seqlab.audio import load_audio, save_audio
from seqlab.cli.main import main
from seqlab.data.synthetic import synthesize
from seqlab.features import GlobalCMVN


@pytest.fixture()
def corpus(tmp_path):
    scp = tmp_path / "wav.scp"
    lines = []
    for i, text in enumerate(["good morning", "one two three four", "yes"]):
        path = tmp_path / f"u{i}.wav"
        save_audio(path, synthesize(text), 16000)
        lines.append(f"utt{i} {path}\n")
    scp.write_text("".join(lines))
    return scp


def test_compute_writes_numpy_features_and_manifest(corpus, tmp_path) -> None:
    out = tmp_path / "out"
    assert (
        main(
            [
                "features",
                "compute",
                "--preset",
                "kaldi",
                "--kind",
                "mfcc",
                "--deltas",
                str(corpus),
                str(out),
            ]
        )
        == 0
    )
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [m["utt"] for m in manifest] == ["utt0", "utt1", "utt2"]
    frames = dict(line.split() for line in (out / "utt2num_frames").read_text().splitlines())
    for m in manifest:
        feats = np.load(out / m["path"])
        assert feats.shape == (m["num_frames"], 39) and int(frames[m["utt"]]) == m["num_frames"]
    wav, _ = load_audio(out.parent / "u1.wav")
    ref = kaldi.mfcc(wav[None].double() * 32768, dither=0.0, energy_floor=0.0, use_energy=True)
    ours = np.load(out / "feats" / "utt1.npy")[:, :13]
    assert np.abs(ours - ref.numpy()).max() < 3e-3
    stats = GlobalCMVN.load(out / "cmvn_stats.txt")
    assert stats.count == sum(m["num_frames"] for m in manifest) and stats.num_features == 39


def test_compute_cmvn_and_rate_mismatch(corpus, tmp_path) -> None:
    out = tmp_path / "cmvn"
    assert main(["features", "compute", "--kind", "fbank", "--cmvn", str(corpus), str(out)]) == 0
    feats = np.load(out / "feats" / "utt0.npy")
    assert feats.shape[1] == 23 and np.abs(feats.mean(0)).max() < 1e-4
    assert (
        main(["features", "compute", "--sample-rate", "8000", str(corpus), str(tmp_path / "x")])
        == 1
    )
    assert (
        main(
            [
                "features",
                "compute",
                "--sample-rate",
                "8000",
                "--resample",
                str(corpus),
                str(tmp_path / "y"),
            ]
        )
        == 0
    )
    assert (
        main(["features", "compute", "--set", "n_mels=40", str(corpus), str(tmp_path / "z")]) == 0
    )
    assert np.load(tmp_path / "z" / "feats" / "utt2.npy").shape[1] == 40


@pytest.mark.parametrize("kind", ["mfcc", "fbank"])
def test_plot_writes_a_figure(kind: str, corpus, tmp_path) -> None:
    fig = tmp_path / f"{kind}.png"
    assert (
        main(["features", "plot", str(corpus.parent / "u1.wav"), "--kind", kind, "-o", str(fig)])
        == 0
    )
    image = np.asarray(Image.open(fig))
    assert image.shape[0] > 400 and image.shape[1] > 600 and image.std() > 10


def test_plot_columns_sit_on_frame_centres() -> None:
    from seqlab.cli.features import column_span
    from seqlab.features import resolve_config

    kaldi = resolve_config("kaldi", "fbank")  # 400-sample frames every 160, snip_edges
    left, right = column_span(kaldi, 10)
    assert left == pytest.approx((200 - 80) / 16000) and right == pytest.approx(left + 0.1)
    librosa = resolve_config("librosa", "mfcc", sample_rate=16000)  # centred 2048 / 512
    assert column_span(librosa, 4) == pytest.approx((-256 / 16000, 3 * 512 / 16000 + 256 / 16000))


def test_plot_with_kaldi_high_freq_offset_and_energy(corpus, tmp_path) -> None:
    fig = tmp_path / "fbank.png"
    args = ["features", "plot", str(corpus.parent / "u1.wav"), "-o", str(fig)]
    assert main([*args, "--set", "f_max=-400", "--set", "use_energy=true"]) == 0
    assert fig.stat().st_size > 10_000


def test_norm_vars_needs_cmvn_and_no_frames_leave_no_stats(corpus, tmp_path, capsys) -> None:
    assert main(["features", "compute", "--norm-vars", str(corpus), str(tmp_path / "a")]) == 1
    assert "--norm-vars" in capsys.readouterr().err
    short = tmp_path / "short.wav"
    save_audio(short, torch.zeros(200), 16000)  # shorter than one 400-sample frame
    scp = tmp_path / "short.scp"
    scp.write_text(f"s1 {short}\n")
    out = tmp_path / "out"
    assert main(["features", "compute", str(corpus), str(out)]) == 0
    assert (out / "cmvn_stats.txt").is_file()
    assert main(["features", "compute", str(scp), str(out)]) == 0  # the same folder again
    assert not (out / "cmvn_stats.txt").exists()  # no stale stats of the earlier run
    assert "no frames" in capsys.readouterr().err
    assert np.load(out / "feats" / "s1.npy").shape == (0, 23)


def test_a_failed_run_leaves_the_previous_results_whole(corpus, tmp_path) -> None:
    import soundfile

    out = tmp_path / "out"
    assert main(["features", "compute", str(corpus), str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "broken.wav"
    soundfile.write(broken, np.full(8000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    scp = tmp_path / "with_nan.scp"
    scp.write_text(corpus.read_text() + f"bad {broken}\n")
    assert (
        main(["features", "compute", "--deltas", str(scp), str(out), "--batch-seconds", "1"]) == 1
    )
    after = {p.name: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # no half-written run, no mix of the two
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert main(["features", "compute", "--deltas", str(corpus), str(out)]) == 0
    assert np.load(out / "feats" / "utt0.npy").shape[1] == 69  # a later run replaces it all
