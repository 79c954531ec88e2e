"""cnnbook.data.random_distortion: what each of its bounds does, types in and out, repeatability."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnbook.data.distort import random_distortion, with_distorted_copies


def centered_square(count: int = 1, size: int = 28, half: int = 4) -> np.ndarray:
    images = np.zeros((count, 1, size, size), dtype=np.float32)
    middle = size // 2
    images[:, :, middle - half:middle + half, middle - half:middle + half] = 1.0
    return images


def center_of_mass(images: np.ndarray) -> np.ndarray:
    """(N, 2): the (row, column) of each image's center of mass."""
    rows, cols = np.indices(images.shape[-2:])
    mass = images.sum(axis=(-2, -1))[:, 0]
    return np.stack([(images * rows).sum(axis=(-2, -1))[:, 0] / mass,
                     (images * cols).sum(axis=(-2, -1))[:, 0] / mass], axis=1)


def test_no_distortion_gives_the_images_back():
    images = np.random.default_rng(0).random((5, 2, 28, 20)).astype(np.float32)
    same = random_distortion(images, rotation=0, scale=0, shear=0, shift=0, elastic=0)
    assert np.allclose(same, images, atol=1e-5)


def test_numpy_in_numpy_out_and_tensor_in_tensor_out():
    images = centered_square(3)
    out = random_distortion(images, generator=torch.Generator().manual_seed(0))
    assert isinstance(out, np.ndarray) and out.shape == images.shape and out.dtype == np.float32
    out = random_distortion(torch.from_numpy(images), elastic=2, generator=torch.Generator().manual_seed(0))
    assert isinstance(out, torch.Tensor) and out.shape == images.shape and out.dtype == torch.float32


def test_a_seeded_generator_repeats_the_draws_and_each_image_gets_its_own():
    images = np.repeat(centered_square(), 8, axis=0)
    first = random_distortion(images, shift=2, elastic=1.5, generator=torch.Generator().manual_seed(3))
    again = random_distortion(images, shift=2, elastic=1.5, generator=torch.Generator().manual_seed(3))
    other = random_distortion(images, shift=2, elastic=1.5, generator=torch.Generator().manual_seed(4))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert len({image.tobytes() for image in first}) == len(images)


def test_shifts_move_the_center_of_mass_by_at_most_shift_pixels_in_every_direction():
    images = np.repeat(centered_square(), 400, axis=0)
    moved = random_distortion(images, rotation=0, scale=0, shift=3, generator=torch.Generator().manual_seed(0))
    displacement = center_of_mass(moved) - center_of_mass(images)
    assert np.abs(displacement).max() <= 3 + 1e-4
    assert (displacement.min(axis=0) < -2.5).all() and (displacement.max(axis=0) > 2.5).all()


@pytest.mark.parametrize("degrees", [10, 30])
def test_rotations_stay_within_their_bound(degrees):
    # A thin horizontal bar through the center: its angle after the distortion, from its second moments.
    bar = np.zeros((200, 1, 41, 41), dtype=np.float32)
    bar[:, :, 20, 5:36] = 1.0
    turned = random_distortion(bar, rotation=degrees, scale=0, generator=torch.Generator().manual_seed(1))
    rows, cols = np.indices(bar.shape[-2:])
    mass = turned.sum(axis=(-2, -1))[:, 0]
    mean_r, mean_c = ((turned * rows).sum(axis=(-2, -1))[:, 0] / mass, (turned * cols).sum(axis=(-2, -1))[:, 0] / mass)
    dr, dc = rows - mean_r[:, None, None], cols - mean_c[:, None, None]
    weight = turned[:, 0]
    angles = 0.5 * np.degrees(np.arctan2(2 * (weight * dr * dc).sum(axis=(1, 2)),
                                         (weight * (dc ** 2 - dr ** 2)).sum(axis=(1, 2))))
    assert np.abs(angles).max() <= degrees + 1.0
    assert np.abs(angles).max() >= 0.8 * degrees


def test_scaling_changes_the_size_within_its_bound():
    images = np.repeat(centered_square(half=6), 300, axis=0)
    resized = random_distortion(images, rotation=0, scale=0.2, generator=torch.Generator().manual_seed(2))
    area_ratio = resized.sum(axis=(1, 2, 3)) / images[0].sum()
    assert area_ratio.min() >= 0.8 ** 2 - 0.02 and area_ratio.max() <= 1.2 ** 2 + 0.02
    assert area_ratio.min() < 0.75 and area_ratio.max() > 1.25


def test_elastic_warps_move_pixels_by_at_most_elastic_pixels_and_keep_the_ink_near():
    images = np.repeat(centered_square(), 50, axis=0)
    warped = random_distortion(images, rotation=0, scale=0, elastic=2.0, generator=torch.Generator().manual_seed(5))
    assert not np.allclose(warped, images)
    assert np.abs(center_of_mass(warped) - center_of_mass(images)).max() <= 2.0
    # No ink appears farther than 2 pixels (plus one of interpolation) from the square.
    far = np.ones((28, 28), dtype=bool)
    far[14 - 4 - 3:14 + 4 + 3, 14 - 4 - 3:14 + 4 + 3] = False
    assert warped[:, 0][:, far].max() == 0.0


def test_with_distorted_copies_appends_copies_with_their_labels():
    images = np.random.default_rng(0).random((6, 1, 28, 28)).astype(np.float32)
    labels = np.arange(6)
    more, more_labels = with_distorted_copies(images, labels, copies=3, seed=0)
    assert more.shape == (24, 1, 28, 28) and more.dtype == np.float32
    assert np.array_equal(more[:6], images) and np.array_equal(more_labels, np.tile(labels, 4))
    assert not np.allclose(more[6:12], more[12:18]), "each copy is a new draw"
    same, _ = with_distorted_copies(images, labels, copies=3, seed=0)
    assert np.array_equal(more, same)
