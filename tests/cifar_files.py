"""CIFAR-10's "python version" archive written the way it is distributed, for the tests of the loader
and of the pages that run on it: ``cifar-10-batches-py/<batch>`` pickled by Python 2 in a ``.tar.gz``."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile

import numpy as np

from cnnbook import data


class Python2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 ``str`` (SHORT_BINSTRING), as the CIFAR-10 batches were written."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_python2_str(self, obj: bytes):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_python2_str


def python2_pickle(batch: dict) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(batch)
    # NumPy 1 (and Python 2) named the array reconstructor's module numpy.core.multiarray.
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def cifar_tarball(batches: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """``cifar-10-python.tar.gz``: ``cifar-10-batches-py/<batch>`` pickles plus ``batches.meta``;
    ``batches`` maps a batch's name to its uint8 images (N, 3, 32, 32) and labels (N,)."""
    members = {name: {b"batch_label": name.encode(), b"labels": [int(label) for label in labels],
                      b"data": images.reshape(len(images), 3072).astype(np.uint8),
                      b"filenames": [b"image_%d.png" % i for i in range(len(images))]}
               for name, (images, labels) in batches.items()}
    members["batches.meta"] = {b"label_names": [name.encode() for name in data.CIFAR10_CLASSES],
                               b"num_cases_per_batch": 10000, b"num_vis": 3072}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            raw = python2_pickle(content)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return buffer.getvalue()
