"""ISBI 2012 membranes: electron microscopy slices with membrane labels, read from staged PNGs.

The challenge data ("Segmentation of neuronal structures in EM stacks", the U-Net paper's data
set) has no public download with a stable checksum: its site required registration and is gone.
So the loader reads files staged by hand, in the layout of the widely copied PNG export
(``data/membrane/train`` in github.com/zhixuhao/unet)::

    isbi2012-membranes/image/0.png ... N.png   512x512 8-bit grayscale EM slices
    isbi2012-membranes/label/0.png ... N.png   512x512, 0 = membrane, 255 = cell interior
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .remote import DatasetUnavailable, data_dir
from .splits import Split

MEMBRANES_FOLDER = "isbi2012-membranes"
MEMBRANES_CLASSES = ("cell interior", "membrane")  # the mask values 0 and 1
MEMBRANES_TEST_SLICES = 4
# The project's machines keep the staged files beside the repository (../shared/data).
PROJECT_SHARED_MEMBRANES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / MEMBRANES_FOLDER


def membrane_directories(root: str | os.PathLike | None = None) -> list[Path]:
    """Where :func:`membranes` looks, in order: ``root`` alone when given, else
    ``data_dir()/isbi2012-membranes`` (so ``$CNNBOOK_DATA``), then the project's shared copy."""
    if root is not None:
        return [Path(root).expanduser()]
    return [data_dir() / MEMBRANES_FOLDER, PROJECT_SHARED_MEMBRANES]


def membranes(root: str | os.PathLike | None = None, n_test: int = MEMBRANES_TEST_SLICES) -> Split:
    """The labeled ISBI 2012 slices: EM images and their membrane masks.

    Reads ``image/N.png`` and ``label/N.png`` from the first directory of
    :func:`membrane_directories` that has them. The last ``n_test`` slices (by number) are the
    test set: neighboring slices look alike, so a held-out block is a fairer test than random
    slices. With the 20 slices on the project's machines that is 16 for training and 4 for test.

    Returns ``Split(x_train, y_train, x_test, y_test)``: images float32 in ``[0, 1]``,
    ``(N, 1, 512, 512)``; masks int64, ``(N, 512, 512)``, **1 = membrane** (label pixels below
    128, i.e. the files' 0) and 0 = cell interior, so the membrane is the foreground class that
    Dice and IoU are computed for. Raises :class:`~cnnbook.data.DatasetUnavailable` naming the
    layout to stage when no directory has the files; ``load("membranes")`` then falls back to
    :func:`blobs_segmentation`.
    """
    directory = staged_membranes(root)
    numbers = sorted(int(path.stem) for path in (directory / "image").glob("*.png") if path.stem.isdigit())
    missing_labels = [f"label/{n}.png" for n in numbers if not (directory / "label" / f"{n}.png").exists()]
    if missing_labels:
        raise FileNotFoundError(f"{directory} has images without labels: {', '.join(missing_labels)}")
    if not 0 < n_test < len(numbers):
        raise ValueError(f"n_test must leave training slices: {len(numbers)} slices in {directory}, n_test={n_test}")
    images = np.stack([_read_gray(directory / "image" / f"{n}.png") for n in numbers])
    labels = np.stack([_read_gray(directory / "label" / f"{n}.png") for n in numbers])
    images = (images / np.float32(255))[:, None]
    masks = (labels < 128).astype(np.int64)
    split = len(numbers) - n_test
    return Split(images[:split], masks[:split], images[split:], masks[split:])


def _read_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def staged_membranes(root: str | os.PathLike | None = None) -> Path:
    """The first directory of :func:`membrane_directories` that holds staged slices; raises
    :class:`~cnnbook.data.DatasetUnavailable`, naming the layout to stage where, when none does."""
    candidates = membrane_directories(root)
    for directory in candidates:
        if (directory / "label").is_dir() and any((directory / "image").glob("*.png")):
            return directory
    raise DatasetUnavailable(
        f"ISBI 2012 membranes not found in {' or '.join(map(str, candidates))}: stage the labeled slices "
        f"as {data_dir() / MEMBRANES_FOLDER}/image/N.png and label/N.png (512x512 8-bit; label 0 = "
        f"membrane, 255 = cell interior), or pass root=; on the project's machines they are in "
        f"../shared/data/{MEMBRANES_FOLDER}; a public copy of the 30 training slices in this layout "
        f"is data/membrane/train in github.com/zhixuhao/unet",
        detail=f"no staged ISBI 2012 slices in {' or '.join(map(str, candidates))}")
