"""Grading throughput: plain sequential ``nbgrader autograde`` against ``autograder grade --jobs 2``.

40 submissions of Assignment 1 (correct, one-bug variants from tests/mutations, blank) are graded
twice in one run: one after the other by nbgrader's own Autograde (no sandbox, the hidden checks
run inline in the student's kernel and its replies decide, every cell executed), and by the
course's autograder with two workers: each kernel sandboxed, cells tagged skip-when-grading
skipped, the probes' records judged against the solution's in the grader. Per submission it
prints the time in the student's kernel (notebook, probes), in the reference run (once per
batch) and in the comparison. Targets: at least 3x nbgrader's throughput at --jobs 2 on 2 cores,
and the sandbox costing at most 1 s per submission (a few submissions graded with and without
it, one at a time).

    python bench/grading_throughput.py [--count 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

from _common import machine_info, single_threaded_math, stopwatch, table, verdict

single_threaded_math()

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from autograder import course, grading, nbgrader_steps, reference, sandbox, store  # noqa: E402

ASSIGNMENT = "a1_backprop"
TARGET_SPEEDUP = 3.0
TARGET_SANDBOX_SECONDS = 1.0


def make_submissions(folder: Path, count: int) -> dict[str, Path]:
    """A mix like a real batch: correct, one-bug variants, blank, in turn."""
    solution = nbformat.read(course.source_notebooks(ASSIGNMENT)[0], as_version=4)
    blank = course.ASSIGNMENTS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    mutations = json.loads((ROOT / "tests" / "mutations" / f"{ASSIGNMENT}.json").read_text())
    folder.mkdir(parents=True)
    for index in range(count):
        target = folder / f"student{index:03d}.ipynb"
        kind = index % (len(mutations) + 2)
        if kind == 0:
            nbformat.write(solution, target)
        elif kind == 1:
            shutil.copyfile(blank, target)
        else:
            mutation = mutations[kind - 2]
            notebook = copy.deepcopy(solution)
            for cell in notebook.cells:
                if cell.metadata.get("nbgrader", {}).get("grade_id") == mutation["cell"]:
                    cell.source = cell.source.replace(mutation["old"], mutation["new"])
            nbformat.write(notebook, target)
    return {student: submission.notebook for student, submission in grading.collect_submissions(folder).items()}


# For nbgrader, the hidden blocks run inline as its tests do: `record` and `seed` must exist.
PROBE_SHIM = "seed = 0\n\ndef record(name, value, **how):\n    pass\n"


def plain_nbgrader(submissions: dict[str, Path], workdir: Path) -> float:
    """nbgrader's Autograde, one submission after the other, as `nbgrader autograde` runs it."""
    store.prepare(ASSIGNMENT, workdir)
    for student, notebook in submissions.items():
        target = workdir / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        submitted = nbformat.read(notebook, as_version=4)
        submitted.cells.insert(0, nbformat.v4.new_code_cell(PROBE_SHIM))
        nbformat.write(submitted, target / f"{ASSIGNMENT}.ipynb")
    with stopwatch() as elapsed:
        for student in submissions:
            nbgrader_steps.plain_autograde(workdir, ASSIGNMENT, student)
    return elapsed()


def ours(submissions: dict[str, Path], workdir: Path, jobs: int, use_sandbox: bool = True):
    """Wall time of one batch (the reference run included) and its results."""
    with stopwatch() as elapsed:
        results = grading.grade(ASSIGNMENT, submissions, workdir, progress=True, jobs=jobs, sandbox=use_sandbox,
                                force=True)
    return elapsed(), results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sandbox-sample", type=int, default=4)
    args = parser.parse_args()
    machine_info("grading throughput: nbgrader autograde vs autograder grade")
    sandbox.check_available()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        scratch = Path(scratch)
        submissions = make_submissions(scratch / "submissions", args.count)
        plain = plain_nbgrader(submissions, scratch / "plain")
        parallel, results = ours(submissions, scratch / "ours", args.jobs)
        reference_seconds = _reference_seconds(scratch / "ours")
        sample = dict(list(submissions.items())[:args.sandbox_sample])
        sandboxed, _ = ours(sample, scratch / "sandboxed", jobs=1)
        unsandboxed, _ = ours(sample, scratch / "unsandboxed", jobs=1, use_sandbox=False)
    count = len(submissions)
    table(["submission", "score", "kernel s", "notebook s", "probes s", "comparison s"],
          [[r.student, r.score, r.seconds, r.notebook_seconds, r.probe_seconds, r.judge_seconds] for r in results],
          title="per submission (the reference run, once per batch: "
                f"{reference_seconds.get('total', float('nan')):.1f} s)")
    overhead = (sandboxed - unsandboxed) / len(sample)
    table(["grader", "submissions", "wall s", "s per submission"], [
        ["nbgrader autograde, sequential", count, plain, plain / count],
        [f"autograder grade --jobs {args.jobs}", count, parallel, parallel / count],
        ["autograder, 1 job, sandbox", len(sample), sandboxed, sandboxed / len(sample)],
        ["autograder, 1 job, --no-sandbox", len(sample), unsandboxed, unsandboxed / len(sample)],
    ])
    speedup = plain / parallel
    print(verdict(f"speed-up with --jobs {args.jobs}", speedup >= TARGET_SPEEDUP,
                  f"{speedup:.2f}x (target >= {TARGET_SPEEDUP}x)"))
    print(verdict("sandbox overhead", overhead <= TARGET_SANDBOX_SECONDS,
                  f"{overhead:+.2f} s per submission (target <= {TARGET_SANDBOX_SECONDS:.0f} s)"))


def _reference_seconds(workdir: Path) -> dict:
    keys = [path.name for path in (workdir / "reference").iterdir()] if (workdir / "reference").is_dir() else []
    return reference.timings(workdir, keys[0]) if keys else {}


if __name__ == "__main__":
    main()
