"""Process-group helpers for ``torchrun`` (DDP): NCCL on GPUs, gloo on CPU."""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist

__all__ = [
    "init_distributed",
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "all_gather_objects",
    "any_true",
    "shutdown_distributed",
]


def init_distributed(device_type: str = "cpu") -> bool:
    """Join the process group described by ``torchrun``'s environment, if any.

    Returns ``True`` when running distributed (``WORLD_SIZE > 1``). Uses NCCL for CUDA and
    gloo otherwise. A group that is already initialized (e.g. by a test) is reused.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return True


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    return rank() == 0


def all_gather_objects(obj: Any) -> list[Any]:
    """Gather a picklable object from every process (a one-element list when not distributed)."""
    if not is_distributed():
        return [obj]
    out: list[Any] = [None] * world_size()
    dist.all_gather_object(out, obj)
    return out


def any_true(flag: bool, device: torch.device) -> bool:
    """Logical OR of ``flag`` over all processes."""
    if not is_distributed():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def shutdown_distributed() -> None:
    """Leave the process group together with the other processes (a no-op when not joined).

    All ranks meet at a barrier first, so no rank closes its connections while a peer still
    waits on it. Drop every object that holds the group (a ``DistributedDataParallel`` model,
    a :class:`~seqlab.training.Trainer`) before calling this: only then is the group destroyed
    here, with its threads joined, rather than at interpreter exit.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if dist.get_world_size() > 1:
        dist.barrier()
    dist.destroy_process_group()
