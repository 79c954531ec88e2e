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
    """The notebook to grade, and notes on what had to be put back (for the TA's report).

    Released cells come in the release's order, whatever order the student left them in; each
    cell the student added follows the released cell it followed in the submission.
    """
    released = {gid: cell for cell in release.cells if (gid := _grade_id(cell))}
    order = [gid for cell in release.cells if (gid := _grade_id(cell))]
    notes: list[str] = []
    answers: dict[str, NotebookNode] = {}
    added_after: dict[str | None, list[NotebookNode]] = {}  # released grade id (None: the top) -> cells
    submitted_order: list[str] = []
    anchor: str | None = None
    for cell in submission.cells:
        gid = _grade_id(cell)
        if gid not in released:
            added_after.setdefault(anchor, []).append(cell)  # the student's own cell, or a plain one
            continue
        if gid in submitted_order:
            notes.append(f"duplicate of {gid} dropped")
            continue
        submitted_order.append(gid)
        anchor = gid
        original = released[gid]
        if _is_answer(original):
            if cell.cell_type != original.cell_type or cell.metadata.get("nbgrader") != original.metadata.get("nbgrader"):
                notes.append(f"metadata or type of answer cell {gid} restored")
            answer = _as_type(cell, original.cell_type, original.metadata)
            answer.metadata["nbgrader"] = copy.deepcopy(original.metadata["nbgrader"])
            answers[gid] = answer
        elif cell.source != original.source or cell.cell_type != original.cell_type or \
                cell.metadata.get("nbgrader") != original.metadata.get("nbgrader"):
            notes.append(f"locked cell {gid} restored")
    if submitted_order != [gid for gid in order if gid in submitted_order]:
        notes.append("cells put back in the release's order")
    cells = list(added_after.get(None, []))
    for gid in order:
        if gid not in submitted_order:
            notes.append(f"deleted cell {gid} restored")
        cells.append(answers.get(gid) or copy.deepcopy(released[gid]))
        cells.extend(added_after.get(gid, []))
    rebuilt = copy.deepcopy(release)
    rebuilt.cells = cells
    return rebuilt, notes
