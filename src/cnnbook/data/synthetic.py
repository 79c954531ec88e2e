"""Generated data sets: offline stand-ins with the array shapes of the real ones.

Both generators draw their images in chunks of :data:`CHUNK` from generators seeded with
``(seed, split, chunk index)``, so a set is the same on every machine, and asking for fewer
images gives a prefix of the larger set (``shapes10(n_train=1000)`` is the first 1,000 images of
``shapes10()``). Shapes are drawn as signed distance functions: each class is a function
``sdf(u, v)`` of coordinates in the shape's own frame (rotated, scaled), negative inside, about
1 unit across the shape; the pixel coverage ``clip(0.5 - sdf * radius, 0, 1)`` antialiases edges.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .splits import Split

CHUNK = 1000  # shapes10 images per generator; blobs_segmentation uses as many pixels per chunk
TRAIN, TEST = 0, 1  # the split's entry in the seed, so train and test never share a generator
SdfFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _box(u: np.ndarray, v: np.ndarray, half_u: float, half_v: float) -> np.ndarray:
    return np.maximum(np.abs(u) - half_u, np.abs(v) - half_v)


def _disk(u, v):
    return np.hypot(u, v) - 1.0


def _ring(u, v):
    return np.abs(np.hypot(u, v) - 0.72) - 0.28


def _square(u, v):
    return _box(u, v, 0.8, 0.8)


def _frame(u, v):
    return np.abs(_box(u, v, 0.8, 0.8) + 0.17) - 0.17


def _triangle(u, v):
    # Equilateral, circumradius 1: the largest signed distance to its three edge lines.
    normals = np.deg2rad([90.0, 210.0, 330.0])
    return np.max([u * np.cos(a) + v * np.sin(a) for a in normals], axis=0) - 0.5


def _cross(u, v):
    return np.minimum(_box(u, v, 1.0, 0.3), _box(u, v, 0.3, 1.0))


def _star(u, v):
    # Five points: the radius of the outline goes from 1 at a tip to 0.4 between tips.
    turns = np.arctan2(v, u) * (5 / (2 * np.pi))
    tipness = 2 * np.abs(turns - np.floor(turns) - 0.5)
    return 0.6 * (np.hypot(u, v) - (0.4 + 0.6 * tipness))


def _bar(u, v):
    return _box(u, v, 1.0, 0.28)


def _crescent(u, v):
    return np.maximum(np.hypot(u, v) - 1.0, 0.8 - np.hypot(u - 0.5, v))


def _pair(u, v):
    return np.minimum(np.hypot(u - 0.55, v), np.hypot(u + 0.55, v)) - 0.42


def _rod(u, v):
    return 0.35 * (np.hypot(u, v / 0.35) - 1.0)


SHAPES10_SDFS: dict[str, SdfFunction] = {
    "disk": _disk, "ring": _ring, "square": _square, "frame": _frame, "triangle": _triangle,
    "cross": _cross, "star": _star, "bar": _bar, "crescent": _crescent, "pair": _pair,
}
SHAPES10_CLASSES = tuple(SHAPES10_SDFS)
SHAPES10_SIZE = 32
BLOBS_SDFS: dict[str, SdfFunction] = {"disk": _disk, "rod": _rod, "ring": _ring}
BLOBS_CLASSES = ("background", *BLOBS_SDFS)


def shapes10(n_train: int = 50_000, n_test: int = 10_000, seed: int = 0) -> Split:
    """A generated 10-class, 32x32 RGB stand-in for CIFAR-10 (same array shapes and dtypes).

    Each image holds one shape of class :data:`SHAPES10_CLASSES` (disk, ring, square, frame,
    triangle, cross, star, bar, crescent, pair of dots) with a random color, size (radius 6 to
    12 pixels), position, rotation and slight stretch, on a textured background (smooth color
    blotches and stripes of random period and orientation), plus pixel noise. The class is in
    the outline only, at any position: trained on 8,000 images, logistic regression on the
    pixels stays near chance (11% on 2,000 test images) while a 3-layer CNN of 24k parameters
    reaches 86% in 15 epochs (``test_shapes10_small_cnn_beats_linear_by_far``).

    Returns ``Split(x_train, y_train, x_test, y_test)``: images float32 in ``[0, 1]``,
    ``(N, 3, 32, 32)``; labels int64 in ``0..9``, ``(N,)``, balanced (100 per class in every
    1,000 images). Deterministic from ``seed``; the full 60,000 take a few seconds.
    """
    return Split(*_generate(_render_shapes, n_train, seed, TRAIN, CHUNK),
                 *_generate(_render_shapes, n_test, seed, TEST, CHUNK))


def blobs_segmentation(n_train: int = 400, n_test: int = 100, size: int = 64, n_classes: int = 3,
                       seed: int = 0) -> Split:
    """A generated segmentation set: grayscale images of blobs with per-pixel class masks.

    Each image has a smooth, uneven background and up to 8 objects, possibly overlapping (the
    later one on top), of the classes ``BLOBS_CLASSES[1:n_classes + 1]`` (disk, rod, ring).
    All classes share one brightness range: a threshold finds the objects (under uneven
    illumination and noise), but only their shape tells the classes apart. With ``n_classes=1``
    the masks are binary (disks vs background), which is how it stands in for the membranes.

    Returns ``Split(x_train, y_train, x_test, y_test)``: images float32 in ``[0, 1]``,
    ``(N, 1, size, size)``; masks int64 in ``0..n_classes`` (0 = background, names in
    :data:`BLOBS_CLASSES`), ``(N, size, size)``. Deterministic from ``seed``.
    """
    if not 1 <= n_classes <= len(BLOBS_SDFS):
        raise ValueError(f"n_classes must be between 1 and {len(BLOBS_SDFS)}, not {n_classes}")

    def render(rng, count):
        return _render_blobs(rng, count, size, n_classes)

    chunk = max(1, CHUNK * SHAPES10_SIZE ** 2 // size ** 2)  # bounds the memory of large images
    return Split(*_generate(render, n_train, seed, TRAIN, chunk),
                 *_generate(render, n_test, seed, TEST, chunk))


def _generate(render, count: int, seed: int, split: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` images and labels of ``render(rng, chunk)`` calls, one per chunk."""
    if count < 0:
        raise ValueError(f"the number of images must be >= 0, not {count}")
    images = labels = None
    for start in range(0, max(count, 1), chunk):
        chunk_images, chunk_labels = render(np.random.default_rng([seed, split, start // chunk]), chunk)
        if images is None:  # allocated once: concatenating chunks would copy 600 MB for shapes10
            images = np.empty((count, *chunk_images.shape[1:]), dtype=chunk_images.dtype)
            labels = np.empty((count, *chunk_labels.shape[1:]), dtype=chunk_labels.dtype)
        stop = min(count, start + chunk)
        images[start:stop] = chunk_images[:stop - start]
        labels[start:stop] = chunk_labels[:stop - start]
    return images, labels


def _shape_frame(rng: np.random.Generator, count: int, size: int, radius: np.ndarray,
                 aspect: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates ``(u, v)``, ``(count, size, size)``, of every pixel in a random shape frame.

    The frame has a random rotation and a center at least ``0.7 * radius`` from the border;
    one unit of ``u`` is ``radius * aspect`` pixels, one unit of ``v`` is ``radius / aspect``.
    """
    margin = np.minimum(0.7 * radius, size / 2)
    center_x = rng.uniform(margin, size - margin).astype(np.float32)
    center_y = rng.uniform(margin, size - margin).astype(np.float32)
    angle = rng.uniform(0.0, 2 * np.pi, count)
    cos, sin = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    pixel = np.arange(size, dtype=np.float32) + 0.5
    dx = pixel[None, None, :] - center_x[:, None, None]
    dy = pixel[None, :, None] - center_y[:, None, None]
    u = (cos[:, None, None] * dx + sin[:, None, None] * dy) / (radius * aspect)[:, None, None]
    v = (cos[:, None, None] * dy - sin[:, None, None] * dx) / (radius / aspect)[:, None, None]
    return u.astype(np.float32), v.astype(np.float32)


def _coverage(classes: np.ndarray, u: np.ndarray, v: np.ndarray, sdfs: list[SdfFunction],
              radius: np.ndarray) -> np.ndarray:
    """Fraction of each pixel inside each image's shape, ``(count, size, size)`` in ``[0, 1]``."""
    distance = np.empty_like(u)
    for index, sdf in enumerate(sdfs):
        members = classes == index
        if members.any():
            distance[members] = sdf(u[members], v[members])
    return np.clip(0.5 - distance * radius.astype(np.float32)[:, None, None], 0.0, 1.0)


def _smooth_noise(rng: np.random.Generator, leading: tuple[int, ...], size: int, cells: int) -> np.ndarray:
    """Smooth random fields, float32 ``leading + (size, size)``, values about in ``[-2, 2]``: unit
    normal values on a ``cells x cells`` grid, bilinearly interpolated (blotches ``size / cells`` wide)."""
    position = (np.arange(size) + 0.5) / size * (cells - 1)
    low = np.minimum(position.astype(int), cells - 2)
    weight = position - low
    interpolate = np.zeros((size, cells), dtype=np.float32)
    interpolate[np.arange(size), low] = 1 - weight
    interpolate[np.arange(size), low + 1] = weight
    grid = rng.standard_normal((int(np.prod(leading)), cells, cells), dtype=np.float32)
    # interpolate @ grid @ interpolate.T, as two large 2-D products (batched small ones are slow)
    columns = (grid.reshape(-1, cells) @ interpolate.T).reshape(-1, cells, size)
    rows = (columns.swapaxes(1, 2).reshape(-1, cells) @ interpolate.T).reshape(-1, size, size)
    return rows.swapaxes(1, 2).reshape(*leading, size, size)


def _reflect_into_unit_interval(x: np.ndarray) -> np.ndarray:
    """Fold values into ``[0, 1]`` by reflection at 0 and 1 (keeps distances, unlike clipping)."""
    x = np.abs(x) % 2.0
    return np.where(x > 1.0, 2.0 - x, x)


def _uniform(rng: np.random.Generator, low: float, high: float, shape) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(np.float32)


def _render_shapes(rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
    size, n_classes = SHAPES10_SIZE, len(SHAPES10_CLASSES)
    labels = rng.permutation(np.arange(count) % n_classes).astype(np.int64)
    radius = rng.uniform(6.0, 12.0, count)
    u, v = _shape_frame(rng, count, size, radius, rng.uniform(0.85, 1.15, count))
    alpha = _coverage(labels, u, v, list(SHAPES10_SDFS.values()), radius)[:, None]

    pixel = np.arange(size, dtype=np.float32)
    stripe_angle = _uniform(rng, 0.0, np.pi, (count, 1, 1, 1))
    stripe_frequency = 2 * np.pi / _uniform(rng, 3.0, 10.0, (count, 1, 1, 1))
    stripes = np.sin(stripe_frequency * (np.cos(stripe_angle) * pixel[None, None, None, :]
                                         + np.sin(stripe_angle) * pixel[None, None, :, None])
                     + _uniform(rng, 0.0, 2 * np.pi, (count, 1, 1, 1)))
    blotches = _uniform(rng, 0.03, 0.15, (count, 1, 1, 1)) * _smooth_noise(rng, (count, 3), size, 5)
    base = _uniform(rng, 0.15, 0.85, (count, 3))
    background = base[:, :, None, None] + blotches + _uniform(rng, -0.12, 0.12, (count, 3, 1, 1)) * stripes

    # The shape's color differs from the background's mean by 0.35 to 0.7 in a random direction,
    # so it is always visible but neither its color nor its brightness gives the class away.
    direction = rng.standard_normal((count, 3)).astype(np.float32)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    color = _reflect_into_unit_interval(base + direction * _uniform(rng, 0.35, 0.7, (count, 1)))
    shading = 1.0 + 0.1 * _smooth_noise(rng, (count, 1), size, 4)
    images = background + alpha * (color[:, :, None, None] * shading - background)
    # Uniform rather than Gaussian pixel noise: as good here, and three times faster to draw.
    noise = rng.random(images.shape, dtype=np.float32) - 0.5
    images += _uniform(rng, 0.0, 0.15, (count, 1, 1, 1)) * noise
    return np.clip(images, 0.0, 1.0, out=images), labels


MAX_BLOBS = 8


def _render_blobs(rng: np.random.Generator, count: int, size: int, n_classes: int):
    images = _uniform(rng, 0.1, 0.3, (count, 1, 1)) + 0.05 * _smooth_noise(rng, (count,), size, 6)
    masks = np.zeros((count, size, size), dtype=np.int64)
    sdfs = list(BLOBS_SDFS.values())[:n_classes]
    n_objects = rng.integers(3, MAX_BLOBS + 1, count)
    for slot in range(MAX_BLOBS):
        classes = rng.integers(0, n_classes, count)
        radius = rng.uniform(0.07, 0.14, count) * size
        u, v = _shape_frame(rng, count, size, radius, np.ones(count))
        alpha = _coverage(classes, u, v, sdfs, radius) * (slot < n_objects)[:, None, None]
        brightness = _uniform(rng, 0.45, 0.85, (count, 1, 1))
        texture = 1.0 + 0.15 * _smooth_noise(rng, (count,), size, max(4, size // 6))
        images += alpha * (brightness * texture - images)
        masks = np.where(alpha >= 0.5, classes[:, None, None] + 1, masks)
    illumination = 1.0 + 0.25 * _smooth_noise(rng, (count,), size, 3)
    images = images * illumination + 0.04 * rng.standard_normal(images.shape, dtype=np.float32)
    return np.clip(images, 0.0, 1.0, out=images)[:, None], masks
