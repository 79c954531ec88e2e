"""Every instructor notebook (solutions/*/*.ipynb), hidden tests included, run end to end.

Syllabus targets: each assignment runs from a fresh kernel on a laptop CPU in about a minute
(Assignment 1: "less than a minute"; Assignment 2: "about a minute"), well inside the grader's
limit of 300 s per cell. Each notebook runs as the autograder runs it: nbclient, a fresh
``python3`` kernel, CPU only (``CUDA_VISIBLE_DEVICES=""``), one BLAS/OpenMP thread, in a scratch
copy of its folder so nothing is written into the repository.

    python bench/notebooks.py            # every assignment
    python bench/notebooks.py a1_backprop
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import machine_info, single_threaded_math, table, verdict

single_threaded_math()
os.environ["CUDA_VISIBLE_DEVICES"] = ""  # CPU mode, as on a student's laptop
os.environ.setdefault("CNNBOOK_OFFLINE", "1")

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 300  # the grader's per-cell limit (autograder/nbgrader_config.py)
TARGET_SECONDS = 60.0  # "about a minute" / "less than a minute" on a laptop
SLACK = 1.5  # a shared or older machine may be this much slower and still meet "about a minute"


def run_notebook(path: Path) -> tuple[float, float, str, int]:
    """Execute a copy of ``path``; return (wall seconds, slowest cell seconds, its id, cells run)."""
    with tempfile.TemporaryDirectory(prefix="cnnbook-bench-nb-") as scratch:
        work = Path(scratch) / path.parent.name
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        notebook = nbformat.read(work / path.name, as_version=4)
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        cell_times: list[tuple[float, str]] = []
        original = client.async_execute_cell

        async def timed(cell, index, *args, **kwargs):
            start = time.perf_counter()
            try:
                return await original(cell, index, *args, **kwargs)
            finally:
                name = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
                cell_times.append((time.perf_counter() - start, name))

        client.async_execute_cell = timed
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    slowest = max(cell_times) if cell_times else (0.0, "-")
    return seconds, slowest[0], slowest[1], len(cell_times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment folders (default: all of solutions/)")
    args = parser.parse_args()
    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    if args.assignments:
        notebooks = [p for p in notebooks if p.parent.name in args.assignments
                     or p.parent.name.split("_")[0] in args.assignments]
    if not notebooks:
        print("no instructor notebook found")
        return 1
    machine_info("Instructor notebooks end to end (nbclient, CPU, one thread)")
    rows, failures = [], []
    for path in notebooks:
        try:
            seconds, slowest, slowest_cell, cells = run_notebook(path)
            rows.append([path.relative_to(ROOT).as_posix(), cells, seconds, slowest, slowest_cell, "ok"])
        except CellExecutionError as error:
            failures.append(path)
            rows.append([path.relative_to(ROOT).as_posix(), None, None, None, "-",
                         "FAILED: " + str(error).strip().splitlines()[-1][:80]])
        print(f"  {rows[-1][0]}: {rows[-1][5]}", file=sys.stderr)
    table(["notebook", "cells", "wall s", "slowest cell s", "slowest cell", "status"], rows)
    total = sum(row[2] for row in rows if row[2] is not None)
    print(f"total {total:.1f} s for {len(rows)} notebooks; kernel start-up included in each\n")
    for row in rows:
        if row[2] is None:
            print(verdict(f"{row[0]} runs end to end", False, row[5]))
            continue
        print(verdict(f"{row[0]} in about a minute (<= {SLACK * TARGET_SECONDS:.0f} s here)",
                      row[2] <= SLACK * TARGET_SECONDS,
                      f"{row[2]:.1f} s = {row[2] / TARGET_SECONDS:.2f}x the minute"))
        print(verdict(f"{row[0]} every cell within the grader's {CELL_TIMEOUT} s", row[3] < CELL_TIMEOUT,
                      f"slowest {row[4]} {row[3]:.1f} s = {row[3] / CELL_TIMEOUT:.2f}x the limit"))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
