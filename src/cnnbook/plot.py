"""Figures that several pages and notebooks draw: image grids, curves, decision boundaries."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np


def image_grid(images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10,
               cmap: str = "gray", size: float = 1.2, normalize: bool = False):
    """Show images in a grid and return the figure.

    ``images`` is ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, 3, H, W)`` or ``(N, H, W, 3)``;
    ``normalize`` rescales each image to ``[0, 1]`` (useful for weights and feature maps,
    whose values are not intensities).
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[1] in (1, 3):
        images = np.moveaxis(images, 1, -1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    count = len(images)
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles else 1)),
                             squeeze=False)
    for position, ax in enumerate(axes.flat):
        ax.axis("off")
        if position >= count:
            continue
        image = images[position]
        if normalize:
            low, high = image.min(), image.max()
            image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        ax.imshow(np.clip(image, 0, 1) if image.ndim == 3 else image, cmap=cmap,
                  vmin=None if normalize or image.ndim == 3 else 0, vmax=None if normalize or image.ndim == 3 else 1)
        if titles is not None:
            ax.set_title(str(titles[position]), fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(history: Mapping[str, Sequence[float]], xlabel: str = "epoch"):
    """Plot a training history: every key holding "loss" on the left axis, the rest
    (accuracies) on the right one. Returns the figure."""
    loss_keys = [key for key in history if "loss" in key]
    other_keys = [key for key in history if key not in loss_keys]
    fig, axes = plt.subplots(1, 2 if other_keys else 1, figsize=(10 if other_keys else 5, 3.5), squeeze=False)
    for ax, keys, ylabel in ((axes[0, 0], loss_keys, "loss"),
                             (axes[0, -1], other_keys, "accuracy")):
        if not keys:
            continue
        for key in keys:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=key)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray,
                      ax=None, resolution: int = 300, margin: float = 0.5, title: str | None = None):
    """Colour the plane by ``predict`` (which maps ``(M, 2)`` points to integer labels) and
    scatter the labelled points ``x`` ``(N, 2)``, ``y`` ``(N,)`` on top. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    x = np.asarray(x)
    (x0_min, x1_min), (x0_max, x1_max) = x.min(0) - margin, x.max(0) + margin
    grid0, grid1 = np.meshgrid(np.linspace(x0_min, x0_max, resolution), np.linspace(x1_min, x1_max, resolution))
    labels = np.asarray(predict(np.column_stack([grid0.ravel(), grid1.ravel()]))).reshape(grid0.shape)
    classes = int(max(labels.max(), np.max(y))) + 1
    cmap = plt.get_cmap("tab10")
    ax.contourf(grid0, grid1, labels, levels=np.arange(classes + 1) - 0.5,
                colors=[cmap(k) for k in range(classes)], alpha=0.25)
    ax.scatter(x[:, 0], x[:, 1], c=[cmap(int(k)) for k in y], s=12, edgecolors="k", linewidths=0.3)
    ax.set_xlim(x0_min, x0_max)
    ax.set_ylim(x1_min, x1_max)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax
