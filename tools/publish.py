"""Publish the course: the site and the student repository, generated from this instructor repository.

    make publish                               builds the book with the local MathJax, then runs:
    python tools/publish.py [--dest DIR]       writes DIR/site and DIR/student-repo (default dist/)
    python tools/publish.py --no-site          the student repository only (no built book needed)

``DIR/site/`` is the built book (``_build/html``, or ``--site-from``), ready for any static host.
Its MathJax must be served from the site itself (``make book CNNBOOK_LOCAL_MATHJAX=1``, which
``make publish`` runs), so the math renders without a CDN; a book that loads it from a CDN is
refused unless ``--allow-cdn-mathjax`` (for checking the content of an ordinary build only).

``DIR/student-repo/`` is a git-ready tree for the public student repository: exactly the files of
tools/student_repo.py (the released assignments, ``cnnbook``, the chapters, the install files and
the student README), so nothing from ``solutions/``, ``autograder/``, ``tests/`` or ``tools/``.

The public repository's address is ``repository: url:`` in ``_config.yml``: the site's launch,
download and repository buttons are built from it, and in both trees every install cell that names
this instructor repository names it instead. Both folders are replaced as a whole on each run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from student_repo import ROOT, published_bytes, student_repository, student_repository_files

DEFAULT_DEST = ROOT / "dist"
DEFAULT_SITE_FROM = ROOT / "_build" / "html"
LOCAL_MATHJAX = Path("_static") / "mathjax" / "tex-mml-chtml.js"  # where tools/local_mathjax.py puts it
CDN_MATHJAX = "cdn.jsdelivr.net/npm/mathjax"
# Sphinx's own bookkeeping, of no use on a web server.
SITE_SKIP = {".buildinfo", ".doctrees"}


class PublishError(SystemExit):
    """What stops a publication, with what to do about it."""


def site_files(built: Path, allow_cdn_mathjax: bool = False) -> dict[str, bytes]:
    """The files of the site: path -> content, from the built book in ``built``."""
    if not (built / "index.html").is_file():
        raise PublishError(f"no built book in {built}: run `make publish` (it builds the book first), "
                           "or pass --no-site to write the student repository alone")
    cdn_pages = [page.relative_to(built).as_posix() for page in sorted(built.rglob("*.html"))
                 if CDN_MATHJAX in page.read_text(errors="replace")]
    if not allow_cdn_mathjax and (cdn_pages or not (built / LOCAL_MATHJAX).is_file()):
        raise PublishError(f"the book in {built} loads MathJax from a CDN ({len(cdn_pages)} pages, "
                           f"e.g. {cdn_pages[:1]}), so its math would not render offline: build it with "
                           "`make book CNNBOOK_LOCAL_MATHJAX=1` (`make publish` does)")
    files = {}
    for path in sorted(built.rglob("*")):
        relative = path.relative_to(built)
        if path.is_file() and not SITE_SKIP.intersection(relative.parts):
            files[relative.as_posix()] = published_bytes(path, path.read_bytes())
    return files


def write_tree(files: dict[str, bytes], folder: Path) -> Path:
    """Replace ``folder`` with exactly ``files``."""
    if folder.exists():
        shutil.rmtree(folder)
    for name, content in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


def publish(dest: Path = DEFAULT_DEST, site_from: Path | None = DEFAULT_SITE_FROM,
            allow_cdn_mathjax: bool = False) -> dict[str, Path]:
    """Write ``dest/student-repo`` and, unless ``site_from`` is None, ``dest/site``."""
    written = {}
    if site_from is not None:  # checked first: a refused site leaves nothing half-written
        site = site_files(Path(site_from), allow_cdn_mathjax)
        written["site"] = write_tree(site, Path(dest) / "site")
    written["student-repo"] = write_tree(student_repository_files(), Path(dest) / "student-repo")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST,
                        help=f"folder to write site/ and student-repo/ into (default {DEFAULT_DEST.relative_to(ROOT)})")
    parser.add_argument("--site-from", type=Path, default=DEFAULT_SITE_FROM,
                        help=f"the built book (default {DEFAULT_SITE_FROM.relative_to(ROOT)})")
    parser.add_argument("--no-site", action="store_true", help="write the student repository only")
    parser.add_argument("--allow-cdn-mathjax", action="store_true",
                        help="accept a book built without the local MathJax (to check its content; never to publish it)")
    args = parser.parse_args(argv)
    written = publish(args.dest, None if args.no_site else args.site_from, args.allow_cdn_mathjax)
    url, branch = student_repository()
    for name, folder in written.items():
        count = sum(1 for path in folder.rglob("*") if path.is_file())
        print(f"{name}: {folder} ({count} files)")
    if "site" not in written:
        print("site: not written (--no-site)")
    print(f"student repository: {url} (branch {branch}); push student-repo/ there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
