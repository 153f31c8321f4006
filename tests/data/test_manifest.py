"""JSON-lines manifests: round trip, relative paths, errors naming file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.data import ManifestError, Utterance, read_manifest, write_manifest


def test_round_trip_with_relative_audio_paths(tmp_path):
    utts = [
        Utterance("a", str(tmp_path / "wav" / "a.flac"), 1.5, "hello world", "spk1"),
        Utterance("b", "/abs/b.wav", 0.25, "", None),
    ]
    write_manifest(tmp_path / "m.jsonl", utts, relative_to=str(tmp_path))
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert rows[0]["audio"] == "wav/a.flac" and "speaker" not in rows[1]
    assert read_manifest(tmp_path / "m.jsonl") == utts


@pytest.mark.parametrize("relative_to", ["none", "manifest folder", "other folder"])
def test_round_trip_to_another_folder_keeps_the_audio_files(
    tmp_path, tiny_dir, monkeypatch, relative_to
):
    monkeypatch.chdir(tiny_dir.parents[1])  # read by a relative path: audio relative to the cwd
    utts = read_manifest("data/tiny/train.jsonl")
    assert not Path(utts[0].audio).is_absolute()
    out = tmp_path / "x" / "m.jsonl"
    base = {"none": None, "manifest folder": str(out.parent), "other folder": str(tmp_path / "y")}
    write_manifest(out, utts, relative_to=base[relative_to])
    again = read_manifest(out)
    assert [Path(u.audio).resolve() for u in again] == [Path(u.audio).resolve() for u in utts]
    assert all(Path(u.audio).is_file() for u in again)
    assert [(u.id, u.duration, u.text, u.speaker) for u in again] == [
        (u.id, u.duration, u.text, u.speaker) for u in utts
    ]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(Path(r["audio"]).is_absolute() for r in rows)  # none lies under relative_to


def test_paths_under_relative_to_stay_relative_and_the_folder_can_move(tmp_path, tiny_dir):
    shutil.copytree(tiny_dir / "wav", tmp_path / "d" / "wav")
    utts = [
        Utterance(u.id, str(tmp_path / "d" / "wav" / Path(u.audio).name), u.duration, u.text)
        for u in read_manifest(tiny_dir / "train.jsonl")
    ]
    write_manifest(tmp_path / "d" / "m.jsonl", utts, relative_to=str(tmp_path / "d"))
    rows = [json.loads(line) for line in (tmp_path / "d" / "m.jsonl").read_text().splitlines()]
    assert [r["audio"] for r in rows] == [f"wav/{u.id}.flac" for u in utts]
    (tmp_path / "d").rename(tmp_path / "moved")
    again = read_manifest(tmp_path / "moved" / "m.jsonl")
    assert [u.audio for u in again] == [str(tmp_path / "moved" / r["audio"]) for r in rows]
    assert all(Path(u.audio).is_file() for u in again)


def test_relative_audio_written_absolute_and_urls_kept(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    utts = [Utterance("a", "wav/a.flac", 1.0, "x"), Utterance("h", "hf://3", 1.0, "y")]
    absolute = str(tmp_path.resolve() / "wav" / "a.flac")
    for folder, relative_to, expected in [
        (tmp_path, str(tmp_path), "wav/a.flac"),  # under relative_to: stays relative
        (tmp_path, None, absolute),
        (tmp_path / "out", str(tmp_path / "out"), absolute),
    ]:
        write_manifest(folder / "m.jsonl", utts, relative_to=relative_to)
        rows = [json.loads(line) for line in (folder / "m.jsonl").read_text().splitlines()]
        assert [r["audio"] for r in rows] == [expected, "hf://3"]
        assert [u.audio for u in read_manifest(folder / "m.jsonl")] == [
            str(folder / expected),
            "hf://3",
        ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=0, max_size=20), st.floats(0, 100)), max_size=5))
def test_round_trip_arbitrary_text(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("m") / "m.jsonl"
    utts = [Utterance(f"u{i}", f"/x/{i}.wav", d, t) for i, (t, d) in enumerate(rows)]
    write_manifest(path, utts)
    assert read_manifest(path) == utts


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", ":2: bad manifest entry"),
        ('{"id": "x"}', ":2: bad manifest entry"),
        ('{"id": "a", "audio": "a.wav"}', ":2: duplicate utterance id 'a'"),
        ("[1, 2]", ":2: bad manifest entry"),
    ],
)
def test_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "audio": "a.wav", "text": "x"}\n' + line + "\n")
    with pytest.raises(ManifestError, match=message):
        read_manifest(path)
    with pytest.raises(ManifestError, match="cannot read manifest"):
        read_manifest(tmp_path / "missing.jsonl")
