"""Fused per-frame CPU kernels (numba) for the inference path of :mod:`seqlab.features.kernels`.

torch runs each step of the frame processing (mean, subtract, pre-emphasis, window, energy) as
its own pass over a chunk, with a thread-team fork and join per pass. These kernels do one frame
at a time in registers and L1: :func:`fill_frames` reads the frame from the batch once and
writes the windowed, zero-padded rFFT input once; :func:`power_spectrum` turns the interleaved
complex rFFT output into a contiguous power spectrum in one pass (a plain spectrogram, or the
input of the filterbank's matrix products). The rFFT itself stays
with torch (MKL).

The frame mean accumulates in float64 and is applied as the nearest float32 value plus the
rest: a constant frame's mean is exact, so digital silence with any DC offset leaves exactly
zero (Kaldi's log floor), and float32 audio with a DC offset keeps full precision without a
second mean pass.

Threads: the kernels are serial, and :func:`usable` selects them only when torch runs on one
thread (a DataLoader worker, ``torch.set_num_threads(1)``), where they beat the chain of torch
passes. With more threads torch's own thread team spreads every pass over the cores, and on
the 2-core machine this was tuned on that won: numba's ``parallel=True`` adds a second OpenMP
team whose idle threads spin on the same cores, and a Python thread pool that calls torch
(the rFFT) starts an OpenMP team per pool thread, after which GNU OpenMP stops spinning between
regions in every team and all later torch ops in the process ran about 2x slower.
``SEQLAB_NUMBA=0`` in the environment, or :data:`ENABLED` set to ``False``, turns the kernels
off.
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
    """Whether the numba kernels handle ``tensor``'s frames: CPU float32/float64 while torch
    runs on one thread (see the module docstring)."""
    return (
        ENABLED
        and numba is not None
        and tensor.device.type == "cpu"
        and tensor.dtype in (torch.float32, torch.float64)
        and torch.get_num_threads() == 1
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


def _power_spectrum_py(spec, power, out):
    n, num_freqs = out.shape
    for i in range(n):
        src = spec[i]
        dst = out[i]
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
