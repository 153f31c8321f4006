"""Training configuration: optimizer, schedule, trainer and the full experiment config."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.data.config import DataConfig
from seqlab.models.config import ModelConfig

__all__ = ["OptimConfig", "SchedulerConfig", "TrainerConfig", "ExperimentConfig"]


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer from ``torch.optim`` chosen by name."""

    name: str = "adamw"  # "sgd" (with momentum), "adam", "adamw", "rmsprop" or "adagrad"
    lr: float = 1e-3  # peak learning rate (reached at the end of warmup)
    weight_decay: float = 0.0  # decoupled for adamw, L2 in the gradient otherwise
    momentum: float = 0.9  # sgd and rmsprop
    nesterov: bool = False  # sgd
    betas: tuple[float, float] = (0.9, 0.98)  # adam, adamw
    eps: float = 1e-8  # adam, adamw, rmsprop, adagrad


@dataclass(frozen=True)
class SchedulerConfig:
    """Learning-rate schedule as a factor of ``optim.lr``, updated every optimizer step."""

    name: str = "constant"  # "constant", "step", "linear", "cosine" or "noam" (inverse sqrt)
    warmup_steps: int = 0  # linear warmup from lr/warmup to lr (noam: the peak step, > 0)
    milestones: tuple[int, ...] = ()  # "step": epochs after which lr is multiplied by gamma
    gamma: float = 0.1  # "step": decay factor
    min_lr_ratio: float = 0.0  # "linear"/"cosine": final lr as a fraction of optim.lr
    total_steps: int = 0  # "linear"/"cosine" horizon; 0: epochs x steps per epoch


@dataclass(frozen=True)
class TrainerConfig:
    """Training loop settings."""

    epochs: int = 10
    max_steps: int = 0  # stop after this many optimizer steps (0: no limit)
    grad_clip: float = 5.0  # max global gradient norm (0: no clipping)
    accum_steps: int = 1  # batches accumulated per optimizer step
    amp: str = "none"  # "none", "bf16" (CPU or GPU) or "fp16" (GPU, with a GradScaler)
    seed: int = 0
    init: str = "default"  # weight init: "default", "xavier" or "kaiming"
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    log_every: int = 10  # optimizer steps between TensorBoard/log points
    save_every_steps: int = 0  # also write last.pt every N steps (mid-epoch resume); 0: off
    keep_last: int = 5  # epoch-N.pt checkpoints kept on disk (at least average_last; 0: all)
    average_last: int = 0  # at the end, average the last N epoch checkpoints into avg.pt
    monitor: str = "loss"  # validation metric for best.pt and early stopping: loss, cer, wer
    patience: int = 0  # early stopping after this many epochs without improvement (0: off)
    tensorboard: bool = True
    progress: bool = True  # tqdm progress bars (main process only)


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything ``seqlab train`` needs; saved as ``config.yaml`` beside the checkpoints."""

    exp_dir: str = "exp/asr"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
