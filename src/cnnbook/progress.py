"""Progress bars around loops that the notebook's own code does not see (used in Assignment 8).

A long cell shows a tqdm bar. When the loop is inside a function the cell calls (a student's
``accuracy_vs_epsilon`` attacks once per budget), the cell cannot wrap that loop in ``tqdm``; it
can hand the function a callable that advances a bar each time it is called::

    from tqdm.auto import tqdm
    from cnnbook.progress import advancing

    with tqdm(total=len(epsilons), desc="attacks", unit="budget") as bar:
        accuracies = accuracy_vs_epsilon(model, advancing(fgsm, bar), x, y, epsilons)
"""

from __future__ import annotations

import functools
from typing import Callable, TypeVar

from tqdm.auto import tqdm

Result = TypeVar("Result")


def advancing(function: Callable[..., Result], bar: tqdm, amount: float = 1) -> Callable[..., Result]:
    """``function``, which also advances ``bar`` by ``amount`` each time a call returns.

    Arguments, return value and exceptions pass through unchanged (a call that raises does not
    advance the bar), so the wrapped function can stand in for the original anywhere.
    """

    @functools.wraps(function)
    def advance_after(*args, **kwargs):
        result = function(*args, **kwargs)
        bar.update(amount)
        return result

    return advance_after
