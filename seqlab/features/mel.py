"""Mel scales and mel filterbanks in the librosa and Kaldi constructions.

Scales (frequencies in Hz, mels in the scale's own unit):

- ``htk``: ``2595 log10(1 + f / 700)`` (librosa ``htk=True``, torchaudio default).
- ``kaldi``: ``1127 ln(1 + f / 700)`` (Kaldi ``MelBanks::MelScale``; equal to ``htk`` up to the
  rounding of the constant).
- ``slaney``: linear ``f / (200 / 3)`` below 1 kHz, logarithmic above
  (``15 + ln(f / 1000) / (ln(6.4) / 27)``), the Auditory Toolbox scale librosa uses by default.

Filterbanks are returned as ``(n_freqs, n_mels)`` matrices so that ``power @ fb`` maps a
``(..., T, n_freqs)`` spectrum to ``(..., T, n_mels)``; they are built in float64.
"""

from __future__ import annotations

import math

import torch

from seqlab.features.errors import FeatureError

__all__ = ["MEL_SCALES", "hz_to_mel", "mel_to_hz", "mel_frequencies", "mel_filterbank"]

MEL_SCALES = ("htk", "kaldi", "slaney")
_F_SP = 200.0 / 3.0  # Slaney: Hz per mel below the break frequency
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15 mels
_LOGSTEP = math.log(6.4) / 27.0


def _check_scale(scale: str) -> None:
    if scale not in MEL_SCALES:
        raise FeatureError(f"unknown mel scale {scale!r}; expected one of {MEL_SCALES}")


def hz_to_mel(freq: torch.Tensor | float, scale: str = "htk") -> torch.Tensor:
    """Convert frequencies in Hz (any shape) to mels on ``scale`` (same shape, float64)."""
    _check_scale(scale)
    f = torch.as_tensor(freq, dtype=torch.float64)
    if scale == "htk":
        return 2595.0 * torch.log10(1.0 + f / 700.0)
    if scale == "kaldi":
        return 1127.0 * torch.log1p(f / 700.0)
    linear = f / _F_SP
    log = _MIN_LOG_MEL + torch.log(f.clamp_min(_MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return torch.where(f >= _MIN_LOG_HZ, log, linear)


def mel_to_hz(mel: torch.Tensor | float, scale: str = "htk") -> torch.Tensor:
    """Inverse of :func:`hz_to_mel`: mels on ``scale`` (any shape) to Hz (float64)."""
    _check_scale(scale)
    m = torch.as_tensor(mel, dtype=torch.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale == "kaldi":
        return 700.0 * torch.expm1(m / 1127.0)
    linear = _F_SP * m
    log = _MIN_LOG_HZ * torch.exp(_LOGSTEP * (m.clamp_min(_MIN_LOG_MEL) - _MIN_LOG_MEL))
    return torch.where(m >= _MIN_LOG_MEL, log, linear)


def mel_frequencies(n: int, f_min: float, f_max: float, scale: str = "htk") -> torch.Tensor:
    """``n`` frequencies in Hz evenly spaced on the mel ``scale`` from ``f_min`` to ``f_max``."""
    lo, hi = hz_to_mel(f_min, scale), hz_to_mel(f_max, scale)
    return mel_to_hz(torch.linspace(float(lo), float(hi), n, dtype=torch.float64), scale)


def resolve_f_max(f_max: float | None, sample_rate: float) -> float:
    """``None`` -> Nyquist; ``f_max <= 0`` -> Nyquist + f_max (Kaldi ``--high-freq``)."""
    nyquist = sample_rate / 2.0
    if f_max is None:
        return nyquist
    return nyquist + f_max if f_max <= 0 else float(f_max)


def mel_filterbank(
    n_fft: int,
    n_mels: int,
    sample_rate: float,
    f_min: float = 0.0,
    f_max: float | None = None,
    *,
    scale: str = "slaney",
    construction: str = "librosa",
    norm: str | None = "slaney",
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Triangular mel filterbank, shape ``(n_fft // 2 + 1, n_mels)``.

    Args:
        n_fft: FFT size; the filterbank covers the ``n_fft // 2 + 1`` rfft bins.
        n_mels: number of triangular filters.
        sample_rate: in Hz.
        f_min: lowest edge in Hz (Kaldi ``--low-freq``, librosa ``fmin``).
        f_max: highest edge in Hz; ``None`` is Nyquist, ``<= 0`` is an offset from Nyquist
            (Kaldi ``--high-freq``).
        scale: ``htk``, ``kaldi`` or ``slaney`` (see the module docstring).
        construction: ``librosa``: triangles linear in Hz over ``rfftfreq`` bins, Nyquist bin
            included (``librosa.filters.mel``); ``kaldi``: triangles linear in mel over bins
            ``i < n_fft / 2`` at ``i * sample_rate / n_fft`` (the Nyquist row is zero), no
            normalization (``MelBanks`` / ``torchaudio.compliance.kaldi.get_mel_banks``).
        norm: ``"slaney"`` scales filter ``i`` by ``2 / (f[i+2] - f[i])`` (constant energy per
            channel); ``None`` leaves peaks at 1.

    >>> mel_filterbank(512, 23, 16000, 20.0, 0.0, scale="kaldi", construction="kaldi", norm=None).shape
    torch.Size([257, 23])
    """
    if construction not in ("librosa", "kaldi"):
        raise FeatureError(f"mel construction must be 'librosa' or 'kaldi', got {construction!r}")
    if norm not in (None, "slaney"):
        raise FeatureError(f"mel norm must be None or 'slaney', got {norm!r}")
    if n_fft < 2 or n_mels < 1:
        raise FeatureError(
            f"mel_filterbank needs n_fft >= 2 and n_mels >= 1, got {n_fft}, {n_mels}"
        )
    high = resolve_f_max(f_max, sample_rate)
    if not 0.0 <= f_min < high <= sample_rate / 2.0:
        raise FeatureError(
            f"mel_filterbank needs 0 <= f_min < f_max <= Nyquist, got f_min={f_min}, "
            f"f_max={high} at {sample_rate} Hz"
        )
    n_freqs = n_fft // 2 + 1
    freqs = torch.arange(n_freqs, dtype=torch.float64) * (sample_rate / n_fft)
    edges_hz = mel_frequencies(n_mels + 2, f_min, high, scale)  # (n_mels + 2,)
    if construction == "librosa":
        fdiff = edges_hz.diff()  # (n_mels + 1,)
        ramps = edges_hz[:, None] - freqs[None, :]  # (n_mels + 2, n_freqs)
        lower = -ramps[:-2] / fdiff[:-1, None]
        upper = ramps[2:] / fdiff[1:, None]
        weights = torch.clamp(torch.minimum(lower, upper), min=0.0)  # (n_mels, n_freqs)
    else:
        mel = hz_to_mel(freqs, scale)
        lo, hi = float(hz_to_mel(f_min, scale)), float(hz_to_mel(high, scale))
        delta = (hi - lo) / (n_mels + 1)
        left = lo + delta * torch.arange(n_mels, dtype=torch.float64)
        center, right = left + delta, left + 2.0 * delta
        up = (mel[None, :] - left[:, None]) / (center - left)[:, None]
        down = (right[:, None] - mel[None, :]) / (right - center)[:, None]
        weights = torch.clamp(torch.minimum(up, down), min=0.0)
        weights[:, n_fft // 2 :] = 0.0  # Kaldi never looks at the Nyquist bin
    if norm == "slaney":
        weights = weights * (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    return weights.T.contiguous().to(dtype=dtype, device=device)
