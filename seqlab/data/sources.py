"""Dataset readers: Kaldi data dirs, Hugging Face ``datasets`` and folders of audio + ``.txt``.

Each reader returns ``(utterances, loader)``: a list of :class:`Utterance` and a callable
``loader(utt) -> (waveform (N,) float32, rate)`` that the dataset uses to fetch the audio.
Entries whose audio is missing are skipped and counted (a warning names how many), never a
crash.
"""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

from seqlab.audio import AudioError, audio_info, load_audio, read_wav_scp
from seqlab.data.manifest import ManifestError, Utterance, read_manifest
from seqlab.io import read_table

__all__ = [
    "AudioLoader",
    "load_file_audio",
    "HFAudioLoader",
    "read_kaldi_dir",
    "read_hf_dataset",
    "read_folder",
    "read_source",
]

log = logging.getLogger(__name__)

AudioLoader = Callable[[Utterance], tuple[torch.Tensor, int]]
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".sph")


def load_file_audio(utt: Utterance) -> tuple[torch.Tensor, int]:
    """Default loader: ``seqlab.audio.load_audio(utt.audio)`` (mono, file's own rate)."""
    return load_audio(utt.audio)


def _duration(path: str) -> float | None:
    try:
        rate, frames, _ = audio_info(path)
    except AudioError:
        return None
    return frames / rate


def _report(kind: str, source: Any, skipped: Counter) -> None:
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        log.warning("%s %s: skipped %d entries (%s)", kind, source, sum(skipped.values()), reasons)


def read_kaldi_dir(path: str | os.PathLike) -> tuple[list[Utterance], AudioLoader]:
    """Read ``wav.scp``, ``text`` and (optional) ``utt2spk`` of a Kaldi data directory.

    Utterances are those of ``wav.scp`` in its order; missing transcripts become empty (and are
    skipped later by the dataset filter), missing audio files are skipped here.

    Raises:
        ManifestError: the directory has a ``segments`` file (utterances as time spans of the
            recordings of ``wav.scp``), which an :class:`Utterance` (one whole audio file)
            cannot express.
    """
    path = Path(path)
    if (path / "segments").exists():
        raise ManifestError(
            f"{path / 'segments'}: segmented Kaldi data dirs are not supported (seqlab reads one "
            "whole audio file per utterance); cut the segments into files first, e.g. with "
            "Kaldi's extract-segments, and write a wav.scp with one file per segment"
        )
    wavs = read_wav_scp(path / "wav.scp")
    texts = read_table(path / "text") if (path / "text").exists() else {}
    spk = read_table(path / "utt2spk") if (path / "utt2spk").exists() else {}
    utts, skipped = [], Counter()
    for utt_id, audio in wavs.items():
        duration = _duration(audio)
        if duration is None:
            skipped["unreadable or missing audio"] += 1
            continue
        utts.append(Utterance(utt_id, audio, duration, texts.get(utt_id, ""), spk.get(utt_id)))
    _report("Kaldi dir", path, skipped)
    return utts, load_file_audio


def read_folder(path: str | os.PathLike) -> tuple[list[Utterance], AudioLoader]:
    """Every audio file under ``path`` (recursively) with a transcript in ``<same stem>.txt``.

    Ids are the paths relative to ``path`` without suffix, ``/`` replaced by ``-``; the speaker
    is the name of the audio file's parent folder when it is not ``path`` itself.

    Raises:
        ManifestError: two audio files give one id (``x.wav`` and ``x.flac`` beside one
            ``x.txt``), naming both.
    """
    root = Path(path)
    utts, skipped = [], Counter()
    seen: dict[str, Path] = {}
    for audio in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES):
        txt = audio.with_suffix(".txt")
        if not txt.exists():
            skipped["no .txt transcript"] += 1
            continue
        duration = _duration(str(audio))
        if duration is None:
            skipped["unreadable audio"] += 1
            continue
        rel = audio.relative_to(root).with_suffix("")
        utt_id = str(rel).replace(os.sep, "-")
        if utt_id in seen:
            raise ManifestError(f"{audio} and {seen[utt_id]} both give utterance id {utt_id!r}")
        seen[utt_id] = audio
        speaker = audio.parent.name if audio.parent != root else None
        text = " ".join(txt.read_text(encoding="utf-8").split())
        utts.append(Utterance(utt_id, str(audio), duration, text, speaker))
    _report("folder", root, skipped)
    return utts, load_file_audio


def _decode_bytes(data: bytes, where: str) -> tuple[torch.Tensor, int]:
    try:
        array, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as e:
        raise AudioError(f"{where}: cannot decode audio bytes ({e})") from e
    if array.shape[0] == 0 or not np.isfinite(array).all():
        raise AudioError(f"{where}: audio is empty or holds NaN/inf samples")
    return torch.from_numpy(np.ascontiguousarray(array.mean(axis=1))), int(rate)


class HFAudioLoader:
    """Decode an ``Audio(decode=False)`` column of a ``datasets.Dataset`` with soundfile.

    ``utt.audio`` is ``"hf://<row index>"``. Rows holding ``bytes`` are decoded in memory;
    rows with only a ``path`` are read from disk. No FFmpeg or torchcodec is involved.
    """

    def __init__(self, dataset: Any, audio_column: str = "audio") -> None:
        self.dataset = dataset
        self.audio_column = audio_column

    def row_audio(self, index: int) -> dict[str, Any]:
        return self.dataset[index][self.audio_column]

    def load_row(self, index: int) -> tuple[torch.Tensor, int]:
        cell = self.row_audio(index)
        where = f"dataset row {index}"
        if cell.get("bytes"):
            return _decode_bytes(cell["bytes"], where)
        if cell.get("path"):
            return load_audio(cell["path"])
        raise AudioError(f"{where}: audio cell has neither bytes nor path")

    def __call__(self, utt: Utterance) -> tuple[torch.Tensor, int]:
        return self.load_row(int(utt.audio.removeprefix("hf://")))


def read_hf_dataset(
    dataset: Any,
    audio_column: str = "audio",
    text_column: str = "text",
    id_column: str | None = "id",
    speaker_column: str | None = "speaker",
) -> tuple[list[Utterance], AudioLoader]:
    """Utterances of a Hugging Face ``datasets.Dataset`` (a local one: no hub access here).

    The audio column is cast to ``Audio(decode=False)`` so the bytes are decoded by soundfile.
    Durations come from the decoded headers; undecodable rows are skipped and counted.
    ``dataset`` may also be a path saved with ``Dataset.save_to_disk``.
    """
    import datasets

    if isinstance(dataset, (str, os.PathLike)):
        dataset = datasets.load_from_disk(str(dataset))
    dataset = dataset.cast_column(audio_column, datasets.Audio(decode=False))
    loader = HFAudioLoader(dataset, audio_column)
    columns = set(dataset.column_names)
    utts, skipped = [], Counter()
    for i in range(len(dataset)):
        row = dataset[i]
        cell = row[audio_column]
        try:
            if cell.get("bytes"):
                info = soundfile.info(io.BytesIO(cell["bytes"]))
                duration = info.frames / info.samplerate
            else:
                duration = _duration(cell.get("path") or "")
                if duration is None:
                    raise AudioError("missing")
        except (RuntimeError, soundfile.LibsndfileError, AudioError):
            skipped["undecodable audio"] += 1
            continue
        utt_id = str(row[id_column]) if id_column in columns else f"{i:08d}"
        speaker = str(row[speaker_column]) if speaker_column in columns else None
        utts.append(Utterance(utt_id, f"hf://{i}", duration, str(row[text_column] or ""), speaker))
    _report("dataset", getattr(dataset, "info", None) and dataset.info.dataset_name, skipped)
    return utts, loader


def _fill_durations(utts: list[Utterance]) -> list[Utterance]:
    """Read the duration from the audio header where a manifest gives none (or 0)."""
    out = []
    for u in utts:
        if u.duration <= 0 and "://" not in u.audio:
            duration = _duration(u.audio)
            if duration is not None:
                u = Utterance(u.id, u.audio, duration, u.text, u.speaker)
        out.append(u)
    return out


def read_source(spec: str | os.PathLike) -> tuple[list[Utterance], AudioLoader]:
    """Read a data source by its path: a ``.jsonl`` manifest, a Kaldi dir (has ``wav.scp``),
    a dataset saved with ``datasets.Dataset.save_to_disk`` (has ``state.json``) or a folder.

    Manifest entries without a duration get it from their audio header.
    """
    path = Path(spec)
    if not str(spec):
        raise ManifestError("no data source given (an empty path)")
    if path.is_file():
        utts, loader = _fill_durations(read_manifest(path)), load_file_audio
    elif (path / "wav.scp").exists():
        utts, loader = read_kaldi_dir(path)
    elif (path / "state.json").exists() and (path / "dataset_info.json").exists():
        utts, loader = read_hf_dataset(str(path))
    elif path.is_dir():
        utts, loader = read_folder(path)
    else:
        raise ManifestError(f"{path}: no such manifest, Kaldi data dir, dataset or folder")
    if not utts:
        raise ManifestError(f"{path}: no utterances (an empty manifest or a folder without audio)")
    return utts, loader
