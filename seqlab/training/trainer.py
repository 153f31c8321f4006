"""The training loop: AMP, accumulation, clipping, schedules, validation, checkpoints, DDP.

Read top to bottom: :meth:`Trainer.fit` runs epochs of :meth:`Trainer.train_epoch` and
:meth:`Trainer.validate`, and writes checkpoints through :meth:`Trainer.save`. Batches are the
dicts of :func:`seqlab.data.collate` (``features``, ``lengths``, ``targets``,
``target_lengths``, ``texts``, ``failed``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlab.config import ConfigError
from seqlab.training import distributed as dist_utils
from seqlab.training.checkpoint import (
    CheckpointError,
    average_checkpoints,
    link_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from seqlab.training.config import OptimConfig, SchedulerConfig, TrainerConfig
from seqlab.training.optim import build_optimizer, build_scheduler

__all__ = ["Trainer", "resolve_device"]

log = logging.getLogger(__name__)

AMP_DTYPES = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MONITORS = ("loss", "cer", "wer")
# what a checkpoint needs to continue training (avg.pt and exported models lack them)
TRAINING_STATE_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "epoch", "step")


def resolve_device(name: str) -> torch.device:
    """``"auto"``: this process's GPU (``LOCAL_RANK``) when CUDA is available, else the CPU.

    Raises:
        ConfigError: naming ``trainer.device`` for a name torch does not know, or a CUDA
            device on a machine without one.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise ConfigError(f"trainer.device: {name!r} is not a device ({e})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"trainer.device: {name!r}, but CUDA is not available here")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ConfigError(
            f"trainer.device: {name!r}, but only {torch.cuda.device_count()} CUDA devices"
        )
    return device


def check_trainer_config(cfg: TrainerConfig) -> None:
    """Raise ``ConfigError`` naming the ``trainer.*`` key of a value the loop cannot use."""
    if cfg.amp not in AMP_DTYPES:
        raise ConfigError(f"trainer.amp must be one of {tuple(AMP_DTYPES)}, got {cfg.amp!r}")
    if cfg.monitor not in MONITORS:
        raise ConfigError(f"trainer.monitor must be one of {MONITORS}, got {cfg.monitor!r}")
    minimum = {"epochs": 1, "accum_steps": 1, "log_every": 1, "max_steps": 0,
               "save_every_steps": 0, "keep_last": 0, "average_last": 0, "patience": 0}  # fmt: skip
    for key, low in minimum.items():
        if getattr(cfg, key) < low:
            raise ConfigError(f"trainer.{key} must be >= {low}, got {getattr(cfg, key)}")
    if not cfg.grad_clip >= 0:
        raise ConfigError(f"trainer.grad_clip must be >= 0, got {cfg.grad_clip}")


class _LossModule(nn.Module):
    """Exposes ``model.compute_loss`` as ``forward`` so DDP's gradient hooks see it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, features, lengths, targets, target_lengths) -> dict[str, torch.Tensor]:
        return self.model.compute_loss(features, lengths, targets, target_lengths)


class Trainer:
    """Train an ASR model (see ``seqlab.models.ASRModel``) and keep its checkpoints.

    Args:
        model: the model (moved to the device; wrapped in DDP when distributed).
        train_loader: yields training batches; its ``batch_sampler`` may have ``set_epoch``,
            ``state_dict`` and ``load_state_dict`` (for exact mid-epoch resumption) and its
            ``dataset`` may have ``set_epoch``.
        exp_dir: folder for checkpoints, ``config.yaml`` and TensorBoard logs.
        optim, scheduler, trainer: settings (:mod:`seqlab.training.config`); defaults: AdamW,
            constant learning rate, :class:`TrainerConfig` defaults.
        valid_loader: validation batches (``None``: no validation).
        decode: token ids -> text, for greedy CER/WER in validation (``None``: loss only).
        extra_state: saved into every checkpoint (e.g. the resolved config as a dict).
    """

    def __init__(
        self,
        model: nn.Module,
        train_loader: Iterable[dict[str, Any]],
        exp_dir: str | os.PathLike,
        optim: OptimConfig | None = None,
        scheduler: SchedulerConfig | None = None,
        trainer: TrainerConfig | None = None,
        valid_loader: Iterable[dict[str, Any]] | None = None,
        decode: Callable[[list[int]], str] | None = None,
        extra_state: dict[str, Any] | None = None,
    ) -> None:
        optim = optim or OptimConfig()
        scheduler = scheduler or SchedulerConfig(name="constant")
        trainer = trainer or TrainerConfig()
        check_trainer_config(trainer)
        self.cfg = trainer
        self.exp_dir = Path(exp_dir)
        self.device = resolve_device(trainer.device)
        self.model = model.to(self.device)
        self.train_loader, self.valid_loader = train_loader, valid_loader
        self.decode = decode
        self.extra_state = extra_state or {}
        self.distributed = dist_utils.is_distributed()
        self.is_main = dist_utils.is_main()
        loss_module = _LossModule(self.model)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            loss_module = nn.parallel.DistributedDataParallel(loss_module, device_ids=ids)
        self.loss_module = loss_module
        self.optimizer = build_optimizer(self.model.parameters(), optim)
        batches = len(train_loader) if hasattr(train_loader, "__len__") else 1
        self.steps_per_epoch = max(1, math.ceil(batches / trainer.accum_steps))
        self.scheduler = build_scheduler(
            self.optimizer, scheduler, self.steps_per_epoch, trainer.epochs
        )
        self.amp_dtype = AMP_DTYPES[trainer.amp]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=trainer.amp == "fp16")
        self.epoch = 0  # completed epochs
        self.step = 0  # optimizer steps taken
        self.batches_done = 0  # batches consumed in the current epoch
        self._epoch_loss = [0.0, 0]  # the current epoch's finite batch losses: sum, count
        self.best: float | None = None
        self.bad_epochs = 0
        self.skipped_steps = 0
        self.failed_items = 0
        self.history: list[dict[str, float]] = []
        self.writer = None
        if self.is_main and trainer.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.exp_dir / "tensorboard"))

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training exactly (RNG of every process included)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": dist_utils.all_gather_objects(rng_state()),
            "epoch": self.epoch,
            "step": self.step,
            "batches_done": self.batches_done,
            "epoch_loss": list(self._epoch_loss),
            "sampler": {"epoch": self.epoch, "start": self.batches_done},
            "best": self.best,
            "bad_epochs": self.bad_epochs,
            "history": self.history,
            **self.extra_state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        rngs = state["rng"]
        set_rng_state(rngs[dist_utils.rank() % len(rngs)])
        self.epoch, self.step = state["epoch"], state["step"]
        self.batches_done = state.get("batches_done", 0)
        self._epoch_loss = list(state.get("epoch_loss", (0.0, 0)))
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
        self.history = list(state.get("history", []))
        sampler = getattr(self.train_loader, "batch_sampler", None)
        if state.get("sampler") is not None and hasattr(sampler, "load_state_dict"):
            sampler.load_state_dict(state["sampler"])

    def resume(self, path: str | os.PathLike) -> None:
        """Continue from a checkpoint written by this trainer (``last.pt`` usually).

        Raises:
            CheckpointError: naming ``path`` when it is not a training checkpoint (e.g. the
                weights-only ``avg.pt``).
        """
        state = load_checkpoint(path, map_location=self.device)
        missing = [k for k in TRAINING_STATE_KEYS if k not in state]
        if missing:
            raise CheckpointError(
                f"{path}: not a training checkpoint (no {', '.join(missing)}); resume from "
                f"last.pt or an epoch-N.pt of the run"
            )
        try:
            self.load_state_dict(state)
        except (RuntimeError, ValueError, KeyError) as e:  # another architecture or optimizer
            reason = str(e).strip().splitlines()[0]
            raise CheckpointError(f"{path}: does not fit this model and config ({reason})") from e
        log.info("resumed from %s at epoch %d, step %d", path, self.epoch, self.step)

    def save(self, name: str) -> Path | None:
        """Write ``exp_dir/name`` atomically (main process only; all processes must call)."""
        state = self.state_dict()  # collective: every process contributes its RNG state
        if not self.is_main:
            return None
        path = self.exp_dir / name
        save_checkpoint(state, path)
        return path

    # ------------------------------------------------------------------ steps
    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _to_device(self, batch: dict[str, Any]) -> tuple[torch.Tensor, ...]:
        keys = ("features", "lengths", "targets", "target_lengths")
        return tuple(batch[k].to(self.device, non_blocking=True) for k in keys)

    def _optimizer_step(self, bad: bool, window: int) -> bool:
        """Clip, step and schedule the accumulated gradient of ``window`` micro-batches; True
        if stepped. The update is skipped (and counted, with the step counter and the schedule
        left where they are) when some process saw a non-finite loss, when the gradient is not
        finite, or when fp16's ``GradScaler`` skips it for an overflow."""
        skip = dist_utils.any_true(bad, self.device)
        if skip:
            log.warning("non-finite loss at step %d: skipping the update", self.step)
        else:
            if window != self.cfg.accum_steps:  # a short last window: the mean over its batches
                for p in self.model.parameters():
                    if p.grad is not None:
                        p.grad.mul_(self.cfg.accum_steps / window)
            self.scaler.unscale_(self.optimizer)
            limit = self.cfg.grad_clip if self.cfg.grad_clip > 0 else math.inf
            norm = nn.utils.clip_grad_norm_(self.model.parameters(), limit)
            if not (torch.isfinite(norm) or self.scaler.is_enabled()):
                log.warning("non-finite gradient at step %d: skipping the update", self.step)
                skip = True  # (the scaler skips inf/NaN itself, and lowers its scale)
        if not skip:
            scale = self.scaler.get_scale() if self.scaler.is_enabled() else 1.0
            self.scaler.step(self.optimizer)
            self.scaler.update()
            skip = self.scaler.is_enabled() and self.scaler.get_scale() < scale  # overflow
        self.optimizer.zero_grad(set_to_none=True)
        if skip:
            self.skipped_steps += 1
            return False
        self.scheduler.step()
        self.step += 1
        return True

    def _done(self) -> bool:
        return self.cfg.max_steps > 0 and self.step >= self.cfg.max_steps

    def train_epoch(self) -> tuple[float, bool]:
        """One pass over the training batches (from the saved position when resuming).

        Returns the mean training loss over the epoch's batches (those before a resume
        included: the running sum is checkpointed) and whether the epoch was finished
        (``False`` when ``max_steps`` stopped it early).
        """
        self.model.train()
        accum = self.cfg.accum_steps
        total = len(self.train_loader) if hasattr(self.train_loader, "__len__") else None
        progress = None
        if self.is_main and self.cfg.progress:
            from tqdm import tqdm

            progress = tqdm(
                total=total, initial=self.batches_done, desc=f"epoch {self.epoch + 1}", leave=False
            )
        if self.batches_done == 0:
            self._epoch_loss = [0.0, 0]  # sum of finite batch losses, their count
        pending, bad = 0, False
        for batch in self.train_loader:
            self.failed_items += batch.get("failed", 0)
            self.batches_done += 1
            if progress is not None:
                progress.update(1)
            empty = batch["features"].numel() == 0  # every item of the batch failed to load
            if self.distributed:  # all processes skip together, or DDP's all-reduce would hang
                empty = dist_utils.any_true(empty, self.device)
            if empty:
                continue
            features, lengths, targets, target_lengths = self._to_device(batch)
            pending += 1
            sync = pending == accum or (total is not None and self.batches_done == total)
            no_sync = self.distributed and not sync
            with self.loss_module.no_sync() if no_sync else contextlib.nullcontext():
                with self._autocast():
                    out = self.loss_module(features, lengths, targets, target_lengths)
                loss = out["loss"].float()
                if torch.isfinite(loss):
                    self._epoch_loss[0] += float(loss.detach())
                    self._epoch_loss[1] += 1
                else:  # the window's update is dropped in _optimizer_step
                    bad = True
                # Backward even for a bad loss: under DDP every process must join the all-reduce.
                self.scaler.scale(loss / accum).backward()
            if not sync:
                continue
            stepped = self._optimizer_step(bad, pending)
            pending, bad = 0, False
            if stepped and self.is_main and self.step % self.cfg.log_every == 0:
                lr = self.scheduler.get_last_lr()[0]
                if progress is not None:
                    progress.set_postfix(loss=f"{float(loss):.3f}", lr=f"{lr:.2e}")
                if self.writer is not None:
                    for key, value in out.items():
                        self.writer.add_scalar(f"train/{key}", float(value.detach()), self.step)
                    self.writer.add_scalar("train/lr", lr, self.step)
            if stepped and self.cfg.save_every_steps and self.step % self.cfg.save_every_steps == 0:
                self.save("last.pt")
            if self._done():
                break
        finished = not self._done() or (total is not None and self.batches_done >= total)
        if pending and finished:  # an unfinished window: its last batch was skipped as empty
            if self.distributed:  # its micro-batches ran under no_sync: average by hand
                for p in self.model.parameters():
                    if p.grad is not None:
                        torch.distributed.all_reduce(p.grad)
                        p.grad /= dist_utils.world_size()
            self._optimizer_step(bad, pending)
        if progress is not None:
            progress.close()
        loss_sum, count = self._epoch_loss
        return loss_sum / max(count, 1), finished

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mean loss over the validation batches and, with ``decode``, greedy CER/WER."""
        if self.valid_loader is None:
            return {}
        self.model.eval()
        loss_sum, items, refs, hyps = 0.0, 0, [], []
        for batch in self.valid_loader:
            if batch["features"].numel() == 0:
                continue
            features, lengths, targets, target_lengths = self._to_device(batch)
            with self._autocast():
                out = self.model.compute_loss(features, lengths, targets, target_lengths)
            loss_sum += float(out["loss"].float()) * len(batch["texts"])
            items += len(batch["texts"])
            if self.decode is not None:
                refs.extend(batch["texts"])
                with self._autocast():
                    hyps.extend(
                        self.decode(ids) for ids in self.model.greedy_decode(features, lengths)
                    )
        gathered = dist_utils.all_gather_objects((loss_sum, items, refs, hyps))
        loss_sum = sum(g[0] for g in gathered)
        items = sum(g[1] for g in gathered)
        refs = [r for g in gathered for r in g[2]]
        hyps = [h for g in gathered for h in g[3]]
        result = {"loss": loss_sum / max(items, 1)}
        if self.decode is not None and refs:
            from seqlab.metrics import cer, wer

            result["cer"] = cer(refs, hyps).rate
            result["wer"] = wer(refs, hyps).rate
        return result

    # ------------------------------------------------------------------ loop
    def fit(self) -> list[dict[str, float]]:
        """Train until ``epochs`` (or ``max_steps``, or early stopping); return the history.

        After each epoch: ``epoch-N.pt`` and ``last.pt`` (and ``best.pt`` when the monitored
        validation metric improves); old epoch files beyond ``keep_last`` are deleted; with
        ``average_last`` the last N epoch checkpoints are averaged into ``avg.pt`` at the end.
        """
        self.exp_dir.mkdir(parents=True, exist_ok=True)
        stale = self.epoch_checkpoints(stale=True)
        if stale and self.is_main:
            log.warning(
                "%s holds epoch checkpoints of another run (%s): left alone, never averaged",
                self.exp_dir,
                ", ".join(p.name for p in stale),
            )
        sampler = getattr(self.train_loader, "batch_sampler", None)
        dataset = getattr(self.train_loader, "dataset", None)
        while self.epoch < self.cfg.epochs and not self._done():
            if self.batches_done == 0 and hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self.epoch)
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(self.epoch)
            train_loss, finished = self.train_epoch()
            if not finished:  # max_steps reached mid-epoch: keep the position for --resume
                self.save("last.pt")
                break
            valid = self.validate()
            self.epoch += 1
            self.batches_done = 0
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(self.epoch)
            record = {"epoch": self.epoch, "step": self.step, "train_loss": train_loss}
            record.update({f"valid_{k}": v for k, v in valid.items()})
            self.history.append(record)
            improved = self._track(valid)
            self._log_epoch(record)
            self._save_epoch(improved)
            if self.cfg.patience > 0 and self.bad_epochs >= self.cfg.patience:
                log.info("early stopping: no improvement for %d epochs", self.bad_epochs)
                break
        if self.is_main and self.cfg.average_last > 0:
            self.average(self.cfg.average_last)
        if self.writer is not None:
            self.writer.flush()
        return self.history

    def _track(self, valid: dict[str, float]) -> bool:
        value = valid.get(self.cfg.monitor)
        if value is None:
            return True  # no validation: the latest model is the best one we know of
        if not math.isfinite(value):  # never the best (a NaN best would stay forever)
            self.bad_epochs += 1
            return False
        if self.best is None or value < self.best:
            self.best, self.bad_epochs = value, 0
            return True
        self.bad_epochs += 1
        return False

    def _log_epoch(self, record: dict[str, float]) -> None:
        if not self.is_main:
            return
        text = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in record.items()
        )
        if self.failed_items or self.skipped_steps:
            text += f" (skipped so far: {self.failed_items} unreadable items, {self.skipped_steps} non-finite steps)"
        log.info("%s", text)
        if self.writer is not None:
            for key, value in record.items():
                if key.startswith("valid_") or key == "train_loss":
                    self.writer.add_scalar(key.replace("_", "/", 1), value, self.epoch)

    def _save_epoch(self, improved: bool) -> None:
        path = self.save(f"epoch-{self.epoch}.pt")
        if path is None:
            return
        link_checkpoint(path, self.exp_dir / "last.pt")
        if improved:
            link_checkpoint(path, self.exp_dir / "best.pt")
        if self.cfg.keep_last > 0:  # keep enough for averaging too
            keep = max(self.cfg.keep_last, self.cfg.average_last)
            for old in self.epoch_checkpoints()[:-keep]:
                old.unlink()

    def epoch_checkpoints(self, stale: bool = False) -> list[Path]:
        """This run's ``epoch-N.pt`` files in ``exp_dir`` (``N <= epoch``), oldest first; with
        ``stale``, those of some other run instead (``N > epoch``: a longer run that used the
        same ``exp_dir`` before), which are never pruned or averaged."""
        found = []
        for p in self.exp_dir.glob("epoch-*.pt"):
            m = re.fullmatch(r"epoch-(\d+)\.pt", p.name)
            if m and (int(m.group(1)) > self.epoch) == stale:
                found.append((int(m.group(1)), p))
        return [p for _, p in sorted(found)]

    def average(self, n: int) -> Path | None:
        """Average the model weights of the last ``n`` epoch checkpoints into ``avg.pt``
        (``None``, with a warning, when no epoch has finished yet)."""
        paths = self.epoch_checkpoints()[-n:]
        if not paths:
            log.warning("no finished epoch to average yet: avg.pt not written")
            return None
        state = {"model": average_checkpoints(paths), "averaged": [p.name for p in paths]}
        state.update(self.extra_state)
        out = self.exp_dir / "avg.pt"
        save_checkpoint(state, out)
        log.info("averaged %s into %s", ", ".join(p.name for p in paths), out)
        return out
