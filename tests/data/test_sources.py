"""Readers: Kaldi data dirs, Hugging Face datasets (soundfile decoding), folders."""

from __future__ import annotations

import io
import logging
import shutil

import numpy as np
import pytest
import soundfile
import torch

from seqlab.audio import load_audio
from seqlab.data import (
    ManifestError,
    read_folder,
    read_hf_dataset,
    read_kaldi_dir,
    read_manifest,
    read_source,
)


def test_kaldi_dir_matches_the_manifest_of_the_same_data(tiny_dir, monkeypatch):
    monkeypatch.chdir(tiny_dir.parents[1])  # wav.scp paths are relative to the repository
    utts, loader = read_kaldi_dir("data/tiny/train")
    manifest = read_manifest(tiny_dir / "train.jsonl")
    assert [(u.id, u.text, u.speaker) for u in utts] == [
        (u.id, u.text, u.speaker) for u in manifest
    ]
    for a, b in zip(utts, manifest):
        assert abs(a.duration - b.duration) < 1e-6
    wave, rate = loader(utts[0])
    ref, _ = soundfile.read(utts[0].audio, dtype="float32")
    assert rate == 16000 and np.array_equal(wave.numpy(), ref)


def test_kaldi_dir_skips_and_counts_missing_audio(tmp_path, tiny_dir, caplog):
    flac = next((tiny_dir / "wav").glob("*.flac"))
    (tmp_path / "wav.scp").write_text(f"u1 {flac}\nu2 {tmp_path}/missing.wav\n")
    (tmp_path / "text").write_text("u1 one two\nu2 three\n")
    with caplog.at_level(logging.WARNING):
        utts, _ = read_kaldi_dir(tmp_path)
    assert [u.id for u in utts] == ["u1"] and utts[0].speaker is None
    assert "skipped 1 entries (1 unreadable or missing audio)" in caplog.text


def test_segmented_kaldi_dir_is_rejected_naming_the_segments_file(tmp_path):
    soundfile.write(tmp_path / "rec1.wav", np.zeros(16000, dtype=np.float32), 16000)
    (tmp_path / "wav.scp").write_text(f"rec1 {tmp_path}/rec1.wav\n")
    (tmp_path / "segments").write_text("rec1-a rec1 0.00 0.40\nrec1-b rec1 0.50 0.90\n")
    (tmp_path / "text").write_text("rec1-a one\nrec1-b two\n")
    for read in (read_kaldi_dir, read_source):
        with pytest.raises(ManifestError, match="segments: segmented Kaldi data dirs are not") as e:
            read(tmp_path)
        assert str(tmp_path / "segments") in str(e.value) and "extract-segments" in str(e.value)


def test_hf_dataset_bytes_decoded_with_soundfile(tiny_dir, tmp_path):
    import datasets

    files = sorted((tiny_dir / "wav").glob("*.flac"))[:3]
    table = {
        "id": [f.stem for f in files],
        "audio": [{"bytes": f.read_bytes(), "path": None} for f in files],
        "text": ["one", "two", "three"],
    }
    ds = datasets.Dataset.from_dict(table).cast_column("audio", datasets.Audio(decode=False))
    utts, loader = read_hf_dataset(ds)
    assert [u.id for u in utts] == [f.stem for f in files]
    assert [u.text for u in utts] == ["one", "two", "three"]
    for utt, f in zip(utts, files):
        wave, rate = loader(utt)
        ref, ref_rate = load_audio(f)
        assert rate == ref_rate and torch.equal(wave, ref)
        assert abs(utt.duration - ref.numel() / ref_rate) < 1e-9
    ds.save_to_disk(str(tmp_path / "saved"))
    again, loader2 = read_source(tmp_path / "saved")
    assert [u.id for u in again] == [u.id for u in utts]
    assert torch.equal(loader2(again[1])[0], loader(utts[1])[0])


def test_hf_dataset_skips_undecodable_rows():
    import datasets

    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(1600, dtype=np.float32), 16000, format="WAV")
    table = {"audio": [{"bytes": b"not audio", "path": None}, {"bytes": buf.getvalue(), "path": None}],
             "text": ["bad", "good"]}  # fmt: skip
    ds = datasets.Dataset.from_dict(table).cast_column("audio", datasets.Audio(decode=False))
    utts, _ = read_hf_dataset(ds, id_column=None)
    assert [(u.id, u.text) for u in utts] == [("00000001", "good")]


def test_folder_reader_pairs_audio_with_txt(tmp_path, tiny_dir):
    files = sorted((tiny_dir / "wav").glob("*.flac"))[:2]
    (tmp_path / "spk").mkdir()
    shutil.copy(files[0], tmp_path / "spk" / "a.flac")
    (tmp_path / "spk" / "a.txt").write_text("one  two\n")
    shutil.copy(files[1], tmp_path / "b.flac")  # no transcript: skipped
    utts, _ = read_folder(tmp_path)
    assert [(u.id, u.text, u.speaker) for u in utts] == [("spk-a", "one two", "spk")]
    assert read_source(tmp_path)[0] == utts
    import soundfile

    audio, rate = soundfile.read(files[0])
    soundfile.write(tmp_path / "spk" / "a.wav", audio, rate)  # a second file with id spk-a
    with pytest.raises(ManifestError, match=r"a\.wav and .*a\.flac both give utterance id 'spk-a'"):
        read_folder(tmp_path)


def test_manifest_without_durations_reads_them_from_headers(tmp_path, tiny_dir):
    import json

    rows = [json.loads(line) for line in (tiny_dir / "valid.jsonl").read_text().splitlines()]
    with open(tmp_path / "m.jsonl", "w") as f:
        for row in rows[:2]:
            f.write(json.dumps({"id": row["id"], "audio": str(tiny_dir / row["audio"]),
                                "text": row["text"]}) + "\n")  # fmt: skip
    utts, _ = read_source(tmp_path / "m.jsonl")
    assert [round(u.duration, 6) for u in utts] == [round(r["duration"], 6) for r in rows[:2]]
