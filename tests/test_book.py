"""The book builds with every page executed, warnings as errors, figures included.

Runs the README's own command (`make book`, through the `built_book` fixture of conftest.py),
so it shares the execution cache with it: a second run is quick when nothing changed.
"""

from __future__ import annotations

import re
from pathlib import Path

import publish  # tools/, on the path (conftest.py)
import pytest
import student_repo
from book_pages import executable_pages, toc_pages
from leak_check import assert_no_instructor_line, instructor_links, published_texts

ROOT = Path(__file__).resolve().parent.parent


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


def test_published_site_holds_no_answer_and_points_at_the_student_repository(built_book, tmp_path):
    """The site `make publish` copies from this build holds no solution or hidden-test line (pages,
    their downloadable sources and executed notebooks) and no address of the instructor repository
    (launch and repository buttons included). This build loads MathJax from a CDN, which only
    `make publish`'s own build may not: here only the content is checked."""
    site = publish.write_tree(publish.site_files(built_book, allow_cdn_mathjax=True), tmp_path / "site")
    texts = published_texts(site)
    assert any(name.startswith("_sources/book/ch11_detection") for name in texts)
    assert_no_instructor_line(texts)
    found = instructor_links(texts)
    assert not found, f"the site names solutions/ or the instructor repository: {found[:10]}"
    chapter = texts["book/ch11_detection.html"]
    owner_and_name = student_repo.student_repository()[0].removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{owner_and_name}/blob/" in chapter and "ch11_detection.ipynb" in chapter
