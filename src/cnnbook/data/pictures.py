"""Real photographs from ``skimage.data`` (shipped with scikit-image, so available offline)."""

from __future__ import annotations

from typing import Iterable

import numpy as np

# Our name -> (skimage.data function, what the photo shows). Only images that scikit-image ships
# inside its wheel: the others would need pooch and the network.
SKIMAGE_PHOTOS = {
    "cat": ("chelsea", "Chelsea the cat, color"),
    "coffee": ("coffee", "a cup of espresso on a saucer, color"),
    "astronaut": ("astronaut", "astronaut Eileen Collins, color"),
    "rocket": ("rocket", "a SpaceX Falcon 9 lifting off with DSCOVR, color"),
    "motorcycle": ("stereo_motorcycle", "a motorcycle (left view of a stereo pair), color"),
    "camera": ("camera", "the cameraman: a man behind a camera on a tripod, grayscale"),
    "coins": ("coins", "Greek coins from Pompeii on a gray background, grayscale"),
    "moon": ("moon", "the surface of the moon, grayscale"),
    "clock": ("clock", "a wall clock, blurred by camera motion, grayscale"),
    "page": ("page", "a scanned page of printed text, unevenly lit, grayscale"),
    "brick": ("brick", "a brick wall texture, grayscale"),
    "grass": ("grass", "a grass texture, grayscale"),
    "gravel": ("gravel", "a gravel texture, grayscale"),
    "hubble": ("hubble_deep_field", "the Hubble deep field, color"),
    "immunohistochemistry": ("immunohistochemistry", "stained colonic glands (microscopy), color"),
    "retina": ("retina", "a photograph of a human retina, color"),
}
PHOTO_NAMES = tuple(SKIMAGE_PHOTOS)


def photo(name: str, gray: bool = False) -> np.ndarray:
    """One photo as float32 in ``[0, 1]``: ``(H, W, 3)`` RGB, or ``(H, W)`` when ``gray``.

    Grayscale originals (camera, coins, moon, ...) come with their one channel copied into R, G
    and B, so every photo has the same layout and can go straight into an RGB network; with
    ``gray=True`` color photos are converted to luminance (ITU-R 709 weights, as
    ``skimage.color.rgb2gray``) and grayscale ones are returned as they are. Names are in
    :data:`PHOTO_NAMES`; sizes differ from photo to photo (the cat is 300x451).
    """
    import skimage.data
    from skimage.color import rgb2gray

    if name not in SKIMAGE_PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {', '.join(PHOTO_NAMES)}")
    image = getattr(skimage.data, SKIMAGE_PHOTOS[name][0])()
    if isinstance(image, tuple):  # the stereo pair returns (left, right, disparity)
        image = image[0]
    image = (image / np.float32(255)).astype(np.float32)
    if image.ndim == 3 and gray:
        return rgb2gray(image).astype(np.float32)
    if image.ndim == 2 and not gray:
        return np.repeat(image[:, :, None], 3, axis=2)
    return image


def photos(names: Iterable[str] | None = None, gray: bool = False) -> dict[str, np.ndarray]:
    """Several photos by name (all of :data:`PHOTO_NAMES` by default), as :func:`photo` returns them."""
    return {name: photo(name, gray) for name in (PHOTO_NAMES if names is None else names)}
