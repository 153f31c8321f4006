"""Batched feature pipelines: waveform ``(B, N)`` + lengths -> spectrogram / fbank / MFCC.

The per-frame steps of :mod:`seqlab.features.functional` (dither, DC removal, raw log-energy,
pre-emphasis, window, zero-padded rFFT, power, mel, log, DCT, lifter) run on a strided
``unfold`` view of the padded waveform. Without gradients (inference, the usual case) they go
through :mod:`seqlab.features.kernels`: the frame processing writes straight into the
zero-padded rFFT input of exactly ``n_fft`` samples, the spectrum is squared in place, the mel
filterbank is applied only over each filter band's nonzero bins, and log/dB run in place; the
window (with ``input_scale`` folded in), filterbank and DCT are cast once per dtype and device.
When a gradient is needed the same arithmetic is composed from out-of-place ops.

DC removal subtracts each frame's mean twice (the second time, the float32 rounding of the
first mean), so float32 keeps full precision on audio with a DC offset and constant frames
(digital silence with an offset) come out exactly zero, as in exact arithmetic.

The result equals composing the functional steps frame by frame (tested). Frames past each
utterance's frame count are zero in every output.
"""

from __future__ import annotations

import functools
import math

import torch

from seqlab.features import cpu_kernels, kernels, workers
from seqlab.features import functional as F
from seqlab.features.errors import FeatureError
from seqlab.features.framing import frame_offset, num_frames, pad_for_framing, padding_mode
from seqlab.features.presets import FeatureConfig, resolve_config

__all__ = [
    "build_window",
    "build_mel_weights",
    "build_dct",
    "check_waveforms",
    "check_finite_samples",
    "frame_counts",
    "frame_spectra",
    "power_spectrogram",
    "spectrogram",
    "fbank",
    "mfcc",
]


def build_window(config: FeatureConfig, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The analysis window ``(frame_length_samples,)``, zero-padded if ``win_length`` is shorter."""
    win = F.window(config.window, config.window_length_samples, config.periodic, dtype=dtype)
    return F.pad_window(win, config.frame_length_samples)


def build_mel_weights(config: FeatureConfig, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The mel filterbank ``(num_freqs, n_mels)`` for ``config``."""
    return F.mel_filterbank(
        config.fft_length,
        config.n_mels,
        config.sample_rate,
        config.f_min,
        config.f_max,
        scale=config.mel_scale,
        construction=config.mel_construction,
        norm=config.mel_norm,
        dtype=dtype,
    )


def build_dct(config: FeatureConfig, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """DCT-II (ortho) with the lifter folded in, ``(n_mels, n_mfcc)``."""
    dct = F.dct_matrix(config.n_mfcc, config.n_mels, dtype=torch.float64)
    dct = dct * F.lifter_weights(config.n_mfcc, config.lifter, config.lifter_style)[None, :]
    return dct.to(dtype)


def check_waveforms(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None,
    config: FeatureConfig,
    sample_rate: int | None = None,
    *,
    check_finite: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a ``(B, N)`` float32/float64 batch and its lengths; returns ``(waveforms, lengths)``.

    Raises:
        FeatureError: wrong rank or dtype, lengths outside ``[0, N]`` or of the wrong shape,
            NaN/inf samples (naming the rows; unless ``check_finite`` is off), or
            ``sample_rate != config.sample_rate``.
    """
    if sample_rate is not None and int(sample_rate) != config.sample_rate:
        raise FeatureError(
            f"sample rate {sample_rate} Hz does not match the feature configuration "
            f"({config.sample_rate} Hz); resample the audio (seqlab.audio.resample) or set "
            f"sample_rate={sample_rate}"
        )
    if waveforms.dim() != 2 or waveforms.dtype not in (torch.float32, torch.float64):
        raise FeatureError(
            f"waveforms must be a float32 or float64 tensor of shape (B, N), got "
            f"{waveforms.dtype} {tuple(waveforms.shape)} (cast half-precision audio with .float())"
        )
    batch, n = waveforms.shape
    if lengths is None:
        lengths = torch.full((batch,), n, dtype=torch.long, device=waveforms.device)
    else:
        lengths = torch.as_tensor(lengths, device=waveforms.device)
        if lengths.shape != (batch,) or lengths.is_floating_point() or lengths.is_complex():
            raise FeatureError(
                f"lengths must be an integer tensor of shape ({batch},), got {lengths.dtype} "
                f"{tuple(lengths.shape)}"
            )
        lengths = lengths.long()
        if batch and (int(lengths.min()) < 0 or int(lengths.max()) > n):
            raise FeatureError(f"lengths must lie in [0, {n}], got {lengths.tolist()}")
    if check_finite:
        waveforms = check_finite_samples(waveforms, lengths)
    return waveforms, lengths


def check_finite_samples(
    waveforms: torch.Tensor, lengths: torch.Tensor | None = None, first_row: int = 0
) -> torch.Tensor:
    """Raise :class:`FeatureError` naming the rows (numbered from ``first_row``) of a
    ``(B, N)`` batch whose valid samples (the first ``lengths[b]``, default all) hold NaN or
    infinite values. Padding past a length may hold anything: returns ``waveforms``, or a copy
    with non-finite padding set to 0 (frames past a count read it, and although their
    features are zeroed, 0 * NaN would reach the gradient of the valid samples)."""
    if not waveforms.numel() or bool(torch.isfinite(waveforms.sum())):  # one pass
        return waveforms
    bad_sample = ~torch.isfinite(waveforms)
    in_signal = bad_sample
    if lengths is not None:
        in_signal = bad_sample & F.length_mask(lengths.to(waveforms.device), waveforms.shape[1])
    bad = torch.nonzero(in_signal.any(dim=1)).flatten() + first_row
    if bad.numel():
        raise FeatureError(f"waveform rows {bad.tolist()} hold NaN or infinite samples")
    return waveforms.masked_fill(bad_sample, 0.0)


def _needs_grad(*tensors: torch.Tensor | None) -> bool:
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _scaled_window(
    window: torch.Tensor | None, config: FeatureConfig, like: torch.Tensor
) -> torch.Tensor:
    """The analysis window times ``config.input_scale`` in ``like``'s dtype and device."""
    if window is None:
        window = _default_buffers(config)[0]
    if window.requires_grad:
        return window.to(device=like.device, dtype=like.dtype) * config.input_scale
    key = ("scaled", like.dtype, like.device, config.input_scale)
    return kernels.derived(
        window,
        key,
        lambda: window.to(device=like.device, dtype=like.dtype) * config.input_scale,
    )


@functools.lru_cache(maxsize=32)
def _default_buffers(config: FeatureConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """float64 window, filterbank and DCT of ``config`` (shared: never modify them), built as
    normal tensors so that :func:`kernels.derived` can memoize on them."""
    with torch.inference_mode(False):
        return (
            build_window(config, torch.float64),
            build_mel_weights(config, torch.float64),
            build_dct(config, torch.float64),
        )


def _processed_frames(
    frames: torch.Tensor, window: torch.Tensor, config: FeatureConfig
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Differentiable per-frame processing: ``(B, T, W)`` frames -> ``(B, T, n_fft)``
    zero-padded ``window * preemphasis(frame - mean)`` and the raw energy (or ``None``)."""
    z = frames
    if config.remove_dc_offset:  # same arithmetic as kernels.fill_frames
        z = frames - frames.mean(dim=-1, keepdim=True)
        z = z - z.mean(dim=-1, keepdim=True)
    raw = torch.linalg.vecdot(z, z) if config.use_energy and config.raw_energy else None
    a = config.preemphasis
    if a != 0.0:
        z = torch.cat([z[..., :1] * (1.0 - a), torch.sub(z[..., 1:], z[..., :-1], alpha=a)], -1)
    body = z * window
    return torch.nn.functional.pad(body, (0, config.fft_length - body.shape[-1])), raw


def frame_counts(lengths: torch.Tensor | int, config: FeatureConfig) -> torch.Tensor:
    """Frame counts (long, same shape) of signals of ``lengths`` samples under ``config``'s
    framing."""
    return num_frames(
        lengths,
        config.frame_length_samples,
        config.frame_shift_samples,
        center=config.center,
        snip_edges=config.snip_edges,
    )


def _dither_amount(config: FeatureConfig, dither: float | None) -> float:
    """Dither std in waveform units (``dither`` or the config's, in ``input_scale`` units)."""
    return (config.dither if dither is None else dither) / config.input_scale


def _framed(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    dither: float | None,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Dithered ``(B, T, W)`` frames (a strided view, no copy) and ``(B,)`` frame counts.

    Without gradients the padded batch is built in a reused workspace (see
    :func:`kernels.workspace`): the frames are only valid until the next call in this thread.
    """
    wlen, hop = config.frame_length_samples, config.frame_shift_samples
    x = F.dither(waveforms, _dither_amount(config, dither), generator)
    out = None
    if not _needs_grad(x) and x.shape[0]:
        # at most one frame of padding on each side of the longest row
        size = x.shape[0] * (x.shape[1] + 2 * wlen + hop)
        out = kernels.workspace(size, x.dtype, x.device, slot="padded")
    padded, counts = pad_for_framing(
        x,
        lengths,
        wlen,
        hop,
        center=config.center,
        snip_edges=config.snip_edges,
        pad_mode=config.pad_mode,
        out=out,
    )
    t_max = int(counts.max()) if x.shape[0] else 0
    return padded.unfold(-1, wlen, hop)[:, :t_max], counts


def _log_energy(energy: torch.Tensor | None, config: FeatureConfig) -> torch.Tensor | None:
    """Kaldi's log-energy from the raw (frame units) or processed (scaled) energy."""
    if energy is None:
        return None
    if config.raw_energy:
        energy = energy * config.input_scale**2
    energy = energy.clamp_min(F.FLT_EPSILON).log()
    if config.energy_floor > 0:
        energy = energy.clamp_min(math.log(config.energy_floor))
    return energy


def _composed_spectra(
    frames: torch.Tensor, window: torch.Tensor, config: FeatureConfig
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Differentiable complex spectra ``(B, T, F)`` and energy of ``(B, T, W)`` frames."""
    buf, energy = _processed_frames(frames, window, config)
    if config.use_energy and not config.raw_energy:
        energy = torch.linalg.vecdot(buf, buf)
    if buf.shape[0] == 0 or buf.shape[1] == 0:  # MKL rejects empty transforms
        shape = (*buf.shape[:2], config.fft_length // 2 + 1)
        dtype = torch.complex128 if buf.dtype == torch.float64 else torch.complex64
        return torch.zeros(shape, dtype=dtype, device=buf.device), energy
    return torch.fft.rfft(buf), energy


def frame_spectra(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    *,
    window: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Complex rFFT of each processed frame of a checked batch.

    Args:
        waveforms: ``(B, N)`` float audio in ``[-1, 1]`` (scaled by ``config.input_scale``).
        lengths: ``(B,)`` long valid samples.
        window: the ``(W,)`` window (built from ``config`` when ``None``).
        dither: dither std in ``input_scale`` units (``None``: ``config.dither``).

    Returns:
        ``(spec, log_energy, frame_lengths)``: complex ``(B, T, n_fft // 2 + 1)`` spectra of the
        dithered, DC-removed, pre-emphasized, windowed, zero-padded frames (in input_scale
        units); the ``(B, T)`` natural-log energy, or ``None`` when ``config.use_energy`` is
        off; the ``(B,)`` long frame counts.
    """
    frames, counts = _framed(waveforms, lengths, config, dither, generator)
    spec, energy = _composed_spectra(frames, _scaled_window(window, config, frames), config)
    return spec, _log_energy(energy, config), counts


def power_spectrogram(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    *,
    window: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Like :func:`frame_spectra` but returns real ``|X| ** config.power``, ``(B, T, F)``.

    Frames past each row's count are padding: spectra of the padded signal, or zeros where
    the fused CPU kernels run (which skip them)."""
    return _analyze(waveforms, lengths, config, window, None, dither, generator, mel=False)


def _analyze(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    window: torch.Tensor | None,
    mel_weights: torch.Tensor | None,
    dither: float | None,
    generator: torch.Generator | None,
    *,
    mel: bool,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """``(power or mel energies (B, T, D), log-energy (B, T) or None, frame counts (B,))``.

    Without gradients this runs :func:`kernels.analyze_waveforms` (fused numba kernels, when
    :func:`cpu_kernels.usable`) or :func:`kernels.analyze` (chunked torch steps, in place); with
    gradients, the composed differentiable steps.
    """
    if mel and mel_weights is None:
        mel_weights = _default_buffers(config)[1]
    energy_kind = None
    if config.use_energy:
        energy_kind = "raw" if config.raw_energy else "processed"
    if cpu_kernels.usable(waveforms) and not _needs_grad(waveforms, window, mel_weights):
        # the fused CPU kernels read the batch itself and pad at the edges: no padded copy
        x = F.dither(waveforms, _dither_amount(config, dither), generator)
        wlen, hop = config.frame_length_samples, config.frame_shift_samples
        geometry = {"center": config.center, "snip_edges": config.snip_edges}
        counts = frame_counts(lengths, config)
        win = _scaled_window(window, config, x)
        values, energy = kernels.analyze_waveforms(
            x,
            lengths,
            counts,
            win,
            kernels.mel_plan(mel_weights, x.dtype, x.device) if mel else None,
            hop=hop,
            offset=frame_offset(wlen, hop, **geometry),
            pad_mode=padding_mode(config.pad_mode, center=config.center),
            n_fft=config.fft_length,
            power=config.power,
            preemphasis=config.preemphasis,
            remove_dc_offset=config.remove_dc_offset,
            energy=energy_kind,
        )
        return values, _log_energy(energy, config), counts
    frames, counts = _framed(waveforms, lengths, config, dither, generator)
    win = _scaled_window(window, config, frames)
    if not _needs_grad(frames, win, mel_weights):
        values, energy = kernels.analyze(
            frames,
            win,
            kernels.mel_plan(mel_weights, frames.dtype, frames.device) if mel else None,
            n_fft=config.fft_length,
            power=config.power,
            preemphasis=config.preemphasis,
            remove_dc_offset=config.remove_dc_offset,
            energy=energy_kind,
        )
        return values, _log_energy(energy, config), counts
    spec, energy = _composed_spectra(frames, win, config)
    values = F.spectrum_power(spec, config.power)
    if mel:
        values = values @ mel_weights.to(device=values.device, dtype=values.dtype)
    return values, _log_energy(energy, config), counts


def _prepare(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None,
    config: FeatureConfig,
    sample_rate: int | None,
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    if waveforms.dim() == 0:
        raise FeatureError("waveforms must have shape (N,) or (B, N), got a scalar")
    lead = tuple(waveforms.shape[:-1])
    flat = waveforms.reshape(math.prod(lead), waveforms.shape[-1])
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=waveforms.device).reshape(-1)
    flat, lens = check_waveforms(flat, lengths, config, sample_rate, check_finite=False)
    return flat, lens, lead


def _finish(feats: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the frames of ``(B, T, D)`` features past each of the ``(B,)`` counts."""
    t = feats.shape[1]
    if feats.shape[0] and t and bool((counts < t).any()):
        if feats.requires_grad:
            feats = feats.masked_fill(~F.length_mask(counts, t)[..., None], 0.0)
        else:
            kernels.zero_past_counts_(feats, counts.tolist())
    return feats, counts


def _log(x: torch.Tensor, counts: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    """``config.log`` of power ``(B, T, D)``; in place when no gradient is needed."""
    in_place = not x.requires_grad
    if config.log == "ln":
        return (
            kernels.log_(x, config.log_floor) if in_place else F.log_with_floor(x, config.log_floor)
        )
    if config.log == "db":
        if in_place:
            return kernels.power_to_db_(x, counts, config.db_ref, config.db_amin, config.top_db)
        return F.power_to_db(x, config.db_ref, config.db_amin, config.top_db, lengths=counts)
    return x


def _with_energy(feats: torch.Tensor, energy: torch.Tensor | None, replace: bool) -> torch.Tensor:
    """Put the log-energy first: prepended, or replacing column 0 (``replace``); always
    returns a new contiguous tensor."""
    if energy is None:
        return feats.contiguous()
    return torch.cat([energy[..., None], feats[..., 1:] if replace else feats], dim=-1)


def _features(
    kind: str,
    flat: torch.Tensor,
    lens: torch.Tensor,
    config: FeatureConfig,
    window: torch.Tensor | None,
    mel_weights: torch.Tensor | None,
    dct: torch.Tensor | None,
    dither: float | None,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``kind`` features ``(B, T, D)`` of a checked ``(B, N)`` batch, frames past each count
    zeroed, and the ``(B,)`` frame counts."""
    mel = kind != "spectrogram"
    values, energy, counts = _analyze(
        flat, lens, config, window, mel_weights, dither, generator, mel=mel
    )
    logged = _log(values, counts, config)
    if kind == "mfcc":
        feats = _cepstra(logged, energy, config, dct)
    else:
        feats = _with_energy(logged, energy, replace=kind == "spectrogram")
    return _finish(feats, counts)


def _row_groups(flat: torch.Tensor, *buffers: torch.Tensor | None) -> list[slice] | None:
    """Row slices for the feature workers (:mod:`seqlab.features.workers`), or ``None`` to
    compute the batch in this thread (GPU, autograd, one torch thread, or fewer than two rows
    per worker: the workers then share out the frame chunks instead).

    Whole rows go to a worker, which runs the complete single-threaded pipeline on them (log,
    ``top_db`` per utterance, DCT included), so the calling thread starts no thread team of its
    own while the workers run."""
    if not cpu_kernels.usable(flat) or _needs_grad(flat, *buffers):
        return None
    size = workers.pool_size()
    batch = flat.shape[0]
    if size < 2 or batch < 2 * size:
        return None
    bounds = [round(i * batch / size) for i in range(size + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def _compute(
    kind: str,
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None,
    config: FeatureConfig | None,
    window: torch.Tensor | None,
    mel_weights: torch.Tensor | None,
    dct: torch.Tensor | None,
    dither: float | None,
    generator: torch.Generator | None,
    sample_rate: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of ``(..., N)`` waveforms for :func:`spectrogram`, :func:`fbank` and
    :func:`mfcc`: in this thread, or in row groups on the feature workers (the dither is
    drawn here first, so the result does not depend on the split). With workers, every pass
    over the samples runs in them, the NaN check included: a multi-threaded torch op here
    would leave torch's own thread team spinning on the cores the workers need."""
    config = config or resolve_config("kaldi", kind)
    flat, lens, lead = _prepare(waveforms, lengths, config, sample_rate)
    groups = _row_groups(flat, window, mel_weights, dct)
    if groups is None:
        flat = check_finite_samples(flat, lens)
        feats, counts = _features(
            kind, flat, lens, config, window, mel_weights, dct, dither, generator
        )
    else:
        x = F.dither(flat, _dither_amount(config, dither), generator)
        counts = frame_counts(lens, config)
        feats = torch.empty(x.shape[0], int(counts.max()), config.num_features(kind), dtype=x.dtype)

        def run(rows: slice) -> None:
            part_x = check_finite_samples(x[rows], lens[rows], rows.start)  # dither keeps NaN
            part, _ = _features(
                kind, part_x, lens[rows], config, window, mel_weights, dct, 0.0, None
            )
            feats[rows, : part.shape[1]] = part
            feats[rows, part.shape[1] :] = 0.0

        workers.for_each(run, groups)
    return feats.reshape(*lead, *feats.shape[1:]), counts.reshape(lead)


def spectrogram(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None = None,
    config: FeatureConfig | None = None,
    *,
    window: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
    sample_rate: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log (per ``config.log``) power spectrogram ``(..., N) -> (..., T, n_fft // 2 + 1)``.

    With ``config.use_energy`` bin 0 holds the log-energy (Kaldi ``compute-spectrogram-feats``).
    Returns ``(features, frame_lengths)``; see :func:`fbank` for the arguments.
    """
    return _compute(
        "spectrogram",
        waveforms,
        lengths,
        config,
        window,
        None,
        None,
        dither,
        generator,
        sample_rate,
    )


def fbank(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None = None,
    config: FeatureConfig | None = None,
    *,
    window: torch.Tensor | None = None,
    mel_weights: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
    sample_rate: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log mel filterbank energies ``(..., N) -> (..., T, n_mels [+ 1])``.

    Args:
        waveforms: ``(..., N)`` float audio in ``[-1, 1]``; rows are utterances.
        lengths: ``(...)`` valid samples per utterance (``None``: all ``N``).
        config: a :class:`FeatureConfig` (default: Kaldi fbank).
        window, mel_weights: precomputed buffers (built from ``config`` when ``None``).
        dither: dither std in ``input_scale`` units (``None``: ``config.dither``).
        generator: random generator for the dither.
        sample_rate: rate of ``waveforms`` in Hz, checked against ``config`` when given.

    Returns:
        ``(features, frame_lengths)``: ``(..., T, D)`` in the input dtype (natural log for
        ``log="ln"``, dB for ``"db"``), with the log-energy first when ``use_energy``; and the
        ``(...)`` long frame counts. Frames past a count are zero.
    """
    return _compute(
        "fbank",
        waveforms,
        lengths,
        config,
        window,
        mel_weights,
        None,
        dither,
        generator,
        sample_rate,
    )


def mfcc(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None = None,
    config: FeatureConfig | None = None,
    *,
    window: torch.Tensor | None = None,
    mel_weights: torch.Tensor | None = None,
    dct: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
    sample_rate: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MFCCs ``(..., N) -> (..., T, n_mfcc)``: DCT-II (ortho) of the log mel energies, liftered.

    With ``config.use_energy`` C0 is replaced by the log-energy (Kaldi). ``dct`` is the
    ``(n_mels, n_mfcc)`` matrix with the lifter folded in (:func:`build_dct`). Other arguments
    as :func:`fbank`.
    """
    return _compute(
        "mfcc", waveforms, lengths, config, window, mel_weights, dct, dither, generator, sample_rate
    )


def _cepstra(
    logmel: torch.Tensor,
    energy: torch.Tensor | None,
    config: FeatureConfig,
    dct: torch.Tensor | None,
) -> torch.Tensor:
    """Liftered DCT of log mel energies ``(..., M) -> (..., n_mfcc)``, C0 := log-energy."""
    basis = _default_buffers(config)[2] if dct is None else dct
    if not _needs_grad(logmel, basis):
        basis = kernels.derived(
            basis, ("cast", logmel.dtype, logmel.device), lambda: basis.to(logmel)
        )
    feats = logmel @ basis.to(device=logmel.device, dtype=logmel.dtype)
    if energy is not None:
        feats[..., 0] = energy  # in place is fine: feats is a fresh matmul output
    return feats
