"""The book builds with every page executed, warnings as errors, figures included.

Runs the README's own command (`make book`, through the `built_book` fixture of conftest.py),
so it shares the execution cache with it: a second run is quick when nothing changed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from book_pages import executable_pages, toc_pages

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
