"""Where tensors live, how many CPU threads compute them, and how to make a run repeatable."""

from __future__ import annotations

import os
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from threadpoolctl import threadpool_limits


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` (``"cpu"``, ``"cuda"``, ``"mps"``) overrides the choice, as does the
    environment variable ``CNNBOOK_DEVICE``; asking for one that is absent raises.
    """
    choice = prefer or os.environ.get("CNNBOOK_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("CUDA was requested but no CUDA GPU is visible; use 'cpu'.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("MPS was requested but is not available here; use 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and all GPUs); return a fresh NumPy generator.

    Prefer passing the returned generator around over the global NumPy state: code that
    takes a generator is repeatable no matter what ran before it.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)


@contextmanager
def math_threads(count: int) -> Iterator[None]:
    """Run the ``with`` block with ``count`` CPU threads per torch operation, then restore the number.

    The notebooks run their demonstrations on small images with one thread: such work is made of
    many small operations, and when another program keeps a core busy, the threads of each
    operation wait for the one that is not running. On a 2-core machine with one core busy, a
    demonstration that took 10 s took 20 times as long with two threads; with one it runs at the
    same speed whatever else runs, at most twice as slow as two threads on an idle machine.
    NumPy's BLAS (the matrix products of the NumPy assignments) is held to ``count`` threads too,
    through ``threadpoolctl``: Assignment 1's training took 200 s with two BLAS threads beside a
    busy core, against 50 s with one.
    """
    if count < 1:
        raise ValueError(f"math_threads needs at least one thread, got {count}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(previous)
