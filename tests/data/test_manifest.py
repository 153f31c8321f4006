"""JSON-lines manifests: round trip, relative paths, errors naming file and line."""

from __future__ import annotations

import json

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
