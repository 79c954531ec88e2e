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
import hashlib
import json
import multiprocessing
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from tqdm.auto import tqdm

from . import course, nbgrader_steps, worker
from . import sandbox as sandbox_module
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
    notes: list[str] = field(default_factory=list)         # what had to be put back in the notebook
    reasons: dict[str, str] = field(default_factory=dict)  # failed test cell -> why it failed
    submitted_at: str | None = None
    late_factor: float = 1.0                               # fraction of the score kept (late penalty)
    cached: bool = False                                   # taken from an earlier identical grading

    @property
    def final_score(self) -> float:
        return self.score * self.late_factor


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


def prepare_workdir(assignment: str, workdir: Path) -> bool:
    """Snapshot the instructor notebook into ``workdir`` and build the gradebook from it.

    Does nothing when the snapshot is already the current solution (earlier grades stay valid
    and are kept); otherwise starts the gradebook and the stored results afresh. Returns
    whether it rebuilt.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    snapshot = workdir / "solutions" / assignment
    pristine = workdir / RELEASE_GRADEBOOK
    if snapshot.exists() and pristine.exists() and not _tree_differences(course.SOLUTIONS / assignment, snapshot):
        return False
    for stale in (snapshot, workdir / "results" / assignment):
        if stale.exists():
            shutil.rmtree(stale)
    (workdir / nbgrader_steps.GRADEBOOK).unlink(missing_ok=True)
    shutil.copytree(course.SOLUTIONS / assignment, snapshot,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    nbgrader_steps.generate_assignment(workdir, assignment, db=nbgrader_steps.db_url(workdir))
    shutil.copyfile(workdir / nbgrader_steps.GRADEBOOK, pristine)
    return True


# The gradebook as generated, before any submission: what each worker grades against.
RELEASE_GRADEBOOK = "release-gradebook.db"
GRADER_VERSION = "2"  # part of every stored result's key: bump when grading itself changes
WORKER_GPU = worker.WORKER_GPU


def grade(assignment: str, submissions: dict[str, Path], workdir: Path, progress: bool = True,
          jobs: int = 1, sandbox: bool = True, gpus: list[str] | None = None, scheduler: str | None = None,
          force: bool = False, limits: dict | None = None) -> list[Result]:
    """Autograde every submission, ``jobs`` at a time; one broken submission never stops the batch.

    Each submission is graded in a worker process of its own, in a scratch course, with its
    kernel in the sandbox (``sandbox=False`` runs it as the TA's user: trusted notebooks only).
    ``gpus`` (CUDA device ids) gives each worker one GPU for assignments marked ``gpu`` in
    autograder/course.toml; others run on the CPU. ``scheduler`` (a Dask scheduler address,
    e.g. ``tcp://host:8786``) sends the work to that cluster instead of a local pool.
    ``limits`` overrides the assignment's limits (see :class:`autograder.sandbox.Limits`).
    Submissions already graded and unchanged are not graded again unless ``force``. Scores
    are the same whatever ``jobs``, ``scheduler`` or order. Results come back in the order of
    ``submissions``.
    """
    workdir = Path(workdir).resolve()
    settings = course.settings(assignment)
    if sandbox:
        sandbox_module.check_available()
    prepare_workdir(assignment, workdir)
    notebook_name = course.source_notebooks(assignment)[0].name
    release_text = (workdir / "assignments" / assignment / notebook_name).read_text()
    gradebook = (workdir / RELEASE_GRADEBOOK).read_bytes()
    solution_digest = _solution_digest(workdir, assignment)
    use_gpu = bool(settings.gpu and gpus)
    results: dict[str, Result] = {}
    pending: dict[str, tuple[worker.Job, str]] = {}
    for student, notebook in submissions.items():
        data = Path(notebook).read_bytes()
        target = workdir / "submitted" / student / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (target / notebook_name).write_bytes(data)
        job = worker.Job(assignment, student, notebook_name, data, release_text, gradebook,
                         {**settings.limits, **(limits or {})}, sandbox, WORKER_GPU if use_gpu else "")
        key = _job_key(job, solution_digest)
        stored = None if force else _stored_result(workdir, assignment, student, key)
        if stored is not None:
            results[student] = stored
        else:
            pending[student] = (job, key)
    bar = tqdm(total=len(pending), desc=f"grading {assignment}", unit="notebook", disable=not progress)
    for outcome in _run_jobs([job for job, _ in pending.values()], jobs, gpus if use_gpu else None, scheduler):
        job, key = pending[outcome.student]
        results[outcome.student] = _merge(workdir, job, key, outcome, settings, submissions[outcome.student])
        bar.update()
    bar.close()
    return [results[student] for student in submissions]


def _run_jobs(jobs_to_run: list[worker.Job], jobs: int, gpus: list[str] | None, scheduler: str | None):
    """Outcomes in completion order, from a Dask cluster, a local process pool, or this process."""
    if not jobs_to_run:
        return
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = client.map(worker.grade_job, jobs_to_run, pure=False)
            for future in dask_completed(futures):
                yield future.result()
        return
    if jobs <= 1 and not gpus:
        for job in jobs_to_run:
            yield worker.grade_job(job)
        return
    workers = min(jobs, len(gpus)) if gpus else jobs
    context = multiprocessing.get_context("spawn")  # the parent may hold threads (tqdm, SQLAlchemy)
    queue = context.Queue() if gpus else None
    for gpu in gpus or []:
        queue.put(gpu)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=worker.take_gpu,
                             initargs=(queue,)) as pool:
        futures = [pool.submit(worker.grade_job, job) for job in jobs_to_run]
        for future in as_completed(futures):
            yield future.result()


def _job_key(job: worker.Job, solution_digest: str) -> str:
    """What a stored grade depends on: the submission, the graded notebook and the settings."""
    digest = hashlib.sha256()
    for part in (GRADER_VERSION.encode(), job.submission, job.release.encode(), solution_digest.encode(),
                 json.dumps([job.limits, job.sandbox, job.gpu_ids], sort_keys=True).encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _solution_digest(workdir: Path, assignment: str) -> str:
    digest = hashlib.sha256()
    for path in sorted((workdir / "solutions" / assignment).rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _result_path(workdir: Path, assignment: str, student: str) -> Path:
    return workdir / "results" / assignment / f"{student}.json"


def _stored_result(workdir: Path, assignment: str, student: str, key: str) -> Result | None:
    path = _result_path(workdir, assignment, student)
    if not path.exists():
        return None
    stored = json.loads(path.read_text())
    if stored.get("key") != key:
        return None
    result = Result(**stored["result"])
    result.cells = {name: tuple(value) for name, value in result.cells.items()}
    result.manual_cells = {name: tuple(value) for name, value in result.manual_cells.items()}
    result.cached = True
    return result


def _merge(workdir: Path, job: worker.Job, key: str, outcome: worker.Outcome, settings, submitted: Path) -> Result:
    """Store one outcome in the work directory: executed notebook, gradebook rows, result."""
    submitted_at = _submission_time(Path(submitted))
    if outcome.autograded is not None:
        target = workdir / "autograded" / job.student / job.assignment
        target.mkdir(parents=True, exist_ok=True)
        (target / job.notebook_name).write_text(outcome.autograded)
    if outcome.log:
        log = workdir / "logs" / f"{job.student}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(outcome.log)
    cells = outcome.cells
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        gradebook.update_or_create_student(job.student)
        submission = gradebook.update_or_create_submission(job.assignment, job.student, timestamp=submitted_at)
        manual = {}
        for notebook in submission.notebooks:
            for grade_entry in notebook.grades:
                if grade_entry.cell_type == "code":
                    grade_entry.auto_score = cells.get(grade_entry.name, (0.0,))[0]
                    grade_entry.needs_manual_grade = False
                else:
                    manual[grade_entry.name] = (grade_entry.manual_score, grade_entry.max_score)
        gradebook.db.commit()
        cells = {entry.name: (entry.score, entry.max_score) for notebook in submission.notebooks
                 for entry in notebook.grades if entry.cell_type == "code"}
    score = sum(score for score, _ in cells.values()) + sum(s or 0 for s, _ in manual.values())
    maximum = sum(m for _, m in cells.values()) + sum(m for _, m in manual.values())
    result = Result(job.student, score, maximum, cells, manual, outcome.error, outcome.seconds,
                    notes=outcome.notes, reasons=outcome.reasons,
                    submitted_at=submitted_at.isoformat() if submitted_at else None,
                    late_factor=settings.late_factor(submitted_at))
    path = _result_path(workdir, job.assignment, job.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key, "result": asdict(result)}, indent=1))
    return result


def _submission_time(notebook: Path) -> datetime | None:
    """When the student submitted: nbgrader's ``timestamp.txt`` next to the notebook, if any."""
    stamp = notebook.parent / "timestamp.txt"
    if not stamp.exists():
        return None
    from dateutil.parser import parse

    moment = parse(stamp.read_text().strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
