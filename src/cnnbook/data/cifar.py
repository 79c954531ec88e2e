"""CIFAR-10 (Krizhevsky 2009), the "python version" archive, downloaded once or staged."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from .remote import fetch_files
from .splits import Split

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
CIFAR10_MIRRORS = ("https://www.cs.toronto.edu/~kriz/",)
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
# 170,498,071 bytes, md5 c58f30108f718f92721af3b95e74349a (the sum on the CIFAR page). The SHA-256
# is the one Keras's cifar10.load_data checks; other projects record the same value next to that md5.
CIFAR10_SHA256 = {CIFAR10_ARCHIVE: "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"}
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
CIFAR10_SIZE = "170 MB"  # what a download costs, for the messages that offer one


def cifar10_archive(download: bool | None = None) -> Path:
    """The path of ``cifar-10-python.tar.gz`` in ``data_dir()/cifar10``, checked by SHA-256.

    Cached or staged there, it is used as it is; missing, it is downloaded only when asked
    (``download=True``, or ``CNNBOOK_DOWNLOAD=1`` when ``download`` is left out). Raises
    :class:`~cnnbook.data.DatasetUnavailable`, saying how to ask and where to stage it, otherwise.
    """
    return fetch_files("CIFAR-10", CIFAR10_MIRRORS, CIFAR10_SHA256, "cifar10", download,
                       ask='data.load("cifar10", download=True)', size=CIFAR10_SIZE)[CIFAR10_ARCHIVE]


def cifar10(download: bool | None = None) -> Split:
    """CIFAR-10: 50,000 training and 10,000 test color images of 10 classes, 32x32.

    The archive is read from ``data_dir()/cifar10``, where it was downloaded or staged, without
    unpacking it; it is downloaded there (170 MB, checked by SHA-256) only when asked:
    ``download=True``, or ``CNNBOOK_DOWNLOAD=1`` when ``download`` is left out (see
    :func:`cifar10_archive`). Returns ``Split(x_train, y_train, x_test, y_test)``: images
    float32 in ``[0, 1]``, ``(N, 3, 32, 32)`` RGB; labels int64 in ``0..9`` (names in
    :data:`CIFAR10_CLASSES`), ``(N,)``. Raises :class:`~cnnbook.data.DatasetUnavailable` when the
    archive is not there and not downloaded; ``load("cifar10")`` then uses :func:`shapes10`.
    """
    archive = cifar10_archive(download)
    with tarfile.open(archive, "r:gz") as tar:
        train = [_read_batch(tar, archive, name) for name in CIFAR10_TRAIN_BATCHES]
        test = _read_batch(tar, archive, CIFAR10_TEST_BATCH)
    x_train = np.concatenate([images for images, _ in train])
    y_train = np.concatenate([labels for _, labels in train])
    return Split(x_train, y_train, *test)


def _read_batch(tar: tarfile.TarFile, archive: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch: ``data`` is ``(N, 3072)`` uint8, each row the R, G, then B 32x32 planes."""
    member = f"{CIFAR10_FOLDER}/{name}"
    try:
        file = tar.extractfile(member)
    except KeyError:
        file = None
    if file is None:
        raise ValueError(f"{archive} has no {member}: it is not the CIFAR-10 python archive")
    # The batches were pickled by Python 2: latin1 is the decoding NumPy documents for its arrays.
    # Pickle can run code, which is why the archive's SHA-256 is checked before we get here.
    batch = pickle.load(file, encoding="latin1")
    batch = {key.decode() if isinstance(key, bytes) else key: value for key, value in batch.items()}
    images = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    return images / np.float32(255), labels
