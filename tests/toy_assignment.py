"""The two-part toy assignment (tests/fixtures/toy_course) that grades in seconds.

:func:`install` copies it to a temporary course and points the autograder at it, so tests
never touch the real solutions/ or assignments/ (conftest.py's ``toy_course`` fixture);
:func:`graded_cohort` grades a small class on it (``graded_toy_cohort``, for the class report).
"""

from __future__ import annotations

import shutil
from pathlib import Path

TOY = Path(__file__).parent / "fixtures" / "toy_course"
ASSIGNMENT = "a0_smoke"


def install(root: Path, monkeypatch) -> Path:
    """Copy the toy course to ``root``, point autograder.course at it and release it."""
    from autograder import course, grading

    shutil.copytree(TOY, root)
    (root / "assignments").mkdir()
    monkeypatch.setattr(course, "SOLUTIONS", root / "solutions")
    monkeypatch.setattr(course, "ASSIGNMENTS", root / "assignments")
    grading.release(ASSIGNMENT)
    return root


def edited(source: Path, destination: Path, old: str, new: str) -> Path:
    """``source`` written to ``destination`` with ``old`` replaced by ``new`` (which must be there)."""
    text = source.read_text()
    assert old in text
    destination.write_text(text.replace(old, new))
    return destination


PLACEHOLDER = "raise NotImplementedError()"


def answered(release: Path, destination: Path, add: str = "return a + b", multiply: str = "return a * b") -> Path:
    """The released notebook with an answer typed in each of its two answer cells, as a student
    hands it in (each answer one line of code without quotes: it goes into the notebook's JSON)."""
    text = release.read_text()
    for answer in (add, multiply):
        assert PLACEHOLDER in text
        text = text.replace(PLACEHOLDER, answer, 1)
    destination.write_text(text)
    return destination


COHORT_SETTINGS = f"""[defaults]
late_penalty_percent_per_day = 10
max_late_days = 3
cell_timeout = 4
[assignments.{ASSIGNMENT}]
due = "2027-01-10T12:00:00+00:00"
"""
ON_TIME, A_DAY_LATE = "2027-01-10T11:00:00+00:00", "2027-01-11T11:00:00+00:00"


def graded_cohort(folder: Path, monkeypatch) -> Path:
    """A class of nine graded for real on the toy assignment, with feedback; returns the work directory.

    alice: the solution; heidi: the same, a day late; bob: the blank release; carol: ``add``
    returns 3; dave and erin: ``multiply`` returns a list of 2 and of 3 numbers (the same
    mistake, told apart only by numbers); frank: like dave, a day late; grace: not a notebook;
    ivan: ``add`` never returns (stopped at the cell time limit, 4 s), and his submission time
    in submitted.csv is markup.
    """
    from autograder import course, grading

    root = install(folder / "course", monkeypatch)
    settings = folder / "course.toml"
    settings.write_text(COHORT_SETTINGS)
    monkeypatch.setattr(course, "COURSE_SETTINGS", settings)
    release = root / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = folder / "submissions"
    submissions.mkdir()
    for student in ("alice", "heidi"):
        answered(release, submissions / f"{student}.ipynb")
    shutil.copy(release, submissions / "bob.ipynb")
    answered(release, submissions / "carol.ipynb", add="return 3")
    for student, wrong in (("dave", "[a * b, 0]"), ("erin", "[a * b] * 3"), ("frank", "[a * b, 0]")):
        answered(release, submissions / f"{student}.ipynb", multiply=f"return {wrong}")
    (submissions / "grace.ipynb").write_text("this is not a notebook")
    answered(release, submissions / "ivan.ipynb", add="import time; time.sleep(600)")
    times = {student: A_DAY_LATE if student in ("heidi", "frank") else ON_TIME
             for student in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")}
    times["ivan"] = "<script>alert(1)</script>"  # collected text reaches the TA's pages: it must be escaped
    (submissions / "submitted.csv").write_text(
        "student,submitted_at\n" + "".join(f"{student},{moment}\n" for student, moment in times.items()))
    workdir = folder / "work"
    grading.grade(ASSIGNMENT, grading.collect_submissions(submissions), workdir, progress=False, jobs=2)
    grading.feedback(ASSIGNMENT, workdir)
    return workdir
