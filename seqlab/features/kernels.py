"""In-place building blocks of the inference path of :mod:`seqlab.features.compute`.

When no gradient is needed, a batch goes through a few passes over preallocated buffers instead
of a chain of out-of-place tensors: the frame processing writes straight into the zero-padded
rFFT input, the power spectrum is squared in place, and the mel filterbank is applied band by
band (a mel filter is zero outside a few bins, so a dense ``(F, n_mels)`` product mostly
multiplies zeros). None of these functions supports autograd; :mod:`seqlab.features.compute`
composes out-of-place steps when gradients are required.

On the CPU (float32/float64) the frame processing and the power/mel step run instead as fused
numba kernels (:mod:`seqlab.features.cpu_kernels`), :func:`analyze_waveforms` reads the batch
itself with no padded copy, and with several torch threads its chunks go to the feature
workers (:mod:`seqlab.features.workers`); the torch steps above serve other devices and
``SEQLAB_NUMBA=0``.

Derived buffers (a window cast to the input dtype and scaled, a filterbank's band plan) are
memoized per source tensor, dtype and device, and rebuilt when the source changes in place.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.weak import WeakIdKeyDictionary

from seqlab.features import cpu_kernels, workers

__all__ = [
    "BAND_OVERHEAD",
    "CHUNK_FRAMES",
    "WORKSPACE_LIMIT_BYTES",
    "analyze",
    "analyze_waveforms",
    "zero_past_counts_",
    "MelPlan",
    "derived",
    "workspace",
    "fill_frames",
    "mel_plan",
    "mel_energies",
    "power_spectrum",
    "log_",
    "power_to_db_",
]

# cost of one extra matrix product in the band plan, in multiply-adds per frame: a product of a
# few thousand frames costs a few microseconds of fixed overhead
BAND_OVERHEAD = 256

# frames per chunk on the CPU: big enough to amortize the per-chunk Python overhead, small
# enough that the chunk's scratch buffers are reused from call to call instead of being
# allocated (and page-faulted in) for every batch
CHUNK_FRAMES = 2048

# rFFT input bytes per chunk of the fused (numba) CPU path: 1024 frames of a 512-point FFT, 256
# of a 2048-point one. A chunk's rFFT input and output then stay in a core's 1-2 MB L2; 4 MB
# chunks were 5-10% slower on one thread and scaled worse on two workers (AMD EPYC, 2 cores)
FUSED_CHUNK_BYTES = 2 << 20

# largest scratch buffer a thread keeps between calls; bigger requests get a fresh tensor
WORKSPACE_LIMIT_BYTES = 64 << 20

_DERIVED: WeakIdKeyDictionary = WeakIdKeyDictionary()
_WORKSPACE = threading.local()


def derived(source: torch.Tensor, key: tuple, build: Callable[[], Any]) -> Any:
    """``build()`` memoized on the tensor ``source`` and ``key``.

    The entry is dropped with ``source`` and rebuilt when ``source`` is modified in place.
    Inference tensors (a module built under ``torch.inference_mode()``) have no version
    counter: for them the entry keeps a copy of ``source`` and is reused while ``source``
    still equals it (buffers are small: a window, a filterbank).
    """
    try:
        version = source._version
    except RuntimeError:
        version = None
    entries = _DERIVED.setdefault(source, {})
    hit = entries.get(key)
    if hit is not None:
        if version is not None and hit[0] == version:
            return hit[2]
        if version is None and hit[1] is not None and _same(hit[1], source):
            return hit[2]
    value = build()
    stamp = source.detach().clone() if version is None else None
    entries[key] = (version, stamp, value)
    return value


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b))


def fill_frames(
    frames: torch.Tensor,
    out: torch.Tensor,
    window: torch.Tensor,
    *,
    preemphasis: float,
    remove_dc_offset: bool,
    raw_energy: bool,
    scratch: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """Kaldi/librosa per-frame processing of ``frames`` written into ``out[..., :W]``.

    Args:
        frames: ``(B, T, W)`` frames (typically an ``unfold`` view of the padded waveform).
        out: ``(B, T, n_fft)`` buffer; ``out[..., :W]`` receives
            ``window * preemphasis(frame - mean(frame))`` (Kaldi order; each step optional),
            ``out[..., W:]`` is not touched.
        window: ``(W,)`` window in the frames' dtype (any input scale folded in).
        preemphasis: Kaldi's in-frame coefficient ``a``: ``y[0] = (1 - a) z[0]``,
            ``y[i] = z[i] - a z[i-1]``; 0 disables.
        remove_dc_offset: subtract each frame's mean first.
        raw_energy: also return the ``(B, T)`` energy ``sum z ** 2`` of the DC-removed frame
            before pre-emphasis and window (Kaldi ``--raw-energy``), in the frames' units.
        scratch: a ``(B, T, W)`` buffer for the centred frames (allocated when ``None``).

    Returns:
        The raw energy or ``None``.

    DC removal subtracts the mean twice: ``d = x - mean(x)``, then ``z = d - mean(d)``. The
    second pass removes the float32 rounding of the first mean (which is at the scale of the DC
    offset) at the scale of the signal itself, so float32 keeps full precision on audio with a
    DC offset; and a constant frame (digital silence, with or without an offset) leaves exactly
    zero, as in exact arithmetic (``d`` is then a constant of a few significant bits whose mean
    is exact).
    """
    body = out[..., : frames.shape[-1]]
    a = preemphasis
    if remove_dc_offset:
        # centred frames z, in their own buffer when pre-emphasis reads them while writing body
        if not a:
            scratch = body
        elif scratch is None:
            scratch = torch.empty_like(body)
        z = torch.sub(frames, frames.mean(dim=-1, keepdim=True), out=scratch)
        z.sub_(z.mean(dim=-1, keepdim=True))
    else:
        z = frames
    energy = torch.linalg.vecdot(z, z) if raw_energy else None
    if a:
        torch.sub(z[..., 1:], z[..., :-1], alpha=a, out=body[..., 1:])
        torch.mul(z[..., 0], 1.0 - a, out=body[..., 0])
        body.mul_(window)
    elif z is body:
        body.mul_(window)
    else:
        torch.mul(z, window, out=body)
    return energy


def power_spectrum(
    spec: torch.Tensor, power: float, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``|spec| ** power`` of a complex ``(..., F)`` tensor as a real ``(..., F)`` tensor
    (``out`` or a new one). Squares the real and imaginary parts in place (``spec`` is
    consumed).
    """
    squares = torch.view_as_real(spec).square_()
    out = torch.add(squares[..., 0], squares[..., 1], out=out)
    if power == 1.0:
        return out.sqrt_()
    return out if power == 2.0 else out.pow_(power / 2.0)


@dataclass(frozen=True)
class MelPlan:
    """A filterbank ``(F, M)`` prepared for :func:`mel_energies`.

    ``bands`` lists ``(first filter, end filter, first bin, end bin)``: consecutive filters
    whose weights are zero outside the bin range. ``weights[i]`` is band ``i``'s
    ``(filters, bins)`` block of the transposed filterbank; ``doubled[i]`` the same with each
    bin's weight repeated for the squared real and imaginary parts of an interleaved complex
    spectrum. On the CPU, ``sparse`` holds the filterbank arguments of
    :func:`cpu_kernels.power_mel`: each filter's nonzero bin range ``(M, 2)``, offsets
    ``(M + 1,)`` into the flat weights, and the weights (numpy); ``None`` on other devices.
    """

    num_filters: int
    bands: tuple[tuple[int, int, int, int], ...]
    weights: tuple[torch.Tensor, ...]
    doubled: tuple[torch.Tensor, ...]
    sparse: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def mel_plan(weights: torch.Tensor, dtype: torch.dtype, device: torch.device) -> MelPlan:
    """The :class:`MelPlan` of a ``(F, M)`` filterbank in ``dtype`` on ``device`` (memoized)."""

    def build() -> MelPlan:
        w = weights.detach().to(device=device, dtype=dtype).t()
        bands = _bands(weights.detach().cpu())
        blocks = tuple(w[m0:m1, lo:hi].contiguous() for m0, m1, lo, hi in bands)
        doubled = tuple(b.repeat_interleave(2, dim=1) for b in blocks)
        sparse = _sparse_filters(w) if device.type == "cpu" else None
        return MelPlan(w.shape[0], bands, blocks, doubled, sparse)

    return derived(weights, ("mel_plan", dtype, device), build)


def _sparse_filters(filters: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(bins (M, 2), offsets (M + 1,), flat weights)`` of ``(M, F)`` filters: each filter
    from its first to its last nonzero bin (an all-zero filter gets an empty range)."""
    rows = filters.cpu().numpy()
    bins = np.zeros((rows.shape[0], 2), dtype=np.int64)
    pieces = []
    for m, row in enumerate(rows):
        nonzero = np.flatnonzero(row)
        if nonzero.size:
            bins[m] = nonzero[0], nonzero[-1] + 1
        pieces.append(row[bins[m, 0] : bins[m, 1]])
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).astype(np.int64)
    flat = np.ascontiguousarray(np.concatenate(pieces)) if pieces else rows[:0, 0].copy()
    return bins, offsets, flat


def _bands(weights: torch.Tensor) -> tuple[tuple[int, int, int, int], ...]:
    """Partition the filters (columns) into runs minimizing multiply-adds plus overhead."""
    num_bins, num_filters = weights.shape
    nonzero = weights != 0
    any_bin = nonzero.any(dim=0)
    first = torch.where(any_bin, nonzero.int().argmax(dim=0), num_bins).tolist()
    last = torch.where(any_bin, num_bins - nonzero.flip(0).int().argmax(dim=0), 0).tolist()
    # best[j]: cheapest cost of filters [0, j); choice[j]: start of the last run
    best = [0.0] + [math.inf] * num_filters
    choice = [0] * (num_filters + 1)
    for end in range(1, num_filters + 1):
        lo, hi = num_bins, 0
        for start in range(end - 1, -1, -1):
            lo, hi = min(lo, first[start]), max(hi, last[start])
            cost = best[start] + (end - start) * max(hi - lo, 0) + BAND_OVERHEAD
            if cost < best[end]:
                best[end], choice[end] = cost, start
    bands = []
    end = num_filters
    while end > 0:
        start = choice[end]
        lo = min(first[start:end])
        hi = max(max(last[start:end]), lo)
        bands.append((start, end, lo, hi))
        end = start
    return tuple(reversed(bands))


def mel_energies(
    spec: torch.Tensor, plan: MelPlan, power: float, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``(|spec| ** power @ filterbank).T`` for a complex ``(R, F)`` spectrum (consumed).

    Returns ``(M, R)`` (``out``, which may be a column slice of a wider matrix, or a new
    tensor): each band's product writes whole rows. With ``power == 2`` the interleaved real
    and imaginary parts are squared in place and multiplied by the doubled filterbank, with no
    separate power pass.
    """
    r, f = spec.shape
    if power == 2.0:
        rows = torch.view_as_real(spec).square_().view(r, 2 * f)
        blocks, step = plan.doubled, 2
    else:
        rows = power_spectrum(spec, power)
        blocks, step = plan.weights, 1
    if out is None:
        out = torch.empty(plan.num_filters, r, dtype=rows.dtype, device=rows.device)
    return _banded_product(rows, blocks, plan.bands, step, out)


def _banded_product(
    rows: torch.Tensor,
    blocks: tuple[torch.Tensor, ...],
    bands: tuple[tuple[int, int, int, int], ...],
    step: int,
    out: torch.Tensor,
) -> torch.Tensor:
    """``out[m0:m1] = block @ rows[:, step * lo : step * hi].T`` for each band (``out`` is
    ``(M, R)``; a band with no bins gets zeros)."""
    for block, (m0, m1, lo, hi) in zip(blocks, bands):
        if hi > lo:
            torch.mm(block, rows[:, step * lo : step * hi].t(), out=out[m0:m1])
        else:
            out[m0:m1].zero_()
    return out


def log_(x: torch.Tensor, floor: float) -> torch.Tensor:
    """``log(max(x, floor))`` in place."""
    return x.clamp_min_(floor).log_()


def power_to_db_(
    x: torch.Tensor,
    counts: torch.Tensor,
    ref: float,
    amin: float,
    top_db: float | None,
) -> torch.Tensor:
    """In-place :func:`seqlab.features.functional.power_to_db` of ``(B, T, D)`` power with
    ``(B,)`` valid frame counts (the ``top_db`` peak is per utterance over valid frames)."""
    x.clamp_min_(amin).log10_().mul_(10.0)
    offset = 10.0 * math.log10(max(amin, ref))
    if offset:
        x.sub_(offset)
    if top_db is None or x.numel() == 0:
        return x
    frame_peak = x.amax(dim=-1)
    if bool((counts < x.shape[1]).any()):
        valid = torch.arange(x.shape[1], device=x.device) < counts[:, None]
        frame_peak.masked_fill_(~valid, -math.inf)
    floor = frame_peak.amax(dim=-1) - top_db
    return torch.maximum(x, floor[:, None, None], out=x)


def workspace(
    numel: int, dtype: torch.dtype, device: torch.device, slot: str = "analyze"
) -> torch.Tensor:
    """A flat scratch tensor of at least ``numel`` elements, reused by this thread on the CPU
    for the named ``slot`` up to :data:`WORKSPACE_LIMIT_BYTES` (other devices have caching
    allocators, and bigger requests are rare: a new tensor). The reused tensor is a normal
    (not inference) tensor, so it serves calls inside and outside ``torch.inference_mode``."""
    too_big = numel * torch.empty((), dtype=dtype).element_size() > WORKSPACE_LIMIT_BYTES
    if device.type != "cpu" or too_big:
        return torch.empty(numel, dtype=dtype, device=device)
    pool = _WORKSPACE.__dict__.setdefault("pool", {})
    key = (slot, dtype, device)
    if key not in pool or pool[key].numel() < numel:
        # a normal tensor: one made under inference_mode could not be written outside it
        with torch.inference_mode(False):
            pool[key] = torch.empty(numel, dtype=dtype, device=device)
    return pool[key]


def zero_past_counts_(x: torch.Tensor, counts: Sequence[int]) -> torch.Tensor:
    """Zero, in place, the frames ``t >= counts[b]`` of a ``(B, T, ...)`` tensor; only the
    rows shorter than ``T`` are touched (a length-sorted bucket has few)."""
    t = x.shape[1]
    for row, count in enumerate(counts):
        if count < t:
            x[row, count:] = 0.0
    return x


def _chunks(
    batch: int, frames: int, limit: int, counts: Sequence[int] | None = None
) -> Iterator[tuple[slice, slice]]:
    """``(rows, frames)`` slices tiling a ``(batch, frames)`` grid in blocks of <= ``limit``
    frames (whole rows together when they fit, else pieces of one row). With ``counts``
    (frames per row), pieces of a row stop at its count: the padding frames past it are
    skipped."""
    span = min(frames, limit)
    rows = max(1, limit // span)
    for b0 in range(0, batch, rows):
        if rows == 1 and counts is not None:
            stop = min(frames, counts[b0])
            for t0 in range(0, stop, span):
                yield slice(b0, b0 + 1), slice(t0, min(t0 + span, stop))
            continue
        for t0 in range(0, frames, span):
            yield slice(b0, min(b0 + rows, batch)), slice(t0, min(t0 + span, frames))


def analyze(
    frames: torch.Tensor,
    window: torch.Tensor,
    plan: MelPlan | None,
    *,
    n_fft: int,
    power: float,
    preemphasis: float,
    remove_dc_offset: bool,
    energy: str | None,
    chunk_frames: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Power (or mel) spectra of ``(B, T, W)`` frames, computed chunk by chunk.

    Args:
        frames: ``(B, T, W)`` raw frames (an ``unfold`` view of the padded waveforms).
        window: ``(W,)`` window in the frames' dtype (any input scale folded in).
        plan: the mel filterbank (:func:`mel_plan`), or ``None`` for the power spectrum.
        n_fft: rFFT size (>= W; frames are zero-padded to it).
        power: exponent of ``|X|``.
        preemphasis, remove_dc_offset: as :func:`fill_frames`.
        energy: ``"raw"`` (before pre-emphasis and window), ``"processed"`` (of the windowed
            frame) or ``None``.
        chunk_frames: frames per chunk (default :data:`CHUNK_FRAMES` on the CPU, the whole
            batch on other devices).

    Returns:
        ``(values, energy)``: ``(B, T, M)`` mel energies or ``(B, T, n_fft // 2 + 1)`` power
        spectrum; ``(B, T)`` energy (``sum x ** 2`` in the units of ``frames`` for ``"raw"``,
        of the windowed frame for ``"processed"``) or ``None``.
    """
    batch, t_max, wlen = frames.shape
    num_freqs = n_fft // 2 + 1
    dtype, device = frames.dtype, frames.device
    dim = plan.num_filters if plan is not None else num_freqs
    values = torch.empty(batch, t_max, dim, dtype=dtype, device=device)
    energies = torch.empty(batch, t_max, dtype=dtype, device=device) if energy else None
    if batch == 0 or t_max == 0:
        return values, energies
    if chunk_frames is None:
        chunk_frames = CHUNK_FRAMES if device.type == "cpu" else batch * t_max
    cap = min(chunk_frames, batch * t_max)  # a chunk's frames, at most
    space = workspace(cap * (n_fft + wlen + dim), dtype, device)
    buf_space = space[: cap * n_fft]
    scratch_space = space[cap * n_fft : cap * (n_fft + wlen)]
    out_space = space[cap * (n_fft + wlen) :]
    for rows, span in _chunks(batch, t_max, chunk_frames):
        chunk = frames[rows, span]
        b, t = chunk.shape[:2]
        n = b * t
        buf = buf_space[: n * n_fft].view(b, t, n_fft)
        buf[..., wlen:].zero_()
        raw = fill_frames(
            chunk,
            buf,
            window,
            preemphasis=preemphasis,
            remove_dc_offset=remove_dc_offset,
            raw_energy=energy == "raw",
            scratch=scratch_space[: n * wlen].view(b, t, wlen),
        )
        if energies is not None:
            energies[rows, span] = raw if raw is not None else torch.linalg.vecdot(buf, buf)
        spec = torch.fft.rfft(buf.view(n, n_fft))
        if plan is None:
            result = power_spectrum(spec, power, out=out_space[: n * dim].view(n, dim))
            values[rows, span] = result.view(b, t, dim)
        else:
            result = mel_energies(spec, plan, power, out=out_space[: n * dim].view(dim, n))
            values[rows, span] = result.view(dim, b, t).permute(1, 2, 0)
    return values, energies


def _region(x: torch.Tensor, rows: slice, span: slice) -> torch.Tensor:
    """The chunk ``x[rows, span]`` of a contiguous ``(B, T, ...)`` tensor as a ``(n, ...)``
    view (a chunk is whole rows or a piece of one row, so it is contiguous)."""
    part = x[rows, span]
    return part.view(part.shape[0] * part.shape[1], *part.shape[2:])


def analyze_waveforms(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    frame_counts: torch.Tensor,
    window: torch.Tensor,
    plan: MelPlan | None,
    *,
    hop: int,
    offset: int,
    pad_mode: str,
    n_fft: int,
    power: float,
    preemphasis: float,
    remove_dc_offset: bool,
    energy: str | None,
    chunk_frames: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """:func:`analyze` straight from a ``(B, N)`` CPU batch (see :func:`cpu_kernels.usable`),
    with no padded copy: frame ``t`` of row ``b`` reads samples ``t * hop - offset`` onwards,
    and positions outside ``[0, lengths[b])`` come from ``pad_mode`` (as
    :func:`seqlab.features.framing.pad_for_framing`). ``frame_counts`` ``(B,)`` holds each
    row's valid frames; ``T`` is their maximum, and frames past a row's count are zero (a row
    longer than a chunk is computed up to its count only). The window's length is the frame
    length. Returns as :func:`analyze`.

    Per chunk: one numba pass writes the rFFT input, torch's rFFT, and one numba pass from the
    complex spectrum to the power spectrum or, with a filterbank, to the mel energies (each
    frame's power spectrum stays in L1; each filter sums only its nonzero bins). With several
    torch threads the chunks go to the feature workers."""
    batch = waveforms.shape[0]
    counts = frame_counts.tolist()
    num_frames = max(counts, default=0)
    num_freqs = n_fft // 2 + 1
    dim = plan.num_filters if plan is not None else num_freqs
    dtype, device = waveforms.dtype, waveforms.device
    values = torch.empty(batch, num_frames, dim, dtype=dtype, device=device)
    energies = torch.empty(batch, num_frames, dtype=dtype, device=device) if energy else None
    if batch == 0 or num_frames == 0:
        return values, energies
    signal = waveforms.contiguous()
    row_stride = signal.shape[1]
    signal = signal.view(-1)
    sizes = lengths.cpu().numpy()
    if chunk_frames is None:
        chunk_frames = max(256, FUSED_CHUNK_BYTES // (n_fft * values.element_size()))
    win = window.detach().to(dtype).numpy()
    cap = min(chunk_frames, batch * num_frames)

    def run(chunk: tuple[slice, slice]) -> None:
        rows, span = chunk
        n = (rows.stop - rows.start) * (span.stop - span.start)
        buf = workspace(cap * n_fft, dtype, device)[: n * n_fft].view(n, n_fft)
        sink = None
        if energies is not None:
            sink = workspace(cap, torch.float64, device, slot="energy")[:n]
        cpu_kernels.fill_frames(
            signal,
            row_stride,
            sizes,
            hop,
            rows,
            span,
            win,
            buf,
            offset=offset,
            pad_mode=pad_mode,
            preemphasis=preemphasis,
            remove_dc_offset=remove_dc_offset,
            energy=energy,
            energy_out=sink,
        )
        if energies is not None:
            _region(energies, rows, span).copy_(sink)
        spec = torch.fft.rfft(buf)
        out = _region(values, rows, span)
        if plan is None:
            cpu_kernels.power_spectrum(spec, power, out)
            return
        cpu_kernels.power_mel(spec, power, *plan.sparse, out)

    workers.for_each(run, list(_chunks(batch, num_frames, chunk_frames, counts)))
    zero_past_counts_(values, counts)  # skipped, or computed from the padding
    if energies is not None:
        zero_past_counts_(energies, counts)
    return values, energies
