"""The grading work directory: the release graded against, the gradebook, the stored results.

A work directory (outside the repository) is an nbgrader course root that the formgrader opens
as it is (it holds its own ``nbgrader_config.py``)::

    W/nbgrader_config.py         the course's configuration, rooted here
    W/solutions/A/               snapshot of the instructor notebook graded against
    W/assignments/A/             the student version generated from it
    W/gradebook.db               nbgrader's gradebook: the one store of scores
    W/grading-seed               the seed the hidden checks draw their inputs from
    W/reference/KEY/             the solution's records for that seed (see autograder.reference)
    W/submitted/S/A/             each student's notebook as submitted
    W/autograded/S/A/            the notebook as the student's kernel ran it (no hidden check in it)
    W/results/A/S.json           verdicts, notes and timings, keyed by what they depend on
    W/feedback/S/A/A.html        what the student gets back
    W/logs/S.log                 why a submission could not be graded at all

Scores live in the gradebook only (hand grades entered in the formgrader included); the
results files keep what the gradebook has no place for, under a key made of the hashes of the
submission, the release, the solution, the seed and the grader's own code, so that a second
run reuses exactly the results that cannot have changed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import course, nbgrader_steps
from .release import tree_differences

GRADER_CODE = Path(__file__).parent
FORMGRADER_CONFIG = """# Written by the autograder: lets `nbgrader formgrader` (and other nbgrader commands) run here.
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
"""


def prepare(assignment: str, workdir: Path) -> bool:
    """Snapshot the instructor notebook into ``workdir`` and build the gradebook from it.

    Does nothing when the snapshot is already the current solution (earlier grades stay valid
    and are kept); otherwise starts the gradebook and the stored results afresh. Returns
    whether it rebuilt.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "nbgrader_config.py").write_text(FORMGRADER_CONFIG.format(
        config=str(GRADER_CODE / "nbgrader_config.py"), root=str(workdir)))
    snapshot = workdir / "solutions" / assignment
    if snapshot.exists() and (workdir / nbgrader_steps.GRADEBOOK).exists() and \
            not tree_differences(course.SOLUTIONS / assignment, snapshot):
        return False
    for stale in (snapshot, workdir / "results" / assignment, workdir / "assignments" / assignment):
        if stale.exists():
            shutil.rmtree(stale)
    (workdir / nbgrader_steps.GRADEBOOK).unlink(missing_ok=True)
    shutil.copytree(course.SOLUTIONS / assignment, snapshot,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbgrader_steps.generate_assignment(workdir, assignment, db=nbgrader_steps.db_url(workdir))
    return True


def grading_seed(workdir: Path) -> int:
    """The work directory's seed: drawn once, when it is first needed, and kept."""
    path = workdir / "grading-seed"
    if not path.exists():
        path.write_text(f"{secrets.randbelow(2**31)}\n")
    return int(path.read_text())


def digest(*parts: bytes) -> str:
    total = hashlib.sha256()
    for part in parts:
        total.update(hashlib.sha256(part).digest())
    return total.hexdigest()


def folder_digest(folder: Path, pattern: str = "*") -> str:
    total = hashlib.sha256()
    for path in sorted(folder.rglob(pattern)):
        if path.is_file() and "__pycache__" not in path.parts:
            total.update(str(path.relative_to(folder)).encode() + hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def grader_digest() -> str:
    """The autograder's own code and settings: a change to either invalidates stored results."""
    return folder_digest(GRADER_CODE, "*.py") + folder_digest(GRADER_CODE, "*.toml")


def result_path(workdir: Path, assignment: str, student: str) -> Path:
    return workdir / "results" / assignment / f"{student}.json"


def load_result(workdir: Path, assignment: str, student: str, key: str | None = None) -> dict | None:
    """The stored result of ``student`` (only if stored under ``key``, when given)."""
    path = result_path(workdir, assignment, student)
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    if key is not None and stored.get("key") != key:
        return None
    return stored["result"]


def save_result(workdir: Path, assignment: str, student: str, key: str, result: dict) -> None:
    path = result_path(workdir, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "result": result}, indent=1))


def record_scores(workdir: Path, assignment: str, student: str, scores: dict[str, float], submitted_at) -> None:
    """Write the autograded parts' scores to the gradebook (hand-graded cells are left alone)."""
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student, timestamp=submitted_at)
        for notebook in submission.notebooks:
            for grade_entry in notebook.grades:
                if grade_entry.cell_type == "code":
                    grade_entry.auto_score = scores.get(grade_entry.name, 0.0)
                    grade_entry.needs_manual_grade = False
        gradebook.db.commit()


def read_scores(workdir: Path, assignment: str, student: str) -> tuple[dict, dict] | None:
    """``(autograded, manual)`` scores of one student from the gradebook: grade id -> (score, max);
    a hand-graded cell's score is None until a TA grades it. None when not graded."""
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None
        autograded, manual = {}, {}
        for notebook in submission.notebooks:
            for grade_entry in notebook.grades:
                if grade_entry.cell_type == "code":
                    autograded[grade_entry.name] = (grade_entry.score, grade_entry.max_score)
                else:  # nbgrader's score is the manual one once given
                    given = grade_entry.manual_score
                    manual[grade_entry.name] = (given, grade_entry.max_score)
    return autograded, manual


def maxima(workdir: Path, assignment: str) -> dict[str, float]:
    """Every autograded part's points, from the gradebook."""
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        return {cell.name: cell.max_score for notebook in gradebook.find_assignment(assignment).notebooks
                for cell in notebook.grade_cells if cell.cell_type == "code"}


def graded_students(workdir: Path, assignment: str) -> list[str]:
    """Students with a stored result for ``assignment`` in ``workdir``, sorted."""
    folder = Path(workdir) / "results" / assignment
    return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []
