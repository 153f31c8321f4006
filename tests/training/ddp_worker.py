"""Worker for test_ddp.py, launched with ``torchrun --nproc_per_node=2`` (gloo on CPU).

Trains the toy CTC model for one epoch with DistributedDataParallel and writes rank 0's final
weights to ``OUT/ddp.pt``.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
from pathlib import Path

import torch

from seqlab.training import OptimConfig, SchedulerConfig, Trainer, TrainerConfig
from seqlab.training.distributed import init_distributed, rank, shutdown_distributed, world_size


def main(out: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "toy_conftest", Path(__file__).with_name("conftest.py")
    )
    toy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(toy)
    torch.set_num_threads(1)
    assert init_distributed("cpu") and world_size() == 2
    items = toy.toy_items(16)
    trainer = Trainer(
        toy.tiny_model(dropout=0.0),
        toy.toy_loader(items, max_frames=120, num_replicas=2, rank=rank()),
        Path(out) / "ddp",
        optim=OptimConfig(name="adam", lr=1e-2),
        scheduler=SchedulerConfig(name="constant"),
        trainer=TrainerConfig(epochs=2, progress=False, tensorboard=False, grad_clip=1.0),
        valid_loader=toy.toy_loader(items[:6], max_frames=120, num_replicas=2, rank=rank()),
        decode=toy.decode,
    )
    trainer.fit()
    if rank() == 0:
        torch.save({"model": trainer.model.state_dict(), "step": trainer.step,
                    "history": trainer.history}, Path(out) / "ddp.pt")  # fmt: skip
    # Tear down together and leave no C++ destructor to interpreter shutdown. CI saw a rank
    # abort at exit ("terminate called without an active exception") while DDP still held the
    # gloo group: drop the trainer so destroy_process_group really joins gloo's threads, then
    # exit without running static destructors.
    del trainer
    gc.collect()
    shutdown_distributed()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1])
