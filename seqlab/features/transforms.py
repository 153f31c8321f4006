"""``nn.Module`` wrappers over the functional core: buffers for windows, filterbanks and DCT.

>>> fbank = Fbank(preset="kaldi")                       # compute-fbank-feats defaults
>>> feats, frames = fbank(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 8000]))
>>> feats.shape, frames
(torch.Size([2, 98, 23]), tensor([98, 48]))

Dither is applied only in training mode (``module.train()``, PyTorch's default for a new
module); ``module.eval()`` gives deterministic features. Buffers (float64, cast to the input dtype per call) are not persistent: they are
rebuilt from ``config`` and follow ``.to(device)``.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import torch
from torch import nn

from seqlab.features import compute
from seqlab.features import functional as F
from seqlab.features.augment import spec_augment
from seqlab.features.cmvn import (
    accumulate_stats,
    read_kaldi_stats,
    stats_to_mean_std,
    write_kaldi_stats,
)
from seqlab.features.errors import FeatureError
from seqlab.features.presets import FeatureConfig, resolve_config

__all__ = ["Spectrogram", "Fbank", "MFCC", "Deltas", "CMVN", "GlobalCMVN", "SpecAugment"]


class _Frontend(nn.Module):
    """Shared plumbing: config, window buffer, frame counting, forward contract."""

    kind = "fbank"
    #: buffers besides the window that ``compute.<kind>`` takes, by keyword
    tables: tuple[str, ...] = ()

    def __init__(self, preset: str | FeatureConfig = "kaldi", **overrides: Any) -> None:
        super().__init__()
        self.config = resolve_config(preset, self.kind, **overrides)
        self._buffer("window", compute.build_window)

    def _buffer(self, name: str, build: Any) -> None:
        """Register ``build(config, float64)`` as a non-persistent buffer. It is built as a
        normal tensor even under ``torch.inference_mode()``: the compute path memoizes what
        it derives from a buffer (dtype casts, filterbank bands) on the buffer's version
        counter, which inference tensors lack."""
        with torch.inference_mode(False):
            self.register_buffer(name, build(self.config, torch.float64), persistent=False)

    @property
    def num_features(self) -> int:
        """Feature dimension D of the output."""
        return self.config.num_features(self.kind)

    def num_frames(self, lengths: torch.Tensor | int) -> torch.Tensor:
        """Frame counts (long, same shape) for signals of ``lengths`` samples."""
        return compute.frame_counts(lengths, self.config)

    def forward(
        self,
        waveforms: torch.Tensor,
        lengths: torch.Tensor | None = None,
        *,
        sample_rate: int | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(features (B, T, num_features), frame_lengths (B,) long)`` for ``(B, N)``
        float audio in ``[-1, 1]`` and ``(B,)`` valid sample counts (``None``: all ``N``).
        Frames past a row's count are zero. ``sample_rate`` (Hz) is checked against the
        config when given; ``generator`` seeds the dither (training mode only)."""
        compute_features = getattr(compute, self.kind)
        tables = {name: getattr(self, name) for name in self.tables}
        return compute_features(
            waveforms,
            lengths,
            self.config,
            window=self.window,
            dither=self.config.dither if self.training else 0.0,
            generator=generator,
            sample_rate=sample_rate,
            **tables,
        )

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, config={self.config}"


class Spectrogram(_Frontend):
    """Log power spectrogram: ``(B, N)`` float audio in [-1, 1] -> ``(B, T, n_fft // 2 + 1)``
    in the input's dtype: natural log for ``preset="kaldi"`` (bin 0 holds the log-energy, as
    compute-spectrogram-feats), dB for ``"librosa"`` (see :func:`compute.spectrogram`)."""

    kind = "spectrogram"


class Fbank(_Frontend):
    """Log mel filterbank energies: ``(B, N)`` float audio in [-1, 1] -> ``(B, T, n_mels)``
    (``n_mels + 1`` with ``use_energy``, the log-energy first) in the input's dtype: natural
    log for ``preset="kaldi"``, dB (``power_to_db``) for ``"librosa"``.

    Args:
        preset: ``"kaldi"`` (compute-fbank-feats: 16 kHz, 25/10 ms, povey, 23 bins from 20 Hz,
            natural log, ``input_scale=32768``) or ``"librosa"`` (melspectrogram + power_to_db)
            or a :class:`FeatureConfig`.
        **overrides: any :class:`FeatureConfig` field, e.g. ``n_mels=80, dither=0.0``.
    """

    kind = "fbank"
    tables = ("mel_weights",)

    def __init__(self, preset: str | FeatureConfig = "kaldi", **overrides: Any) -> None:
        super().__init__(preset, **overrides)
        self._buffer("mel_weights", compute.build_mel_weights)


class MFCC(Fbank):
    """MFCCs: ``(B, N)`` -> ``(B, T, n_mfcc)``; Kaldi preset: 13 cepstra, lifter 22, C0 = log-energy."""

    kind = "mfcc"
    tables = ("mel_weights", "dct")

    def __init__(self, preset: str | FeatureConfig = "kaldi", **overrides: Any) -> None:
        super().__init__(preset, **overrides)
        self._buffer("dct", compute.build_dct)


class Deltas(nn.Module):
    """Append time derivatives: ``(B, T, D) -> (B, T, D * (order + 1))``.

    ``style="kaldi"``: ``add-deltas`` (regression over ``window`` frames each side, composed
    for higher orders, edge frames replicated). ``style="librosa"``: ``librosa.feature.delta``
    of each order (Savitzky-Golay over ``width`` frames, ``mode='interp'``).
    """

    def __init__(
        self, order: int = 2, window: int = 2, style: str = "kaldi", width: int = 9
    ) -> None:
        super().__init__()
        if style not in ("kaldi", "librosa"):
            raise FeatureError(f"Deltas style must be 'kaldi' or 'librosa', got {style!r}")
        if order < 0:
            raise FeatureError(f"Deltas order must be >= 0, got {order}")
        self.order, self.window, self.style, self.width = order, window, style, width

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(..., T, D)`` float features and ``(...)`` long valid frames (``None``: all)
        -> ``(..., T, D * (order + 1))`` in the features' dtype: the features, then each
        order's deltas (per frame, in the features' units); padded frames are zero."""
        if self.style == "kaldi":
            return F.kaldi_deltas(features, lengths, self.order, self.window)
        parts = [features] + [
            F.delta(features, lengths, self.width, k) for k in range(1, self.order + 1)
        ]
        return torch.cat(parts, dim=-1)


class CMVN(nn.Module):
    """Per-utterance mean (and variance) normalization over valid frames (Kaldi ``apply-cmvn``
    with per-utterance stats; ``norm_vars`` defaults to False, as there)."""

    def __init__(self, norm_means: bool = True, norm_vars: bool = False) -> None:
        super().__init__()
        self.norm_means, self.norm_vars = norm_means, norm_vars

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(..., T, D)`` float features and ``(...)`` long valid frames (``None``: all) ->
        normalized ``(..., T, D)`` in the features' dtype; padded frames are zero."""
        return F.cmvn(features, lengths, self.norm_means, self.norm_vars)


class _HybridMethod:
    """``GlobalCMVN.load(path)`` builds a new instance; ``instance.load(path)`` fills it in place."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def __get__(self, obj: Any, cls: type) -> Any:
        target = obj if obj is not None else cls
        return functools.wraps(self.func)(functools.partial(self.func, target))


class GlobalCMVN(nn.Module):
    """Dataset-level CMVN: fit with :meth:`update`, persist with :meth:`save` / :meth:`load`.

    Statistics are a persistent float64 buffer in Kaldi's ``2 x (D + 1)`` layout, so they
    travel with a model's ``state_dict`` and the file is readable by Kaldi (text matrix).

    >>> cmvn = GlobalCMVN()
    >>> cmvn.update(torch.randn(2, 50, 23), torch.tensor([50, 30]))
    >>> normalized = cmvn(torch.randn(2, 50, 23), torch.tensor([50, 30]))
    """

    def __init__(
        self, num_features: int | None = None, norm_means: bool = True, norm_vars: bool = True
    ) -> None:
        super().__init__()
        if norm_vars and not norm_means:
            raise FeatureError("GlobalCMVN: norm_vars=True requires norm_means=True")
        self.norm_means, self.norm_vars = norm_means, norm_vars
        self._dim_given = num_features is not None  # else the first update() sets it
        dim = 0 if num_features is None else num_features
        self.register_buffer("stats", torch.zeros(2, dim + 1, dtype=torch.float64))

    @property
    def num_features(self) -> int:
        """Feature dimension D of the statistics (0 before the first update or load)."""
        return self.stats.shape[1] - 1

    @property
    def count(self) -> float:
        """Frames accumulated so far."""
        return float(self.stats[0, -1])

    @torch.no_grad()
    def update(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> None:
        """Add the valid frames of ``(B, T, D)`` features to the statistics."""
        new = accumulate_stats(features, lengths).to(self.stats.device)
        if self.count == 0 and not self._dim_given and self.num_features != new.shape[1] - 1:
            self.stats = torch.zeros_like(new)
        if new.shape != self.stats.shape:
            raise FeatureError(
                f"GlobalCMVN holds {self.num_features}-dim stats, got {new.shape[1] - 1}-dim features"
            )
        self.stats += new

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Normalize ``(..., T, D)`` features; padded frames (per ``lengths``) are zero."""
        if self.count <= 0:
            raise FeatureError("GlobalCMVN has no statistics: call update() or load() first")
        if features.shape[-1] != self.num_features:
            raise FeatureError(
                f"GlobalCMVN holds {self.num_features}-dim stats, got {features.shape[-1]}-dim features"
            )
        mean, std = stats_to_mean_std(self.stats)
        out = features
        if self.norm_means:
            out = out - mean.to(features.dtype)
        if self.norm_vars:
            out = out / std.to(features.dtype)
        if lengths is not None:
            mask = F.length_mask(
                torch.as_tensor(lengths, device=features.device), features.shape[-2]
            )
            out = out * mask[..., None].to(out.dtype)
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write the statistics as a Kaldi text matrix (atomic)."""
        write_kaldi_stats(path, self.stats.cpu())

    @_HybridMethod
    def load(target: Any, path: str | os.PathLike, **kwargs: Any) -> GlobalCMVN:  # noqa: N805
        """Read Kaldi CMVN stats; on the class returns a new module, on an instance fills it.
        ``kwargs`` (``norm_means``, ``norm_vars``) set the normalization either way."""
        stats = read_kaldi_stats(path)
        if isinstance(target, type):
            return target(stats.shape[1] - 1, **kwargs).load(path)
        unknown = set(kwargs) - {"norm_means", "norm_vars"}
        if unknown:
            raise TypeError(f"GlobalCMVN.load: unexpected arguments {sorted(unknown)}")
        norm_means = kwargs.get("norm_means", target.norm_means)
        norm_vars = kwargs.get("norm_vars", target.norm_vars)
        if norm_vars and not norm_means:
            raise FeatureError("GlobalCMVN: norm_vars=True requires norm_means=True")
        target.norm_means, target.norm_vars = norm_means, norm_vars
        target.stats = stats.to(target.stats.device)
        target._dim_given = True
        return target

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        key = prefix + "stats"
        if key in state_dict and state_dict[key].shape != self.stats.shape:
            self.stats = torch.zeros_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args)


class SpecAugment(nn.Module):
    """SpecAugment on ``(B, T, D)`` features with lengths; identity in eval mode.

    Args:
        freq_masks, freq_width: number of frequency bands and their widest width (bins).
        time_masks, time_width: number of time bands; widest width as a fraction of each
            utterance's length (float < 1) or in frames (int).
        time_warp: maximum warp distance in frames (0 disables).
        mask_value: value written into masked cells.
        seed: seeds the module's own CPU generator (``None``: PyTorch's global RNG); a
            ``generator`` passed to ``forward`` takes precedence.
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 27,
        time_masks: int = 2,
        time_width: float | int = 0.05,
        time_warp: int = 0,
        mask_value: float = 0.0,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if min(freq_masks, freq_width, time_masks, time_warp) < 0 or time_width < 0:
            raise FeatureError("SpecAugment counts and widths must be non-negative")
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width
        self.time_warp, self.mask_value = time_warp, mask_value
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def forward(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Return augmented features (same shape); ``features`` itself in eval mode."""
        if not self.training:
            return features
        return spec_augment(
            features,
            lengths,
            freq_masks=self.freq_masks,
            freq_width=self.freq_width,
            time_masks=self.time_masks,
            time_width=self.time_width,
            time_warp_width=self.time_warp,
            mask_value=self.mask_value,
            generator=generator or self.generator,
        )
