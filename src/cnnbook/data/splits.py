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

    ``name`` is the data set actually loaded (``"shapes10"`` when CIFAR-10 was unavailable),
    ``requested`` the one asked for (``"cifar10"``), ``reason`` why a stand-in replaced it (empty
    when none did) and ``note`` the one line that was printed about it. It still unpacks into
    four arrays.
    """

    name: str
    requested: str
    reason: str
    note: str

    @classmethod
    def of(cls, split: Split, name: str, note: str, requested: str | None = None,
           reason: str = "") -> "LoadedSplit":
        loaded = cls(*split)
        loaded.name, loaded.note, loaded.requested, loaded.reason = name, note, requested or name, reason
        return loaded

    @property
    def is_standin(self) -> bool:
        """True when a stand-in replaced the data set that was asked for."""
        return self.name != self.requested
