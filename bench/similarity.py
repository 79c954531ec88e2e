"""Similarity check at the size of a class: 300 submissions of Assignment 1, every pair compared.

The submissions are built from tests/similarity_cohort.py: each student answers each cell in
one of up to four independent styles (the instructor's solution and three others; the net and
the training loop only the solution's way) or leaves it blank, and about half of them then
disguise their notebook (variables renamed, functions reordered, comments rewritten); one in
ten copies a classmate's whole notebook and disguises it. With so few answers to draw from,
two students often hand in the very same answer to most cells: thousands of pairs are flagged,
as they should be, and the page shows the first 100. The whole command is timed as a TA runs
it (reading the work directory's notebooks, taking out the release's text, fingerprinting,
comparing the 44,850 pairs, writing the page and the CSV), with --jobs 2. Target: under a
minute on 2 cores.

    python bench/similarity.py [--count 300] [--jobs 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from _common import machine_info, single_threaded_math, stopwatch, table, verdict

single_threaded_math()

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import nbformat  # noqa: E402
import similarity_cohort as cohort  # noqa: E402
from tqdm import tqdm  # noqa: E402

from autograder import similarity, similarity_page  # noqa: E402

TARGET_SECONDS = 60.0
BLANK_SHARE = 0.1       # of the answer cells left as released
DISGUISED_SHARE = 0.5   # of the students who disguise their notebook
COPIER_SHARE = 0.1      # of the students who copy a classmate's whole notebook, disguised


def make_workdir(workdir: Path, count: int, seed: int = 0) -> None:
    """A grading work directory holding ``count`` submitted notebooks and the release."""
    rng = random.Random(seed)
    release = cohort.release_notebook()
    name = f"{cohort.ASSIGNMENT}.ipynb"
    (workdir / "assignments" / cohort.ASSIGNMENT).mkdir(parents=True)
    nbformat.write(release, workdir / "assignments" / cohort.ASSIGNMENT / name)
    built = []
    for index in tqdm(range(count), desc="building submissions", unit="notebook"):
        if built and rng.random() < COPIER_SHARE:
            notebook = cohort.disguise(rng.choice(built), seed=rng.randrange(2**31))
        else:
            choice = {}
            for grade_id in cohort.answer_cells(release):
                styles = ["solution"] + [style for style in cohort.STYLES if grade_id in cohort.ANSWERS[style]]
                if rng.random() >= BLANK_SHARE:
                    choice[grade_id] = rng.choice(styles)
            notebook = cohort.student_notebook(choice)
            if rng.random() < DISGUISED_SHARE:
                notebook = cohort.disguise(notebook, seed=rng.randrange(2**31))
        built.append(notebook)
        folder = workdir / "submitted" / f"student{index:03d}" / cohort.ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    machine_info(f"similarity check: {args.count} submissions of {cohort.ASSIGNMENT}, --jobs {args.jobs}")
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as scratch:
        workdir = Path(scratch)
        make_workdir(workdir, args.count)
        with stopwatch() as total:
            with stopwatch() as reading:
                answers = similarity.submitted_answers(cohort.ASSIGNMENT, workdir)
            with stopwatch() as comparing:
                comparison = similarity.compare(answers, jobs=args.jobs)
            with stopwatch() as writing:
                page = similarity_page.write_page(comparison, workdir / "similarity.html", cohort.ASSIGNMENT)
                similarity_page.write_csv(comparison, workdir / "similarity.csv")
            page_kib = page.stat().st_size / 1024
    pairs = len(comparison.scores)
    table(["stage", "seconds"], [["read notebooks, take out the release", reading()],
                                 ["fingerprint and compare every pair", comparing()],
                                 [f"write page ({page_kib:.0f} KiB) and CSV", writing()],
                                 ["total", total()]])
    table(["submissions", "pairs", "pairs per s", f"pairs >= {similarity.THRESHOLD:.0%}"],
          [[len(answers), pairs, pairs / comparing(), len(comparison.matches)]])
    met = total() < TARGET_SECONDS
    print(verdict(f"{args.count} submissions compared with --jobs {args.jobs}", met,
                  f"{total():.1f} s (target < {TARGET_SECONDS:.0f} s)"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
