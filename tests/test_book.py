"""The book builds with every page executed, warnings as errors, figures included.

Runs the README's own command (`make book`), so it shares the execution cache with it:
a second run is quick when no page or library code changed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

# Every test here shares one build: keep them on one xdist worker (make test uses --dist loadgroup),
# or two workers would build into the same execution cache at once.
pytestmark = pytest.mark.xdist_group("book")

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def executable_pages() -> list[str]:
    return [page for page in toc_pages() if "code-cell" in (ROOT / f"{page}.md").read_text()]


@pytest.fixture(scope="module")
def built_book():
    completed = subprocess.run(["make", "-s", "book"], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, f"the book did not build:\n{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
    return HTML


def test_every_toc_page_is_rendered(built_book):
    for page in toc_pages():
        assert (built_book / f"{page}.html").exists(), f"{page} is in _toc.yml but was not rendered"


@pytest.mark.parametrize("page", executable_pages())
def test_executable_pages_show_their_figures(built_book, page):
    html = (built_book / f"{page}.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert images, f"{page} has code cells but no figure was rendered"
    for source in images:
        assert (built_book / Path(page).parent / source).exists(), f"{page}: missing image {source}"
    assert "Traceback (most recent call last)" not in html, f"{page} shows an error"


def test_bibliography_resolves_citations(built_book):
    html = (built_book / "book" / "bibliography.html").read_text()
    assert "Rumelhart" in html
