"""The TA workflow: release, grade a folder of submissions, feedback without hidden tests, CSV.

A grading work directory (outside the repository) is an nbgrader course root::

    WORKDIR/solutions/A/         snapshot of the instructor notebook graded against
    WORKDIR/assignments/A/       the student version generated from it
    WORKDIR/submitted/S/A/       each student's notebook, renamed to the assignment's name
    WORKDIR/autograded/S/A/      executed notebooks with scores (hidden tests visible: TA only)
    WORKDIR/feedback/S/A/*.html  what students get back (hidden tests removed)
    WORKDIR/gradebook.db         nbgrader's gradebook (usable by the formgrader)
    WORKDIR/grades.csv           one row per student
"""

from __future__ import annotations

import csv
import filecmp
import multiprocessing
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from tqdm.auto import tqdm

from . import course, nbgrader_steps
from .hidden import strip_hidden_tests

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


@dataclass
class Result:
    """The outcome of grading one student."""

    student: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # autograded: grade_id -> (score, max)
    # Cells a TA grades by hand (written answers): grade_id -> (score, or None until graded, max).
    manual_cells: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0


# ---------------------------------------------------------------- release


def release(assignment: str) -> Path:
    """Regenerate ``assignments/A`` in the repository from ``solutions/A``."""
    nbgrader_steps.generate_assignment(course.SOLUTIONS.parent, assignment)
    return course.ASSIGNMENTS / assignment


def release_differences(assignment: str) -> list[str]:
    """Files of ``assignments/A`` that differ from a fresh release (empty when in sync)."""
    with tempfile.TemporaryDirectory(prefix="cnnbook-drift-") as scratch:
        root = Path(scratch)
        shutil.copytree(course.SOLUTIONS / assignment, root / "solutions" / assignment)
        nbgrader_steps.generate_assignment(root, assignment)
        return _tree_differences(root / "assignments" / assignment, course.ASSIGNMENTS / assignment)


def _tree_differences(expected: Path, actual: Path) -> list[str]:
    if not actual.is_dir():
        return [f"{actual} is missing"]
    comparison = filecmp.dircmp(expected, actual, ignore=[".ipynb_checkpoints", "__pycache__"])
    differences: list[str] = []

    def walk(node: filecmp.dircmp, prefix: str) -> None:
        differences.extend(f"{prefix}{name}: only in a fresh release" for name in node.left_only)
        differences.extend(f"{prefix}{name}: not produced by a release" for name in node.right_only)
        _, mismatch, errors = filecmp.cmpfiles(node.left, node.right, node.common_files, shallow=False)
        differences.extend(f"{prefix}{name}: differs from a fresh release" for name in mismatch + errors)
        for name, child in node.subdirs.items():
            walk(child, f"{prefix}{name}/")

    walk(comparison, "")
    return differences


# ---------------------------------------------------------------- grading


def collect_submissions(folder: Path) -> dict[str, Path]:
    """Map student id to notebook for a folder of submissions.

    Accepts ``FOLDER/STUDENT.ipynb`` and ``FOLDER/STUDENT/anything.ipynb`` (one notebook per
    student folder). Student ids are file or folder names and must be plain identifiers.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SystemExit(f"submissions folder {folder} does not exist")
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            student, notebook = entry.stem, entry
        elif entry.is_dir():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            if len(notebooks) != 1:
                raise SystemExit(f"{entry} should hold exactly one notebook, found {len(notebooks)}")
            student, notebook = entry.name, notebooks[0]
        else:
            continue
        if not STUDENT_ID.match(student):
            raise SystemExit(f"{entry.name!r} is not a usable student id: use letters, digits, '_', '.', '-', '@'")
        if student in found:
            raise SystemExit(f"two submissions for student {student!r} in {folder}")
        found[student] = notebook
    if not found:
        raise SystemExit(f"no notebooks in {folder}: expected STUDENT.ipynb files or STUDENT/ folders")
    return found


def prepare_workdir(assignment: str, workdir: Path) -> None:
    """Snapshot the instructor notebook into ``workdir`` and build the gradebook from it."""
    workdir.mkdir(parents=True, exist_ok=True)
    snapshot = workdir / "solutions" / assignment
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(course.SOLUTIONS / assignment, snapshot,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbgrader_steps.generate_assignment(workdir, assignment, db=nbgrader_steps.db_url(workdir))


def grade(assignment: str, submissions: dict[str, Path], workdir: Path, progress: bool = True,
          jobs: int = 1) -> list[Result]:
    """Autograde every submission, ``jobs`` at a time; one broken submission never stops the batch.

    Each submission is graded in a worker process of its own (nbgrader changes the working
    directory and holds kernels, so graders must not share a process); scores are the same
    whatever ``jobs`` is. Results come back in the order of ``submissions``.
    """
    workdir = Path(workdir).resolve()
    prepare_workdir(assignment, workdir)
    notebook_name = course.source_notebooks(assignment)[0].name
    for student, notebook in submissions.items():
        target = workdir / "submitted" / student / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copyfile(notebook, target / notebook_name)
    bar = tqdm(total=len(submissions), desc=f"grading {assignment}", unit="notebook", disable=not progress)
    results: dict[str, Result] = {}
    if jobs <= 1:
        for student in submissions:
            results[student] = grade_one(workdir, assignment, student)
            bar.update()
    else:
        # spawn, not fork: the parent may hold threads (tqdm's monitor, SQLAlchemy pools)
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(grade_one, workdir, assignment, student): student for student in submissions}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
    bar.close()
    return [results[student] for student in submissions]


def grade_one(workdir: Path, assignment: str, student: str) -> Result:
    """Autograde one submitted notebook already in ``workdir/submitted``; never raises."""
    started = time.perf_counter()
    try:
        nbgrader_steps.autograde(workdir, assignment, student)
        result = read_scores(workdir, assignment, student)
    except Exception as error:  # noqa: BLE001: any failure is this submission's, not the batch's
        result = zero_result(workdir, assignment, student, error=str(error))
        log = workdir / "logs" / f"{student}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(getattr(error, "details", "") or repr(error))
    result.seconds = time.perf_counter() - started
    return result


def zero_result(workdir: Path, assignment: str, student: str, error: str) -> Result:
    """A submission that could not be graded: 0 in every graded cell, out of the real maximum."""
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        grade_cells = [cell for notebook in gradebook.find_assignment(assignment).notebooks
                       for cell in notebook.grade_cells]
        cells = {cell.name: (0.0, cell.max_score) for cell in grade_cells if cell.cell_type == "code"}
        manual = {cell.name: (0.0, cell.max_score) for cell in grade_cells if cell.cell_type != "code"}
    return Result(student, 0.0, sum(cell.max_score for cell in grade_cells), cells, manual, error)


def read_scores(workdir: Path, assignment: str, student: str) -> Result:
    """Scores of one autograded student, per graded cell, from the gradebook."""
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return Result(student, error="not graded")
        result = Result(student, score=submission.score, max_score=submission.max_score)
        for notebook in submission.notebooks:
            for grade_entry in notebook.grades:
                if grade_entry.auto_score is None:  # nbgrader leaves it unset for hand-graded cells
                    result.manual_cells[grade_entry.name] = (grade_entry.manual_score, grade_entry.max_score)
                else:
                    result.cells[grade_entry.name] = (grade_entry.score, grade_entry.max_score)
    return result


# ---------------------------------------------------------------- feedback and export


def feedback(assignment: str, workdir: Path, students: list[str] | None = None) -> list[Path]:
    """Write HTML feedback for graded students, with hidden tests and their tracebacks removed."""
    workdir = Path(workdir).resolve()
    autograded = workdir / "autograded"
    students = students or graded_students(workdir, assignment)
    written = []
    for student in students:
        safe = workdir / "feedback_source" / student / assignment
        if safe.exists():
            shutil.rmtree(safe)
        shutil.copytree(autograded / student / assignment, safe)
        for path in safe.glob("*.ipynb"):
            notebook = nbformat.read(path, as_version=4)
            nbformat.write(strip_hidden_tests(notebook), path)
        nbgrader_steps.generate_feedback(workdir, assignment, student, source_directory="feedback_source")
        written.extend(sorted((workdir / "feedback" / student / assignment).glob("*.html")))
    return written


def export_csv(results: list[Result], path: Path) -> Path:
    """One row per student: total, maximum, percentage, each graded cell (hand-graded ones empty
    until a TA has graded them), error if any."""
    scores = [{**result.cells, **result.manual_cells} for result in results]
    cell_names = list(dict.fromkeys(name for cells in scores for name in cells))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "percent", *cell_names, "error"])
        for result, cells in zip(results, scores):
            percent = 100 * result.score / result.max_score if result.max_score else 0.0
            writer.writerow([result.student, f"{result.score:g}", f"{result.max_score:g}", f"{percent:.1f}",
                             *(_number(cells.get(name, (None, None))[0]) for name in cell_names),
                             result.error or ""])
    return path


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def results_from_gradebook(assignment: str, workdir: Path) -> list[Result]:
    """Every graded student's result, read back from a work directory's gradebook."""
    return [read_scores(Path(workdir), assignment, student) for student in graded_students(workdir, assignment)]


def graded_students(workdir: Path, assignment: str) -> list[str]:
    """Students whose submission of ``assignment`` was autograded in ``workdir``, sorted."""
    autograded = Path(workdir) / "autograded"
    if not autograded.is_dir():
        return []
    return sorted(p.name for p in autograded.iterdir() if (p / assignment).is_dir())
