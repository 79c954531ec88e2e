"""Collect a folder of submissions: one notebook per student, and when each was submitted.

Accepted layouts: ``DIR/STUDENT.ipynb`` and ``DIR/STUDENT/.../*.ipynb``, or a Canvas or Moodle
download zip, mapped to student ids with a roster (:mod:`autograder.lms`). A student folder
holding several notebooks is graded on the one named like the assignment
(``a1_backprop.ipynb``) when there is one; otherwise that student alone gets an error and the
batch goes on.

Submission times come from the collection step, never from a file inside a student's folder
(nbgrader's ``timestamp.txt`` is written on the student's side): a ``submitted.csv`` at the top
of the folder, written by whoever collected the notebooks (an LMS export, an exchange), with
the columns ``student,submitted_at`` (ISO 8601; a time without a zone is UTC). A student
without a usable row has no submission time: no late penalty, and a note for the TA.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
TIMES_FILE = "submitted.csv"


@dataclass
class Submission:
    """One student's notebook (None when it could not be chosen) and when it was submitted."""

    student: str
    notebook: Path | None
    submitted_at: datetime | None = None
    problem: str | None = None                      # why there is no notebook to grade
    notes: list[str] = field(default_factory=list)  # for the TA: times that could not be read, ...


def collect_submissions(folder: Path, assignment: str | None = None,
                        roster: Path | None = None) -> dict[str, Submission]:
    """Every student's submission in ``folder`` (or in an LMS download zip), by student id, sorted.

    Raises ``SystemExit`` only for what stops the whole batch: a missing folder, an unusable
    student id or no notebook at all.
    """
    folder = Path(folder)
    if folder.is_file():
        from .lms import collect_lms_download  # it reads the folder it unpacks with this function

        return collect_lms_download(folder, assignment, roster)
    if roster is not None:
        raise SystemExit("--roster maps the names in a Canvas or Moodle zip; a folder is already named by "
                         "student id: leave --roster out")
    if not folder.is_dir():
        raise SystemExit(f"submissions folder {folder} does not exist")
    times, time_notes = _submission_times(folder / TIMES_FILE)
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == TIMES_FILE:
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            submission = Submission(entry.stem, entry)
        elif entry.is_dir():
            submission = _from_folder(entry, assignment)
        else:
            continue
        if not STUDENT_ID.match(submission.student):
            raise SystemExit(f"{entry.name!r} is not a usable student id: use letters, digits, '_', '.', '-', '@'")
        if submission.student in found:
            raise SystemExit(f"two submissions for student {submission.student!r} in {folder}")
        submission.submitted_at = times.get(submission.student)
        submission.notes += time_notes.get(submission.student, [])
        found[submission.student] = submission
    if not found:
        raise SystemExit(f"no notebooks in {folder}: expected STUDENT.ipynb files or STUDENT/ folders")
    return found


def _from_folder(entry: Path, assignment: str | None) -> Submission:
    notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in notebooks if assignment and p.name == f"{assignment}.ipynb"]
    if len(named) == 1:
        notes = [f"{len(notebooks)} notebooks in the folder: graded {named[0].name}"] if len(notebooks) > 1 else []
        return Submission(entry.name, named[0], notes=notes)
    if len(notebooks) == 1:
        return Submission(entry.name, notebooks[0])
    wanted = f", and none is named {assignment}.ipynb" if assignment else ""
    return Submission(entry.name, None, problem=f"the folder holds {len(notebooks)} notebooks{wanted}: "
                                                "keep exactly one, or name the one to grade like the assignment")


def _submission_times(path: Path) -> tuple[dict[str, datetime], dict[str, list[str]]]:
    times: dict[str, datetime] = {}
    notes: dict[str, list[str]] = {}
    if not path.is_file():
        return times, notes
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            student = (row.get("student") or "").strip()
            text = (row.get("submitted_at") or "").strip()
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                notes.setdefault(student, []).append(f"submission time {text[:40]!r} in {TIMES_FILE} is not a date")
                continue
            times[student] = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return times, notes
