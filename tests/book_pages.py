"""The book's pages as _toc.yml lists them, for the tests that check the built book."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_pages() -> list[str]:
    """Every page of the table of contents, e.g. ``book/ch03_mlp_backprop``, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


def executable_pages() -> list[str]:
    """The pages with code cells: each must show at least one figure."""
    return [page for page in toc_pages() if "code-cell" in (ROOT / f"{page}.md").read_text()]
