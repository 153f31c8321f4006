"""Benchmark: seqlab fused Triton CTC vs PyTorch (log_softmax + F.ctc_loss) vs cuDNN.

Forward + backward from logits, per configuration: median time, peak extra memory, speed ratios
(PyTorch's faster path / seqlab), seqlab's fraction of the memory-bandwidth floor (three passes
over the T x B x C logits at the copy bandwidth measured in the same run) and the relative loss
difference against PyTorch. All input lengths are T (so cuDNN is eligible when blank = 0, L < 256,
fp32), L = T / 5 random labels in [1, C).

    python bench/ctc.py --quick          # the goal configurations (T=1000, B=32)
    python bench/ctc.py                  # T {200,1000,2000} x B {8,32,128} x C {29,1024,5000}
    python bench/ctc.py --out bench/results/ctc.md

Without CUDA it prints that a GPU is required, runs a small CPU comparison of the PyTorch paths,
and exits 0.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from arguments import positive_int

from seqlab.io import atomic_write
from seqlab.losses import ctc_loss_from_logits

FULL_T = (200, 1000, 2000)
FULL_B = (8, 32, 128)
FULL_C = (29, 1024, 5000)
QUICK = [(1000, 32, 29), (1000, 32, 1024), (1000, 32, 5000)]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def dtype_list(text: str) -> list[str]:
    """``"fp32,bf16"`` -> ``["fp32", "bf16"]``, each one of :data:`DTYPES`."""
    names = [d.strip() for d in text.split(",") if d.strip()]
    unknown = [d for d in names if d not in DTYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma list of {', '.join(DTYPES)}, got {text!r}"
        )
    return names


CUDNN_MAX_LABEL = 256


@dataclass(frozen=True)
class Measure:
    """Median forward+backward milliseconds, peak extra MiB, and the per-utterance losses."""

    ms: float
    mib: float
    loss: torch.Tensor


@dataclass(frozen=True)
class Problem:
    logits: torch.Tensor  # (T, B, C), on the GPU
    targets: torch.Tensor  # (B, L) int64 on the GPU
    flat_cpu: torch.Tensor  # concatenated int32 on the CPU (cuDNN)
    lengths: torch.Tensor  # (B,) int32 = T on the CPU (cuDNN)
    target_lengths: torch.Tensor  # (B,) int32 = L on the CPU (cuDNN)
    lengths_gpu: torch.Tensor
    target_lengths_gpu: torch.Tensor


def make_problem(time_: int, batch: int, classes: int, dtype: torch.dtype, seed: int) -> Problem:
    gen = torch.Generator().manual_seed(seed)
    label = max(1, time_ // 5)
    logits = torch.randn(time_, batch, classes, generator=gen).to("cuda", dtype)
    targets = torch.randint(1, classes, (batch, label), generator=gen)
    lengths = torch.full((batch,), time_, dtype=torch.int32)
    target_lengths = torch.full((batch,), label, dtype=torch.int32)
    return Problem(
        logits=logits,
        targets=targets.cuda(),
        flat_cpu=targets.reshape(-1).to(torch.int32),
        lengths=lengths,
        target_lengths=target_lengths,
        lengths_gpu=lengths.cuda(),
        target_lengths_gpu=target_lengths.cuda(),
    )


def measure(step: Callable[[torch.Tensor], torch.Tensor], logits: torch.Tensor, reps: int,
            warmup: int) -> Measure:  # fmt: skip
    """Time ``loss = step(x); loss.sum().backward()`` with CUDA events; peak memory over baseline."""
    x = logits.detach().requires_grad_()
    loss = None
    for _ in range(warmup):
        loss = step(x)
        loss.sum().backward()
        x.grad = None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        loss = step(x)
        loss.sum().backward()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
        x.grad = None
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return Measure(statistics.median(times), peak, loss.detach().float().cpu())


def copy_bandwidth() -> float:
    """Achievable device bandwidth in bytes/s from a 1 GiB device-to-device copy (read + write)."""
    src = torch.empty(2**28, dtype=torch.float32, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        dst.copy_(src)
    end.record()
    torch.cuda.synchronize()
    return 10 * 2 * src.numel() * 4 / (start.elapsed_time(end) / 1e3)


def run_config(prob: Problem, dtype_name: str, reps: int, warmup: int, bandwidth: float) -> str:
    time_, batch, classes = prob.logits.shape
    label = int(prob.targets.shape[1])

    def fused(x: torch.Tensor) -> torch.Tensor:
        return ctc_loss_from_logits(x, prob.targets, prob.lengths_gpu,
                                    prob.target_lengths_gpu, reduction="none", impl="triton")  # fmt: skip

    def native(x: torch.Tensor) -> torch.Tensor:  # PyTorch's CUDA kernel (GPU targets)
        return F.ctc_loss(x.float().log_softmax(-1), prob.targets, prob.lengths_gpu,
                          prob.target_lengths_gpu, reduction="none")  # fmt: skip

    def cudnn(x: torch.Tensor) -> torch.Tensor:  # cuDNN conditions: int32 CPU targets, blank 0
        return F.ctc_loss(x.log_softmax(-1), prob.flat_cpu, prob.lengths, prob.target_lengths,
                          reduction="none")  # fmt: skip

    ours = measure(fused, prob.logits, reps, warmup)
    torch_native = measure(native, prob.logits, reps, warmup)
    eligible = dtype_name == "fp32" and label < CUDNN_MAX_LABEL
    torch_cudnn = measure(cudnn, prob.logits, reps, warmup) if eligible else None
    fastest = min(torch_native.ms, torch_cudnn.ms if torch_cudnn else float("inf"))
    least_mem = min(torch_native.mib, torch_cudnn.mib if torch_cudnn else float("inf"))
    floor_ms = 3 * prob.logits.numel() * prob.logits.element_size() / bandwidth * 1e3
    rel = ((ours.loss - torch_native.loss).abs() / torch_native.loss.abs()).max().item()
    cudnn_ms = f"{torch_cudnn.ms:.3f}" if torch_cudnn else "n/a"
    return (
        f"| {time_} | {batch} | {classes} | {label} | {dtype_name} | {ours.ms:.3f} | "
        f"{torch_native.ms:.3f} | {cudnn_ms} | {fastest / ours.ms:.2f}x | "
        f"{ours.mib:.0f} | {least_mem:.0f} | {ours.mib / least_mem:.2f} | "
        f"{floor_ms / ours.ms:.0%} | {rel:.1e} |"
    )


HEADER = (
    "| T | B | C | L | dtype | seqlab ms | torch ms | cudnn ms | speedup | seqlab MiB | "
    "torch MiB | mem ratio | of BW floor | loss rel diff |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def cpu_comparison() -> str:
    """Small CPU timing of the PyTorch paths (the CPU default of ``ctc_loss_from_logits``)."""
    torch.manual_seed(0)
    time_, batch, classes, label = 200, 8, 29, 40
    logits = torch.randn(time_, batch, classes)
    targets = torch.randint(1, classes, (batch, label))
    lengths = [time_] * batch
    tlens = [label] * batch
    rows = ["| path | ms (fwd+bwd) |", "|---|---|"]
    paths = {
        "log_softmax + F.ctc_loss": lambda x: F.ctc_loss(
            x.log_softmax(-1), targets, lengths, tlens
        ),  # fmt: skip
        "seqlab ctc_loss_from_logits (torch)": lambda x: ctc_loss_from_logits(
            x, targets, lengths, tlens, impl="torch"
        ),  # fmt: skip
    }
    for name, fn in paths.items():
        times = []
        for _ in range(5):
            x = logits.clone().requires_grad_()
            t0 = time.perf_counter()
            fn(x).backward()
            times.append((time.perf_counter() - t0) * 1e3)
        rows.append(f"| {name} | {statistics.median(times):.2f} |")
    return f"CPU comparison (T={time_}, B={batch}, C={classes}, L={label}):\n" + "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="goal configurations only")
    parser.add_argument("--reps", type=positive_int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--dtypes", type=dtype_list, default="fp32,bf16", help="comma list of fp32,bf16"
    )
    parser.add_argument("--out", help="also write the table (markdown) to this file")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        text = "bench/ctc.py: a CUDA GPU is required for the Triton benchmark; none found.\n"
        text += cpu_comparison() + "\n"
        print(text, end="")
        if args.out:  # the CPU check, so a scripted run still gets its file
            with atomic_write(args.out) as f:
                f.write(text)
        return 0
    configs = QUICK if args.quick else list(itertools.product(FULL_T, FULL_B, FULL_C))
    dtypes = args.dtypes
    bandwidth = copy_bandwidth()
    lines = [
        f"Device: {torch.cuda.get_device_name()} (copy bandwidth {bandwidth / 1e12:.2f} TB/s), "
        f"torch {torch.__version__}, {platform.python_version()}",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"Command: python bench/ctc.py {' '.join(sys.argv[1:] if argv is None else argv)}",
        "",
        HEADER,
    ]
    print("\n".join(lines), flush=True)
    for (time_, batch, classes), name in itertools.product(configs, dtypes):
        prob = make_problem(time_, batch, classes, DTYPES[name], seed=time_ + batch + classes)
        try:
            row = run_config(prob, name, args.reps, args.warmup, bandwidth)
        except torch.cuda.OutOfMemoryError:
            row = f"| {time_} | {batch} | {classes} | {time_ // 5} | {name} | OOM |"
        del prob
        torch.cuda.empty_cache()
        print(row, flush=True)
        lines.append(row)
    if args.out:
        with atomic_write(args.out) as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
