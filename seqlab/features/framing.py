"""Framing with Kaldi and librosa conventions, batched with per-utterance lengths.

Three conventions decide how many frames an ``N``-sample signal gives and where frame ``t``
starts (``start = t * hop - offset``; samples outside ``[0, N)`` come from padding):

============================  ================================  =====================
convention                    frames ``T``                      ``offset``
============================  ================================  =====================
Kaldi ``snip_edges=True``     ``1 + (N - W) // hop`` (0 if N<W)  0
Kaldi ``snip_edges=False``    ``(N + hop // 2) // hop``          ``W // 2 - hop // 2``
librosa ``center=True``       ``1 + (N + 2 (W // 2) - W) // hop`` ``W // 2``
============================  ================================  =====================

``W`` is the frame length (librosa's ``n_fft``). Padding is computed per utterance from its own
length (``lengths``), so a padded batch frames exactly like each utterance on its own. Pad
modes: ``constant`` (zeros), ``reflect`` (``2 1 | 0 1 2``, numpy/librosa), ``symmetric``
(``1 0 | 0 1 2``, what Kaldi's ``snip_edges=False`` uses), ``edge`` (repeat the end sample).
"""

from __future__ import annotations

import math

import torch

from seqlab.features.errors import FeatureError

__all__ = ["PAD_MODES", "num_frames", "frame_offset", "padding_mode", "pad_for_framing", "frame"]

PAD_MODES = ("constant", "reflect", "symmetric", "edge")


def num_frames(
    num_samples: torch.Tensor | int,
    frame_length: int,
    hop_length: int,
    *,
    center: bool = False,
    snip_edges: bool = True,
) -> torch.Tensor:
    """Number of frames for signals of ``num_samples`` samples (any shape, long tensor out).

    ``center`` (librosa) takes precedence over ``snip_edges`` (Kaldi). An empty signal always
    gives 0 frames; a signal shorter than one frame gives 0 frames with ``snip_edges=True``.

    >>> num_frames(torch.tensor([16000, 399]), 400, 160)
    tensor([98,  0])
    """
    n = torch.as_tensor(num_samples, dtype=torch.long)
    if center:
        t = 1 + torch.div(
            n + 2 * (frame_length // 2) - frame_length, hop_length, rounding_mode="floor"
        )
    elif snip_edges:
        t = 1 + torch.div(n - frame_length, hop_length, rounding_mode="floor")
    else:
        t = torch.div(n + hop_length // 2, hop_length, rounding_mode="floor")
    return torch.where(n > 0, t.clamp_min(0), torch.zeros_like(t))


def frame_offset(frame_length: int, hop_length: int, *, center: bool, snip_edges: bool) -> int:
    """Samples of padding before the first frame: frame ``t`` starts at ``t * hop - offset``."""
    if center:
        return frame_length // 2
    if snip_edges:
        return 0
    return frame_length // 2 - hop_length // 2


def padding_mode(pad_mode: str, *, center: bool) -> str:
    """The pad mode in effect: ``pad_mode`` for librosa's ``center``, else ``symmetric``
    (Kaldi's ``snip_edges=False``; ``snip_edges=True`` frames never read padding)."""
    return pad_mode if center else "symmetric"


def _source_index(j: torch.Tensor, n: torch.Tensor, mode: str) -> torch.Tensor:
    """Map positions ``j`` ((P,) or (B, P)) relative to each signal start to valid indices
    of signals of ``n`` (B,) samples, shape (B, P)."""
    j = j if j.dim() == 2 else j[None, :]
    last = (n - 1).clamp_min(0)[:, None]
    if mode == "edge" or mode == "constant":
        return torch.minimum(j.clamp_min(0), last)
    if mode == "symmetric":
        period = (2 * n).clamp_min(1)[:, None]
        k = torch.remainder(j, period)
        return torch.where(k > last, period - 1 - k, k)
    period = (2 * last).clamp_min(1)  # reflect
    k = torch.remainder(j, period)
    return torch.where(k > last, period - k, k).clamp(max=last)


def pad_for_framing(
    waveforms: torch.Tensor,
    lengths: torch.Tensor,
    frame_length: int,
    hop_length: int,
    *,
    center: bool = False,
    snip_edges: bool = True,
    pad_mode: str = "constant",
    out: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch so that ``padded.unfold(-1, frame_length, hop_length)`` yields its frames.

    Args:
        waveforms: ``(B, N)`` float samples, zero or garbage beyond each length.
        lengths: ``(B,)`` long, valid samples per row.
        center, snip_edges: the framing convention (module docstring).
        pad_mode: how ``center=True`` pads (``snip_edges=False`` always pads ``symmetric``).
        out: optional flat buffer (``waveforms``' dtype and device, not requiring grad) to build
            the padded batch in, instead of a new tensor; grown views of it are returned.

    Returns:
        ``(padded, frame_lengths)``: ``padded`` is ``(B, (T - 1) * hop + W)`` (or the input
        itself when no padding is needed) where ``T = frame_lengths.max()``; frames of row ``b``
        past ``frame_lengths[b]`` are padding to be masked by the caller.
    """
    if pad_mode not in PAD_MODES:
        raise FeatureError(f"pad_mode must be one of {PAD_MODES}, got {pad_mode!r}")
    batch, n_max = waveforms.shape
    frame_lengths = num_frames(
        lengths, frame_length, hop_length, center=center, snip_edges=snip_edges
    )
    t_max = int(frame_lengths.max()) if batch else 0
    needed = (t_max - 1) * hop_length + frame_length if t_max > 0 else 0
    if t_max == 0:
        return waveforms.new_zeros(batch, frame_length), frame_lengths
    offset = frame_offset(frame_length, hop_length, center=center, snip_edges=snip_edges)
    if offset < 0:  # Kaldi snip_edges=False with hop > frame: frame 0 starts -offset samples in
        waveforms = waveforms[:, -offset:]
        lengths = (lengths.to(waveforms.device) + offset).clamp_min(0)
        n_max, offset = waveforms.shape[1], 0
    if offset == 0 and needed <= n_max and (center is False and snip_edges):
        return waveforms[:, :needed], frame_lengths  # snip_edges frames never read past a length
    mode = padding_mode(pad_mode, center=center)
    if n_max == 0:
        return waveforms.new_zeros(batch, needed), frame_lengths
    # copy the samples once, then write only the edges: ``offset`` samples before each signal
    # and after each signal's end as many as its last frame reads (under one frame)
    lengths = lengths.to(waveforms.device)
    reach = (frame_lengths.to(lengths.device) - 1) * hop_length + frame_length - offset - lengths
    right = max(int(reach.max()), 0)
    width = max(needed, offset + n_max + right)
    if out is None or out.numel() < batch * width:
        padded = torch.nn.functional.pad(waveforms, (offset, width - offset - n_max))
    else:
        padded = out[: batch * width].view(batch, width)
        padded[:, :offset].zero_()
        padded[:, offset : offset + n_max].copy_(waveforms)
        padded[:, offset + n_max :].zero_()
    if offset and mode != "constant":
        left = torch.arange(-offset, 0, device=waveforms.device)
        padded[:, :offset] = torch.gather(waveforms, 1, _source_index(left, lengths, mode))
    if right:
        after = lengths[:, None] + torch.arange(right, device=waveforms.device)  # (B, right)
        if mode == "constant":
            padded.scatter_(1, after + offset, 0.0)
        else:
            values = torch.gather(waveforms, 1, _source_index(after, lengths, mode))
            padded.scatter_(1, after + offset, values)
    return padded[:, :needed], frame_lengths


def frame(
    waveforms: torch.Tensor,
    frame_length: int,
    hop_length: int,
    *,
    lengths: torch.Tensor | None = None,
    center: bool = False,
    snip_edges: bool = True,
    pad_mode: str = "constant",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Slice ``(..., N)`` signals into overlapping frames ``(..., T, frame_length)``.

    Returns a strided view where possible (no copy) and the ``(...)`` long frame counts.
    ``lengths`` (shape ``(...)``, default all ``N``) gives each signal's valid samples; frames
    past a signal's count hold padding.

    >>> frames, counts = frame(torch.arange(10.0), 4, 2)
    >>> frames[1], counts
    (tensor([2., 3., 4., 5.]), tensor(4))
    """
    if frame_length < 1 or hop_length < 1:
        raise FeatureError(
            f"frame_length and hop_length must be >= 1, got {frame_length}, {hop_length}"
        )
    lead, n_max = waveforms.shape[:-1], waveforms.shape[-1]
    flat = waveforms.reshape(math.prod(lead), n_max)  # (-1 is ambiguous for empty signals)
    if lengths is None:
        lens = torch.full((flat.shape[0],), n_max, dtype=torch.long, device=flat.device)
    else:
        lens = leading_lengths(lengths, lead, flat.device)
    padded, counts = pad_for_framing(
        flat,
        lens,
        frame_length,
        hop_length,
        center=center,
        snip_edges=snip_edges,
        pad_mode=pad_mode,
    )
    t_max = int(counts.max()) if counts.numel() else 0
    frames = padded.unfold(-1, frame_length, hop_length)[:, :t_max]
    return frames.reshape(*lead, t_max, frame_length), counts.reshape(lead)


def leading_lengths(
    lengths: torch.Tensor | int, lead: torch.Size | tuple[int, ...], device: torch.device
) -> torch.Tensor:
    """Flat ``(prod(lead),)`` long lengths from ``lengths`` of shape ``lead`` (or one value for
    all); any other shape is an error (broadcasting ``(B,)`` over ``(B, B)`` would silently
    pair lengths with the wrong rows)."""
    lens = torch.as_tensor(lengths, dtype=torch.long, device=device)
    if lens.dim() and lens.shape != tuple(lead):
        raise FeatureError(
            f"lengths must have the leading shape {tuple(lead)} of the input, got {tuple(lens.shape)}"
        )
    return lens.expand(lead).reshape(-1)
