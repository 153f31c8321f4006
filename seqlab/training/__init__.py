"""Training: trainer loop, optimizers and schedules, checkpoints, distributed helpers."""

from seqlab.training.checkpoint import (
    CheckpointError,
    average_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from seqlab.training.config import ExperimentConfig, OptimConfig, SchedulerConfig, TrainerConfig
from seqlab.training.optim import build_optimizer, build_scheduler, lr_factor
from seqlab.training.trainer import Trainer

__all__ = [
    "CheckpointError",
    "average_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
    "ExperimentConfig",
    "OptimConfig",
    "SchedulerConfig",
    "TrainerConfig",
    "build_optimizer",
    "build_scheduler",
    "lr_factor",
    "Trainer",
]
