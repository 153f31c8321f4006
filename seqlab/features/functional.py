"""Pure tensor functions for speech features (torch only, any device, batched over leading dims).

This is the functional core behind :mod:`seqlab.features.transforms`; it re-exports the framing,
window and mel helpers so ``seqlab.features.functional`` is the one namespace to import. Every
function works on float tensors whose leading dimensions are batch dimensions, keeps the
device and dtype of its input, and is differentiable where the operation is (``gradcheck``
passes in float64 for everything between a waveform and an MFCC).

Units: samples are in whatever scale the caller uses (Kaldi reads int16 values: multiply float
audio in ``[-1, 1]`` by 32768 to get its numbers); ``log`` is natural log; ``power_to_db`` is
``10 log10``.
"""

from __future__ import annotations

import math

import torch

from seqlab.features.errors import FeatureError
from seqlab.features.framing import (
    PAD_MODES,
    frame,
    frame_offset,
    leading_lengths,
    num_frames,
    pad_for_framing,
)
from seqlab.features.mel import (
    MEL_SCALES,
    hz_to_mel,
    mel_filterbank,
    mel_frequencies,
    mel_to_hz,
)
from seqlab.features.windows import WINDOWS, pad_window, window

__all__ = [
    "FLT_EPSILON",
    "MEL_SCALES",
    "PAD_MODES",
    "WINDOWS",
    "apply_lifter",
    "cmvn",
    "dct_matrix",
    "delta",
    "dither",
    "frame",
    "frame_offset",
    "hz_to_mel",
    "kaldi_deltas",
    "length_mask",
    "lifter_weights",
    "log_energy",
    "log_with_floor",
    "mel_filterbank",
    "mel_frequencies",
    "mel_to_hz",
    "num_frames",
    "pad_for_framing",
    "pad_window",
    "power_to_db",
    "preemphasis",
    "remove_dc_offset",
    "savgol_coefficients",
    "spectrum",
    "spectrum_power",
    "window",
]

FLT_EPSILON = 1.1920928955078125e-07  # Kaldi's log floor (std::numeric_limits<float>::epsilon())


def length_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """Boolean ``(..., max_length)`` mask, ``True`` at positions ``< lengths`` (shape ``(...)``)."""
    return torch.arange(max_length, device=lengths.device) < lengths[..., None]


def dither(
    waveforms: torch.Tensor, amount: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Add Gaussian noise of standard deviation ``amount`` (Kaldi ``--dither``) to a tensor.

    Kaldi dithers each frame separately; applied to a waveform (as the transforms do) the
    overlapping frames share noise samples, with the same per-frame statistics. ``generator``
    (on the tensor's device) makes it reproducible. ``amount == 0`` returns the input.
    """
    if amount == 0.0:
        return waveforms
    noise = torch.randn(
        waveforms.shape, generator=generator, dtype=waveforms.dtype, device=waveforms.device
    )
    return waveforms + amount * noise


def remove_dc_offset(frames: torch.Tensor) -> torch.Tensor:
    """Subtract each frame's mean: ``(..., W) -> (..., W)``."""
    return frames - frames.mean(dim=-1, keepdim=True)


def preemphasis(frames: torch.Tensor, coefficient: float = 0.97) -> torch.Tensor:
    """Kaldi pre-emphasis inside each frame ``(..., W)``.

    ``y[i] = x[i] - c x[i-1]`` for ``i > 0`` and ``y[0] = x[0] - c x[0]``.
    """
    if coefficient == 0.0:
        return frames
    previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
    return frames - coefficient * previous


def log_energy(frames: torch.Tensor, floor: float = 0.0) -> torch.Tensor:
    """Kaldi log-energy ``log(max(sum x^2, FLT_EPSILON))`` of frames ``(..., W) -> (...)``.

    ``floor > 0`` (Kaldi ``--energy-floor``) clamps the result at ``log(floor)``.
    """
    energy = frames.pow(2).sum(dim=-1).clamp_min(FLT_EPSILON).log()
    return energy.clamp_min(math.log(floor)) if floor > 0 else energy


def spectrum(frames: torch.Tensor, n_fft: int | None = None, power: float = 2.0) -> torch.Tensor:
    """Magnitude (``power=1``) or power (``power=2``) spectrum of real frames.

    Args:
        frames: ``(..., W)`` windowed frames.
        n_fft: FFT size; frames are zero-padded at the end to it (Kaldi's round-up to a power
            of two); ``None`` uses ``W``.

    Returns:
        ``(..., n_fft // 2 + 1)`` in the frames' real dtype.
    """
    return spectrum_power(torch.fft.rfft(frames, n=n_fft), power)


def spectrum_power(spec: torch.Tensor, power: float = 2.0) -> torch.Tensor:
    """``|spec| ** power`` of a complex spectrum, real dtype. The magnitude comes from
    ``abs`` (gradient 0 at 0), not from ``(re^2 + im^2) ** 0.5``, whose gradient at a zero bin
    (digital silence) is NaN."""
    if power == 2.0:
        return torch.view_as_real(spec).pow(2).sum(dim=-1)
    magnitude = spec.abs()
    return magnitude if power == 1.0 else magnitude.pow(power)


def log_with_floor(x: torch.Tensor, floor: float = FLT_EPSILON) -> torch.Tensor:
    """Natural log with a floor: ``log(max(x, floor))`` (Kaldi fbank/mfcc)."""
    return x.clamp_min(floor).log()


def power_to_db(
    power: torch.Tensor,
    ref: float = 1.0,
    amin: float = 1e-10,
    top_db: float | None = 80.0,
    lengths: torch.Tensor | None = None,
) -> torch.Tensor:
    """librosa ``power_to_db``: ``10 log10(max(amin, S)) - 10 log10(max(amin, |ref|))``.

    Args:
        power: ``(..., T, F)`` power values; the leading dims are utterances.
        top_db: clip at ``max - top_db`` where the max is taken per utterance over its valid
            frames and all bins (librosa takes it over the whole array it is given: one
            utterance); ``None`` disables clipping.
        lengths: ``(...)`` valid frames per utterance (``None``: all).

    The clip is differentiable like the formula: a clipped cell's gradient goes to the peak.
    """
    if amin <= 0:
        raise FeatureError(f"power_to_db: amin must be positive, got {amin}")
    db = 10.0 * torch.log10(power.clamp_min(amin)) - 10.0 * math.log10(max(amin, abs(ref)))
    if top_db is None or db.shape[-2] * db.shape[-1] == 0:
        return db
    if top_db < 0:
        raise FeatureError(f"power_to_db: top_db must be non-negative, got {top_db}")
    if lengths is None:
        peak = db.amax(dim=(-2, -1), keepdim=True)
    else:
        valid = length_mask(lengths, db.shape[-2])[..., None]
        peak = db.masked_fill(~valid, -math.inf).amax(dim=(-2, -1), keepdim=True)
    return torch.maximum(db, peak - top_db)


def dct_matrix(
    n_out: int,
    n_in: int,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Orthonormal DCT-II as a ``(n_in, n_out)`` matrix: ``x @ dct_matrix`` gives ``n_out`` coefficients.

    Equals ``scipy.fft.dct(x, type=2, norm="ortho")[..., :n_out]`` and Kaldi's
    ``ComputeDctMatrix`` (transposed).
    """
    if not 1 <= n_out <= n_in:
        raise FeatureError(f"dct_matrix needs 1 <= n_out <= n_in, got n_out={n_out}, n_in={n_in}")
    k = torch.arange(n_out, dtype=torch.float64)
    n = torch.arange(n_in, dtype=torch.float64)
    basis = torch.cos(math.pi / n_in * (n[:, None] + 0.5) * k[None, :]) * math.sqrt(2.0 / n_in)
    basis[:, 0] /= math.sqrt(2.0)
    return basis.to(dtype=dtype, device=device)


def lifter_weights(n_ceps: int, lifter: float, style: str = "kaldi") -> torch.Tensor:
    """Cepstral lifter ``(n_ceps,)`` float64: ``1 + (L / 2) sin(pi i / L)``.

    ``style="kaldi"`` indexes ``i`` from 0 (C0 unchanged); ``"librosa"`` from 1 (``n + 1``, C0
    scaled too). ``lifter == 0`` gives ones.
    """
    if style not in ("kaldi", "librosa"):
        raise FeatureError(f"lifter style must be 'kaldi' or 'librosa', got {style!r}")
    if lifter < 0:
        raise FeatureError(f"lifter must be non-negative, got {lifter}")
    if lifter == 0:
        return torch.ones(n_ceps, dtype=torch.float64)
    i = torch.arange(n_ceps, dtype=torch.float64) + (1 if style == "librosa" else 0)
    return 1.0 + 0.5 * lifter * torch.sin(math.pi * i / lifter)


def apply_lifter(cepstra: torch.Tensor, lifter: float, style: str = "kaldi") -> torch.Tensor:
    """Scale ``(..., C)`` cepstra by :func:`lifter_weights`."""
    w = lifter_weights(cepstra.shape[-1], lifter, style).to(cepstra.dtype).to(cepstra.device)
    return cepstra * w


def _gather_frames(features: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``features`` (B, T, D), ``index`` (B, T) -> (B, T, D) rows picked along T."""
    return torch.gather(features, 1, index[..., None].expand(-1, -1, features.shape[-1]))


def _flatten(
    features: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if features.dim() < 2:
        raise FeatureError(f"features must have shape (..., T, D), got {tuple(features.shape)}")
    t, d = features.shape[-2:]
    flat = features.reshape(math.prod(features.shape[:-2]), t, d)  # (-1 fails when T == 0)
    if lengths is None:
        lens = torch.full((flat.shape[0],), t, dtype=torch.long, device=features.device)
    else:
        lens = leading_lengths(lengths, features.shape[:-2], features.device)
        if lens.numel() and (int(lens.min()) < 0 or int(lens.max()) > t):
            raise FeatureError(f"lengths must lie in [0, {t}], got {lens.tolist()}")
    return flat, lens


def kaldi_delta_filters(order: int, window: int) -> list[torch.Tensor]:
    """Kaldi ``DeltaFeatures`` scales: filter ``i`` (length ``2 i window + 1``) for orders 0..order."""
    if order < 0 or window < 1:
        raise FeatureError(f"deltas need order >= 0 and window >= 1, got {order}, {window}")
    j = torch.arange(-window, window + 1, dtype=torch.float64)
    base = j / j.pow(2).sum()
    filters = [torch.ones(1, dtype=torch.float64)]
    for _ in range(order):
        prev = filters[-1]
        filters.append(
            torch.nn.functional.conv1d(
                torch.nn.functional.pad(prev, (2 * window, 2 * window))[None, None],
                base.flip(0)[None, None],
            )[0, 0]
        )
    return filters


def kaldi_deltas(
    features: torch.Tensor, lengths: torch.Tensor | None = None, order: int = 2, window: int = 2
) -> torch.Tensor:
    """Kaldi ``add-deltas``: ``(..., T, D) -> (..., T, D * (order + 1))``, ``[x, d1, d2, ...]``.

    Order ``i`` convolves the features with Kaldi's composed regression filter; frames outside
    ``[0, length)`` are replicated from the nearest edge frame (per utterance). Padded frames
    of the output are zero.
    """
    flat, lens = _flatten(features, lengths)
    b, t, d = flat.shape
    filters = kaldi_delta_filters(order, window)
    positions = torch.arange(t, device=flat.device)[None, :]
    last = (lens - 1).clamp_min(0)[:, None]
    outputs = [flat]
    for f in filters[1:]:
        half = (f.numel() - 1) // 2
        acc = torch.zeros_like(flat)
        for k, weight in enumerate(f.tolist()):
            if weight == 0.0:
                continue
            index = torch.minimum((positions + k - half).clamp_min(0), last)
            acc = acc + weight * _gather_frames(flat, index)
        outputs.append(acc)
    out = torch.cat(outputs, dim=-1) * length_mask(lens, t)[..., None].to(flat.dtype)
    return out.reshape(*features.shape[:-1], d * (order + 1))


def savgol_coefficients(width: int, order: int) -> torch.Tensor:
    """Savitzky-Golay dot coefficients ``(width,)`` float64 for the ``order``-th derivative of a
    degree-``order`` least-squares polynomial at the window centre (``scipy.signal.savgol_coeffs``
    with ``deriv=polyorder=order, use='dot'``)."""
    if width < 3 or width % 2 == 0:
        raise FeatureError(f"delta width must be an odd integer >= 3, got {width}")
    if not 1 <= order < width:
        raise FeatureError(f"delta order must be in [1, width), got {order}")
    half = width // 2
    j = torch.arange(-half, half + 1, dtype=torch.float64)
    vander = j[:, None] ** torch.arange(order + 1, dtype=torch.float64)[None, :]
    return math.factorial(order) * torch.linalg.pinv(vander)[order]


def delta(
    features: torch.Tensor, lengths: torch.Tensor | None = None, width: int = 9, order: int = 1
) -> torch.Tensor:
    """librosa ``feature.delta`` along time: ``(..., T, D) -> (..., T, D)``.

    A Savitzky-Golay derivative of the given ``order`` over ``width`` frames; at the edges
    (librosa ``mode='interp'``) the polynomial fitted to the first/last ``width`` frames is
    differentiated, which for ``deriv == polyorder`` equals the nearest full-window value.
    Every utterance needs at least ``width`` valid frames (as in librosa) or none.
    """
    flat, lens = _flatten(features, lengths)
    b, t, d = flat.shape
    short = (lens > 0) & (lens < width)
    if bool(short.any()):
        raise FeatureError(
            f"delta: utterances {torch.nonzero(short).flatten().tolist()} have fewer than "
            f"width={width} frames ({lens[short].tolist()}); lower the width"
        )
    coeffs = savgol_coefficients(width, order).tolist()
    half = width // 2
    positions = torch.arange(t, device=flat.device)[None, :]
    centre = torch.minimum(positions.clamp_min(half), (lens - 1 - half).clamp_min(half)[:, None])
    acc = torch.zeros_like(flat)
    for k, weight in enumerate(coeffs):
        index = (centre + k - half).clamp(0, max(t - 1, 0))
        acc = acc + weight * _gather_frames(flat, index)
    acc = acc * length_mask(lens, t)[..., None].to(flat.dtype)
    return acc.reshape(features.shape)


def cmvn(
    features: torch.Tensor,
    lengths: torch.Tensor | None = None,
    norm_means: bool = True,
    norm_vars: bool = False,
    var_floor: float = 1e-20,
) -> torch.Tensor:
    """Per-utterance cepstral mean (and variance) normalization, ``(..., T, D) -> (..., T, D)``.

    Statistics use only each utterance's valid frames (population variance, floored at
    ``var_floor`` like Kaldi's ``apply-cmvn``); padded output frames are zero.
    """
    if norm_vars and not norm_means:
        raise FeatureError("cmvn: norm_vars=True requires norm_means=True (as Kaldi apply-cmvn)")
    flat, lens = _flatten(features, lengths)
    valid = length_mask(lens, flat.shape[1])[..., None]
    flat = flat.masked_fill(~valid, 0.0)  # padding never reaches a statistic, NaN included
    count = lens.clamp_min(1).to(flat.dtype)[:, None, None]
    out = flat
    if norm_means:
        mean = flat.sum(dim=1, keepdim=True) / count
        out = flat - mean
    if norm_vars:
        var = out.masked_fill(~valid, 0.0).pow(2).sum(dim=1, keepdim=True) / count
        out = out * var.clamp_min(var_floor).rsqrt()
    return out.masked_fill(~valid, 0.0).reshape(features.shape)
