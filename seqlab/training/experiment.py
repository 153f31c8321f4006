"""Assemble and run an experiment from an :class:`ExperimentConfig` (what ``seqlab train`` does),
and reload a trained model for decoding or export.

Files in ``exp_dir``: ``config.yaml`` (the resolved config), ``tokenizer.json`` (or the
sentencepiece model named in the config), ``cmvn.ark`` when CMVN is on, ``epoch-N.pt``,
``last.pt``, ``best.pt``, ``avg.pt`` and ``tensorboard/``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlab.config import ConfigError, from_dict, save_yaml, to_dict
from seqlab.data.pipeline import (
    build_dataset,
    build_frontend,
    build_loader,
    build_tokenizer,
    compute_cmvn,
)
from seqlab.data.sources import read_source
from seqlab.models import ASRModel, build_model, init_weights
from seqlab.training import distributed as dist_utils
from seqlab.training.checkpoint import CheckpointError, load_checkpoint
from seqlab.training.config import ExperimentConfig
from seqlab.training.trainer import Trainer, resolve_device

__all__ = ["prepare_experiment", "train_experiment", "load_trained_model", "greedy_transcribe"]

log = logging.getLogger(__name__)


def _tokenizer(cfg: ExperimentConfig, exp: Path, fresh: bool):
    saved = exp / "tokenizer.json"
    if cfg.data.tokenizer != "char":
        return build_tokenizer(cfg.data.tokenizer)
    if saved.exists() and not fresh:  # resuming: the vocabulary the checkpoints know
        return build_tokenizer(str(saved))
    utts, _ = read_source(cfg.data.train)
    tok = build_tokenizer("char", [u.text for u in utts])
    if dist_utils.is_main():
        tok.save(saved)
    return tok


def _cmvn(cfg: ExperimentConfig, exp: Path, fresh: bool) -> nn.Module | None:
    """Global CMVN: ``data.cmvn: auto`` computes ``exp_dir/cmvn.ark`` from the training data
    (again for a fresh run; a resumed run reuses it), a path is used as it is (computed
    there first if missing)."""
    if not cfg.data.cmvn:
        return None
    from seqlab.features import GlobalCMVN

    auto = cfg.data.cmvn == "auto"
    path = exp / "cmvn.ark" if auto else Path(cfg.data.cmvn)
    if (not path.exists() or (auto and fresh)) and dist_utils.is_main():
        log.info("computing CMVN stats of %s into %s", cfg.data.train, path)
        utts, loader = read_source(cfg.data.train)
        compute_cmvn(utts, build_frontend(cfg.data), path, cfg.data.sample_rate, loader)
    if dist_utils.is_distributed():
        torch.distributed.barrier()
    cmvn = GlobalCMVN.load(path)
    dim = build_frontend(cfg.data).num_features
    if cmvn.num_features != dim:
        raise ConfigError(
            f"{path}: CMVN stats of {cmvn.num_features}-dim features, but data.* gives "
            f"{dim}-dim features (recompute them: delete the file or set data.cmvn)"
        )
    return cmvn


def prepare_experiment(cfg: ExperimentConfig, fresh: bool = True) -> tuple[Trainer, Any]:
    """Build tokenizer, model, data loaders and :class:`Trainer`; returns ``(trainer, tokenizer)``.

    Joins the ``torchrun`` process group when launched under it; writes ``config.yaml``.
    ``fresh``: a new run, which derives the character vocabulary and ``cmvn: auto`` stats
    from the data again; ``False`` (resuming) reuses those in ``exp_dir``.
    """
    exp = Path(cfg.exp_dir)
    exp.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.trainer.device)
    dist_utils.init_distributed(device.type)
    torch.manual_seed(cfg.trainer.seed + dist_utils.rank())
    tok = _tokenizer(cfg, exp, fresh)
    if tok.blank_id is not None and tok.blank_id != cfg.model.blank_id:
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, blank_id=tok.blank_id))
    if dist_utils.is_main():
        save_yaml(cfg, exp / "config.yaml")
    cmvn = _cmvn(cfg, exp, fresh)
    frontend = build_frontend(cfg.data)
    torch.manual_seed(cfg.trainer.seed)  # same initial weights on every process
    model = build_model(cfg.model, tok.vocab_size, frontend.num_features)
    init_weights(model, cfg.trainer.init)
    torch.manual_seed(cfg.trainer.seed + dist_utils.rank())

    def output_frames(n: int) -> int:
        return int(model.output_lengths(torch.tensor([n]))[0])

    ctc = cfg.model.type in ("ctc", "joint")
    seed = cfg.trainer.seed
    train_ds = build_dataset(cfg.data, cfg.data.train, tok, output_frames, True, ctc, seed, cmvn)
    train_loader = build_loader(train_ds, cfg.data, shuffle=True, seed=seed)
    valid_loader = None
    if cfg.data.valid:
        valid_ds = build_dataset(
            cfg.data, cfg.data.valid, tok, output_frames, False, ctc, seed, cmvn
        )
        valid_loader = build_loader(valid_ds, cfg.data, shuffle=False, seed=seed)
    extra = {
        "config": to_dict(cfg),
        "vocab_size": tok.vocab_size,
        "input_dim": frontend.num_features,
    }
    trainer = Trainer(model, train_loader, exp, cfg.optim, cfg.scheduler, cfg.trainer,
                      valid_loader=valid_loader, decode=tok.decode, extra_state=extra)  # fmt: skip
    return trainer, tok


def check_experiment(cfg: ExperimentConfig, resume: str | os.PathLike | None = None) -> None:
    """Check what can be checked before any data is read or anything is written: the
    trainer, optimizer, schedule and model settings, the training data path and the
    checkpoint to resume from (``ConfigError`` / ``CheckpointError`` naming the key or file)."""
    from seqlab.models.config import ENCODER_TYPES, MODEL_TYPES, check_heads
    from seqlab.models.init import INIT_SCHEMES
    from seqlab.training.optim import OPTIMIZERS, lr_factor
    from seqlab.training.trainer import check_trainer_config

    check_trainer_config(cfg.trainer)
    if cfg.trainer.init not in INIT_SCHEMES:
        raise ConfigError(f"trainer.init must be one of {INIT_SCHEMES}, got {cfg.trainer.init!r}")
    model = cfg.model
    if model.type not in MODEL_TYPES:
        raise ConfigError(f"model.type must be one of {MODEL_TYPES}, got {model.type!r}")
    if model.encoder not in ENCODER_TYPES:
        raise ConfigError(f"model.encoder must be one of {ENCODER_TYPES}, got {model.encoder!r}")
    if model.encoder in ("transformer", "conformer"):
        section = getattr(model, model.encoder)
        check_heads(f"model.{model.encoder}", section.dim, section.num_heads)
        if model.type != "ctc":
            check_heads("model.decoder", model.decoder.dim or section.dim, model.decoder.num_heads)
    if cfg.optim.name.lower() not in OPTIMIZERS:
        raise ConfigError(f"optim.name must be one of {OPTIMIZERS}, got {cfg.optim.name!r}")
    if not cfg.optim.lr > 0:
        raise ConfigError(f"optim.lr must be > 0, got {cfg.optim.lr}")
    try:
        lr_factor(cfg.scheduler, 0, 1, 1)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if not cfg.data.train:
        raise ConfigError("data.train: no training data given")
    if resume is not None and not Path(resume).is_file():
        raise CheckpointError(f"{resume}: no such checkpoint to resume from")


def train_experiment(cfg: ExperimentConfig, resume: str | os.PathLike | None = None) -> Trainer:
    """Check the config, prepare the experiment, optionally resume from a checkpoint, and
    train it."""
    check_experiment(cfg, resume)
    trainer, _ = prepare_experiment(cfg, fresh=resume is None)
    if resume is not None:
        trainer.resume(resume)
    trainer.fit()
    return trainer


def load_trained_model(
    checkpoint: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[ASRModel, ExperimentConfig]:
    """Rebuild the model of a checkpoint from the config stored in it; eval mode."""
    state = load_checkpoint(checkpoint, map_location=device)
    missing = [k for k in ("config", "vocab_size", "input_dim") if k not in state]
    if missing:
        raise CheckpointError(
            f"{checkpoint}: no {', '.join(missing)} saved (not written by seqlab train)"
        )
    try:
        cfg = from_dict(ExperimentConfig, state["config"])
        model = build_model(cfg.model, int(state["vocab_size"]), int(state["input_dim"]))
        model.load_state_dict(state["model"])
    except (ValueError, TypeError, RuntimeError) as e:  # ConfigError is a ValueError
        reason = str(e).strip().splitlines()[0]
        raise CheckpointError(f"{checkpoint}: its config and weights do not fit ({reason})") from e
    return model.to(device).eval(), cfg


def _exp_file(cfg: ExperimentConfig, checkpoint: Path, name: str) -> Path:
    """A file saved beside the checkpoints (falls back to the configured ``exp_dir``)."""
    beside = checkpoint.parent / name
    return beside if beside.exists() else Path(cfg.exp_dir) / name


@torch.no_grad()
def greedy_transcribe(
    checkpoint: str | os.PathLike, source: str, device: str = "cpu"
) -> dict[str, str]:
    """Greedy transcripts ``{utt_id: text}`` of every usable utterance of ``source``.

    Uses the config, tokenizer and CMVN stats saved beside ``checkpoint``; utterances the
    model cannot process (see :func:`seqlab.data.filter_utterances`, without the CTC label
    check) are skipped and logged.
    """
    from seqlab.features import GlobalCMVN

    checkpoint = Path(checkpoint)
    model, cfg = load_trained_model(checkpoint, device)
    tok_spec = cfg.data.tokenizer
    tok = build_tokenizer(
        str(_exp_file(cfg, checkpoint, "tokenizer.json")) if tok_spec == "char" else tok_spec
    )
    cmvn = None
    if cfg.data.cmvn:
        path = (
            _exp_file(cfg, checkpoint, "cmvn.ark")
            if cfg.data.cmvn == "auto"
            else Path(cfg.data.cmvn)
        )
        cmvn = GlobalCMVN.load(path)

    def output_frames(n: int) -> int:
        return int(model.output_lengths(torch.tensor([n]))[0])

    data = dataclasses.replace(cfg.data, max_duration=0.0, min_duration=0.0)
    dataset = build_dataset(data, source, tok, output_frames, train=False, ctc=False, cmvn=cmvn)
    hyps: dict[str, str] = {}
    for batch in build_loader(dataset, data, shuffle=False):
        if not batch["ids"]:
            continue
        ids = model.greedy_decode(batch["features"].to(device), batch["lengths"].to(device))
        hyps.update(zip(batch["ids"], (tok.decode(x) for x in ids)))
    return hyps
