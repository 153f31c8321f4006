"""Audio loading: soundfile for decoding, ``torchaudio.functional.resample`` for rate changes.

Every failure (missing, empty, corrupt or unsupported file, piped ``wav.scp`` entries) raises
:class:`AudioError` with the offending path in the message.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile
import torch

from seqlab.io import read_table

__all__ = ["AudioError", "load_audio", "resample", "read_wav_scp", "save_audio", "audio_info"]


class AudioError(OSError):
    """An audio file cannot be read or has unusable content; the message names the file."""


def resample(waveform: torch.Tensor, orig_rate: int, new_rate: int) -> torch.Tensor:
    """Resample ``(..., N)`` float audio from ``orig_rate`` to ``new_rate`` Hz (windowed sinc).

    Returns the input unchanged when the rates match.
    """
    if orig_rate <= 0 or new_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {orig_rate} -> {new_rate}")
    if orig_rate == new_rate:
        return waveform
    import torchaudio.functional as taf

    return taf.resample(waveform, orig_rate, new_rate)


def audio_info(path: str | os.PathLike) -> tuple[int, int, int]:
    """Return ``(sample_rate, num_frames, num_channels)`` of an audio file without decoding it."""
    path = _check_path(path)
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, soundfile.LibsndfileError) as e:
        raise AudioError(f"{path}: cannot read audio header ({e})") from e
    return int(info.samplerate), int(info.frames), int(info.channels)


def load_audio(
    path: str | os.PathLike, sample_rate: int | None = None, mono: bool = True
) -> tuple[torch.Tensor, int]:
    """Read an audio file (wav, flac, ogg, ... anything libsndfile decodes).

    Args:
        path: the file to read.
        sample_rate: resample to this rate in Hz; ``None`` keeps the file's rate.
        mono: average the channels into one.

    Returns:
        ``(waveform, rate)``: float32 samples in [-1, 1], shape ``(N,)`` when ``mono`` else
        ``(C, N)``, and the sample rate in Hz of the returned samples.

    Raises:
        AudioError: the file is missing, empty, corrupt, unsupported, holds no samples, or
            holds NaN/inf samples.

    >>> wav, sr = load_audio("data/demo/hello.wav", sample_rate=16000)
    """
    path = _check_path(path)
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, TypeError) as e:
        raise AudioError(f"{path}: cannot decode audio ({e})") from e
    if data.shape[0] == 0:
        raise AudioError(f"{path}: audio file holds no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: audio holds NaN or infinite samples")
    waveform = torch.from_numpy(np.ascontiguousarray(data.T))  # (C, N)
    if mono:
        waveform = waveform.mean(dim=0)
    if sample_rate is not None and sample_rate != rate:
        waveform = resample(waveform, int(rate), int(sample_rate))
        rate = sample_rate
    return waveform.contiguous(), int(rate)


def save_audio(path: str | os.PathLike, waveform: torch.Tensor, sample_rate: int) -> None:
    """Write ``(N,)`` or ``(C, N)`` float audio in [-1, 1] to ``path`` (format from the suffix).

    The file is written to a temporary name and renamed, so a failed write leaves nothing behind.
    """
    from seqlab.io import atomic_write

    array = waveform.detach().cpu().float().numpy()
    if array.ndim == 2:
        array = array.T
    elif array.ndim != 1:
        raise ValueError(f"waveform must have shape (N,) or (C, N), got {tuple(waveform.shape)}")
    fmt = Path(path).suffix.lstrip(".").upper() or "WAV"
    with atomic_write(path, "wb") as f:
        soundfile.write(f, array, sample_rate, format=fmt)


def read_wav_scp(path: str | os.PathLike) -> dict[str, str]:
    """Read a Kaldi ``wav.scp`` (``utt-id /path/to/audio``) into ``{utt_id: path}``.

    Relative paths are kept as written (Kaldi resolves them against the working directory).
    Piped entries (``utt sox ... |``) and extended filenames with offsets (``file.ark:123``)
    are rejected with an :class:`AudioError` naming the file and the entry, since they need a
    shell or Kaldi's archive reader.
    """
    table = read_table(path)
    for utt, value in table.items():
        if not value:
            raise AudioError(f"{path}: entry {utt!r} has no audio path")
        if value.endswith("|") or value.startswith("|"):
            raise AudioError(
                f"{path}: entry {utt!r} is a piped command ({value!r}); seqlab reads plain "
                "audio paths only; convert the audio to files first (e.g. with sox)"
            )
        if ".ark:" in value:
            raise AudioError(f"{path}: entry {utt!r} points into a Kaldi archive ({value!r})")
    return table


def _check_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such audio file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: audio file is empty (0 bytes)")
    return path
