"""``seqlab train CONFIG [--set key=value ...] [--resume CKPT]``: train an ASR model.

Multi-GPU / multi-node: ``torchrun --nproc_per_node=N -m seqlab train CONFIG``.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an ASR model from a YAML config",
        description="Train an ASR model. The resolved config is saved as EXP_DIR/config.yaml; "
        "checkpoints go to EXP_DIR (last.pt, best.pt, epoch-N.pt, avg.pt).",
    )
    p.add_argument("config", help="YAML experiment config (see docs/asr.md)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set optim.lr=1e-3 (repeatable)")  # fmt: skip
    p.add_argument("--resume", metavar="CKPT", help="continue training from this checkpoint")
    p.add_argument("--exp-dir", help="experiment directory (overrides exp_dir; taken literally)")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import logging
    import os

    from seqlab.config import load_yaml
    from seqlab.training.config import ExperimentConfig
    from seqlab.training.distributed import shutdown_distributed
    from seqlab.training.experiment import train_experiment

    main_process = int(os.environ.get("RANK", "0")) == 0  # torchrun: log once
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if main_process else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cfg = load_yaml(ExperimentConfig, args.config, args.overrides)
    if args.exp_dir:  # taken literally (a --set value would be parsed as YAML)
        cfg = dataclasses.replace(cfg, exp_dir=args.exp_dir)
    trainer = train_experiment(cfg, resume=args.resume)
    if trainer.is_main:
        last = trainer.history[-1] if trainer.history else {}
        summary = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if isinstance(v, float))
        print(
            f"trained {trainer.epoch} epochs, {trainer.step} steps"
            + (f": {summary}" if summary else "")
        )
        print(f"checkpoints in {cfg.exp_dir}")
    del trainer  # its DDP model holds the process group
    shutdown_distributed()
    return 0
