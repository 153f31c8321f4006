"""Checkpoints: atomic save/load, RNG state capture, averaging of the last N checkpoints.

A checkpoint is a ``torch.save``d dict; the trainer stores ``model``, ``optimizer``,
``scheduler``, ``scaler``, ``rng`` (one entry per process), ``epoch``, ``step``,
``sampler`` position, best metric and early-stopping counters, and the resolved ``config``.
Loading uses ``weights_only=False`` (RNG states hold numpy arrays): load only trusted files.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.io import atomic_write

__all__ = [
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "link_checkpoint",
    "rng_state",
    "set_rng_state",
    "average_checkpoints",
]


class CheckpointError(OSError):
    """A checkpoint is missing, unreadable or lacks an expected entry (names the file)."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (temp file + rename)."""
    with atomic_write(path, "wb") as f:
        torch.save(state, f)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint dict written by :func:`save_checkpoint`."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint")
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # corrupt zip, pickle errors...
        raise CheckpointError(f"{path}: cannot load checkpoint ({e})") from e
    if not isinstance(state, dict) or "model" not in state:
        raise CheckpointError(f"{path}: not a seqlab checkpoint (no 'model' entry)")
    return state


def link_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Make ``dst`` a copy of ``src`` atomically (hard link when possible, else a copy)."""
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.link.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def rng_state() -> dict[str, Any]:
    """The Python, NumPy, torch CPU and CUDA random states of this process."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore states captured by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def average_checkpoints(paths: list[str | os.PathLike]) -> dict[str, torch.Tensor]:
    """Element-wise mean of the model weights of ``paths`` (integer buffers from the last).

    Returns a model state dict. Raises :class:`CheckpointError` if the files hold different
    parameter names or shapes.
    """
    if not paths:
        raise CheckpointError("average_checkpoints: no checkpoints given")
    avg: dict[str, torch.Tensor] = {}
    for i, path in enumerate(paths):
        model = load_checkpoint(path)["model"]
        if i == 0:
            avg = {
                k: v.clone().double() if v.is_floating_point() else v.clone()
                for k, v in model.items()
            }
            continue
        if model.keys() != avg.keys():
            raise CheckpointError(f"{path}: parameter names differ from {paths[0]}")
        for k, v in model.items():
            if v.shape != avg[k].shape:
                raise CheckpointError(
                    f"{path}: {k} has shape {tuple(v.shape)}, expected {tuple(avg[k].shape)}"
                )
            if v.is_floating_point():
                avg[k] += v.double()
            else:
                avg[k] = v.clone()
    first = load_checkpoint(paths[0])["model"]
    return {
        k: (v / len(paths)).to(first[k].dtype) if v.is_floating_point() else v
        for k, v in avg.items()
    }
