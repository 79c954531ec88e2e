"""Run one notebook and its probes, wherever the worker runs, and bring back plain data.

A :class:`Job` carries everything needed as plain data (the submitted file, the release it is
put back into the shape of, the probes, the seed, the limits), so the same function runs in a
local process pool or on a Dask worker of another machine. The worker never touches the TA's
work directory or gradebook and decides no score: its :class:`Outcome` holds the executed
notebook and the raw records archives, which the grader reads and judges.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import sandbox
from .execute import run_notebook
from .probes import without_hidden_blocks
from .rebuild import rebuild


@dataclass
class Job:
    assignment: str
    student: str
    submission: bytes            # the file as submitted (may be anything)
    release: str                 # the released notebook (JSON)
    probes: dict[str, str]       # grade id -> hidden probe source
    seed: int
    limits: dict
    sandbox: bool = True
    gpu_ids: str = ""            # CUDA_VISIBLE_DEVICES for the kernel; "" = CPU
    reference: bool = False      # the instructor's solution: run as it is, not put into the release's shape


@dataclass
class Outcome:
    student: str
    records: dict[str, bytes] = field(default_factory=dict)   # grade id -> records archive, unread
    not_run: dict[str, str] = field(default_factory=dict)     # grade id -> why its probe gave nothing
    stopped: str | None = None
    error: str | None = None                                  # the submission could not be graded at all
    notes: list[str] = field(default_factory=list)           # what was put back, cut or hit, for the TA
    cell_errors: list[str] = field(default_factory=list)
    executed: str | None = None                               # executed notebook (JSON), no probe in it
    log: str = ""
    seconds: float = 0.0
    notebook_seconds: float = 0.0
    probe_seconds: float = 0.0


def grade_job(job: Job) -> Outcome:
    """Run one job; never raises (a broken submission comes back with ``error`` set)."""
    started = time.perf_counter()
    outcome = Outcome(job.student)
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student}-") as scratch:
        try:
            _run(Path(scratch), job, outcome)
        except Exception as error:  # noqa: BLE001: any failure is this submission's, not the batch's
            outcome.error = str(error) or type(error).__name__
            outcome.log = getattr(error, "details", "") or repr(error)
    outcome.seconds = time.perf_counter() - started
    return outcome


def _run(scratch: Path, job: Job, outcome: Outcome) -> None:
    try:
        submitted = nbformat.reads(job.submission.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001: JSON, encoding or schema problems alike
        first_line = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(f"the submission is not a readable notebook ({type(error).__name__}: {first_line})") from None
    if job.reference:
        notebook = without_hidden_blocks(submitted)
    else:
        notebook, outcome.notes = rebuild(submitted, nbformat.reads(job.release, as_version=4))
    run = run_notebook(notebook, job.probes, job.seed, scratch=scratch / "kernel-home",
                       shared=scratch / "kernel-sockets", limits=sandbox.Limits.from_mapping(job.limits),
                       use_sandbox=job.sandbox, gpu_ids=worker_gpu() if job.gpu_ids == WORKER_GPU else job.gpu_ids)
    outcome.records, outcome.not_run, outcome.stopped = run.records, run.not_run, run.stopped
    outcome.notes += run.notes + ([f"stopped: {run.stopped}"] if run.stopped else [])
    outcome.cell_errors = run.cell_errors
    outcome.executed = nbformat.writes(run.notebook)
    outcome.notebook_seconds, outcome.probe_seconds = run.notebook_seconds, run.probe_seconds


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
