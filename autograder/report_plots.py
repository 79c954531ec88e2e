"""The class report's figures, drawn with matplotlib's Agg canvas into PNG bytes.

Each function takes numbers the report has already counted (:mod:`autograder.report`), so a
figure shows exactly what the page's tables and CSV say. No pyplot: figures are built and
dropped without touching matplotlib's global state, which matters inside a test run.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Color-blind safe (Okabe and Ito), the same group always in the same color.
COLORS = {"all": "#555555", "on time": "#0072B2", "late": "#E69F00"}
MAX_BARS = 40


def score_histogram(edges: list[float], counts: dict[str, list[int]]) -> bytes:
    """Stacked bars: how many students scored in each band, one color per group."""
    figure = Figure(figsize=(7, 3.2), layout="constrained")
    axes = figure.add_subplot()
    widths = [right - left for left, right in zip(edges, edges[1:])]
    bottom = [0] * len(widths)
    for group, group_counts in counts.items():
        axes.bar(edges[:-1], group_counts, width=widths, bottom=bottom, align="edge", label=group,
                 color=COLORS.get(group), edgecolor="white")
        bottom = [b + c for b, c in zip(bottom, group_counts)]
    axes.set_xlabel("score (% of the points, before any late penalty)")
    axes.set_ylabel("students")
    axes.set_xlim(edges[0], edges[-1])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(frameon=False)
    return _png(figure)


def pass_rates(parts: list[str], rates: dict[str, dict[str, float]]) -> bytes:
    """Grouped bars: the share of each group that passed each part."""
    figure = Figure(figsize=(7, 0.9 + 0.45 * len(parts) * max(1, len(rates))), layout="constrained")
    axes = figure.add_subplot()
    height = 0.8 / max(1, len(rates))
    for index, (group, by_part) in enumerate(rates.items()):
        positions = [row + index * height for row in range(len(parts))]
        axes.barh(positions, [100 * by_part[part] for part in parts], height=height, label=group,
                  color=COLORS.get(group))
    axes.set_yticks([row + 0.4 - height / 2 for row in range(len(parts))], parts)
    axes.invert_yaxis()  # parts in notebook order, top to bottom
    axes.set_xlim(0, 100)
    axes.set_xlabel("students who passed (%)")
    axes.legend(frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(rates))
    return _png(figure)


def seconds_per_submission(students: list[str], seconds: list[float]) -> bytes:
    """Horizontal bars, slowest first (at most MAX_BARS of them)."""
    students, seconds = students[:MAX_BARS], seconds[:MAX_BARS]
    figure = Figure(figsize=(7, 0.9 + 0.25 * len(students)), layout="constrained")
    axes = figure.add_subplot()
    axes.barh(range(len(students)), seconds, color=COLORS["all"])
    axes.set_yticks(range(len(students)), students)
    axes.invert_yaxis()
    axes.set_xlabel("seconds in the worker (kernel start to stop)")
    return _png(figure)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
