"""Grade a batch: run every submission and the solution, judge, store, in one direction.

    submissions (autograder.submissions)
      -> worker: the notebook, then the probes, in a sandboxed kernel (autograder.worker)
      -> raw records archives, plain bytes
      -> this process: read (autograder.records), judge against the solution's records
         (autograder.verdicts, autograder.reference), policy (autograder.policy)
      -> the gradebook and the stored results (autograder.store)
      -> feedback pages (autograder.feedback) and CSV exports (autograder.export)

This process never runs student code: it reads arrays with ``allow_pickle=False`` and compares
numbers. The work directory's layout is described in :mod:`autograder.store`.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from . import course, feedback as feedback_pages, policy, reference, store, worker
from . import sandbox as sandbox_module
from .probes import probes as probes_of
from .records import UnreadableRecords, parse
from .release import release, release_differences  # noqa: F401  (the CLI's and tests' entry points)
from .submissions import Submission, collect_submissions  # noqa: F401
from .verdicts import LIMIT, NOT_RUN, UNREADABLE, Verdict, failed, judge

WORKER_GPU = worker.WORKER_GPU


@dataclass
class Result:
    """The outcome of grading one student."""

    student: str
    score: float = 0.0
    max_score: float = 0.0
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # autograded: grade_id -> (score, max)
    # Cells a TA grades by hand (written answers): grade_id -> (score, or None until graded, max).
    manual_cells: dict[str, tuple[float | None, float]] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    error: str | None = None
    notes: list[str] = field(default_factory=list)   # what was put back, cut, hit or flagged, for the TA
    submitted_at: str | None = None
    late_factor: float = 1.0                          # fraction of the score kept (late penalty)
    seconds: float = 0.0                              # in the worker, kernel start to stop
    notebook_seconds: float = 0.0                     # the student's notebook
    probe_seconds: float = 0.0                        # the hidden checks in the student's kernel
    judge_seconds: float = 0.0                        # reading and comparing, here
    cached: bool = False                              # taken from an earlier identical grading

    @property
    def final_score(self) -> float:
        return self.score * self.late_factor

    @property
    def reasons(self) -> dict[str, str]:
        """Failed part -> why (its verdict's kind and message)."""
        return {part: f"{v.kind}: {v.message}" for part, v in self.verdicts.items() if not v.passed}

    def stored(self) -> dict:
        data = asdict(self)
        for key in ("score", "max_score", "cells", "manual_cells", "cached"):
            data.pop(key)  # scores live in the gradebook
        data["verdicts"] = {part: verdict.as_dict() for part, verdict in self.verdicts.items()}
        return data

    @classmethod
    def from_stored(cls, data: dict, scores: tuple[dict, dict]) -> "Result":
        data = dict(data)
        data["verdicts"] = {part: Verdict.from_dict(v) for part, v in data.get("verdicts", {}).items()}
        result = cls(**data)
        result.cells, result.manual_cells = scores
        result.score = sum(s for s, _ in result.cells.values()) + sum(s or 0 for s, _ in result.manual_cells.values())
        result.max_score = sum(m for _, m in result.cells.values()) + sum(m for _, m in result.manual_cells.values())
        return result


@dataclass
class _Batch:
    """What every job of one grading run shares."""

    assignment: str
    workdir: Path
    notebook_name: str
    release_text: str
    solution: bytes
    probes: dict[str, str]
    seed: int
    limits: dict
    sandbox: bool
    gpu: str
    settings: course.Settings
    rules: list[policy.Rule]


def grade(assignment: str, submissions: dict, workdir: Path, progress: bool = True, jobs: int = 1,
          sandbox: bool = True, gpus: list[str] | None = None, scheduler: str | None = None,
          force: bool = False, limits: dict | None = None, seed: int | None = None) -> list[Result]:
    """Grade every submission, ``jobs`` at a time; one broken submission never stops the batch.

    ``submissions`` maps student ids to notebooks (paths, or :class:`Submission` from
    :func:`collect_submissions`). Each runs in a worker process of its own with its kernel in
    the sandbox (``sandbox=False`` runs it as the TA's user: trusted notebooks only). ``gpus``
    (CUDA device ids) gives each worker one GPU for assignments marked ``gpu`` in
    autograder/course.toml. ``scheduler`` (a Dask scheduler address) sends the work to that
    cluster. ``limits`` overrides the assignment's limits; ``seed`` the work directory's own
    (:func:`autograder.store.grading_seed`). Unchanged submissions are not graded again unless
    ``force``. Scores do not depend on ``jobs``, the scheduler or the order. Results come back
    in the order of ``submissions``.
    """
    workdir = Path(workdir).resolve()
    settings = course.settings(assignment)
    if sandbox:
        sandbox_module.check_available()
    store.prepare(assignment, workdir)
    batch = _batch(assignment, workdir, settings, limits, sandbox, bool(settings.gpu and gpus), seed)
    reference_key = reference.key(batch.solution, batch.seed, "gpu" if batch.gpu else "cpu")
    expected = reference.load(workdir, reference_key)
    results: dict[str, Result] = {}
    pending: dict[str, tuple[worker.Job, str, Submission]] = {}
    for student, given in submissions.items():
        submission = given if isinstance(given, Submission) else Submission(student, Path(given))
        result = _prepared(batch, submission, force, pending)
        if result is not None:
            results[student] = result
    to_run = [job for job, _, _ in pending.values()]
    if expected is None:
        to_run.insert(0, reference.job(assignment, batch.solution, batch.probes, batch.seed, batch.limits,
                                       batch.sandbox, WORKER_GPU if batch.gpu else ""))
    waiting: list[worker.Outcome] = []
    bar = tqdm(total=len(pending), desc=f"grading {assignment}", unit="notebook", disable=not progress)
    for outcome in _run_jobs(to_run, jobs, gpus if batch.gpu else None, scheduler):
        if outcome.student == reference.REFERENCE_STUDENT:
            expected = reference.store_outcome(workdir, reference_key, outcome, list(batch.probes))
        else:
            waiting.append(outcome)
        if expected is None:
            continue
        for ready in waiting:
            job, key, submission = pending[ready.student]
            results[ready.student] = _merge(batch, job, key, submission, ready, expected)
            bar.update()
        waiting.clear()
    bar.close()
    return [results[student] for student in submissions]


def _batch(assignment, workdir, settings, limits, use_sandbox, use_gpu, seed) -> _Batch:
    notebook_name = course.source_notebooks(assignment)[0].name
    solution_path = workdir / "solutions" / assignment / notebook_name
    solution_text = solution_path.read_text()
    probes = probes_of(nbformat.reads(solution_text, as_version=4))
    graded = store.maxima(workdir, assignment)
    missing = [part for part in graded if not probes.get(part, "").strip()]
    if missing:
        raise SystemExit(f"{assignment}: graded cells without a hidden check to grade them: {missing}")
    return _Batch(assignment, workdir, notebook_name,
                  (workdir / "assignments" / assignment / notebook_name).read_text(), solution_text.encode(),
                  {part: probes[part] for part in graded}, store.grading_seed(workdir) if seed is None else int(seed),
                  {**settings.limits, **(limits or {})}, use_sandbox, WORKER_GPU if use_gpu else "", settings,
                  [policy.Rule.from_mapping(rule) for rule in settings.policy])


def _prepared(batch: _Batch, submission: Submission, force: bool, pending: dict) -> Result | None:
    """A result already known (stored, or a submission with no notebook); else the job is queued."""
    student = submission.student
    if submission.notebook is None:
        return _unrunnable(batch, submission, submission.problem or "no notebook")
    data = Path(submission.notebook).read_bytes()
    target = batch.workdir / "submitted" / student / batch.assignment
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / batch.notebook_name).write_bytes(data)
    key = store.digest(data, batch.release_text.encode(), batch.solution, str(batch.seed).encode(),
                       store.grader_digest().encode(), str(submission.submitted_at).encode(),
                       json.dumps([batch.limits, batch.sandbox, batch.gpu], sort_keys=True).encode())
    stored = None if force else store.load_result(batch.workdir, batch.assignment, student, key)
    scores = store.read_scores(batch.workdir, batch.assignment, student) if stored else None
    if stored is not None and scores is not None:
        result = Result.from_stored(stored, scores)
        result.cached = True
        return result
    pending[student] = (worker.Job(batch.assignment, student, data, batch.release_text, batch.probes, batch.seed,
                                   batch.limits, batch.sandbox, batch.gpu), key, submission)
    return None


def _unrunnable(batch: _Batch, submission: Submission, problem: str) -> Result:
    verdicts = {part: failed(part, NOT_RUN, problem) for part in batch.probes}
    store.record_scores(batch.workdir, batch.assignment, submission.student, {}, submission.submitted_at)
    result = Result(submission.student, verdicts=verdicts, error=problem, notes=list(submission.notes))
    _finish(batch, result, "no notebook", submission)
    return result


def _merge(batch: _Batch, job: worker.Job, key: str, submission: Submission, outcome: worker.Outcome,
           expected: dict) -> Result:
    """Judge one outcome and store it: gradebook scores, stored result, executed notebook, log."""
    started = time.perf_counter()
    executed = nbformat.reads(outcome.executed, as_version=4) if outcome.executed else None
    policy_verdicts, policy_notes = ({}, [])
    if executed is not None:
        policy_verdicts, policy_notes = policy.check(executed, nbformat.reads(batch.release_text, as_version=4),
                                                     batch.rules, list(batch.probes))
    verdicts = {part: policy_verdicts.get(part) or _verdict(part, outcome, expected[part]) for part in batch.probes}
    result = Result(job.student, verdicts=verdicts, error=outcome.error,
                    notes=submission.notes + outcome.notes + policy_notes + outcome.cell_errors[:20],
                    seconds=outcome.seconds, notebook_seconds=outcome.notebook_seconds,
                    probe_seconds=outcome.probe_seconds)
    if executed is not None:
        target = batch.workdir / "autograded" / job.student / batch.assignment
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed, target / batch.notebook_name)
    if outcome.log:
        log = batch.workdir / "logs" / f"{job.student}.log"
        log.parent.mkdir(exist_ok=True)
        log.write_text(outcome.log)
    result.judge_seconds = time.perf_counter() - started
    return _finish(batch, result, key, submission)


def _finish(batch: _Batch, result: Result, key: str, submission: Submission) -> Result:
    maxima = store.maxima(batch.workdir, batch.assignment)
    scores = {part: maxima[part] if verdict.passed else 0.0 for part, verdict in result.verdicts.items()}
    store.record_scores(batch.workdir, batch.assignment, result.student, scores, submission.submitted_at)
    result.submitted_at = submission.submitted_at.isoformat() if submission.submitted_at else None
    result.late_factor = batch.settings.late_factor(submission.submitted_at)
    if submission.submitted_at is None and batch.settings.due is not None:
        result.notes.append("no submission time: no late penalty applied")
    store.save_result(batch.workdir, batch.assignment, result.student, key, result.stored())
    stored = Result.from_stored(result.stored(), store.read_scores(batch.workdir, batch.assignment, result.student))
    stored.judge_seconds = result.judge_seconds
    return stored


def _verdict(part: str, outcome: worker.Outcome, expected) -> Verdict:
    if outcome.error:
        return failed(part, NOT_RUN, f"not graded: {outcome.error}")
    if part not in outcome.records:
        reason = outcome.not_run.get(part, "no values came back from the hidden check")
        return failed(part, LIMIT if "limit" in reason else NOT_RUN, reason)
    try:
        records = parse(outcome.records[part])
    except UnreadableRecords:
        return failed(part, UNREADABLE, "the values your code produced could not be read as plain numbers")
    return judge(part, expected, records)


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
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:  # when the caller stops early (an unusable reference), queued jobs are dropped
            for future in futures:
                future.cancel()


def results_from_gradebook(assignment: str, workdir: Path) -> list[Result]:
    """Every graded student's result: scores from the gradebook (hand grades included), the rest
    from the stored results."""
    workdir = Path(workdir)
    found = []
    for student in store.graded_students(workdir, assignment):
        scores = store.read_scores(workdir, assignment, student)
        if scores is not None:
            found.append(Result.from_stored(store.load_result(workdir, assignment, student), scores))
    return found


def feedback(assignment: str, workdir: Path, students: list[str] | None = None) -> list[Path]:
    """Write each graded student's feedback page from the stored verdicts; returns the pages."""
    workdir = Path(workdir).resolve()
    notebook_name = course.source_notebooks(assignment)[0].name
    release_notebook = nbformat.read(workdir / "assignments" / assignment / notebook_name, as_version=4)
    titles = feedback_pages.part_titles(release_notebook)
    wanted = set(students) if students is not None else None
    written = []
    for result in results_from_gradebook(assignment, workdir):
        if wanted is not None and result.student not in wanted:
            continue
        executed_path = workdir / "autograded" / result.student / assignment / notebook_name
        executed = nbformat.read(executed_path, as_version=4) if executed_path.exists() else None
        path = workdir / "feedback" / result.student / assignment / f"{assignment}.html"
        written.append(feedback_pages.write(
            path, assignment=assignment, student=result.student, executed=executed, verdicts=result.verdicts,
            scores=result.cells, titles=titles, total=(result.score, result.max_score),
            late_factor=result.late_factor, error=result.error))
    return written
