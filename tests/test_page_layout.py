"""Pages keep the code that teaches in view and fold the code that only draws.

A reader of a chapter should meet the computation and its printed results, then the figure; the
20-odd lines of matplotlib that lay a figure out belong in a cell of their own, folded behind
"show code" (the ``hide-input`` tag). This reads the chapters' sources, so it needs no build.
"""

from __future__ import annotations

import re

import pytest
from book_pages import ROOT, executable_pages
from myst_nb.core.read import read_myst_markdown_notebook

# A line that only lays out or hands over a figure.
FIGURE_LINE = re.compile(
    r"\bplt\.|^\s*(fig|axes|ax\w*|cax|twin\w*)\b[\w\[\], :\-]*[.=]"
    r"|\b(show_image|plot_curves|image_grid|glue_figure|decision_boundary|training_curves)\("
)
# What a visible cell may keep: one call to a figure helper and its hand-over, say, or a short
# figure whose few lines are themselves the lesson.
MOST_FIGURE_LINES_IN_VIEW = 4
FOLDED = {"hide-input", "hide-cell", "remove-input", "remove-cell"}


def figure_lines(source: str) -> list[str]:
    return [line for line in source.splitlines() if FIGURE_LINE.search(line)]


@pytest.mark.parametrize("page", [page for page in executable_pages() if "/ch" in page])
def test_figure_code_is_folded(page):
    notebook = read_myst_markdown_notebook((ROOT / f"{page}.md").read_text())
    crowded = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or FOLDED & set(cell.metadata.get("tags", [])):
            continue
        lines = figure_lines(cell.source)
        if len(lines) > MOST_FIGURE_LINES_IN_VIEW:
            crowded.append(f"  cell starting {cell.source.splitlines()[0]!r}: {len(lines)} figure lines")
    assert not crowded, (
        f"{page} shows more than {MOST_FIGURE_LINES_IN_VIEW} lines of figure code in a visible cell; "
        "move the drawing into its own cell tagged hide-input (or into cnnbook.plot):\n" + "\n".join(crowded))
