"""What every benchmark prints: the machine it ran on and its results as a small table.

Imported by the scripts of bench/ (``from _common import ...``: Python puts a script's own folder
first on the path). Running this file does nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_math() -> None:
    """One BLAS/OpenMP thread unless the environment says otherwise, as in the grading kernels.
    Call it before NumPy or torch is imported (they read these variables when they load)."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")


def machine_info(title: str) -> None:
    """Print the benchmark's title and what its numbers depend on."""
    versions = [f"python {platform.python_version()}"]
    for module in ("numpy", "torch"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            versions.append(f"{module} (not installed)")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = ", ".join(f"{name}={os.environ.get(name, 'unset')}" for name in THREAD_VARIABLES)
    load = "load average %.2f %.2f %.2f" % os.getloadavg() if hasattr(os, "getloadavg") else ""
    print(f"== {title}")
    print(f"machine: {platform.machine()} {platform.system()} {platform.release()}, "
          f"{os.cpu_count()} CPUs ({affinity} usable); {load}")
    print(f"cpu: {_cpu_model()}")
    print(f"versions: {', '.join(versions)}")
    print(f"threads: {threads}")
    print(f"interpreter: {sys.executable}")
    print()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def table(headers: list[str], rows: list[list], title: str | None = None) -> None:
    """Print rows under headers, columns aligned (numbers to the right)."""
    cells = [[_format(value) for value in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(str(h))
              for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows
               for i in range(len(headers))]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    if title:
        print(title)
    print(line([str(h) for h in headers]))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))
    print()


def _format(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def verdict(name: str, met: bool, detail: str) -> str:
    """One line per syllabus target: ``MET``/``MISSED``, the target, what was measured."""
    return f"[{'MET' if met else 'MISSED'}] {name}: {detail}"


@contextmanager
def stopwatch():
    """``with stopwatch() as elapsed: ...`` then ``elapsed()`` gives the seconds spent inside."""
    start = time.perf_counter()
    end = None

    def elapsed() -> float:
        return (end if end is not None else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


def add_test_dir_option(parser: argparse.ArgumentParser) -> None:
    """``--test-dir DIR``: also score the trained model on the real MNIST test files in DIR."""
    parser.add_argument("--test-dir", type=Path, metavar="DIR",
                        help="a directory holding MNIST's test files t10k-images-idx3-ubyte and "
                             "t10k-labels-idx1-ubyte (gzipped or not): the model is also scored on these "
                             "10,000 digits, by writers none of the training digits come from")


def mnist_test_set_or_exit(directory: Path | None, flatten: bool = False):
    """``(images, labels)`` read by :func:`cnnbook.data.mnist_test_set`, ``None`` without ``--test-dir``.

    Read before training, so that a missing or wrong file stops the benchmark at once, with the
    reader's message (which file, which directory), instead of after minutes of training.
    """
    if directory is None:
        return None
    from cnnbook.data import DatasetUnavailable, mnist_test_set

    try:
        return mnist_test_set(directory, flatten=flatten)
    except (DatasetUnavailable, ValueError) as error:
        raise SystemExit(f"--test-dir: {error}") from None


def held_out_and_test_table(rows: list[tuple[str, float, float]], test_count: int) -> None:
    """One row per trained model: its accuracy on the packaged held-out 1,000 and on MNIST's test set.

    The held-out digits share writers with the training digits, the test digits do not: the gap
    says how much the held-out number overstates generalization to new writers.
    """
    table(["model", "held-out acc (packaged 1,000)", f"MNIST test acc ({test_count:,})", "gap (points)"],
          [[name, f"{held_out:.2%}", f"{test:.2%}", f"{100 * (held_out - test):+.2f}"]
           for name, held_out, test in rows])


RESULTS_DIR = Path(__file__).resolve().parent / "results"


def save_results(name: str, values: dict, note: str = "", merge: bool = False) -> Path:
    """Write a benchmark's headline figures to ``bench/results/NAME.json``, with the machine and
    date they were measured on. The notebooks and chapters quote these files (never a typed
    number), and ``tests/test_stated_numbers.py`` checks that every quoted figure matches.
    With ``merge``, values already in the file and not measured now are kept (a run of some of
    the notebooks updates theirs only)."""
    import json

    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    if merge and path.exists():
        values = {**json.loads(path.read_text())["values"], **values}
    record = {"values": values, "note": note, "measured": time.strftime("%Y-%m-%d"),
              "machine": f"{os.cpu_count()} CPUs, {_cpu_model()}",
              "threads": {name_: os.environ.get(name_, "unset") for name_ in THREAD_VARIABLES},
              "load_average": [round(load, 2) for load in os.getloadavg()] if hasattr(os, "getloadavg") else None}
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"results written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path


# ---------------------------------------------------------------- MNIST recipes over seeds

def seed_spread(values) -> tuple[float, float]:
    """Mean and standard deviation across seeds (0 for a single seed)."""
    import numpy as np  # here: a benchmark sets its thread count before NumPy loads

    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def report_seeds(model: str, held_out: list[float], without_copies: list[float], seconds: list[float],
                 tested: list[float], test_count: int | None) -> None:
    """Print a recipe's held-out accuracy over seeds (mean, spread, range, without the distorted
    copies) and, when the test files were given, each seed's held-out and test accuracy."""
    mean, std = seed_spread(held_out)
    print(f"held-out accuracy over {len(held_out)} seed(s): {mean:.2%} +/- {std:.2%} "
          f"(min {min(held_out):.2%}, max {max(held_out):.2%}); training {sum(seconds) / len(seconds):.1f} s per seed; "
          f"{sum(without_copies) / len(without_copies):.2%} without the distorted copies\n")
    if tested:
        held_out_and_test_table([(f"seed {seed}: {model} trained on mnist_subset", h, t)
                                 for seed, (h, t) in enumerate(zip(held_out, tested))]
                                + [(f"mean: {model} trained on mnist_subset", mean, sum(tested) / len(tested))],
                                test_count)


def save_seed_results(name: str, assignment: int, held_out: list[float], without_copies: list[float],
                      seconds: list[float], tested: list[float], test_count: int | None, *,
                      epochs: int, recipe_epochs: int, recipe_seeds: int,
                      target_held_out: float, target_test: float, digits: int) -> int:
    """Save a recipe's figures (bench/results/NAME.json) and print its verdicts: every seed's
    held-out accuracy against the notebook's target, the test mean against the course's. A run
    shorter than the recipe (fewer epochs or seeds) saves and judges nothing. Returns the exit
    status (1 when a seed misses the notebook's target)."""
    if epochs < recipe_epochs or len(held_out) < recipe_seeds:
        print(f"[INFO] {epochs} epoch(s) and {len(held_out)} seed(s) instead of the recipe's "
              f"{recipe_epochs} and {recipe_seeds}: no verdict, no results file")
        return 0
    mean, std = seed_spread(held_out)
    values = {"held_out_mean_percent": 100 * mean, "held_out_std_percent": 100 * std,
              "held_out_min_percent": 100 * min(held_out), "held_out_max_percent": 100 * max(held_out),
              "held_out_without_copies_percent": 100 * sum(without_copies) / len(without_copies),
              "train_seconds_mean": sum(seconds) / len(seconds), "seeds": len(held_out)}
    if tested:
        values.update(test_mean_percent=100 * seed_spread(tested)[0], test_std_percent=100 * seed_spread(tested)[1],
                      test_count=test_count)
    save_results(name, values, note=f"Assignment {assignment}'s recipe on mnist_subset, seeds 0 to "
                 f"{len(held_out) - 1}, one thread; accuracies in percent; held_out_without_copies_percent: "
                 "the same recipe trained on the 4,000 digits alone")
    print(verdict(f"A{assignment} held-out accuracy >= {target_held_out:.{digits}%} in every seed (the notebook's target)",
                  min(held_out) >= target_held_out, f"lowest {min(held_out):.2%}, mean {mean:.2%}"))
    if tested:
        test_mean, test_std = seed_spread(tested)
        print(verdict(f"A{assignment} MNIST test accuracy >= {target_test:.{digits}%}, mean of {len(tested)} seeds",
                      test_mean >= target_test, f"{test_mean:.2%} +/- {test_std:.2%}"))
    return 0 if min(held_out) >= target_held_out else 1
