"""The book's build time, cold (empty output folder, no execution cache) and warm (the same
folder built again: every page comes from the cache), side by side in one run.

Syllabus targets (README, "The two commands"): the book builds with every page executed on a
laptop CPU, and "a second run is fast": only pages whose code changed execute again. Here the
warm build must take at most a quarter of the cold one (each page a few minutes at most cold).
Both builds run `make book`'s command (warnings are errors) into a temporary ``--path-output``,
so the repository's own _build/ and its cache are left alone.

    python bench/book_build.py           # the whole table of contents
    python bench/book_build.py --quick   # the intro page only (its links to the other pages
                                         # then warn, so warnings are not errors there)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from _common import machine_info, single_threaded_math, table, verdict

single_threaded_math()

ROOT = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"
MAX_WARM_FRACTION = 0.25


def build(output: Path, toc: Path, strict: bool) -> tuple[float, int, str]:
    """Build into ``output``; return (wall seconds, pages executed, log tail)."""
    command = [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(output), "--toc", str(toc)]
    if strict:  # the intro alone links to pages left out of a --quick build: not an error there
        command += ["--warningiserror", "--keep-going"]
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "")})
    seconds = time.perf_counter() - start
    log = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise SystemExit(f"the book did not build:\n{log[-4000:]}")
    executed = log.count("Executed notebook in ")
    return seconds, executed, log


def pages(toc: dict) -> list[str]:
    found = [toc["root"]]
    for part in toc.get("parts", []):
        found += [chapter["file"] for chapter in part.get("chapters", [])]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="build the intro page only")
    args = parser.parse_args()
    machine_info("Book build, cold and warm (jupyter-book, warnings as errors)")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    if args.quick:
        toc = {"format": "jb-book", "root": toc["root"]}
    with tempfile.TemporaryDirectory(prefix="cnnbook-bench-book-") as scratch:
        toc_path = Path(scratch) / "_toc.yml"
        toc_path.write_text(yaml.safe_dump(toc))
        output = Path(scratch) / "out"
        code_pages = [p for p in pages(toc) if "code-cell" in (ROOT / f"{p}.md").read_text()]
        print(f"pages: {len(pages(toc))} ({len(code_pages)} with code): {', '.join(pages(toc))}\n")
        cold, cold_executed, _ = build(output, toc_path, strict=not args.quick)
        warm, warm_executed, _ = build(output, toc_path, strict=not args.quick)
    table(["build", "wall s", "pages executed", "per page s"],
          [["cold (no cache)", cold, cold_executed, cold / max(len(pages(toc)), 1)],
           ["warm (cached)", warm, warm_executed, warm / max(len(pages(toc)), 1)]])
    fraction = warm / cold
    print(f"warm / cold: {fraction:.2f} ({cold / warm:.1f}x faster)\n")
    met = fraction <= MAX_WARM_FRACTION or not code_pages
    print(verdict("second build is fast (warm <= 25% of cold)", met,
                  f"{fraction:.0%}" + ("" if code_pages else " (no executable page: nothing to cache; --quick)")))
    print(verdict("warm build executes no page", warm_executed == 0, f"{warm_executed} executed"))
    return 0 if met and warm_executed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
