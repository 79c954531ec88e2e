"""Write the student bundle: the student repository (tools/student_repo.py) as one archive, for
students who get the course as a download rather than from the public repository.

    python tools/student_bundle.py [OUT.tar.gz]      (default dist/cnn-course-student.tar.gz)

The archive unpacks into one folder, ``cnn-course-student/``, holding exactly the files of
``dist/student-repo`` (see tools/student_repo.py for the list): the released assignments, the
``cnnbook`` library, the chapters, the install files and the student README; nothing from
``solutions/``, ``autograder/``, ``tests/``, ``bench/`` or ``tools/``. The archive is
reproducible: the same sources give the same bytes (sorted entries, fixed times and owners).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tarfile
from pathlib import Path

from student_repo import ROOT, student_repository_files

TOP = "cnn-course-student"
DEFAULT_OUTPUT = ROOT / "dist" / f"{TOP}.tar.gz"


def write_bundle(output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the bundle as a reproducible ``.tar.gz`` and return its path."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in student_repository_files().items():
            info = tarfile.TarInfo(f"{TOP}/{name}")
            info.size, info.mode, info.mtime = len(content), 0o644, 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    with open(output, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as compressed:
        compressed.write(buffer.getvalue())
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT,
                        help=f"archive to write (default {DEFAULT_OUTPUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    path = write_bundle(args.output)
    with tarfile.open(path) as tar:
        count = len(tar.getmembers())
    print(f"wrote {path} ({count} files, {path.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
