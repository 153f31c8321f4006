"""seqlab.io: atomic writes and Kaldi table reading."""

from __future__ import annotations

import os
import stat
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlab.io import TableFormatError, atomic_write, read_table


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "sub" / "out.txt"
    with atomic_write(path) as f:
        f.write("first\n")
    assert path.read_text() == "first\n"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path) as f:
            f.write("half a file")
            raise RuntimeError("boom")
    assert path.read_text() == "first\n"  # untouched
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]  # no temp file left


def test_atomic_write_new_file_absent_after_failure(tmp_path):
    path = tmp_path / "never.bin"
    with pytest.raises(KeyError):
        with atomic_write(path, "wb") as f:
            f.write(b"\x00\x01")
            raise KeyError("x")
    assert list(tmp_path.iterdir()) == []
    with atomic_write(path, "wb") as f:
        f.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


def test_atomic_write_dash_is_stdout(capsys):
    with atomic_write("-") as f:
        f.write("to stdout\n")
    assert capsys.readouterr().out == "to stdout\n"


def test_read_table_values_blank_lines_and_empty_values(tmp_path):
    path = tmp_path / "text"
    path.write_text("utt1 hello  world\n\n  utt2\tüber  \nutt3\n", encoding="utf-8")
    assert read_table(path) == {"utt1": "hello  world", "utt2": "über", "utt3": ""}
    assert list(read_table(path)) == ["utt1", "utt2", "utt3"]  # file order kept


def test_read_table_duplicates_name_file_and_lines(tmp_path):
    path = tmp_path / "text"
    path.write_text("a 1\nb 2\n\na 3\n", encoding="utf-8")
    with pytest.raises(TableFormatError, match=r"text:4: duplicate key 'a' \(first on line 1\)"):
        read_table(path)
    assert read_table(path, allow_duplicates=True) == {"a": "3", "b": "2"}
    assert issubclass(TableFormatError, ValueError)


def test_read_table_rejects_invalid_utf8_and_missing_file(tmp_path):
    path = tmp_path / "latin1"
    path.write_bytes("utt1 caf\xe9\n".encode("latin-1"))
    with pytest.raises(TableFormatError, match="latin1: not valid UTF-8"):
        read_table(path)
    with pytest.raises(OSError):
        read_table(tmp_path / "missing")


keys = st.text(alphabet="abcxyz0123-_", min_size=1, max_size=8)
values = st.lists(st.text(alphabet="abc ü中", min_size=1).map(str.strip).filter(bool), max_size=4)


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(keys, values.map(" ".join), max_size=6))
def test_read_table_round_trip(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("t") / "table"
    with atomic_write(path) as f:
        for key, value in table.items():
            f.write(f"{key} {value}\n")
    assert read_table(path) == table


def test_atomic_write_permissions_follow_umask_or_the_replaced_file(tmp_path):
    old_mask = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.txt") as f:
            f.write("x")
        assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
        existing = tmp_path / "existing.txt"
        existing.write_text("old")
        existing.chmod(0o604)
        with atomic_write(existing) as f:
            f.write("new")
        assert stat.S_IMODE(existing.stat().st_mode) == 0o604 and existing.read_text() == "new"
    finally:
        os.umask(old_mask)


def test_read_table_drops_a_byte_order_mark(tmp_path):
    path = tmp_path / "text"
    path.write_bytes("\ufeffu1 hello world\nu2 bye\n".encode())
    assert read_table(path) == {"u1": "hello world", "u2": "bye"}


def test_atomic_write_follows_symlinks_and_writes_devices_in_place(tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with atomic_write(link) as f:
        f.write("new")
    assert link.is_symlink() and target.read_text() == "new"
    # a FIFO (like a device such as /dev/null) cannot be replaced by a file: written in place
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_write(fifo) as f:
        f.write("through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    read_end, write_end = os.pipe()  # /dev/fd/N, as a shell's process substitution gives
    with atomic_write(f"/dev/fd/{write_end}") as f:
        f.write("substituted")
    os.close(write_end)
    assert os.read(read_end, 100) == b"substituted"
    os.close(read_end)
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError, match=r"cannot write .*folder: is a directory"):
        with atomic_write(tmp_path / "folder") as f:
            f.write("x")
    assert not list(tmp_path.glob(".*.tmp"))
