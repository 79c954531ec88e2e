"""Similarity check: which pairs of students wrote answers too alike to be independent.

Only what a student wrote is compared. In each answer cell (nbgrader ``solution``, as released)
the lines of the released cell (signature, docstring, ``# YOUR CODE HERE``, the given lines
around the placeholder) are removed, wherever they stand; in any other code cell the student
added or edited, the lines of every released code cell are. Locked and test cells are skipped:
grading puts them back as released. Two blank notebooks thus have nothing to compare.

The comparison is copydetect's (https://github.com/blingenf/copydetect), which implements the
winnowing of MOSS: its tokenizer replaces every name by one placeholder, every string by
another, and drops comments and whitespace, so renaming variables and rewriting comments
change nothing; fingerprints are hashes of every k characters of that token stream, compared
as sets, so reordering functions or cells only loses the few fingerprints that straddle a
boundary. A fingerprint that more than ``common`` of the class share is an idiom (the
canonical one-liner most students write, or code handed out), not evidence: it is left out,
of the matches and of what the shares are shares of.
(:mod:`autograder.similarity_fingerprints` scores the pairs; :mod:`autograder.similarity_page`
writes the page and the CSV.)

A pair's score is the larger of the two shares of each student's answers found in the other's,
so a student who copied a part of someone's notebook scores as high as one who copied all of it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course
from .similarity_fingerprints import pair_shares, regions

THRESHOLD = 0.5
COMMON = 0.5        # fraction of the class beyond which a shared fingerprint is an idiom
# A pair must share this many characters of the token stream (about six statements) to be
# flagged: two students who answered little, the obvious way, are alike without copying.
MIN_MATCHED = 100


@dataclass
class Match:
    """Two students whose answers overlap: the share of each one's answers found in the other's."""

    student_a: str
    student_b: str
    share_a: float
    share_b: float
    matched: int                          # characters of the token stream in shared stretches
    regions_a: list[tuple[int, int]]      # (start, end) in student_a's answers text
    regions_b: list[tuple[int, int]]

    @property
    def score(self) -> float:
        return max(self.share_a, self.share_b)


@dataclass
class Comparison:
    """Every student's answers text, the pairs at or above the threshold (highest first), and
    every pair's score (for the distribution)."""

    answers: dict[str, str]
    matches: list[Match]
    scores: list[float]
    threshold: float


def written_by_student(notebook: nbformat.NotebookNode, release: nbformat.NotebookNode) -> str:
    """The code the student wrote, cell by cell, each under a comment naming the cell (comments
    do not count in the comparison); empty for a notebook left as released."""
    released = {cell.metadata["nbgrader"]["grade_id"]: cell for cell in release.cells
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    every_given = {line.strip() for cell in release.cells if cell.cell_type == "code"
                   for line in cell.source.splitlines()}
    parts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in released:
            if not released[grade_id].metadata["nbgrader"].get("solution"):
                continue
            given = {line.strip() for line in released[grade_id].source.splitlines()}
            label = f"answer cell {grade_id}"
        else:
            given, label = every_given, "a cell the student added or edited"
        lines = [line.rstrip() for line in cell.source.splitlines() if line.strip() and line.strip() not in given]
        if lines:
            parts.append(f"# ---- {label}\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def compare(answers: dict[str, str], threshold: float = THRESHOLD, common: float = COMMON,
            min_matched: int = MIN_MATCHED, jobs: int = 1, progress: bool = True) -> Comparison:
    """Compare every pair of students' answers (``student -> written_by_student text``)."""
    students = [student for student, text in answers.items() if text.strip()]
    prints, shares = pair_shares([answers[student] for student in students], common, jobs, progress)
    matches = [Match(students[i], students[j], share_a, share_b, matched, regions(prints[i], prints[j]),
                     regions(prints[j], prints[i]))
               for i, j, matched, share_a, share_b in shares
               if max(share_a, share_b) >= threshold and matched >= max(min_matched, 1)]
    matches.sort(key=lambda match: (-match.score, -match.matched, match.student_a, match.student_b))
    return Comparison(dict(answers), matches, [max(a, b) for *_, a, b in shares], threshold)


def submitted_answers(assignment: str, workdir: Path) -> dict[str, str]:
    """Every submission in the grading work directory, as the student's written code."""
    workdir = Path(workdir)
    notebook_name = course.source_notebooks(assignment)[0].name
    release_path = workdir / "assignments" / assignment / notebook_name
    notebooks = sorted((workdir / "submitted").glob(f"*/{assignment}/{notebook_name}"))
    if not release_path.is_file() or not notebooks:
        raise SystemExit(f"no graded submissions of {assignment} in {workdir}: grade them first "
                         f"(python -m autograder grade {assignment} --submissions DIR --workdir {workdir})")
    release = nbformat.read(release_path, as_version=4)
    answers = {}
    for path in notebooks:
        student = path.parent.parent.name
        try:
            answers[student] = written_by_student(nbformat.read(path, as_version=4), release)
        except (ValueError, KeyError, AttributeError, TypeError) as error:  # malformed: nothing to compare
            print(f"note: {student}'s notebook could not be read ({error}): left out of the comparison")
    return answers


def check(assignment: str, workdir: Path, threshold: float | None = None, jobs: int | None = None,
          html_path: Path | None = None, csv_path: Path | None = None) -> tuple[Comparison, Path, Path]:
    """Compare the work directory's submissions; write the ranked pairs as a page and a CSV."""
    from .similarity_page import write_csv, write_page
    workdir = Path(workdir)
    comparison = compare(submitted_answers(assignment, workdir), THRESHOLD if threshold is None else threshold,
                         jobs=jobs or os.cpu_count() or 1)
    html_path = write_page(comparison, html_path or workdir / "similarity.html", assignment)
    csv_path = write_csv(comparison, csv_path or workdir / "similarity.csv")
    return comparison, html_path, csv_path
