"""Figures that several pages and notebooks draw: images, heat maps, boxes, annotated matrices,
image grids, curves, decision boundaries, and the step that hands a figure to a book page."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def _as_array(values) -> np.ndarray:
    """A tensor (on any device) or array-like as a float64 NumPy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def image_grid(images: np.ndarray, titles: Sequence[str] | None = None, ncols: int = 10,
               cmap: str = "gray", size: float = 1.2, normalize: bool = False):
    """Show images in a grid and return the figure.

    ``images`` is ``(N, H, W)``, ``(N, 1, H, W)``, ``(N, 3, H, W)`` or ``(N, H, W, 3)``;
    ``normalize`` rescales each image to ``[0, 1]`` (useful for weights and feature maps,
    whose values are not intensities).
    """
    images = _as_array(images)
    count = len(images)
    ncols = max(1, min(ncols, count))
    nrows = int(np.ceil(count / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * (1.25 if titles else 1)),
                             squeeze=False)
    for position, ax in enumerate(axes.flat):
        if position >= count:
            ax.axis("off")
            continue
        image = images[position]
        if normalize:
            low, high = image.min(), image.max()
            image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        show_image(ax, image, None if titles is None else str(titles[position]), cmap=cmap,
                   vmin=None if normalize else 0, vmax=None if normalize else 1, title_size=8)
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
    """Color the plane by ``predict`` (which maps ``(M, 2)`` points to integer labels) and
    scatter the labeled points ``x`` ``(N, 2)``, ``y`` ``(N,)`` on top. Returns the axes."""
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


def show_image(ax, image, title: str | None = None, *, cmap: str = "gray", signed: bool = False,
               vmin: float | None = None, vmax: float | None = None, title_size: float | None = None,
               frame: bool = False, **imshow_options):
    """Draw one image on ``ax`` without ticks and return what ``imshow`` returns.

    ``image`` is a NumPy array or a tensor, ``(H, W)``, ``(H, W, 3)``, ``(1, H, W)``, ``(3, H, W)``
    or with a leading batch axis of one; color images are clipped to ``[0, 1]``. ``signed=True``
    is for weights, gradients and differences: a blue-white-red map centered on zero, with
    symmetric limits (``vmax`` if given, else the largest magnitude), so white means zero.
    ``frame=True`` keeps a thin border, which helps where an image's edge is white.
    """
    image = _as_array(image)
    while image.ndim > 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = np.moveaxis(image, 0, -1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        image = np.clip(image, 0, 1)
    if signed:
        limit = float(vmax) if vmax is not None else float(np.abs(image).max()) or 1.0
        cmap, vmin, vmax = "RdBu_r", -limit, limit
    drawn = ax.imshow(image, cmap=None if image.ndim == 3 else cmap, vmin=vmin, vmax=vmax, **imshow_options)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_frame_on(frame)
    if title is not None:  # fontsize=None would mean 10 pt, not the axes' own title size
        ax.set_title(title, **({} if title_size is None else {"fontsize": title_size}))
    return drawn


def plot_curves(ax, series: Mapping[str, object], x=None, *, xlabel: str | None = None,
                ylabel: str | None = None, title: str | None = None, logx: bool = False,
                logy: bool = False, styles: Mapping[str, str] | None = None, legend: bool = True,
                legend_size: float | None = None, **line_options):
    """Plot named curves on one set of axes, with a light grid and a legend; return ``ax``.

    ``series`` maps a label to its values (drawn against ``x``, or against 1, 2, 3, ... when
    ``x`` is None) or to an ``(x, y)`` pair of its own. ``styles`` optionally maps a label to a
    matplotlib format string such as ``"--"`` or ``"o-"``; ``line_options`` (``markersize``,
    ``linewidth``, ``alpha``, ...) apply to every curve.
    """
    for label, values in series.items():
        if isinstance(values, tuple) and len(values) == 2 and np.ndim(values[0]) == 1:
            xs, ys = values
        else:
            ys = np.asarray(values)
            xs = np.arange(1, len(ys) + 1) if x is None else x
        ax.plot(np.asarray(xs), np.asarray(ys), (styles or {}).get(label, "-"), label=label, **line_options)
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    if legend and series:
        ax.legend(fontsize=legend_size)
    return ax


def annotated_matrix(ax, values, fmt: str = "{:.0f}", *, cmap: str = "Blues", vmin: float | None = None,
                     vmax: float | None = None, fontsize: float = 8, skip_zeros: bool = False):
    """Draw a small matrix as colored cells with its value written in each; return the image.

    Each number is black on a light cell and white on a dark one, so it stays readable whatever
    the color map. For kernels, im2col matrices, pixel patches and confusion matrices.
    """
    values = _as_array(values)
    drawn = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax)
    for (row, col), value in np.ndenumerate(values):
        if skip_zeros and value == 0:
            continue
        red, green, blue, _ = drawn.cmap(drawn.norm(value))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5  # perceived brightness of the cell
        ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=fontsize,
                color="white" if dark else "black")
    ax.set_xticks([])
    ax.set_yticks([])
    return drawn


def draw_boxes(ax, boxes, color: str = "yellow", labels: Sequence[str] | None = None,
               linewidth: float = 1.5, alpha: float = 1.0, linestyle: str = "-"):
    """Outline ``(x1, y1, x2, y2)`` boxes in pixel coordinates, each with an optional label.

    A label sits just inside its box's top-left corner, so a box at the image's top edge does not
    push it over the title.
    """
    for k, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=color,
                               linewidth=linewidth, alpha=alpha, linestyle=linestyle))
        if labels is not None:
            ax.text(x1 + 2, y1 + 2, str(labels[k]), color="black", fontsize=7, va="top",
                    bbox=dict(facecolor=color, alpha=0.85, pad=1, linewidth=0))


def heat_overlay(ax, image, heat, title: str | None = None, *, alpha: float = 0.45, cmap: str = "jet",
                 title_size: float | None = None):
    """Show ``image`` with a heat map (saliency, occlusion drop, Grad-CAM) laid over it.

    ``heat`` is ``(h, w)`` (or with leading axes of one), at the image's size or smaller (it is
    stretched over the image), and is scaled so that its largest value is the top of the color map.
    """
    height, width = show_image(ax, image, title, title_size=title_size).get_array().shape[:2]
    heat = _as_array(heat)
    heat = heat.reshape(heat.shape[-2:])
    return ax.imshow(heat / max(float(heat.max()), 1e-12), cmap=cmap, alpha=alpha, vmin=0, vmax=1,
                     extent=(-0.5, width - 0.5, height - 0.5, -0.5))


def glue_figure(name: str, fig, tight: bool = True) -> None:
    """Hand ``fig`` to the page's ``{glue:figure}`` directive called ``name`` and close it.

    Book pages draw a figure in one cell and place it, with a numbered caption, where the text
    refers to it; closing it keeps Jupyter from also showing it under the cell that drew it.
    ``tight=False`` keeps a layout the figure set itself (``constrained_layout``, insets).
    """
    from myst_nb import glue  # the book's build tool; the library works without it

    if tight:
        fig.tight_layout()
    glue(name, fig, display=False)
    plt.close(fig)
