"""Small file helpers shared by every layer: atomic writes and Kaldi-style tables.

A Kaldi table file (``text``, ``wav.scp``, ``utt2spk``) has one entry per line: a key, whitespace,
and the rest of the line as the value (possibly empty, e.g. an empty transcript).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO


class TableFormatError(ValueError):
    """A Kaldi-style table file has a malformed line; the message names the file and line."""


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file beside ``path`` and rename it over ``path`` only on success.

    ``path == "-"`` writes to standard output instead (text mode only). On an exception the
    temporary file is removed and ``path`` is left untouched, so readers never see half a file.
    The file gets the permissions ``open()`` would give: those of the file it replaces, or
    ``0o666`` less the umask for a new one. A symlink is followed (its target is replaced);
    a device or FIFO (``/dev/null``) is written directly, as it cannot be replaced. An error
    that creating or renaming the file raises names ``path``, not the temporary file.

    >>> with atomic_write("out.txt") as f:
    ...     f.write("hello\\n")
    """
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    shown = path
    binary = "b" in mode
    try:
        existing = os.stat(path)  # follows symlinks and /dev/stdout, /dev/fd/N links
    except FileNotFoundError:
        existing = None
    if (
        existing is not None
        and not stat.S_ISREG(existing.st_mode)
        and not stat.S_ISDIR(existing.st_mode)
    ):  # /dev/null, a FIFO, a terminal: written in place
        with open(path, mode, encoding=None if binary else encoding) as f:
            yield f
        return
    path = Path(os.path.realpath(path))  # a symlink's target
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        fd, tmp = _create_beside(path)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {shown}: {e.strerror}") from None
    try:
        if existing is not None:  # keep the replaced file's permissions
            with contextlib.suppress(OSError):  # (some filesystems refuse chmod)
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def check_output_is_not_an_input(
    output: str | os.PathLike | None, *inputs: str | os.PathLike | None, option: str = "-o"
) -> None:
    """Raise ``ValueError`` when ``output`` names the same file as one of ``inputs`` (writing
    it would destroy that input); ``None`` and ``-`` are never compared."""
    if output is None or str(output) == "-":
        return
    target = os.path.realpath(output)
    for source in inputs:
        if source is not None and str(source) != "-" and os.path.realpath(source) == target:
            raise ValueError(f"{output}: {option} names an input file; it would be overwritten")


def _create_beside(path: Path) -> tuple[int, str]:
    """A new hidden temporary file in ``path``'s folder: ``(fd, name)``. Created with mode
    0o666 so the kernel applies the umask, as for ``open()`` (``mkstemp`` forces 0o600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {path}")


def numbered_lines(
    path: str | os.PathLike, error: type[Exception] = ValueError
) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 text file (``-``: standard input) with ``\\n`` or
    ``\\r\\n`` stripped and a leading byte-order mark dropped; only ``\\n`` ends a line.

    The file is opened now (``OSError`` here) and decoded line by line, so invalid UTF-8 raises
    ``error("path:line: not valid UTF-8 text (reason)")`` naming its line.
    """
    if str(path) == "-":
        stdin = sys.stdin  # a replaced text stdin (io.StringIO) has no bytes below it
        raw = getattr(stdin, "buffer", None) or io.BytesIO(stdin.read().encode("utf-8"))
        stream: IO[bytes] = contextlib.nullcontext(raw)  # type: ignore[assignment]
    else:
        stream = open(path, "rb")
    return _decoded_lines(stream, path, error)


def _decoded_lines(
    stream: IO[bytes], path: str | os.PathLike, error: type[Exception]
) -> Iterator[tuple[int, str]]:
    with stream as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as e:
                raise error(f"{path}:{lineno}: not valid UTF-8 text ({e.reason})") from None
            yield lineno, line[:-2] if line.endswith("\r\n") else line.rstrip("\n")


def open_text(path: str | os.PathLike) -> IO[str]:
    """Open a UTF-8 text file for reading; ``"-"`` means standard input. A byte-order mark
    at the start (as some Windows editors write) is dropped, so it never sticks to the first
    key or word."""
    if str(path) == "-":
        return contextlib.nullcontext(sys.stdin)  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig")


def read_table(path: str | os.PathLike, allow_duplicates: bool = False) -> dict[str, str]:
    """Read a Kaldi-style table ``key value...`` into an ordered dict ``{key: value}``.

    Blank lines are skipped; the value is the rest of the line with surrounding whitespace
    stripped (empty for a line holding only a key). Duplicate keys raise
    :class:`TableFormatError` naming the file and line unless ``allow_duplicates`` (last wins).
    """
    table: dict[str, str] = {}
    first_seen: dict[str, int] = {}
    try:
        with open_text(path) as f:
            for lineno, line in enumerate(f, start=1):
                line = line.strip()
                if not line:
                    continue
                parts = line.split(maxsplit=1)
                key = parts[0]
                value = parts[1] if len(parts) > 1 else ""
                if key in table and not allow_duplicates:
                    raise TableFormatError(
                        f"{path}:{lineno}: duplicate key {key!r} (first on line {first_seen[key]})"
                    )
                table[key] = value
                first_seen.setdefault(key, lineno)
    except UnicodeDecodeError as e:
        raise TableFormatError(f"{path}: not valid UTF-8 text ({e})") from e
    return table
