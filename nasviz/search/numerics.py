"""One compute thread while a strategy runs, so a seeded run is the same float for float everywhere.

torch's CPU kernels (and the BLAS behind numpy / scikit-learn) split a matrix product
across their threads, and the split changes the order of the additions: the ENAS
controller's LSTM gives parameters that differ by ~1e-6 after 200 Adam steps at 2
threads vs 1. A REINFORCE run that asks ~100,000 times (a converged controller
proposes mostly cells it has already queried) turns that into a different sampled
cell after a few hundred trials, so a run resumed by a worker (1 thread) diverged from
the same seeded run computed in a process with the default thread count.

:func:`one_thread` pins every thread pool to one thread for the duration of a
strategy's construction and of its ask/tell loop, and restores the caller's settings
afterwards; workers, benchmarks, tests and the app then compute the same numbers.
(For the tiny models of the strategies one thread is also the fastest setting.)
"""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator


@contextlib.contextmanager
def one_thread(torch: bool = False) -> Iterator[None]:
    """Run the block with one BLAS/OpenMP thread and one torch intra-op thread.

    torch is pinned when it is already imported, or when ``torch=True`` (it is then
    imported first: a strategy that imports it inside its constructor must be built
    under the pin too).
    """
    th = None
    if torch or "torch" in sys.modules:
        import torch as th
    saved = th.get_num_threads() if th is not None else None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1)
    with limits:
        if th is not None and saved != 1:
            th.set_num_threads(1)
        try:
            yield
        finally:
            if th is not None and saved != 1:
                th.set_num_threads(saved)


def check_device(name: str | None = "cpu") -> str:
    """``"cpu"`` or ``"cuda"``, or a :class:`NasvizError` saying why this process cannot compute there."""
    from nasviz.errors import NasvizError

    dev = str(name or "cpu").strip().lower()
    if dev == "cpu":
        return dev
    if dev != "cuda":
        raise NasvizError(f"unknown device {name!r}; accepted: cpu, cuda")
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is pinned in requirements.txt
        raise NasvizError("device cuda needs torch; use device cpu") from None
    if not torch.cuda.is_available():
        raise NasvizError("device cuda: no CUDA device is visible to torch on this machine "
                          f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); use --device cpu")
    return dev


def torch_device(name: str | None = "cpu"):
    """The ``torch.device`` a strategy computes on (see :func:`check_device` for the errors).

    On CUDA, torch is switched to its deterministic algorithms (cuBLAS with a fixed
    workspace, deterministic embedding/index backward), which replay needs to rebuild a
    strategy's state exactly. Strategies are built on their device only in a worker
    process, one run per process, so the global switch stays inside that run.
    """
    import os

    import torch

    dev = check_device(name)
    if dev == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.device(dev)
