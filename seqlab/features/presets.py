"""Feature configurations: one frozen dataclass, ``kaldi`` and ``librosa`` presets, overrides.

``resolve_config("kaldi", "mfcc", n_mels=40)`` returns the Kaldi ``compute-mfcc-feats`` defaults
with 40 mel bins. Every field is a plain scalar, so ``dataclasses.asdict`` round-trips through
YAML and :func:`config_from_dict` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any

from seqlab.config import ConfigError, convert_value
from seqlab.features.errors import FeatureError
from seqlab.features.framing import PAD_MODES
from seqlab.features.mel import MEL_SCALES
from seqlab.features.windows import WINDOWS

__all__ = ["FeatureConfig", "KINDS", "PRESETS", "resolve_config", "config_from_dict"]

FLT_EPSILON = 1.1920928955078125e-07
KINDS = ("spectrogram", "fbank", "mfcc")
LOG_KINDS = ("ln", "db", "none")


@dataclass(frozen=True)
class FeatureConfig:
    """Every option of the spectrogram -> fbank -> MFCC pipeline (defaults: Kaldi fbank)."""

    sample_rate: int = 16000  # Hz the configuration is for; other rates are rejected
    input_scale: float = 32768.0  # float audio is multiplied by this first (Kaldi: int16 range)
    frame_length: float = 25.0  # frame length (librosa n_fft) in frame_unit
    frame_shift: float = 10.0  # hop in frame_unit
    frame_unit: str = "ms"  # "ms" (samples = int(sample_rate * ms / 1000), Kaldi) or "samples"
    win_length: int | None = (
        None  # window samples, centred and zero-padded in the frame; None: frame
    )
    n_fft: int | None = None  # FFT size; None: frame length (rounded up if round_to_power_of_two)
    round_to_power_of_two: bool = True  # Kaldi --round-to-power-of-two
    snip_edges: bool = True  # Kaldi --snip-edges (ignored when center)
    center: bool = False  # librosa center: frame t centred on sample t * hop
    pad_mode: str = "constant"  # padding for center (librosa >= 0.10: constant zeros)
    window: str = "povey"  # hann, hamming, povey, blackman, rectangular
    periodic: bool = False  # periodic (librosa) or symmetric (Kaldi) window
    dither: float = 1.0  # Gaussian dither std in input_scale units; applied in training mode only
    remove_dc_offset: bool = True  # subtract each frame's mean
    preemphasis: float = 0.97  # Kaldi pre-emphasis inside each frame; 0 disables
    power: float = 2.0  # 2: power spectrum, 1: magnitude
    n_mels: int = 23  # mel filters
    f_min: float = 20.0  # Hz, lowest filter edge
    f_max: float | None = 0.0  # Hz; None: Nyquist; <= 0: Nyquist + f_max (Kaldi --high-freq)
    mel_scale: str = "kaldi"  # htk, kaldi, slaney
    mel_construction: str = "kaldi"  # "kaldi" (triangles in mel) or "librosa" (triangles in Hz)
    mel_norm: str | None = None  # None or "slaney" (area normalization)
    log: str = "ln"  # "ln": log(max(x, log_floor)); "db": power_to_db; "none": linear
    log_floor: float = FLT_EPSILON  # floor for log="ln"
    db_ref: float = 1.0  # power_to_db ref
    db_amin: float = 1e-10  # power_to_db amin
    top_db: float | None = 80.0  # power_to_db top_db (per utterance); None: no clipping
    n_mfcc: int = 13  # cepstra kept
    lifter: float = 22.0  # cepstral lifter coefficient; 0 disables
    lifter_style: str = "kaldi"  # "kaldi" (i from 0) or "librosa" (i from 1)
    use_energy: bool = (
        False  # MFCC: C0 := log-energy; fbank: prepend log-energy; spectrogram: bin 0
    )
    raw_energy: bool = True  # energy before pre-emphasis and window (Kaldi --raw-energy)
    energy_floor: float = 0.0  # floor on energy (Kaldi --energy-floor); 0 disables

    def __post_init__(self) -> None:
        _check_choice("frame_unit", self.frame_unit, ("ms", "samples"))
        _check_choice("pad_mode", self.pad_mode, PAD_MODES)
        _check_choice("window", self.window, WINDOWS)
        _check_choice("mel_scale", self.mel_scale, MEL_SCALES)
        _check_choice("mel_construction", self.mel_construction, ("kaldi", "librosa"))
        _check_choice("mel_norm", self.mel_norm, (None, "slaney"))
        _check_choice("log", self.log, LOG_KINDS)
        _check_choice("lifter_style", self.lifter_style, ("kaldi", "librosa"))
        if self.sample_rate <= 0:
            raise FeatureError(f"sample_rate must be positive, got {self.sample_rate}")
        if self.frame_length_samples < 1 or self.frame_shift_samples < 1:
            raise FeatureError(
                f"frame_length={self.frame_length} and frame_shift={self.frame_shift} "
                f"({self.frame_unit}) give {self.frame_length_samples} and "
                f"{self.frame_shift_samples} samples at {self.sample_rate} Hz; both must be >= 1"
            )
        if self.win_length is not None and not 1 <= self.win_length <= self.frame_length_samples:
            raise FeatureError(
                f"win_length={self.win_length} must be in [1, frame length "
                f"{self.frame_length_samples}]"
            )
        if self.fft_length < self.frame_length_samples:
            raise FeatureError(
                f"n_fft={self.n_fft} is shorter than the frame ({self.frame_length_samples})"
            )
        if self.dither < 0 or not 0.0 <= self.preemphasis <= 1.0:
            raise FeatureError(
                f"need dither >= 0 and 0 <= preemphasis <= 1, got {self.dither}, {self.preemphasis}"
            )
        if self.power <= 0 or self.n_mels < 1 or self.n_mfcc < 1 or self.n_mfcc > self.n_mels:
            raise FeatureError(
                f"need power > 0 and 1 <= n_mfcc <= n_mels, got power={self.power}, "
                f"n_mfcc={self.n_mfcc}, n_mels={self.n_mels}"
            )
        if self.input_scale <= 0 or self.log_floor <= 0 or self.energy_floor < 0:
            raise FeatureError("input_scale and log_floor must be positive, energy_floor >= 0")

    @property
    def frame_length_samples(self) -> int:
        """Frame length in samples (Kaldi truncates ``sample_rate * ms / 1000`` to an int)."""
        return _to_samples(self.frame_length, self.frame_unit, self.sample_rate)

    @property
    def frame_shift_samples(self) -> int:
        """Hop in samples."""
        return _to_samples(self.frame_shift, self.frame_unit, self.sample_rate)

    @property
    def window_length_samples(self) -> int:
        """Samples covered by the window (``win_length`` or the frame length)."""
        return self.win_length or self.frame_length_samples

    @property
    def fft_length(self) -> int:
        """FFT size: ``n_fft``, else the frame length, rounded up to a power of two if asked."""
        if self.n_fft is not None:
            return self.n_fft
        n = self.frame_length_samples
        return 1 << (n - 1).bit_length() if self.round_to_power_of_two else n

    @property
    def num_freqs(self) -> int:
        """rfft bins: ``fft_length // 2 + 1``."""
        return self.fft_length // 2 + 1

    def num_features(self, kind: str) -> int:
        """Feature dimension D produced for ``kind`` (spectrogram, fbank or mfcc)."""
        _check_choice("kind", kind, KINDS)
        if kind == "spectrogram":
            return self.num_freqs
        if kind == "fbank":
            return self.n_mels + int(self.use_energy)
        return self.n_mfcc

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (YAML/JSON serializable)."""
        return dataclasses.asdict(self)


def _to_samples(value: float, unit: str, sample_rate: int) -> int:
    if unit == "ms":
        return int(sample_rate * 0.001 * value)
    if float(value) != int(value):
        raise FeatureError(f"a length in samples must be an integer, got {value}")
    return int(value)


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise FeatureError(f"{name} must be one of {choices}, got {value!r}")


_KALDI = FeatureConfig()
_LIBROSA = FeatureConfig(
    sample_rate=22050,
    input_scale=1.0,
    frame_length=2048,
    frame_shift=512,
    frame_unit="samples",
    round_to_power_of_two=False,
    center=True,
    pad_mode="constant",
    window="hann",
    periodic=True,
    dither=0.0,
    remove_dc_offset=False,
    preemphasis=0.0,
    n_mels=128,
    f_min=0.0,
    f_max=None,
    mel_scale="slaney",
    mel_construction="librosa",
    mel_norm="slaney",
    log="db",
    n_mfcc=20,
    lifter=0.0,
    lifter_style="librosa",
)

PRESETS: dict[str, dict[str, FeatureConfig]] = {
    "kaldi": {
        # compute-spectrogram-feats puts the raw log-energy in bin 0
        "spectrogram": dataclasses.replace(_KALDI, use_energy=True),
        "fbank": _KALDI,
        "mfcc": dataclasses.replace(_KALDI, use_energy=True),
    },
    "librosa": {kind: _LIBROSA for kind in KINDS},
}


def resolve_config(
    preset: str | FeatureConfig = "kaldi", kind: str = "fbank", **overrides: Any
) -> FeatureConfig:
    """Preset (name or config) for ``kind`` with keyword ``overrides`` applied.

    >>> resolve_config("kaldi", "mfcc", n_mels=40).use_energy
    True
    """
    _check_choice("kind", kind, KINDS)
    if isinstance(preset, FeatureConfig):
        base = preset
    elif preset in PRESETS:
        base = PRESETS[preset][kind]
    else:
        raise FeatureError(f"unknown feature preset {preset!r}; expected one of {tuple(PRESETS)}")
    unknown = set(overrides) - {f.name for f in dataclasses.fields(FeatureConfig)}
    if unknown:
        raise FeatureError(f"unknown feature option(s) {sorted(unknown)}")
    hints = typing.get_type_hints(FeatureConfig)
    try:
        typed = {key: convert_value(value, hints[key], key) for key, value in overrides.items()}
    except ConfigError as e:
        raise FeatureError(f"feature option {e}") from None
    return dataclasses.replace(base, **typed)


def config_from_dict(values: dict[str, Any]) -> FeatureConfig:
    """Rebuild a :class:`FeatureConfig` from :meth:`FeatureConfig.to_dict` output (e.g. YAML)."""
    unknown = set(values) - {f.name for f in dataclasses.fields(FeatureConfig)}
    if unknown:
        raise FeatureError(f"unknown feature option(s) {sorted(unknown)}")
    return FeatureConfig(**values)
