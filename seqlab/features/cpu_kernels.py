"""Fused per-frame CPU kernels (numba) for the inference path of :mod:`seqlab.features.kernels`.

torch runs each step of the frame processing (mean, subtract, pre-emphasis, window, energy) as
its own pass over a chunk, with a thread-team fork and join per pass. These kernels do one frame
at a time in registers and L1: :func:`fill_frames` reads the frame from the batch once and
writes the windowed, zero-padded rFFT input once; :func:`power_spectrum` turns the interleaved
complex rFFT output into a contiguous power spectrum in one pass, and :func:`power_mel` into mel
energies (the frame's power spectrum stays in L1; each filter sums only its nonzero bins, about
2 multiply-adds per bin instead of a dense ``F x M`` product). The rFFT itself stays with torch
(MKL).

The frame mean accumulates in float64 and is applied as the nearest float32 value plus the
rest: a constant frame's mean is exact, so digital silence with any DC offset leaves exactly
zero (Kaldi's log floor), and float32 audio with a DC offset keeps full precision without a
second mean pass.

Threads: the kernels are serial and ``nogil``. With several torch threads the caller shares
chunks or row groups out to single-threaded workers (:mod:`seqlab.features.workers`) instead
of using numba's ``parallel=True``, whose OpenMP team would spin on the same cores as torch's.
``SEQLAB_NUMBA=0`` in the environment, or :data:`ENABLED` set to ``False``, turns the kernels
off (the chain of torch steps runs instead).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch

from seqlab.features.framing import PAD_MODES

__all__ = [
    "ENABLED",
    "usable",
    "fill_frames",
    "power_spectrum",
    "power_mel",
]

# use the numba kernels where they apply (CPU, float32/float64, no autograd)
ENABLED = os.environ.get("SEQLAB_NUMBA", "1") not in ("0", "false", "no")

ENERGY_NONE, ENERGY_RAW, ENERGY_PROCESSED = 0, 1, 2

_KERNELS: dict[str, Callable] = {}

try:
    import numba
except Exception:  # pragma: no cover - numba ships with librosa; without it the torch path runs
    numba = None


def usable(tensor: torch.Tensor) -> bool:
    """Whether the numba kernels handle ``tensor``'s frames: CPU float32/float64, kernels
    enabled and numba installed."""
    return (
        ENABLED
        and numba is not None
        and tensor.device.type == "cpu"
        and tensor.dtype in (torch.float32, torch.float64)
    )


def _source_index(j, n, mode):
    # sample index of position j of a signal of n >= 1 samples under a pad mode
    # (0 constant: -1 for a zero, 1 reflect, 2 symmetric, 3 edge); as seqlab.features.framing
    if 0 <= j < n:
        return j
    if mode == 0:
        return -1
    if mode == 3 or n == 1:
        return 0 if j < 0 else n - 1
    if mode == 2:
        k = j % (2 * n)
        return 2 * n - 1 - k if k >= n else k
    period = 2 * (n - 1)
    k = j % period
    return period - k if k > n - 1 else k


if numba is not None:
    _source_index = numba.njit(cache=True)(_source_index)


def _total(x):
    total = 0.0
    for k in range(x.shape[0]):
        total += x[k]
    return total


def _centred_energy(x, m, r):
    energy = 0.0
    for k in range(x.shape[0]):
        d = (x[k] - m) - r
        energy += d * d
    return energy


if numba is not None:
    # the sums may be reassociated, so they vectorize; the kernels may not: that would fold
    # ``(x - m) - r`` into ``x - (m + r)`` and lose the DC precision of ``fill_frames``
    _total = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(_total)
    _centred_energy = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(
        _centred_energy
    )


def _fill_frames_py(
    signal,
    row_stride,
    lengths,
    hop,
    offset,
    mode,
    b0,
    t0,
    nt,
    window,
    coefs,
    remove_dc,
    energy_kind,
    out,
    energy,
):
    # Per-sample arithmetic in the output dtype (``window`` and ``coefs`` = (a, 1 - a) are in
    # it). The mean accumulates in float64 and is split into the nearest value ``m`` of the
    # output dtype plus the rest ``r``: ``(x - m) - r`` is the centred sample to the output
    # dtype's precision even with a large DC offset. A constant frame's float64 mean is exact
    # and representable, so digital silence centres to exactly zero.
    n, n_fft = out.shape
    w = window.shape[0]
    a, b = coefs[0], coefs[1]
    edge = np.empty(w, dtype=signal.dtype)  # a frame that reaches past its signal, padded
    means = np.zeros(n, dtype=out.dtype)
    rests = np.zeros(n, dtype=out.dtype)
    for i in range(n):
        row_index = b0 + i // nt
        start = (t0 + i % nt) * hop - offset
        size = lengths[row_index]
        base = row_index * row_stride
        if start >= 0 and start + w <= size:
            x = signal[base + start : base + start + w]
        else:
            for k in range(w):
                j = _source_index(start + k, size, mode) if size > 0 else -1
                edge[k] = signal[base + j] if j >= 0 else 0.0
            x = edge
        row = out[i]
        if remove_dc:
            mean = _total(x) / w
            means[i] = mean
            rests[i] = mean - means[i]
        m = means[i]
        r = rests[i]
        if energy_kind == 1:
            energy[i] = _centred_energy(x, m, r)
        if a != 0.0:
            c = b * r
            row[0] = b * ((x[0] - m) - r) * window[0]
            for k in range(1, w):
                row[k] = ((x[k] - m) - a * (x[k - 1] - m) - c) * window[k]
        elif remove_dc:
            for k in range(w):
                row[k] = ((x[k] - m) - r) * window[k]
        else:
            for k in range(w):
                row[k] = x[k] * window[k]
        for k in range(w, n_fft):
            row[k] = 0.0
        if energy_kind == 2:
            energy[i] = _centred_energy(row[:w], m * 0, m * 0)


def _row_power(src, power, dst):
    # |X| ** power of one interleaved complex row into dst (branch outside the loops)
    num_freqs = dst.shape[0]
    if power == 2.0:
        for k in range(num_freqs):
            dst[k] = src[2 * k] * src[2 * k] + src[2 * k + 1] * src[2 * k + 1]
    elif power == 1.0:
        for k in range(num_freqs):
            dst[k] = np.sqrt(src[2 * k] * src[2 * k] + src[2 * k + 1] * src[2 * k + 1])
    else:
        half = power / 2.0
        for k in range(num_freqs):
            dst[k] = (src[2 * k] * src[2 * k] + src[2 * k + 1] * src[2 * k + 1]) ** half


def _dot(x, y):
    total = 0.0
    for k in range(x.shape[0]):
        total += x[k] * y[k]
    return total


if numba is not None:
    _row_power = numba.njit(cache=True, nogil=True, fastmath={"contract"})(_row_power)
    _dot = numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})(_dot)


def _power_spectrum_py(spec, power, out):
    for i in range(out.shape[0]):
        _row_power(spec[i], power, out[i])


def _power_mel_py(spec, power, bins, offsets, weights, out):
    # per frame: the power spectrum into an L1-sized row, then each filter's dot product over
    # its nonzero bins (bins[m] = (lo, hi), weights[offsets[m]:offsets[m + 1]])
    n, num_filters = out.shape
    p = np.empty(spec.shape[1] // 2, dtype=out.dtype)
    for i in range(n):
        _row_power(spec[i], power, p)
        row = out[i]
        for m in range(num_filters):
            lo, hi = bins[m, 0], bins[m, 1]
            row[m] = _dot(p[lo:hi], weights[offsets[m] : offsets[m + 1]])


def _build(name: str, source: Callable) -> Callable:
    """The numba build of ``source`` (compiled on first call, cached on disk). No
    reassociation (see ``_total``) and no NaN/inf assumptions."""
    if name not in _KERNELS:
        _KERNELS[name] = numba.njit(nogil=True, cache=True, fastmath={"contract"})(source)
    return _KERNELS[name]


def _run(name: str, source: Callable, *args) -> None:
    _build(name, source)(*args)


def _flat(x: torch.Tensor) -> np.ndarray:
    return x.detach().numpy()


def fill_frames(
    signal: torch.Tensor,
    row_stride: int,
    lengths: np.ndarray,
    hop: int,
    rows: slice,
    span: slice,
    window: np.ndarray,
    out: torch.Tensor,
    *,
    offset: int = 0,
    pad_mode: str = "constant",
    preemphasis: float,
    remove_dc_offset: bool,
    energy: str | None,
    energy_out: torch.Tensor | None,
) -> None:
    """Windowed, zero-padded rFFT input of a chunk of frames, padding at the signal edges.

    Args:
        signal: 1-D contiguous samples; row ``b`` is ``signal[b * row_stride:]`` with
            ``lengths[b]`` valid samples, and frame ``t`` reads its samples
            ``t * hop - offset`` to ``t * hop - offset + W`` (``W = len(window)``); positions
            outside ``[0, lengths[b])`` come from ``pad_mode`` (as
            :func:`seqlab.features.framing.pad_for_framing`; zeros for an empty row).
        lengths: ``(B,)`` int64 valid samples per row.
        rows, span: the chunk: rows ``rows`` (step 1) times frames ``span`` of each row.
        window: ``(W,)`` window in ``out``'s dtype (any input scale folded in).
        out: ``(n, n_fft)`` contiguous buffer, ``n = len(rows) * len(span)`` frames in row-major
            order; receives ``window * preemphasis(frame - mean)`` and zeros after ``W``.
        preemphasis, remove_dc_offset: as :func:`seqlab.features.kernels.fill_frames`.
        energy: ``"raw"`` (``sum (frame - mean) ** 2``, in signal units), ``"processed"``
            (``sum out ** 2``) or ``None``.
        energy_out: ``(n,)`` float64, receives the energy when ``energy`` is set.
    """
    kind = {None: ENERGY_NONE, "raw": ENERGY_RAW, "processed": ENERGY_PROCESSED}[energy]
    sink = _flat(energy_out) if energy_out is not None else np.empty(0)
    _run(
        "fill_frames",
        _fill_frames_py,
        _flat(signal),
        row_stride,
        lengths,
        hop,
        offset,
        PAD_MODES.index(pad_mode),
        rows.start,
        span.start,
        span.stop - span.start,
        window,
        np.array([preemphasis, 1.0 - preemphasis], dtype=window.dtype),
        bool(remove_dc_offset),
        kind,
        _flat(out),
        sink,
    )


def power_spectrum(spec: torch.Tensor, power: float, out: torch.Tensor) -> torch.Tensor:
    """``|spec| ** power`` of a complex ``(n, F)`` tensor into the contiguous real ``(n, F)``
    ``out`` (returned)."""
    view = torch.view_as_real(spec).reshape(spec.shape[0], -1)
    _run("power_spectrum", _power_spectrum_py, _flat(view), float(power), _flat(out))
    return out


def power_mel(
    spec: torch.Tensor,
    power: float,
    bins: np.ndarray,
    offsets: np.ndarray,
    weights: np.ndarray,
    out: torch.Tensor,
) -> torch.Tensor:
    """Mel energies ``|spec| ** power @ filterbank`` of a complex ``(n, F)`` tensor into the
    contiguous real ``(n, M)`` ``out`` (returned), one frame at a time: the frame's power
    spectrum stays in L1 and each filter sums only its nonzero bins.

    Args:
        bins: ``(M, 2)`` int64 ``[lo, hi)`` nonzero bin range of each filter.
        offsets: ``(M + 1,)`` int64; filter ``m``'s weights are
            ``weights[offsets[m]:offsets[m + 1]]`` (``hi - lo`` of them).
        weights: flat filter weights in ``out``'s dtype.
    """
    view = torch.view_as_real(spec).reshape(spec.shape[0], -1)
    _run("power_mel", _power_mel_py, _flat(view), float(power), bins, offsets, weights, _flat(out))
    return out
