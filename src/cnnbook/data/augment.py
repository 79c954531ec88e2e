"""Minimal augmentation and batching in torch (torchvision is not available on the course machines).

Every augmentation takes a batch ``(N, C, H, W)`` and returns a new one of the same shape,
dtype and device, with an independent random draw per image; pass a ``torch.Generator`` to make
the draws repeatable. They compose as plain functions::

    augment = lambda x: random_flip(random_crop(x, padding=4))
    for x, y in Batches(x_train, y_train, batch_size=128, shuffle=True, transform=augment):
        ...
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def random_crop(images: torch.Tensor, padding: int = 4, fill: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad each side by ``padding`` pixels of value ``fill``, then crop ``H x W`` at a random place.

    The CIFAR augmentation of the ResNet paper (``padding=4``): each image moves by up to
    ``padding`` pixels in each direction, the uncovered border showing ``fill``.
    """
    images = torch.as_tensor(images)
    count, channels, height, width = images.shape
    padded = F.pad(images, (padding, padding, padding, padding), value=fill)
    top = torch.randint(0, 2 * padding + 1, (count,), generator=generator).to(images.device)
    left = torch.randint(0, 2 * padding + 1, (count,), generator=generator).to(images.device)
    rows = top[:, None] + torch.arange(height, device=images.device)  # (N, H)
    cols = left[:, None] + torch.arange(width, device=images.device)  # (N, W)
    index = torch.arange(count, device=images.device)[:, None, None, None]
    channel = torch.arange(channels, device=images.device)[None, :, None, None]
    return padded[index, channel, rows[:, None, :, None], cols[:, None, None, :]]


def random_shift(images: torch.Tensor, max_shift: int = 2,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels along each axis, filling with zeros.

    The small-shift augmentation for digits (black background); the same operation as
    :func:`random_crop` with ``padding=max_shift``.
    """
    return random_crop(images, padding=max_shift, fill=0.0, generator=generator)


def random_flip(images: torch.Tensor, p: float = 0.5,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (not for digits or text: a flipped
    "2" is not a "2")."""
    images = torch.as_tensor(images)
    flip = (torch.rand(images.shape[0], generator=generator) < p).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


class Batches:
    """Mini-batches ``(x, y)`` of torch tensors from arrays, reshuffled at every pass.

    ``x`` and ``y`` are numpy arrays or tensors with the same first dimension ``N``; each
    batch holds ``batch_size`` of them (the last one fewer, unless ``drop_last``), moved to
    ``device`` and then passed through ``transform(x)`` (an augmentation, applied to the inputs
    only, on the device). ``len()`` is the number of batches, so ``tqdm(Batches(...))`` shows
    progress. With ``shuffle`` the order is a new permutation drawn from ``generator`` at each
    iteration, i.e. each epoch.
    """

    def __init__(self, x, y, batch_size: int = 128, shuffle: bool = False, transform=None,
                 device: torch.device | str | None = None, drop_last: bool = False,
                 generator: torch.Generator | None = None):
        self.x = torch.from_numpy(x) if isinstance(x, np.ndarray) else torch.as_tensor(x)
        self.y = torch.from_numpy(y) if isinstance(y, np.ndarray) else torch.as_tensor(y)
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} examples but y has {len(self.y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size, self.shuffle, self.transform = batch_size, shuffle, transform
        self.device, self.drop_last, self.generator = device, drop_last, generator

    def __len__(self) -> int:
        whole = len(self.x) / self.batch_size
        return math.floor(whole) if self.drop_last else math.ceil(whole)

    def __iter__(self):
        order = torch.randperm(len(self.x), generator=self.generator) if self.shuffle else None
        for batch in range(len(self)):
            start = batch * self.batch_size
            if order is None:
                x, y = self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                chosen = order[start:start + self.batch_size]
                x, y = self.x[chosen], self.y[chosen]
            if self.device is not None:
                x, y = x.to(self.device), y.to(self.device)
            yield (self.transform(x) if self.transform is not None else x), y
