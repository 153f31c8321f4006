"""ASR pipeline benchmark: batching waste, Conformer layers vs torchaudio, AMP step time.

Every row is measured in the same run (best of ``--repeats``, seqlab and reference
alternating); ratios are seqlab over the
reference named in the row.

    .venv/bin/python bench/asr.py [--repeats 5] [--threads N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import torch
from arguments import device_name, positive_int


def _best_pair(
    fa: Callable[[], object], fb: Callable[[], object], repeats: int, sync: Callable[[], None]
) -> tuple[float, float]:
    """Best times of ``fa`` and ``fb``, run alternately so load changes hit both alike."""
    best = [float("inf"), float("inf")]
    for i in range(repeats + 1):  # the first round warms up
        for j, fn in enumerate((fa, fb)):
            start = time.perf_counter()
            fn()
            sync()
            if i:
                best[j] = min(best[j], time.perf_counter() - start)
    return best[0], best[1]


def padding_rows() -> list[tuple[str, str, str, str]]:
    """Padded share of the frames: length bucketing vs random batches under the same cap."""
    from seqlab.data import make_batches

    rng = random.Random(0)
    lengths = [int(rng.uniform(2, 16) * 100) for _ in range(5000)]  # 2-16 s at 100 frames/s
    cap = 20000

    def waste(batches):
        padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
        return 1 - sum(lengths) / padded, len(batches)

    bucket, n_bucket = waste(make_batches(lengths, cap))
    order = list(range(len(lengths)))
    rng.shuffle(order)
    shuffled = [lengths[i] for i in order]
    rand, n_rand = waste(make_batches_in_order(shuffled, cap))
    return [
        ("padding share of frames (5000 utts, 2-16 s, cap 20000)", f"{bucket:.3f}", f"{rand:.3f} (random batches)", f"{bucket / rand:.3f}"),
        ("batches per epoch", str(n_bucket), f"{n_rand} (random batches)", f"{n_bucket / n_rand:.3f}"),
    ]  # fmt: skip


def make_batches_in_order(lengths: list[int], cap: int) -> list[list[int]]:
    """Reference: greedy batches in the given (random) order under the same frame cap."""
    batches, current, longest = [], [], 0
    for i, n in enumerate(lengths):
        if current and (len(current) + 1) * max(longest, n) > cap:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, n)
    return batches + [current] if current else batches


def conformer_rows(device: torch.device, repeats: int, sync) -> list[tuple[str, str, str, str]]:
    """Forward+backward of the Conformer layers: seqlab (padding-safe conv) vs torchaudio."""
    import torchaudio

    from seqlab.models import ConformerEncoder

    torch.manual_seed(0)
    dim, layers, b, t = 144, 4, 8, 200
    ours = ConformerEncoder(80, dim, layers, 4, 576, 31, dropout=0.0).to(device)
    ref = torchaudio.models.Conformer(dim, 4, 576, layers, 31).to(device)
    ref.load_state_dict({k.replace(".layer.", ".").replace("layers.", "conformer_layers."): v
                         for k, v in ours.state_dict().items() if k.startswith("layers.")})  # fmt: skip
    x = torch.randn(b, t, dim, device=device, requires_grad=True)
    lengths = torch.randint(t // 2, t + 1, (b,), device=device)
    lengths[0] = t
    pad = torch.arange(t, device=device)[None] >= lengths[:, None]

    def run_ours():
        h = x
        for layer in ours.layers:
            h = layer(h, pad)
        h.sum().backward()

    def run_ref():
        h, _ = ref(x, lengths)
        h.sum().backward()

    t_ours, t_ref = _best_pair(run_ours, run_ref, repeats, sync)
    name = f"Conformer layers fwd+bwd (B={b}, T'={t}, d={dim}, {layers} layers), ms"
    return [
        (name, f"{t_ours * 1e3:.1f}", f"{t_ref * 1e3:.1f} (torchaudio)", f"{t_ours / t_ref:.3f}")
    ]


def amp_rows(device: torch.device, repeats: int, sync) -> list[tuple[str, str, str, str]]:
    """One CTC training step of a small Conformer: bf16 autocast vs fp32."""
    from seqlab.models import ModelConfig, build_model
    from seqlab.models.conformer import ConformerEncoderConfig

    torch.manual_seed(0)
    cfg = ModelConfig(type="ctc", encoder="conformer",
                      conformer=ConformerEncoderConfig(dim=144, num_layers=4, ffn_dim=576, dropout=0.0))  # fmt: skip
    model = build_model(cfg, 32, 80).to(device)
    feats = torch.randn(8, 1200, 80, device=device)
    lengths = torch.randint(600, 1201, (8,), device=device)
    targets = torch.randint(1, 32, (8, 60), device=device)
    target_lengths = torch.randint(20, 61, (8,), device=device)

    def step(dtype):
        def run():
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = model.compute_loss(feats, lengths, targets, target_lengths)["loss"]
            loss.backward()

        return run

    t16, t32 = _best_pair(step(torch.bfloat16), step(None), repeats, sync)
    name = "CTC Conformer train step (B=8, T=1200 frames, d=144, 4 layers), ms"
    return [(name, f"{t16 * 1e3:.1f} (bf16)", f"{t32 * 1e3:.1f} (fp32)", f"{t16 / t32:.3f}")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", type=device_name, default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rows = (
        padding_rows()
        + conformer_rows(device, args.repeats, sync)
        + amp_rows(device, args.repeats, sync)
    )
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("| measure | seqlab | reference | ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
