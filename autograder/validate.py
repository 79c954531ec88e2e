"""Check that an assignment can be graded: the solution gets full marks, the blank release 0."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import course
from .grading import Result, grade


@dataclass
class Validation:
    assignment: str
    solution: Result
    blank: Result

    @property
    def problems(self) -> list[str]:
        found = []
        for result in (self.solution, self.blank):
            if result.error:
                found.append(f"{result.student}: grading failed: {result.error}")
        if not self.solution.cells:
            found.append("the solution has no graded cells")
        # Only autograded cells count: written answers wait for a TA (Result.manual_cells).
        found += [f"solution loses points in {name}: {score:g}/{maximum:g}"
                  for name, (score, maximum) in self.solution.cells.items() if score != maximum]
        found += [f"blank release scores {score:g}/{maximum:g} in {name} (should be 0)"
                  for name, (score, maximum) in self.blank.cells.items() if score != 0]
        return found


def validate(assignment: str, workdir: Path | None = None, progress: bool = True,
             seed: int | None = None, **options) -> Validation:
    """Grade the instructor notebook and the released blank notebook through the real
    grading path, in ``workdir`` (a temporary folder when omitted); ``options`` go to grade."""
    notebook_name = course.source_notebooks(assignment)[0].name
    submissions = {"solution": course.source_notebooks(assignment)[0], "blank": course.ASSIGNMENTS / assignment / notebook_name}
    if not submissions["blank"].exists():
        raise SystemExit(f"{submissions['blank']} is missing: run `python -m autograder release {assignment}` first")
    if workdir is not None:
        results = grade(assignment, submissions, Path(workdir), progress=progress, seed=seed, **options)
    else:
        with tempfile.TemporaryDirectory(prefix=f"cnnbook-validate-{assignment}-") as scratch:
            results = grade(assignment, submissions, Path(scratch), progress=progress, seed=seed, **options)
    by_student = {result.student: result for result in results}
    return Validation(assignment, by_student["solution"], by_student["blank"])
