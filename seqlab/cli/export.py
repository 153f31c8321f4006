"""``seqlab export CKPT -o model.pt``: TorchScript (or torch.export) of the inference graph."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained model's inference graph",
        description="Export forward(features (B,T,D), lengths (B,)) -> (log_probs, lengths) of a "
        "checkpoint written by `seqlab train`, as TorchScript (torch.export if scripting fails). "
        "The resolved config is stored in the TorchScript archive as config.yaml.",
    )
    p.add_argument("checkpoint", help="checkpoint (best.pt, last.pt, avg.pt, ...)")
    p.add_argument("-o", "--output", required=True, help="output file, e.g. model.pt")
    p.add_argument("--method", choices=("auto", "torchscript", "export"), default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    import yaml

    from seqlab.config import to_dict
    from seqlab.data.pipeline import build_frontend
    from seqlab.io import check_output_is_not_an_input
    from seqlab.training.experiment import load_trained_model
    from seqlab.training.export import export_model

    check_output_is_not_an_input(args.output, args.checkpoint)
    model, cfg = load_trained_model(args.checkpoint)
    dim = build_frontend(cfg.data).num_features
    example = (torch.randn(2, 200, dim), torch.tensor([200, 150]))
    extra = {"config.yaml": yaml.safe_dump(to_dict(cfg), sort_keys=False)}
    how = export_model(model, args.output, example, extra_files=extra, method=args.method)
    print(f"exported {args.checkpoint} ({how}) to {args.output}")
    return 0
