"""Publish the course: the site and the student repository, generated from this instructor repository.

    make publish [STANDINS=1]                  checks the data, builds the book with the local MathJax, then:
    python tools/publish.py [--dest DIR]       writes DIR/site and DIR/student-repo (default dist/)
    python tools/publish.py --no-site          the student repository only (no built book needed)
    python tools/publish.py --prepare-data     gets the real data sets the site runs on, or says what is missing

``DIR/site/`` is the built book (``_build/html``, or ``--site-from``), ready for any static host.
Its MathJax must be served from the site itself (``make book CNNBOOK_LOCAL_MATHJAX=1``, which
``make publish`` runs), so the math renders without a CDN; a book that loads it from a CDN is
refused unless ``--allow-cdn-mathjax`` (for checking the content of an ordinary build only).

``DIR/student-repo/`` is a git-ready tree for the public student repository: exactly the files of
tools/student_repo.py (the released assignments, ``cnnbook``, the chapters, the install files and
the student README), so nothing from ``solutions/``, ``autograder/``, ``tests/`` or ``tools/``.

The site runs on the real data sets: ``--prepare-data`` (``make publish``'s first step) downloads
CIFAR-10 and MNIST into the data cache (``cnnbook.data.data_dir()``, checked by SHA-256) when they
are not there yet, finds the staged ISBI 2012 membranes, and stops naming whatever is missing and
where to put it; the book is then built with ``CNNBOOK_STANDINS=0``, so that no page can fall back
to a stand-in, and a site in which a page still shows the stand-in note (a stale cached execution)
is refused. ``--data standins`` (``make publish STANDINS=1``) publishes on the stand-ins instead:
every page that used one says so in a note, which this script counts.

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
DATA_CHOICES = ("real", "standins")
STANDIN_NOTE_CLASS = "cnnbook-standin"  # cnnbook.data.provenance's note in a page that ran on a stand-in


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


def prepare_data(choice: str = "real") -> list[str]:
    """Make sure the real data sets are on this machine (downloading what may be downloaded);
    return their names. Raises PublishError naming each missing set and where to put it."""
    from cnnbook.data import REAL_DATASETS, data_dir, missing_real_data  # imports torch: only when needed

    if choice == "standins":
        return []
    missing = missing_real_data(REAL_DATASETS, download=True)
    if missing:
        lines = "\n".join(f"  - {name}: {message}" for name, message in missing.items())
        raise PublishError(
            f"make publish runs the book on the real data sets, and {len(missing)} of them cannot be had here:\n"
            f"{lines}\nPut the files where each line says (the data cache is {data_dir()}; CNNBOOK_DATA moves it) "
            "and run `make publish` again, or publish on the stand-ins with `make publish STANDINS=1`.")
    return list(REAL_DATASETS)


def standin_pages(site: dict[str, bytes]) -> list[str]:
    """The site's pages that say they ran on a stand-in."""
    return [name for name, content in site.items()
            if name.endswith(".html") and STANDIN_NOTE_CLASS.encode() in content]


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
            allow_cdn_mathjax: bool = False, data: str = "real") -> dict[str, Path]:
    """Write ``dest/student-repo`` and, unless ``site_from`` is None, ``dest/site``, built on the
    ``data`` sets ("real" or "standins")."""
    written = {}
    if site_from is not None:  # checked first: a refused site leaves nothing half-written
        site = site_files(Path(site_from), allow_cdn_mathjax)
        on_standins = standin_pages(site)
        if data == "real" and on_standins:
            raise PublishError(f"{len(on_standins)} pages of {site_from} ran on a stand-in ({', '.join(on_standins)}), "
                               "although this publication is on the real data: their execution was cached before "
                               "the data arrived. Run `make book-clean`, then `make publish` again")
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
    parser.add_argument("--data", choices=DATA_CHOICES, default="real",
                        help="what the book ran on: the real data sets (default; a page on a stand-in is refused) "
                             "or the stand-ins (make publish STANDINS=1)")
    parser.add_argument("--prepare-data", action="store_true",
                        help="only make sure the real data sets are here (downloading CIFAR-10 and MNIST), "
                             "or say what is missing and where to put it")
    args = parser.parse_args(argv)
    if args.prepare_data:
        names = prepare_data(args.data)
        print(f"data: {', '.join(names)} here" if names else "data: the stand-ins (STANDINS=1)")
        return 0
    written = publish(args.dest, None if args.no_site else args.site_from, args.allow_cdn_mathjax, args.data)
    url, branch = student_repository()
    for name, folder in written.items():
        count = sum(1 for path in folder.rglob("*") if path.is_file())
        print(f"{name}: {folder} ({count} files)")
    if "site" in written:
        on_standins = standin_pages({path.relative_to(written["site"]).as_posix(): path.read_bytes()
                                     for path in sorted(written["site"].rglob("*.html"))})
        print(f"data: {len(on_standins)} pages ran on stand-ins and say so ({', '.join(on_standins)})" if on_standins
              else "data: every page ran on the real data sets")
    if "site" not in written:
        print("site: not written (--no-site)")
    print(f"student repository: {url} (branch {branch}); push student-repo/ there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
