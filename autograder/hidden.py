"""Remove hidden tests from what students see after grading.

nbgrader's autograde restores the full test cells (hidden tests included) before running
them, so the executed notebook, and feedback made from it, would show the hidden tests'
source and, in a failure's traceback, the very line that failed. Feedback keeps the
visible part of each test cell, says where hidden tests ran, and reduces every error in a
test cell to its last line (the exception and the message the test chose to give).
"""

from __future__ import annotations

import re

import nbformat

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                          re.DOTALL | re.MULTILINE)
HIDDEN_NOTE = "# (hidden tests ran here)\n"
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def strip_hidden_tests(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the notebook with hidden-test source and tracebacks removed from test cells."""
    for cell in notebook.cells:
        if not is_test_cell(cell):
            continue
        cell.source = HIDDEN_BLOCK.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {ANSI_ESCAPE.sub('', output.get('evalue', ''))}"]
    return notebook
