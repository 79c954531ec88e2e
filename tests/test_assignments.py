"""The grading contract of every real assignment, through the real autograde path.

- the committed student version equals a fresh release of the solution (no drift);
- the solution scores full marks and the blank student version scores 0 everywhere;
- each one-bug submission listed in tests/mutations/A.json loses exactly the points of the
  test cells it names and keeps all the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from autograder import course, grading
from autograder.validate import validate

MUTATIONS = Path(__file__).parent / "mutations"
ASSIGNMENTS = course.all_assignments()


def mutations():
    for assignment in ASSIGNMENTS:
        path = MUTATIONS / f"{assignment}.json"
        for mutation in json.loads(path.read_text()) if path.exists() else []:
            yield pytest.param(assignment, mutation, id=f"{assignment}-{mutation['name']}")


def test_every_assignment_has_mutations():
    missing = [a for a in ASSIGNMENTS if len(json.loads((MUTATIONS / f"{a}.json").read_text())) < 3]
    assert not missing, f"each assignment needs at least three one-bug submissions in tests/mutations/: {missing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date(assignment):
    differences = grading.release_differences(assignment)
    assert not differences, f"run `make release` and commit assignments/: {differences}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_blank_zero(assignment, tmp_path):
    validation = validate(assignment, workdir=tmp_path, progress=False)
    assert not validation.problems, "\n".join(validation.problems)


def apply_mutation(assignment: str, mutation: dict, destination: Path) -> Path:
    notebook = nbformat.read(course.source_notebooks(assignment)[0], as_version=4)
    [cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutation["cell"]]
    assert cell.source.count(mutation["old"]) == 1, f"{mutation['name']}: 'old' must occur once in {mutation['cell']}"
    cell.source = cell.source.replace(mutation["old"], mutation["new"])
    nbformat.write(notebook, destination)
    return destination


@pytest.mark.parametrize("assignment, mutation", list(mutations()))
def test_one_bug_loses_exactly_its_part(assignment, mutation, tmp_path):
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    apply_mutation(assignment, mutation, submissions / "buggy.ipynb")
    [result] = grading.grade(assignment, grading.collect_submissions(submissions), tmp_path / "work", progress=False)
    assert result.error is None, result.error
    lost = sorted(name for name, (score, maximum) in result.cells.items() if score < maximum)
    assert lost == sorted(mutation["loses"]), f"{mutation['name']}: lost {lost}, expected {mutation['loses']}"
    assert all(result.cells[name][0] == 0 for name in mutation["loses"])
