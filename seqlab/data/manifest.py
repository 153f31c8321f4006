"""JSON-lines manifests: one utterance per line, ``{"id", "audio", "duration", "text", "speaker"?}``.

``audio`` is a path, relative paths being resolved against the manifest's folder (so a
dataset folder can be moved as a whole), or a URL-like location (``hf://3``) kept as written;
``duration`` is in seconds. In memory (:class:`Utterance`), a relative ``audio`` path is relative
to the working directory, like any path given to ``open``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from seqlab.io import atomic_write, numbered_lines

__all__ = ["Utterance", "ManifestError", "read_manifest", "write_manifest"]


class ManifestError(ValueError):
    """A manifest line is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Utterance:
    """One utterance: id, audio location, duration (seconds), transcript, optional speaker."""

    id: str
    audio: str
    duration: float
    text: str
    speaker: str | None = None


def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Read a JSON-lines manifest (blank lines skipped; relative audio paths resolved)."""
    path = Path(path)
    base = path.parent
    utts: list[Utterance] = []
    seen: set[str] = set()
    try:
        lines = numbered_lines(path, ManifestError)
    except OSError as e:
        raise ManifestError(f"{path}: cannot read manifest ({e.strerror or e})") from e
    for lineno, line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("not an object")
            utt = Utterance(
                id=str(row["id"]),
                audio=str(row["audio"]),
                duration=float(row.get("duration", 0.0)),
                text=str(row.get("text", "")),
                speaker=None if row.get("speaker") is None else str(row["speaker"]),
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"{path}:{lineno}: bad manifest entry ({e!r})") from e
        if utt.id in seen:
            raise ManifestError(f"{path}:{lineno}: duplicate utterance id {utt.id!r}")
        seen.add(utt.id)
        if not os.path.isabs(utt.audio) and not _is_url(utt.audio):
            utt = Utterance(utt.id, str(base / utt.audio), utt.duration, utt.text, utt.speaker)
        utts.append(utt)
    return utts


def _is_url(audio: str) -> bool:
    """Whether ``audio`` is a location such as ``hf://3`` rather than a file path."""
    return "://" in audio


def write_manifest(
    path: str | os.PathLike, utterances: Iterable[Utterance], relative_to: str | None = None
) -> None:
    """Write utterances as JSON lines atomically, so that :func:`read_manifest` of ``path``
    gives back the same audio files.

    ``relative_to``: when given, audio paths under it are written relative to it. Since
    :func:`read_manifest` resolves relative paths against the manifest's folder, pass that
    folder (``relative_to=str(Path(path).parent)``): the dataset folder can then be moved as a
    whole. Every other relative audio path (all of them when ``relative_to`` is ``None``) is
    relative to the working directory and is written absolute (symlinks resolved), so the
    manifest can be written to any folder; absolute paths and URL-like locations
    (``hf://3``) are written as they are.
    """
    base = None if relative_to is None else Path(relative_to).resolve()
    with atomic_write(path) as f:
        for utt in utterances:
            row = asdict(utt)
            if utt.audio and not _is_url(utt.audio):
                audio = Path(utt.audio).resolve()
                if base is not None and audio.is_relative_to(base):
                    row["audio"] = str(audio.relative_to(base))
                elif not os.path.isabs(utt.audio):
                    row["audio"] = str(audio)
            if row["speaker"] is None:
                del row["speaker"]
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
