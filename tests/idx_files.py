"""MNIST's IDX files written the way LeCun distributes them, for the tests of the readers and benches.

An IDX file is a big-endian magic number ``0x0000 08 D`` (type 8 = unsigned bytes, ``D``
dimensions), ``D`` big-endian 4-byte sizes, then the bytes of the array.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np


def idx_bytes(array: np.ndarray, gzipped: bool = True) -> bytes:
    """The IDX file of a uint8 array, gzipped as distributed or plain as many tools unpack it."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.asarray(array).astype(np.uint8).tobytes()
    return gzip.compress(raw) if gzipped else raw


def write_mnist_test_files(directory: Path, images: np.ndarray, labels: np.ndarray, gzipped: bool) -> Path:
    """MNIST's two test files holding ``images`` (N, 28, 28) uint8 and ``labels`` (N,), in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gzipped else ""
    (directory / f"t10k-images-idx3-ubyte{suffix}").write_bytes(idx_bytes(images, gzipped))
    (directory / f"t10k-labels-idx1-ubyte{suffix}").write_bytes(idx_bytes(labels, gzipped))
    return directory
