"""Single-threaded torch workers that share out the CPU feature work (buckets, row groups or
frame chunks).

With ``torch.get_num_threads() == n > 1``, :func:`for_each` runs its items on a process-wide
pool of ``n`` Python threads, each pinned to one torch thread: one OpenMP thread and one MKL
thread of its own. Every worker then runs a whole chunk (numba frame filling, MKL rFFT, power,
filterbank) serially in its own cache, and the workers run side by side with no thread-team
fork and join per step, no team that spins on another's core, and no GIL held in the kernels
(the numba kernels are ``nogil``; torch releases the GIL in its ops).

Why the pinning matters: a new thread that calls torch lazily copies torch's process-wide
thread count into its own OpenMP and MKL settings, so an unpinned pool of ``n`` threads starts
``n`` OpenMP teams of ``n`` threads on ``n`` cores. GNU OpenMP then stops spinning between
parallel regions in every team, and every later torch op in the process ran about 2x slower
(``bench/results/features.md``). Workers are pinned with public torch calls only: each worker
calls ``torch.set_num_threads(1)`` and runs one op (torch's per-thread initialization, which
would otherwise copy the process-wide count later), and the creating thread restores the
process-wide count once every worker is done. A worker whose count does not read 1 afterwards
(a torch build with another threading backend) disables the pool: the items then run in the
calling thread.

The pool is rebuilt when torch's thread count changes and forgotten in a forked child (its
threads do not exist there).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = ["ENABLED", "for_each", "pool_size"]

# share chunks out to pinned workers when torch runs on more than one thread
ENABLED = os.environ.get("SEQLAB_FEATURE_WORKERS", "1") not in ("0", "false", "no")

Item = TypeVar("Item")

_LOCK = threading.Lock()
_POOL: tuple[ThreadPoolExecutor, int] | None = None  # the pool and its number of workers
_BROKEN = False  # pinning did not take on this torch build
_IN_WORKER = threading.local()


def _pin_worker(barrier: threading.Barrier, pinned: list[bool]) -> None:
    torch.set_num_threads(1)
    torch.zeros(1 << 16).add_(1.0)  # torch's lazy per-thread init, while the global count is 1
    pinned.append(torch.get_num_threads() == 1)
    _IN_WORKER.active = True
    barrier.wait()


def _start(size: int) -> ThreadPoolExecutor | None:
    """A pool of ``size`` pinned workers, or ``None`` if pinning failed."""
    global _BROKEN
    barrier = threading.Barrier(size + 1)
    pinned: list[bool] = []
    executor = ThreadPoolExecutor(
        size,
        thread_name_prefix="seqlab-features",
        initializer=_pin_worker,
        initargs=(barrier, pinned),
    )
    try:
        for _ in range(size):  # each submit starts a thread while none is idle
            executor.submit(int)
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        pass  # a worker did not start: counted as not pinned below
    finally:
        torch.set_num_threads(size)  # the process-wide count, as it was
    if len(pinned) != size or not all(pinned):
        _BROKEN = True
        executor.shutdown(wait=False)
        return None
    return executor


def _pool() -> tuple[ThreadPoolExecutor, int] | None:
    """The worker pool for the current torch thread count and its size, or ``None`` when items
    should run in the calling thread (one torch thread, a worker itself, disabled or broken)."""
    global _POOL
    size = torch.get_num_threads()
    if not ENABLED or _BROKEN or size <= 1 or getattr(_IN_WORKER, "active", False):
        return None
    with _LOCK:
        if _POOL is None or _POOL[1] != size:
            if _POOL is not None:
                _POOL[0].shutdown(wait=False)
            executor = _start(size)
            _POOL = (executor, size) if executor is not None else None
        return _POOL


def pool_size() -> int:
    """How many workers :func:`for_each` uses now (1: the calling thread alone)."""
    pool = _pool()
    return pool[1] if pool is not None else 1


def for_each(fn: Callable[[Item], object], items: Sequence[Item]) -> None:
    """Call ``fn(item)`` for every item, on the pinned workers when there are several items and
    torch runs on several threads, else in order in the calling thread.

    Items go to whichever worker is free (in order of ``items``); ``fn`` must write disjoint
    outputs. Each worker runs under the caller's grad and inference modes (both are
    thread-local in torch). The first exception raised by ``fn`` is re-raised here after every
    worker has stopped.
    """
    pool = _pool() if len(items) > 1 else None
    if pool is None:
        for item in items:
            fn(item)
        return
    executor, size = pool
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()
    order = itertools.count()  # next() on a count is atomic under the GIL
    failed = threading.Event()

    def drain() -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            while not failed.is_set():
                index = next(order)
                if index >= len(items):
                    return
                try:
                    fn(items[index])
                except BaseException:
                    failed.set()
                    raise

    futures = [executor.submit(drain) for _ in range(min(size, len(items)))]
    errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error


def _forget_in_child() -> None:
    global _POOL
    _POOL = None


os.register_at_fork(after_in_child=_forget_in_child)
