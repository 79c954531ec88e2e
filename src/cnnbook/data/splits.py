"""The train/test container every loader returns."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Split(NamedTuple):
    """A train/test split; unpacks as ``x_train, y_train, x_test, y_test``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


class LoadedSplit(Split):
    """A :class:`Split` that also says which data set it holds (what :func:`cnnbook.data.load` returns).

    ``name`` is the data set actually loaded (``"shapes10"`` when CIFAR-10 was unavailable) and
    ``note`` the one line that was printed about it. It still unpacks into four arrays.
    """

    name: str
    note: str

    @classmethod
    def of(cls, split: Split, name: str, note: str) -> "LoadedSplit":
        loaded = cls(*split)
        loaded.name, loaded.note = name, note
        return loaded
