"""What every benchmark prints: the machine it ran on and its results as a small table.

Imported by the scripts of bench/ (``from _common import ...``: Python puts a script's own folder
first on the path). Running this file does nothing.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from contextlib import contextmanager

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
