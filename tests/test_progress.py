"""cnnbook.progress: a bar advanced by the calls that a function the notebook calls makes."""

from __future__ import annotations

import io

import pytest
from tqdm import tqdm

from cnnbook.progress import advancing


def attack(model, x, y, epsilon, steps=1):
    """A stand-in with the signature of the notebooks' attacks."""
    if epsilon < 0:
        raise ValueError("epsilon must be >= 0")
    return (model, x, y, epsilon, steps)


def test_advancing_passes_calls_through_and_counts_them():
    output = io.StringIO()
    with tqdm(total=6, file=output) as bar:
        counted = advancing(attack, bar)
        assert counted("m", 1, 2, 0.5, steps=4) == ("m", 1, 2, 0.5, 4)
        assert counted("m", 1, 2, 0.0) == ("m", 1, 2, 0.0, 1)
        assert bar.n == 2
        by_three = advancing(attack, bar, amount=3)
        by_three("m", 1, 2, 0.1)
        assert bar.n == 5
    assert counted.__name__ == "attack" and counted.__doc__ == attack.__doc__
    assert "5/6" in output.getvalue()


def test_advancing_does_not_count_a_call_that_raises():
    with tqdm(total=2, file=io.StringIO()) as bar:
        counted = advancing(attack, bar)
        with pytest.raises(ValueError, match="epsilon must be >= 0"):
            counted("m", 1, 2, -1.0)
        assert bar.n == 0
