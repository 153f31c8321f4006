"""Data pipeline configuration (a section of the experiment config)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataConfig"]


@dataclass(frozen=True)
class DataConfig:
    """Where the data is and how batches are made; paths are relative to the working directory."""

    train: str = ""  # JSON-lines manifest, Kaldi data dir or folder of audio + .txt
    valid: str = ""  # same kinds; "" disables validation
    tokenizer: str = "char"  # "char" (built from the training text) or a saved tokenizer path
    sample_rate: int = 16000  # Hz; audio at other rates is resampled on load
    features: str = "fbank"  # "fbank" or "mfcc" (seqlab.features)
    feature_preset: str = "kaldi"  # seqlab.features preset
    num_features: int = 80  # mel bins (fbank) or cepstra (mfcc)
    dither: float = 0.0  # training-time dither (input_scale units); 0 for exact reproducibility
    cmvn: str = ""  # global CMVN stats (Kaldi format), computed from train when missing;
    # "auto": EXP_DIR/cmvn.ark; "": no normalization
    specaugment: bool = True  # training only
    freq_masks: int = 2
    freq_width: int = 27  # bins
    time_masks: int = 2
    time_width: float = 0.05  # fraction of each utterance
    speed_perturb: tuple[float, ...] = ()  # e.g. [0.9, 1.0, 1.1]: one factor drawn per item
    max_frames: int = 20000  # cap on padded input frames (batch size x longest) per batch
    max_batch_size: int = 0  # cap on utterances per batch (0: none)
    min_duration: float = 0.0  # seconds; shorter utterances are skipped
    max_duration: float = 0.0  # seconds; longer ones are skipped (0: no limit)
    num_workers: int = 0  # DataLoader worker processes
