"""Grading throughput: plain sequential ``nbgrader autograde`` against ``autograder grade --jobs 2``.

40 submissions of Assignment 1 (correct, one-bug variants from tests/mutations, blank) are graded
twice in one run: one after the other by nbgrader's own Autograde (no sandbox, no checks), and
by the course's autograder with two workers, each kernel sandboxed and checked. Targets (issue
#9): at least 1.8x faster on 2 cores, and the sandbox costing at most 1 s per submission
(measured by grading a few submissions with and without it, one at a time).

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

from autograder import course, grading, nbgrader_steps, sandbox  # noqa: E402

ASSIGNMENT = "a1_backprop"
TARGET_SPEEDUP = 1.8
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
    return grading.collect_submissions(folder)


def plain_nbgrader(submissions: dict[str, Path], workdir: Path) -> float:
    """nbgrader's Autograde, one submission after the other, as `nbgrader autograde` runs it."""
    grading.prepare_workdir(ASSIGNMENT, workdir)
    for student, notebook in submissions.items():
        target = workdir / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        shutil.copyfile(notebook, target / f"{ASSIGNMENT}.ipynb")
    with stopwatch() as elapsed:
        for student in submissions:
            nbgrader_steps.autograde(workdir, ASSIGNMENT, student)
    return elapsed()


def ours(submissions: dict[str, Path], workdir: Path, jobs: int, use_sandbox: bool = True) -> float:
    with stopwatch() as elapsed:
        grading.grade(ASSIGNMENT, submissions, workdir, progress=True, jobs=jobs, sandbox=use_sandbox, force=True)
    return elapsed()


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
        parallel = ours(submissions, scratch / "ours", args.jobs)
        sample = dict(list(submissions.items())[:args.sandbox_sample])
        sandboxed = ours(sample, scratch / "sandboxed", jobs=1)
        unsandboxed = ours(sample, scratch / "unsandboxed", jobs=1, use_sandbox=False)
    count = len(submissions)
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


if __name__ == "__main__":
    main()
