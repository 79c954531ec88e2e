"""The solution's records: what every student's records are compared with.

For a work directory's seed, the instructor notebook runs once in a kernel of its own, exactly
like a submission (same sandbox, limits and device), followed by the same probes. Its records
are kept in ``W/reference/KEY/`` (KEY: hashes of the solution, the seed and the grader's code),
so a batch, and every later batch with that seed, runs it once.

The solution must run cleanly: an error in any of its cells (its visible tests included), a
probe that raises, or a probe that records nothing stops the grading with the instructor's
traceback, since nothing could be graded against it.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import store
from .records import Records, UnreadableRecords, parse
from .worker import Job, Outcome

COMPLETE = "complete.json"


class ReferenceFailed(RuntimeError):
    """The instructor's solution could not give the reference; the message says where."""


def key(solution: bytes, seed: int, device: str) -> str:
    return store.digest(solution, str(seed).encode(), store.grader_digest().encode(), device.encode())[:24]


def folder(workdir: Path, reference_key: str) -> Path:
    return workdir / "reference" / reference_key


def load(workdir: Path, reference_key: str) -> dict[str, Records] | None:
    """The stored records, or None when this reference was not computed yet."""
    where = folder(workdir, reference_key)
    if not (where / COMPLETE).exists():
        return None
    parts = json.loads((where / COMPLETE).read_text())["parts"]
    return {part: parse((where / f"{index}.npz").read_bytes()) for index, part in enumerate(parts)}


def timings(workdir: Path, reference_key: str) -> dict:
    where = folder(workdir, reference_key) / COMPLETE
    return json.loads(where.read_text()).get("seconds", {}) if where.exists() else {}


def store_outcome(workdir: Path, reference_key: str, outcome: Outcome, parts: list[str]) -> dict[str, Records]:
    """Check the solution's run and keep its records; :class:`ReferenceFailed` if it is unusable."""
    problems = []
    if outcome.error:
        problems.append(f"the solution could not run: {outcome.error}\n{outcome.log}")
    if outcome.stopped:
        problems.append(f"the solution's kernel stopped: {outcome.stopped}")
    problems += [f"the solution raises in {error}" for error in outcome.cell_errors]
    records: dict[str, Records] = {}
    for part in parts:
        if part not in outcome.records:
            problems.append(f"{part}: the probe gave no records ({outcome.not_run.get(part, 'no reason given')})")
            continue
        try:
            records[part] = parse(outcome.records[part])
        except UnreadableRecords as error:
            problems.append(f"{part}: unreadable records ({error})")
            continue
        if records[part].error:
            problems.append(f"{part}: the probe raised on the solution:\n{records[part].trace}")
        elif not records[part].values:
            problems.append(f"{part}: the probe records nothing, so it cannot grade")
        elif records[part].unreadable:
            problems.append(f"{part}: the probe records values that are not plain data: {records[part].unreadable}")
    if problems:
        raise ReferenceFailed("the instructor's solution does not give a usable reference:\n" + "\n".join(problems))
    where = folder(workdir, reference_key)
    where.mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(parts):
        (where / f"{index}.npz").write_bytes(outcome.records[part])
    (where / COMPLETE).write_text(json.dumps({"parts": parts, "seconds": {
        "notebook": outcome.notebook_seconds, "probes": outcome.probe_seconds, "total": outcome.seconds}}))
    return records


def job(assignment: str, solution: bytes, probes: dict[str, str], seed: int, limits: dict, use_sandbox: bool,
        gpu_ids: str) -> Job:
    # One thread always: a correct solution must match it under any thread count.
    return Job(assignment, REFERENCE_STUDENT, solution, release="", probes=probes, seed=seed,
               limits={**limits, "threads": 1},
               sandbox=use_sandbox, gpu_ids=gpu_ids, reference=True)


REFERENCE_STUDENT = "__reference__"  # not a valid student id (ids start with a letter or digit)
