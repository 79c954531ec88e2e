"""Random small distortions of images: rotations, scalings, shears, shifts and elastic warps.

Introduced in Assignments 1 and 3, where they let networks trained on 4,000 digits generalize to
digits by other writers. Each image gets its own random smooth map of the plane, and is resampled
through it (bilinear, zeros outside), in one call of ``torch.nn.functional.grid_sample``:

- an affine map drawn uniformly within the given bounds (Simard, Steinkraus and Platt 2003; the
  handwriting of one person varies by about this much from one digit to the next);
- optionally an *elastic* displacement field: random displacements that vary smoothly across the
  image, a cheap form of Simard et al.'s elastic distortions (they smooth random displacements
  with a Gaussian; here they are drawn on a coarse grid and interpolated), which imitate the
  oscillations of the hand's muscles.

Works on a batch of NumPy arrays (it returns NumPy arrays then) or of tensors, ``(N, C, H, W)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def random_distortion(images, rotation: float = 10.0, scale: float = 0.1, shear: float = 0.0,
                      shift: float = 0.0, elastic: float = 0.0, spacing: float = 7.0,
                      generator: torch.Generator | None = None):
    """Distort each image of ``images`` ``(N, C, H, W)`` by its own random smooth map.

    - ``rotation``: the angle is uniform in ``[-rotation, rotation]`` degrees;
    - ``scale``: the size is multiplied by a factor uniform in ``[1 - scale, 1 + scale]``, drawn
      independently along each axis (so the aspect ratio changes too);
    - ``shear``: a horizontal shear uniform in ``[-shear, shear]`` degrees (the slant of handwriting);
    - ``shift``: a translation uniform in ``[-shift, shift]`` pixels along each axis;
    - ``elastic``: the largest displacement, in pixels, of an elastic warp (0: none): each pixel
      moves by its own amount, drawn at knots ``spacing`` pixels apart and interpolated
      smoothly in between, so that neighboring pixels move together.

    The channels of an image move together; pixels that come from outside the image are 0.
    Returns a new array (NumPy in, NumPy out) or tensor of the same shape and dtype; the draws
    come from ``generator`` (a ``torch.Generator``), so a seeded one repeats them.
    """
    as_numpy = isinstance(images, np.ndarray)
    batch = torch.from_numpy(images) if as_numpy else torch.as_tensor(images)
    count, _, height, width = batch.shape
    dtype = batch.dtype if batch.is_floating_point() else torch.float32

    def uniform(bound: float, *shape: int) -> torch.Tensor:
        return (2 * torch.rand(count, *shape, generator=generator, dtype=torch.float64) - 1) * bound

    angle = uniform(math.radians(rotation))
    slant = torch.tan(uniform(math.radians(shear)))
    zoom = 1 + uniform(scale, 2)
    offset = uniform(shift, 2)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # Each output pixel samples the input where the inverse map sends it, in grid_sample's
    # coordinates (-1 to 1 across the image): undo the zoom, the rotation and the shear, in that order.
    rotate = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    slanted = torch.eye(2, dtype=torch.float64).repeat(count, 1, 1)
    slanted[:, 0, 1] = slant
    matrix = (slanted @ rotate / zoom[:, :, None]).to(torch.float32)
    translation = (-offset * torch.tensor([2.0 / width, 2.0 / height], dtype=torch.float64)).to(torch.float32)
    grid = torch.einsum("nij,hwj->nhwi", matrix, _pixel_centers(height, width)) + translation[:, None, None, :]
    if elastic > 0:
        grid = grid + _elastic_field(count, height, width, elastic, spacing, generator)
    warped = F.grid_sample(batch.to(torch.float32), grid.to(batch.device), mode="bilinear",
                           padding_mode="zeros", align_corners=False).to(dtype)
    return warped.numpy() if as_numpy else warped


def _pixel_centers(height: int, width: int) -> torch.Tensor:
    """``(H, W, 2)``: the (x, y) of every pixel's center in grid_sample's coordinates."""
    ys = (torch.arange(height) + 0.5) * (2.0 / height) - 1
    xs = (torch.arange(width) + 0.5) * (2.0 / width) - 1
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)


def _elastic_field(count: int, height: int, width: int, size: float, spacing: float,
                   generator: torch.Generator | None) -> torch.Tensor:
    """Displacements ``(N, H, W, 2)`` in grid coordinates: uniform in ``[-size, size]`` pixels at knots
    ``spacing`` pixels apart, interpolated smoothly (cubic along each axis) in between."""
    rows, cols = (max(2, math.ceil(extent / spacing) + 1) for extent in (height, width))
    at_knots = (2 * torch.rand(count, 2, rows, cols, generator=generator) - 1) * size
    field = torch.einsum("hk,nckl,wl->nhwc", _cubic_weights(rows, height), at_knots, _cubic_weights(cols, width))
    return field * torch.tensor([2.0 / width, 2.0 / height])


def _cubic_weights(knots: int, pixels: int) -> torch.Tensor:
    """``(pixels, knots)``: the weights of cubic interpolation from evenly spaced knots to pixels."""
    identity = torch.eye(knots)[None, None]
    return F.interpolate(identity, size=(pixels, knots), mode="bicubic", align_corners=True)[0, 0]


def with_distorted_copies(images, labels, copies: int, seed: int | None = None, **distortion):
    """A larger training set: ``images`` ``(N, C, H, W)`` followed by ``copies`` distorted copies of
    them (each image distorted anew in each copy, by :func:`random_distortion` with the keyword
    arguments ``distortion``), and ``labels`` repeated to match. NumPy arrays in and out; the
    draws are seeded with ``seed`` (``None``: from torch's global generator).

    Returns ``(images, labels)`` of ``(1 + copies) * N`` examples.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    distorted = [random_distortion(images, generator=generator, **distortion) for _ in range(copies)]
    return np.concatenate([images, *distorted]), np.tile(labels, 1 + copies)
