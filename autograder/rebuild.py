"""Put a submission back into the shape of the release before it is graded.

Students may edit, delete, duplicate or retype any cell, and change any metadata, points
included. Only their answers count: every cell the release locks (instructions, tests) is put
back exactly as released, duplicates of graded cells are dropped, deleted ones are restored at
their place, and answer cells keep the student's source under the release's metadata. Cells the
student added stay where they are (helpers they wrote may live there).
"""

from __future__ import annotations

import copy

import nbformat
from nbformat.notebooknode import NotebookNode


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def _as_type(cell: NotebookNode, cell_type: str, metadata: dict) -> NotebookNode:
    if cell_type == "code":
        return nbformat.v4.new_code_cell(cell.source, metadata=copy.deepcopy(metadata))
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(cell.source, metadata=copy.deepcopy(metadata))
    return nbformat.v4.new_raw_cell(cell.source, metadata=copy.deepcopy(metadata))


def rebuild(submission: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """The notebook to grade, and notes on what had to be put back (for the TA's report)."""
    released = {gid: cell for cell in release.cells if (gid := _grade_id(cell))}
    order = [gid for cell in release.cells if (gid := _grade_id(cell))]
    notes: list[str] = []
    cells: list[NotebookNode] = []
    seen: set[str] = set()
    for cell in submission.cells:
        gid = _grade_id(cell)
        if gid not in released:
            cells.append(cell)  # the student's own cell, or a plain one
            continue
        if gid in seen:
            notes.append(f"duplicate of {gid} dropped")
            continue
        seen.add(gid)
        original = released[gid]
        if _is_answer(original):
            if cell.cell_type != original.cell_type or cell.metadata.get("nbgrader") != original.metadata.get("nbgrader"):
                notes.append(f"metadata or type of answer cell {gid} restored")
            answer = _as_type(cell, original.cell_type, original.metadata)
            answer.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
            cells.append(answer)
        else:
            if cell.source != original.source or cell.cell_type != original.cell_type or \
                    cell.metadata.get("nbgrader") != original.metadata.get("nbgrader"):
                notes.append(f"locked cell {gid} restored")
            cells.append(copy.deepcopy(original))
    for position, gid in enumerate(order):
        if gid in seen:
            continue
        notes.append(f"deleted cell {gid} restored")
        previous = next((order[i] for i in range(position - 1, -1, -1) if order[i] in seen), None)
        at = 0 if previous is None else next(i for i, c in enumerate(cells) if _grade_id(c) == previous) + 1
        cells.insert(at, copy.deepcopy(released[gid]))
        seen.add(gid)
    rebuilt = copy.deepcopy(release)
    rebuilt.cells = cells
    return rebuilt, notes
