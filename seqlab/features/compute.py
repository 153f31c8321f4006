"""Batched feature pipelines: waveform ``(B, N)`` + lengths -> spectrogram / fbank / MFCC.

The per-frame steps of :mod:`seqlab.features.functional` (dither, DC removal, raw log-energy,
pre-emphasis, window, zero-padded rFFT, mel, log, DCT, lifter) are fused here so no step
materializes more than one ``(B, T, W)`` tensor:

- pre-emphasis is linear, so it is applied once to the padded waveform ``e[n] = x[n] - a x[n-1]``
  and each frame's first sample is fixed up to Kaldi's in-frame ``(1 - a) x[0]``;
- DC removal commutes with it: ``z = e' - (1 - a) mean``, applied to the windowed frames as one
  rank-1 update ``- (1 - a) mean (x) window``;
- mean and raw energy come from one ``var_mean`` pass over a strided view of the frames.

The result equals composing the functional steps frame by frame (tested). Frames past each
utterance's frame count are zero in every output.
"""

from __future__ import annotations

import math

import torch

from seqlab.features import functional as F
from seqlab.features.errors import FeatureError
from seqlab.features.framing import pad_for_framing
from seqlab.features.presets import FeatureConfig, resolve_config

__all__ = [
    "build_window",
    "build_mel_weights",
    "build_dct",
    "check_waveforms",
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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a ``(B, N)`` float batch and its lengths; returns ``(waveforms, lengths)``.

    Raises:
        FeatureError: wrong rank or dtype, lengths outside ``[0, N]`` or of the wrong shape,
            NaN/inf samples (naming the rows), or ``sample_rate != config.sample_rate``.
    """
    if sample_rate is not None and int(sample_rate) != config.sample_rate:
        raise FeatureError(
            f"sample rate {sample_rate} Hz does not match the feature configuration "
            f"({config.sample_rate} Hz); resample the audio (seqlab.audio.resample) or set "
            f"sample_rate={sample_rate}"
        )
    if waveforms.dim() != 2 or not waveforms.is_floating_point():
        raise FeatureError(
            f"waveforms must be a float tensor of shape (B, N), got {waveforms.dtype} "
            f"{tuple(waveforms.shape)}"
        )
    batch, n = waveforms.shape
    if lengths is None:
        lengths = torch.full((batch,), n, dtype=torch.long, device=waveforms.device)
    else:
        lengths = torch.as_tensor(lengths, device=waveforms.device)
        if lengths.shape != (batch,) or lengths.is_floating_point():
            raise FeatureError(
                f"lengths must be an integer tensor of shape ({batch},), got {tuple(lengths.shape)}"
            )
        lengths = lengths.long()
        if batch and (int(lengths.min()) < 0 or int(lengths.max()) > n):
            raise FeatureError(f"lengths must lie in [0, {n}], got {lengths.tolist()}")
    if batch and n and not bool(torch.isfinite(waveforms.sum())):  # one pass; details on failure
        rows = torch.nonzero(~torch.isfinite(waveforms).all(dim=1)).flatten().tolist()
        raise FeatureError(f"waveform rows {rows} hold NaN or infinite samples")
    return waveforms, lengths


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
    wlen, hop, n_fft = config.frame_length_samples, config.frame_shift_samples, config.fft_length
    scale = config.input_scale
    win = build_window(config, waveforms.dtype) if window is None else window
    win = win.to(device=waveforms.device, dtype=waveforms.dtype) * scale  # folds the input scale
    x = F.dither(waveforms, (config.dither if dither is None else dither) / scale, generator)
    if config.remove_dc_offset and x.shape[0] and x.shape[1]:
        # per-frame DC removal makes the features invariant to a constant shift: removing each
        # utterance's mean first keeps float32 precision for audio with a DC offset
        means = torch.stack(
            [
                row[: int(n)].mean() if int(n) else row.new_zeros(())
                for row, n in zip(x, lengths.tolist())
            ]
        )
        x = x - means[:, None]
    padded, counts = pad_for_framing(
        x,
        lengths,
        wlen,
        hop,
        center=config.center,
        snip_edges=config.snip_edges,
        pad_mode=config.pad_mode,
    )
    batch, t_max = x.shape[0], (int(counts.max()) if x.shape[0] else 0)
    frames = padded.unfold(-1, wlen, hop)[:, :t_max]  # (B, T, W) view, no copy
    a = config.preemphasis
    mean = frames.mean(dim=-1) if config.remove_dc_offset else None
    energy = None
    if config.use_energy and config.raw_energy:
        centred = frames - mean[..., None] if mean is not None else frames
        energy = torch.linalg.vecdot(centred, centred) * scale**2
    fast = not (torch.is_grad_enabled() and (waveforms.requires_grad or win.requires_grad))
    if a != 0.0:
        if fast:
            emph = torch.empty_like(padded)
            torch.sub(padded[:, 1:], padded[:, :-1], alpha=a, out=emph[:, 1:])
            emph[:, :1] = padded[:, :1]
        else:
            emph = torch.cat(
                [padded[:, :1], torch.sub(padded[:, 1:], padded[:, :-1], alpha=a)], dim=1
            )
        source = emph.unfold(-1, wlen, hop)[:, :t_max]
        first = frames[..., 0] - mean if mean is not None else frames[..., 0]
        first = first * ((1.0 - a) * win[0])  # Kaldi: x[0] -= a * x[0] inside each frame
    else:
        source = frames
    shift = (1.0 - a) * mean[..., None] if mean is not None else None
    if fast:
        buf = torch.empty(batch, t_max, n_fft, dtype=x.dtype, device=x.device)
        body = buf[..., :wlen]
        if shift is not None:
            torch.sub(source, shift, out=body)
            body.mul_(win)
        else:
            torch.mul(source, win, out=body)
        if a != 0.0:
            body[..., 0] = first
        buf[..., wlen:].zero_()
    else:
        body = (source - shift if shift is not None else source) * win
        if a != 0.0:
            body = torch.cat([first[..., None], body[..., 1:]], dim=-1)
    if mean is not None and batch and t_max:
        flat = _constant_frames(padded, wlen, hop, t_max)  # exactly zero after DC removal
        if bool(flat.any()):
            body = (
                body.masked_fill(flat[..., None], 0.0)
                if not fast
                else body.masked_fill_(flat[..., None], 0.0)
            )
            if energy is not None:
                energy = energy.masked_fill(flat, 0.0)
    if not fast:
        buf = torch.nn.functional.pad(body, (0, n_fft - wlen))
    if config.use_energy and not config.raw_energy:
        energy = torch.linalg.vecdot(body, body)
    if energy is not None:
        energy = energy.clamp_min(F.FLT_EPSILON).log()
        if config.energy_floor > 0:
            energy = energy.clamp_min(math.log(config.energy_floor))
    if batch == 0 or t_max == 0:  # MKL rejects empty transforms
        spec = torch.zeros(
            batch,
            t_max,
            n_fft // 2 + 1,
            dtype=torch.complex128 if x.dtype == torch.float64 else torch.complex64,
            device=x.device,
        )
        return spec, energy, counts
    return torch.fft.rfft(buf), energy, counts


def _constant_frames(padded: torch.Tensor, wlen: int, hop: int, t_max: int) -> torch.Tensor:
    """``(B, T)`` bool: frames whose samples are all equal (digital silence, with or without an
    offset), found in O(N) from a running count of sample-to-sample changes."""
    changes = (padded[:, 1:] != padded[:, :-1]).to(torch.int32).cumsum(dim=1)
    changes = torch.nn.functional.pad(changes, (1, 0))  # changes[:, i]: changes before sample i
    start = torch.arange(t_max, device=padded.device) * hop
    return changes[:, start + wlen - 1] == changes[:, start]


def power_spectrogram(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    config: FeatureConfig,
    *,
    window: torch.Tensor | None = None,
    dither: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Like :func:`frame_spectra` but returns real ``|X| ** config.power``, ``(B, T, F)``."""
    spec, energy, counts = frame_spectra(
        waveforms, lengths, config, window=window, dither=dither, generator=generator
    )
    return _power(spec, config.power), energy, counts


def _power(spec: torch.Tensor, power: float) -> torch.Tensor:
    pw = torch.view_as_real(spec).square().sum(dim=-1)
    return pw if power == 2.0 else pw.pow(power / 2.0)


def _mel(spec: torch.Tensor, mel_weights: torch.Tensor, power: float) -> torch.Tensor:
    """``|spec| ** power @ mel_weights``: ``(B, T, F)`` complex -> ``(B, T, M)`` real.

    For ``power == 2`` the squared real and imaginary parts are multiplied by the filterbank
    with rows repeated twice: one contiguous square and one matmul instead of strided adds.
    """
    fb = mel_weights.to(device=spec.device, dtype=spec.real.dtype)
    if power != 2.0:
        return _power(spec, power) @ fb
    b, t, f = spec.shape
    squares = torch.view_as_real(spec).square().reshape(b * t, 2 * f)
    return (squares @ fb.repeat_interleave(2, dim=0)).reshape(b, t, fb.shape[1])


def _prepare(
    waveforms: torch.Tensor,
    lengths: torch.Tensor | None,
    config: FeatureConfig,
    sample_rate: int | None,
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    if waveforms.dim() == 0:
        raise FeatureError("waveforms must have shape (N,) or (B, N), got a scalar")
    lead = tuple(waveforms.shape[:-1])
    flat = waveforms.reshape(-1, waveforms.shape[-1])
    if lengths is not None:
        lengths = torch.as_tensor(lengths, device=waveforms.device).reshape(-1)
    flat, lens = check_waveforms(flat, lengths, config, sample_rate)
    return flat, lens, lead


def _finish(
    feats: torch.Tensor, counts: torch.Tensor, lead: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    t = feats.shape[1]
    if feats.shape[0] and t and bool((counts < t).any()):
        feats = feats * F.length_mask(counts, t)[..., None].to(feats.dtype)
    return feats.reshape(*lead, t, feats.shape[-1]), counts.reshape(lead)


def _log(x: torch.Tensor, counts: torch.Tensor, config: FeatureConfig) -> torch.Tensor:
    if config.log == "ln":
        return F.log_with_floor(x, config.log_floor)
    if config.log == "db":
        return F.power_to_db(x, config.db_ref, config.db_amin, config.top_db, lengths=counts)
    return x


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
    config = config or resolve_config("kaldi", "spectrogram")
    flat, lens, lead = _prepare(waveforms, lengths, config, sample_rate)
    power, energy, counts = power_spectrogram(
        flat, lens, config, window=window, dither=dither, generator=generator
    )
    feats = _log(power, counts, config)
    if energy is not None:
        feats = torch.cat([energy[..., None], feats[..., 1:]], dim=-1)
    return _finish(feats, counts, lead)


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
    config = config or resolve_config("kaldi", "fbank")
    flat, lens, lead = _prepare(waveforms, lengths, config, sample_rate)
    spec, energy, counts = frame_spectra(
        flat, lens, config, window=window, dither=dither, generator=generator
    )
    fb = build_mel_weights(config, flat.dtype) if mel_weights is None else mel_weights
    feats = _log(_mel(spec, fb, config.power), counts, config)
    if energy is not None:
        feats = torch.cat([energy[..., None], feats], dim=-1)
    return _finish(feats, counts, lead)


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
    config = config or resolve_config("kaldi", "mfcc")
    flat, lens, lead = _prepare(waveforms, lengths, config, sample_rate)
    spec, energy, counts = frame_spectra(
        flat, lens, config, window=window, dither=dither, generator=generator
    )
    fb = build_mel_weights(config, flat.dtype) if mel_weights is None else mel_weights
    logmel = _log(_mel(spec, fb, config.power), counts, config)
    basis = build_dct(config, flat.dtype) if dct is None else dct
    feats = logmel @ basis.to(device=logmel.device, dtype=logmel.dtype)
    if energy is not None:
        feats = torch.cat([energy[..., None], feats[..., 1:]], dim=-1)
    return _finish(feats, counts, lead)
