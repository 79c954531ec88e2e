"""Every instructor notebook (solutions/*/*.ipynb) run end to end on 2 cores, then its hidden checks.

Syllabus targets: each solution notebook runs from a fresh kernel in **at most 3 minutes on 2 CPU
cores**, every cell included (those tagged ``skip-when-grading`` too: a student runs them), and
every cell that runs longer than 10 s shows a progress bar. The cells that run when grading
stay within the grader's per-cell limit (``cell_timeout`` of ``autograder/course.toml``).

Each notebook runs as a student with a complete solution runs it on a 2-core laptop: the
solution without its hidden blocks (what the release plus the answers is), nbclient, a fresh
``python3`` kernel, CPU only (``CUDA_VISIBLE_DEVICES=""``), this process and the kernel pinned
to ``--cores`` cores with as many BLAS/OpenMP threads, in a scratch copy of its folder so nothing
is written into the repository. Then the hidden checks run in the same kernel, one request per
graded part as the grader sends them (seed 0), timed apart: they are the grader's time, not the
student's. A cell may run far over the target (it is measured, not stopped) up to
``--cell-timeout`` seconds.

    python bench/notebooks.py                        # every assignment
    python bench/notebooks.py a6_transfer a8         # some (folder name or its aN prefix)
    python bench/notebooks.py --cores 1 a1_backprop  # as one grading worker runs it
    python bench/notebooks.py --busy 1 a6            # with another program keeping one core busy
    python bench/notebooks.py --cells a8             # the time of every code cell
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import THREAD_VARIABLES, machine_info, save_results, table, verdict
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder import course  # noqa: E402
from autograder import records  # noqa: E402
from autograder.probes import MIME, probe_request, probes, without_hidden_blocks  # noqa: E402

PROBE_SEED = 0

TARGET_SECONDS = 180.0  # "at most 3 minutes on 2 CPU cores", every cell included
PROGRESS_AFTER_SECONDS = 10.0  # a cell longer than this shows a progress bar
SKIP_TAG = "skip-when-grading"
# What a tqdm bar leaves in a cell's outputs: a widget (tqdm.auto in Jupyter) or text such as
# "training: 100%|#####| 20/20 [00:04<00:00, 4.9epoch/s]" (tqdm without widgets).
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TEXT_BAR = re.compile(r"\d+%\|.*\| *\d+/\d+ \[")


def pin_to_cores(cores: int) -> int:
    """Run this process and the kernels it starts on ``cores`` cores, with as many math threads.

    Returns the number of cores actually used (fewer when the machine has fewer). The variables
    are set before any kernel starts (kernels inherit them and the affinity).
    """
    usable = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count()))
    chosen = usable[:cores]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, chosen)
    for name in THREAD_VARIABLES:
        os.environ[name] = str(len(chosen))
    return len(chosen)


def start_busy_programs(count: int) -> list[subprocess.Popen]:
    """``count`` processes that keep a core busy each (on the cores this process is pinned to),
    as a browser or another program does beside a student's notebook."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def shows_progress_bar(cell) -> bool:
    """Whether a cell's outputs hold a tqdm bar (a widget, or a bar written as text)."""
    for output in cell.get("outputs", []):
        if WIDGET_MIME in output.get("data", {}):
            return True
        text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
        if TEXT_BAR.search(text if isinstance(text, str) else "".join(text)):
            return True
    return False


def check_problem(cell) -> str | None:
    """What went wrong in a hidden check's cell (it raised, or recorded nothing), or None."""
    sent = [output["data"][MIME] for output in cell.get("outputs", []) if MIME in output.get("data", {})]
    if not sent:
        return "sent no records"
    try:
        recorded = records.parse(base64.b64decode(sent[-1]))
    except records.UnreadableRecords as error:
        return f"unreadable records ({error})"
    if recorded.error:
        return f"raised {recorded.error}: {recorded.trace.strip().splitlines()[-1][:100]}"
    return None if recorded.values else "recorded nothing"


def run_notebook(path: Path, cell_timeout: float) -> tuple[float, float, list[dict], list[str]]:
    """Execute a copy of ``path`` without its hidden blocks, then its hidden checks.

    Returns the notebook's wall seconds (kernel start-up included), the hidden checks' seconds,
    per code cell of the notebook its name, seconds, whether it is tagged skip-when-grading and
    whether it showed a progress bar, and what went wrong in hidden checks ("part: problem").
    """
    with tempfile.TemporaryDirectory(prefix="cnnbook-bench-nb-") as scratch:
        work = Path(scratch) / path.parent.name
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        notebook = nbformat.read(work / path.name, as_version=4)
        checks = probes(notebook)
        notebook = without_hidden_blocks(notebook)
        student_cells = len(notebook.cells)
        notebook.cells += [nbformat.v4.new_code_cell(probe_request(part, source, PROBE_SEED),
                                                     metadata={"nbgrader": {"grade_id": f"hidden check {part}"}})
                           for part, source in checks.items()]
        client = NotebookClient(notebook, timeout=cell_timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        cells: list[dict] = []
        checks_start: list[float] = []
        original = client.async_execute_cell

        async def timed(cell, index, *args, **kwargs):
            start = time.perf_counter()
            if index == student_cells:
                checks_start.append(start)
            try:
                return await original(cell, index, *args, **kwargs)
            finally:
                if cell.cell_type == "code":
                    cells.append({"index": index,
                                  "name": cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}"),
                                  "seconds": time.perf_counter() - start, "cell": cell,
                                  "skipped_when_grading": SKIP_TAG in cell.metadata.get("tags", [])})

        client.async_execute_cell = timed
        start = time.perf_counter()
        client.execute()
        end = time.perf_counter()
    notebook_end = checks_start[0] if checks_start else end
    problems = [f"{part}: {problem}" for part, cell in zip(checks, notebook.cells[student_cells:])
                if (problem := check_problem(cell))]
    for entry in cells:
        entry["progress_bar"] = shows_progress_bar(entry.pop("cell"))
    return (notebook_end - start, end - notebook_end, [entry for entry in cells if entry["index"] < student_cells],
            problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="*", help="assignment folders or their aN prefix (default: all)")
    parser.add_argument("--cores", type=int, default=2, help="cores the notebooks run on (default 2)")
    parser.add_argument("--busy", type=int, default=0, metavar="N",
                        help="keep N of those cores busy with other programs while the notebooks run")
    parser.add_argument("--cells", action="store_true", help="print the time of every code cell")
    parser.add_argument("--cell-timeout", type=float, default=1800.0,
                        help="seconds after which a cell is stopped and its notebook counted as failed")
    args = parser.parse_args()
    cores = pin_to_cores(args.cores)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # CPU mode, as on a student's laptop
    os.environ.setdefault("CNNBOOK_OFFLINE", "1")

    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    if args.assignments:
        notebooks = [p for p in notebooks if p.parent.name in args.assignments
                     or p.parent.name.split("_")[0] in args.assignments]
    if not notebooks:
        print(f"no instructor notebook matches {' '.join(args.assignments) or 'solutions/*/*.ipynb'}")
        return 1
    busy_note = f", {args.busy} of them kept busy by other programs" if args.busy else ""
    machine_info(f"Instructor notebooks end to end (nbclient, CPU, {cores} cores and math threads{busy_note})")
    if cores < args.cores:
        print(f"note: only {cores} usable core(s) here, fewer than the {args.cores} asked for\n")
    busy = start_busy_programs(args.busy)
    try:
        return report(notebooks, args, cores, busy_note)
    finally:
        for program in busy:
            program.kill()
            program.wait()


def report(notebooks: list[Path], args: argparse.Namespace, cores: int, busy_note: str) -> int:
    """Run each notebook, print what was measured and the verdicts; 1 if one failed to run."""
    rows, verdicts, failed, measured = [], [], False, {}
    for path in notebooks:
        name = path.relative_to(ROOT).as_posix()
        print(f"  running {name} ...", file=sys.stderr, flush=True)
        try:
            seconds, checks_seconds, cells, check_problems = run_notebook(path, args.cell_timeout)
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
            failed = True
            reason = str(error).strip().splitlines()[-1][:100]
            rows.append([name, None, None, None, "-", None, "FAILED: " + reason])
            verdicts.append(verdict(f"{name} runs end to end", False, reason))
            continue
        slowest = max(cells, key=lambda entry: entry["seconds"])
        measured[f"{path.parent.name}_seconds"] = round(seconds)
        long_cells = [entry for entry in cells if entry["seconds"] > PROGRESS_AFTER_SECONDS]
        rows.append([name, len(cells), seconds, slowest["seconds"], slowest["name"], checks_seconds, "ok"])
        shown = cells if args.cells else long_cells
        print(f"{name}: {seconds:.1f} s; " + ("cells:" if args.cells else f"cells over {PROGRESS_AFTER_SECONDS:.0f} s:")
              + ("" if shown else " none"))
        for entry in shown:
            print(f"    {entry['name']}: {entry['seconds']:.1f} s, "
                  f"{'progress bar' if entry['progress_bar'] else 'NO progress bar'}"
                  f"{', ' + SKIP_TAG if entry['skipped_when_grading'] else ''}")
        verdicts.append(verdict(f"{name} within {TARGET_SECONDS / 60:.0f} minutes on {cores} cores{busy_note}",
                                seconds <= TARGET_SECONDS, f"{seconds:.0f} s = {seconds / TARGET_SECONDS:.2f}x"))
        silent = [entry["name"] for entry in long_cells if not entry["progress_bar"]]
        verdicts.append(verdict(f"{name} every cell over {PROGRESS_AFTER_SECONDS:.0f} s shows a progress bar",
                                not silent, f"without one: {', '.join(silent)}" if silent
                                else f"{len(long_cells)} such cell(s)"))
        failed = failed or bool(check_problems)
        verdicts.append(verdict(f"{name} hidden checks run and record", not check_problems,
                                "; ".join(check_problems) or f"{checks_seconds:.1f} s for all of them"))
        limit = course.settings(path.parent.name).limits["cell_timeout"]
        graded = max((entry for entry in cells if not entry["skipped_when_grading"]), key=lambda entry: entry["seconds"])
        verdicts.append(verdict(f"{name} every cell run when grading within the grader's {limit} s",
                                graded["seconds"] <= limit,
                                f"slowest {graded['name']} {graded['seconds']:.1f} s (the grader may use fewer cores)"))
    print()
    table(["notebook", "code cells", "wall s", "slowest cell s", "slowest cell", "hidden checks s", "status"], rows)
    total = sum(row[2] for row in rows if row[2] is not None)
    print(f"total {total:.1f} s for {len(rows)} notebooks; kernel start-up included in each\n")
    print("\n".join(verdicts))
    if measured and args.cores == 2 and not args.busy:  # the configuration the notebooks quote
        save_results("notebooks", measured, merge=True,
                     note="seconds for each solution notebook end to end on 2 CPU cores (kernel start-up included)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
