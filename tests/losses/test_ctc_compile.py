"""The Triton kernels lower to real GPU code (sm_90 cubin through ptxas) without a GPU.

The interpreter tests check the arithmetic; this checks that every kernel also compiles for an
H100 (``tl.gather``, ``tl.associative_scan``, dynamic loops), and that the generated PTX keeps
the recursion state in registers (no ``ld.local``). Runs in a subprocess because the test session imports the kernels in
interpreter mode.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from seqlab.losses import ctc_triton as m

def build(fn, sig, consts, warps=4):
    src = ASTSource(fn=fn, signature=sig, constexprs=consts)
    kernel = triton.compile(src, target=GPUTarget("cuda", 90, 32), options={"num_warps": warps})
    assert "ld.local" not in kernel.asm["ptx"], fn.__name__
    print(fn.__name__, dict(consts), "shared", kernel.metadata.shared)

i32, f32 = "i32", "*fp32"
for x in ("*fp32", "*bf16"):
    rows = dict(x_ptr=x, lse_ptr=f32, in_len_ptr="*i32", n_rows=i32, B=i32, C=i32, T=i32,
                stride_t=i32, stride_b=i32, BLOCK_R="constexpr", BLOCK_C="constexpr")
    build(m._row_lse_kernel, rows, {"BLOCK_R": 4, "BLOCK_C": 1024})
    head = dict(x_ptr=x, lse_ptr=f32, tgt_ptr="*i64", off_ptr="*i32", in_len_ptr="*i32",
                tgt_len_ptr="*i32", ckpt_ptr=f32, logz_ptr=f32)
    tail = dict(stride_t=i32, stride_b=i32, blank=i32, NORMALIZED="constexpr", K="constexpr",
                BLOCK_S="constexpr")
    alpha = head | dict(B=i32, T=i32, L_CAP=i32) | tail
    beta = head | dict(scratch_ptr=f32, gamma_ptr=f32, B=i32, T=i32, L_CAP=i32, G=i32) | tail
    # The recursions once per dtype, at the largest state block too for fp32 (register check).
    for block_s in (64, 1024) if x == "*fp32" else (64,):
        consts = {"NORMALIZED": False, "K": 32, "BLOCK_S": block_s}
        build(m._alpha_kernel, alpha, consts, m._recursion_warps(block_s))
        build(m._beta_kernel, beta, consts, m._recursion_warps(block_s))
    grad = dict(x_ptr=x, lse_ptr=f32, scale_ptr=f32, in_len_ptr="*i32", grad_ptr=x, n_rows=i32,
                B=i32, C=i32, T=i32, stride_t=i32, stride_b=i32, gstride_t=i32, gstride_b=i32,
                BLOCK_R="constexpr", BLOCK_C="constexpr")
    build(m._softmax_grad_kernel, grad, {"BLOCK_R": 4, "BLOCK_C": 1024})
    scatter = dict(x_ptr=x, lse_ptr=f32, scale_ptr=f32, in_len_ptr="*i32", gamma_ptr=f32,
                   cls_ptr="*i32", perm_ptr="*i32", start_ptr="*i32", end_ptr="*i32",
                   grad_ptr=x, n_rows=i32, B=i32, C=i32, T=i32, G=i32, stride_t=i32,
                   stride_b=i32, gstride_t=i32, gstride_b=i32, BLOCK_R="constexpr",
                   BLOCK_G="constexpr")
    build(m._gamma_scatter_kernel, scatter, {"BLOCK_R": 16, "BLOCK_G": 256})
print("ALL OK")
"""


def test_kernels_compile_for_sm90():
    pytest.importorskip("triton")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env.setdefault("OMP_NUM_THREADS", "1")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    assert "ALL OK" in done.stdout
