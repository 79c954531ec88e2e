"""Execute one chapter of the book on its own, as the book build would, and report each slow cell.

    python tools/run_page.py book/ch06_lenet_alexnet.md [--save executed.ipynb] [--threads 1]

For an author working on one page: it runs the page's code cells in a fresh kernel from the
``book/`` folder (as Jupyter Book does), stops at the first error and shows it, and prints the time
of every cell over two seconds. It does not touch ``_build/`` nor check the page's ``{glue}``
references: ``make book`` does both.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from myst_nb.core.read import read_myst_markdown_notebook  # the book's own reader
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

SLOW_CELL_S = 2.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", type=Path, help="a chapter's MyST Markdown source")
    parser.add_argument("--save", type=Path, help="write the executed notebook here")
    parser.add_argument("--threads", type=int, default=1, help="math threads (the book build uses 1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    args = parser.parse_args(argv)

    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(args.threads)
    notebook = read_myst_markdown_notebook(args.page.read_text())
    client = NotebookClient(notebook, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(args.page.resolve().parent)}})
    started = time.perf_counter()
    failed = None
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            cell_started = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as error:
                failed = error
                print(f"cell {index} failed:\n{error}", file=sys.stderr)
                break
            seconds = time.perf_counter() - cell_started
            if seconds > SLOW_CELL_S:
                first_line = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
                print(f"cell {index:3d}: {seconds:6.1f} s  {first_line}")
    print(f"{args.page.name}: {'FAILED' if failed else 'ok'} in {time.perf_counter() - started:.0f} s")
    if args.save:
        nbformat.write(notebook, args.save)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
