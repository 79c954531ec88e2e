"""cnnbook.device: device choice, math threads and seeding."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info

from cnnbook.device import math_threads, pick_device, seed_everything


def test_seed_everything_repeats_every_generator():
    first = seed_everything(7)
    draws = (first.normal(), np.random.rand(), torch.rand(3))
    second = seed_everything(7)
    again = (second.normal(), np.random.rand(), torch.rand(3))
    assert draws[0] == again[0] and draws[1] == again[1]
    assert torch.equal(draws[2], again[2])


def test_pick_device_honours_the_environment(monkeypatch):
    monkeypatch.setenv("CNNBOOK_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_missing_gpu_says_what_to_do():
    with pytest.raises(RuntimeError, match="use 'cpu'"):
        pick_device("cuda")


def test_math_threads_sets_the_count_inside_and_restores_it_even_after_an_error():
    before = torch.get_num_threads()
    inside = 2 if before == 1 else 1
    with math_threads(inside):
        assert torch.get_num_threads() == inside
    assert torch.get_num_threads() == before
    with math_threads(1):  # NumPy's BLAS too
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    with pytest.raises(KeyError):
        with math_threads(inside):
            raise KeyError("a failing cell")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="at least one thread, got 0"):
        with math_threads(0):
            pass
    assert torch.get_num_threads() == before
