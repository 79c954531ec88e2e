"""The instructor's answers to an assignment, for a chapter that shows what they compute.

A chapter whose figures need a function an assignment grades (chapter 11 and Assignment 9's box
functions) takes it from here rather than defining it on the page, since every published copy of
a page (the site's download, the student repository, Binder, Colab) shows all its code. The
answers are read from the solution notebook itself, solutions/A/A.ipynb, so they are written once.

    from _instructor.solutions import solution_functions
    pairwise_iou, nms = solution_functions("a9_detection", "pairwise_iou", "nms")
    (BasicBlock,) = solution_functions("a5_resnet", "BasicBlock", graded_only=True)

This folder is on the path of a chapter run by the book's build (pages run in book/); it is left
out of everything `make publish` writes, so a reader's copy of such a page says to bring their own.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from types import SimpleNamespace

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
SKIPPED_TAG = "skip-when-grading"  # the notebook's long demonstrations: not needed to define anything


def _read_notebook(path: Path) -> SimpleNamespace:
    """The notebook's cells (type, metadata, source as one string), read as plain JSON: nbformat
    would do the same after importing jsonschema, seconds of every page's build time."""
    cells = [SimpleNamespace(cell_type=cell["cell_type"], metadata=cell.get("metadata", {}),
                             source="".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
             for cell in json.loads(path.read_text())["cells"]]
    return SimpleNamespace(cells=cells)


def _defining_cells(notebook) -> list[str]:
    """The code cells that define the notebook's functions: every code cell but the graded tests,
    the demonstrations and the cells with IPython magics (the install cell's %pip)."""
    sources = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        is_test = meta.get("grade") and not meta.get("solution")
        magic = any(line.lstrip().startswith(("%", "!")) for line in cell.source.splitlines())
        if cell.cell_type == "code" and not is_test and not magic and SKIPPED_TAG not in cell.metadata.get("tags", []):
            sources.append(cell.source)
    return sources


def _graded_cells(notebook, names) -> list[str]:
    """The notebook's import statements, then the solution cells that define any of ``names`` (at
    top level): enough to define self-contained answers without running the notebook's setup."""
    imports, cells = [], []
    for source in _defining_cells(notebook):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        imports += [ast.get_source_segment(source, node) for node in tree.body
                    if isinstance(node, (ast.Import, ast.ImportFrom))]
    for cell in notebook.cells:
        defined = {node.name for node in ast.parse(cell.source).body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))} if cell.cell_type == "code" and \
            cell.metadata.get("nbgrader", {}).get("solution") else set()
        if defined & set(names):
            cells.append(cell.source)
    return ["\n".join(imports)] + cells


def solution_functions(assignment: str, *names: str, graded_only: bool = False) -> tuple:
    """The objects ``names`` as the solution notebook of ``assignment`` defines them, in that order.

    By default every defining cell of the notebook runs, its setup included. With ``graded_only``,
    only its imports and the solution cells that define ``names`` run: for a notebook whose setup
    loads a data set or a network that the chapter does not need (Assignment 5's may download
    CIFAR-10, and a book build never downloads)."""
    path = SOLUTIONS / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: this page needs the instructor repository's solutions/")
    notebook = _read_notebook(path)
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    for source in _graded_cells(notebook, names) if graded_only else _defining_cells(notebook):
        exec(compile(source, str(path), "exec"), namespace)
    missing = [name for name in names if name not in namespace]
    if missing:
        raise AttributeError(f"{path.relative_to(SOLUTIONS.parent)} defines no {missing}: "
                             "the chapter and the assignment disagree on a name")
    return tuple(namespace[name] for name in names)
