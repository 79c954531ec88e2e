"""Edit a notebook's cells as plain files, for instructors who prefer an editor to Jupyter.

    python tools/cells.py export solutions/a1_backprop/a1_backprop.ipynb /tmp/a1
        writes /tmp/a1/NN_GRADEID.py (code cells) and .md (markdown cells), one per cell
    python tools/cells.py import solutions/a1_backprop/a1_backprop.ipynb /tmp/a1
        puts the files' text back as the cells' sources (cells and metadata otherwise unchanged)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def _name(index: int, cell) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "cell")
    return f"{index:02d}_{grade_id}.{'py' if cell.cell_type == 'code' else 'md'}"


def export(notebook_path: Path, folder: Path) -> None:
    notebook = nbformat.read(notebook_path, as_version=4)
    folder.mkdir(parents=True, exist_ok=True)
    for index, cell in enumerate(notebook.cells):
        (folder / _name(index, cell)).write_text(cell.source + "\n")


def import_(notebook_path: Path, folder: Path) -> None:
    notebook = nbformat.read(notebook_path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        cell.source = (folder / _name(index, cell)).read_text().rstrip("\n")
    nbformat.write(notebook, notebook_path)


if __name__ == "__main__":
    command, notebook_path, folder = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"export": export, "import": import_}[command](notebook_path, folder)
