"""Speech feature frontends: Kaldi- and librosa-exact spectrograms, fbanks, MFCCs, deltas,
CMVN and SpecAugment, batched with lengths on any device.

``seqlab.features.functional`` holds the pure tensor functions; the modules here wrap them.

>>> from seqlab.features import Fbank
>>> feats, frames = Fbank(preset="kaldi", dither=0.0)(waveforms, lengths)
"""

from seqlab.features.batching import compute_in_buckets
from seqlab.features.errors import FeatureError
from seqlab.features.presets import KINDS, PRESETS, FeatureConfig, config_from_dict, resolve_config
from seqlab.features.transforms import (
    CMVN,
    MFCC,
    Deltas,
    Fbank,
    GlobalCMVN,
    SpecAugment,
    Spectrogram,
)

__all__ = [
    "CMVN",
    "KINDS",
    "MFCC",
    "PRESETS",
    "Deltas",
    "Fbank",
    "FeatureConfig",
    "FeatureError",
    "GlobalCMVN",
    "SpecAugment",
    "Spectrogram",
    "compute_in_buckets",
    "config_from_dict",
    "resolve_config",
]
