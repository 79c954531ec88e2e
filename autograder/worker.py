"""Grade one submission in a private scratch course, wherever the worker runs.

A :class:`Job` carries everything needed (the gradebook of the assignment, the submitted
notebook, settings) as plain data, so the same function runs in a local process pool or on a
Dask worker of another machine; the worker never touches the TA's work directory or gradebook.
It returns an :class:`Outcome` that the grader merges into the work directory.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from . import nbgrader_steps
from .rebuild import rebuild


@dataclass
class Job:
    assignment: str
    student: str
    notebook_name: str           # e.g. a1_backprop.ipynb
    submission: bytes            # the file as submitted (may be anything)
    release: str                 # the released notebook (JSON)
    gradebook: bytes             # gradebook.db holding the assignment (hidden tests included)
    limits: dict
    sandbox: bool = True
    gpu_ids: str = ""            # CUDA_VISIBLE_DEVICES for the kernel; "" = CPU


@dataclass
class Outcome:
    student: str
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)
    manual_cells: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # failed test cell -> why
    autograded: str | None = None                          # executed notebook (JSON)
    log: str = ""
    seconds: float = 0.0


def grade_job(job: Job) -> Outcome:
    """Autograde one submission; never raises (a broken submission scores 0 with the reason)."""
    started = time.perf_counter()
    outcome = Outcome(job.student)
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student}-") as scratch:
        root = Path(scratch) / "course"
        try:
            _grade_in(root, job, outcome)
        except Exception as error:  # noqa: BLE001: any failure is this submission's, not the batch's
            outcome.error = str(error) or type(error).__name__
            outcome.log = getattr(error, "details", "") or repr(error)
            outcome.cells = {name: (0.0, maximum) for name, (_, maximum) in _maxima(root).items()}
    outcome.seconds = time.perf_counter() - started
    return outcome


def _grade_in(root: Path, job: Job, outcome: Outcome) -> None:
    root.mkdir(parents=True)
    (root / nbgrader_steps.GRADEBOOK).write_bytes(job.gradebook)
    (root / "solutions" / job.assignment).mkdir(parents=True)  # nbgrader copies extra files from here
    try:
        submitted = nbformat.reads(job.submission.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001: JSON, encoding or schema problems alike
        raise ValueError(f"the submission is not a readable notebook ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from None
    graded, outcome.notes = rebuild(submitted, nbformat.reads(job.release, as_version=4))
    target = root / "submitted" / job.student / job.assignment
    target.mkdir(parents=True)
    nbformat.write(graded, target / job.notebook_name)
    report = root / "verdicts.json"
    nbgrader_steps.autograde(root, job.assignment, job.student, execute={
        "use_sandbox": job.sandbox, "scratch": str(root.parent / "kernel-home"),
        "shared": str(root.parent / "kernel-sockets"), "limits": job.limits,
        "gpu_ids": worker_gpu() if job.gpu_ids == WORKER_GPU else job.gpu_ids,
        "report_path": str(report)})
    verdicts = json.loads(report.read_text())["verdicts"] if report.exists() else {}
    outcome.reasons = {name: v["reason"] for name, v in verdicts.items() if not v["passed"]}
    with Gradebook(nbgrader_steps.db_url(root)) as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student)
        for notebook in submission.notebooks:
            for grade_entry in notebook.grades:
                if grade_entry.auto_score is None:  # hand-graded cells wait for a TA
                    outcome.manual_cells[grade_entry.name] = (None, grade_entry.max_score)
                else:
                    outcome.cells[grade_entry.name] = (grade_entry.score, grade_entry.max_score)
    executed = root / "autograded" / job.student / job.assignment / job.notebook_name
    outcome.autograded = executed.read_text()


def _maxima(root: Path) -> dict[str, tuple[None, float]]:
    """Every autograded cell's maximum, from the scratch gradebook (empty if there is none)."""
    if not (root / nbgrader_steps.GRADEBOOK).exists():
        return {}
    with Gradebook(nbgrader_steps.db_url(root)) as gradebook:
        return {cell.name: (None, cell.max_score)
                for assignment in gradebook.assignments for notebook in assignment.notebooks
                for cell in notebook.grade_cells if cell.cell_type == "code"}

WORKER_GPU = "worker"  # a Job's gpu_ids meaning "the GPU given to the worker that runs it"
_worker_gpu = ""


def take_gpu(queue) -> None:
    """Pool initializer: this worker process takes one GPU id from ``queue`` for its kernels."""
    global _worker_gpu
    if queue is not None:
        _worker_gpu = queue.get()


def worker_gpu() -> str:
    """The GPU of this worker: from the pool, or the Dask worker's CUDA_VISIBLE_DEVICES."""
    return _worker_gpu or os.environ.get("CUDA_VISIBLE_DEVICES", "")
