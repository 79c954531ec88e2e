"""Pages on real data and on stand-ins: what a page shows about its data, and chapter 9 on CIFAR-10.

A page runs in a fresh kernel, as the book's build runs it, with CIFAR-10 served in its real
format (the "python version" tarball of Python-2 pickles, small) from a loopback HTTP server:
the page itself asks for no download, the kernel's CNNBOOK_DOWNLOAD=1 does, as ``make publish``
does for the real sets. A first cell, added by the test, points the loader at the server and at
the small archive's checksum. The fast tests run a page of a few lines; executing chapter 9 takes
about a minute, so its test is marked slow (``make test-slow``).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest
from myst_nb.core.read import read_myst_markdown_notebook
from nbclient import NotebookClient

from cifar_files import cifar_tarball
from cnnbook import data
from cnnbook.data import cifar
from test_downloads import LoopbackServer

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
STANDIN_NOTE = 'class="admonition warning cnnbook-standin"'
LOADING_PAGE = '''---
kernelspec:
  name: python3
  display_name: Python 3
---

# A page that loads data

```{code-cell} ipython3
from myst_nb import glue

from cnnbook import data

staged = data.load("{name}")
data.show_data_note(staged)
glue("staged_name", staged.name, display=False)
```
'''


def cifar_archive(n_train: int, n_test: int) -> bytes:
    """A CIFAR-10 archive in the real format whose images are those of shapes10 (another seed than
    the stand-in's), so that a page's claims about a learnable set of photos can hold on it."""
    split = data.shapes10(n_train, n_test, seed=1)
    as_bytes = [(np.round(255 * images)).astype(np.uint8) for images in (split.x_train, split.x_test)]
    per_batch = n_train // len(cifar.CIFAR10_TRAIN_BATCHES)
    batches = {name: (as_bytes[0][i * per_batch:(i + 1) * per_batch], split.y_train[i * per_batch:(i + 1) * per_batch])
               for i, name in enumerate(cifar.CIFAR10_TRAIN_BATCHES)}
    batches[cifar.CIFAR10_TEST_BATCH] = (as_bytes[1], split.y_test)
    return cifar_tarball(batches)


@pytest.fixture
def kernel_environment(tmp_path, monkeypatch):
    """What the page's kernel inherits: an empty data cache, downloads asked for, one thread."""
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "cnnbook-data"))
    monkeypatch.setenv("CNNBOOK_DOWNLOAD", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for variable in ("CNNBOOK_OFFLINE", "CNNBOOK_STANDINS"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "cnnbook-data"


@pytest.fixture
def cifar_server():
    server = LoopbackServer()
    yield server
    server.close()


def run_page(source: str, server: LoopbackServer | None, archive: bytes | None = None,
             timeout: int = 900) -> nbformat.NotebookNode:
    """Execute a MyST page from book/, first pointing the CIFAR-10 loader at ``server`` serving ``archive``."""
    notebook = read_myst_markdown_notebook(source)
    if server is not None:
        sha256 = server.serve(cifar.CIFAR10_ARCHIVE, archive)
        setup = (f"from cnnbook.data import cifar\ncifar.CIFAR10_MIRRORS = ({server.url!r},)\n"
                 f"cifar.CIFAR10_SHA256 = {{cifar.CIFAR10_ARCHIVE: {sha256!r}}}")
        notebook.cells.insert(0, nbformat.v4.new_code_cell(setup))
    NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    return notebook


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    """Every printed text and displayed value of the executed page, one after the other."""
    return "\n".join(output.get("text", "") + "".join(map(str, output.get("data", {}).values()))
                     for cell in notebook.cells for output in cell.get("outputs", []))


def glued(notebook: nbformat.NotebookNode, name: str) -> str:
    """The text/plain of what the page glued under ``name`` (kept out of sight with display=False,
    it is stored under a mime type of its own that ends like the displayed one)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == name:
                return next(value for mime, value in output["data"].items() if mime.endswith("text/plain"))
    raise KeyError(name)


def test_a_page_on_a_stand_in_shows_the_note_as_html(kernel_environment, monkeypatch):
    monkeypatch.setenv("CNNBOOK_STANDINS", "1")  # as `make publish STANDINS=1` builds the book
    page = run_page(LOADING_PAGE.replace("{name}", "mnist"), server=None)  # MNIST's stand-in loads fastest
    text = outputs_text(page)
    assert STANDIN_NOTE in text and "Instead of MNIST" in text and "this build asked for the stand-ins" in text
    assert glued(page, "staged_name") == "'mnist_subset'"


def test_a_page_on_real_cifar10_downloads_it_when_asked_and_shows_no_note(kernel_environment, cifar_server):
    page = run_page(LOADING_PAGE.replace("{name}", "cifar10"), cifar_server, cifar_archive(50, 10))
    text = outputs_text(page)
    assert STANDIN_NOTE not in text and "cifar10: using CIFAR-10." in text
    assert glued(page, "staged_name") == "'cifar10'"
    assert cifar_server.requests == [cifar.CIFAR10_ARCHIVE]
    assert (kernel_environment / "cifar10" / cifar.CIFAR10_ARCHIVE).is_file()


@pytest.mark.slow
def test_chapter_9_on_real_format_cifar10_holds_its_claims(kernel_environment, cifar_server):
    """Chapter 9 runs with its assertions on CIFAR-10 files (the page asserts what its text says)."""
    page = run_page((BOOK / "ch09_transfer_learning.md").read_text(), cifar_server, cifar_archive(1000, 1000))
    text = outputs_text(page)
    assert STANDIN_NOTE not in text and "cifar10: using CIFAR-10." in text
    assert glued(page, "staged_name") == "'CIFAR-10'"
    assert "small photos of CIFAR-10" in glued(page, "staged_scratch_why")


# ---------------------------------------------------------------- make publish and the data

def built_site(folder: Path, standin_page: bool) -> Path:
    """A built book of two pages with the local MathJax; one shows the stand-in note when asked."""
    import publish  # tools/, on the path (conftest.py)

    (folder / "book").mkdir(parents=True)
    (folder / publish.LOCAL_MATHJAX).parent.mkdir(parents=True)
    (folder / publish.LOCAL_MATHJAX).write_text("/* MathJax */")
    (folder / "index.html").write_text('<script src="_static/mathjax/tex-mml-chtml.js"></script>')
    note = f'<div class="admonition warning {data.provenance.STANDIN_NOTE_CLASS}"><p>shapes10</p></div>'
    (folder / "book" / "ch09.html").write_text(note if standin_page else "<p>CIFAR-10</p>")
    return folder


def test_publishing_on_real_data_refuses_a_page_that_ran_on_a_stand_in(tmp_path):
    import publish

    assert publish.STANDIN_NOTE_CLASS == data.provenance.STANDIN_NOTE_CLASS
    site = built_site(tmp_path / "html", standin_page=True)
    with pytest.raises(publish.PublishError, match=r"book/ch09\.html.*make book-clean"):
        publish.publish(tmp_path / "dist", site_from=site)
    assert not (tmp_path / "dist").exists()
    written = publish.publish(tmp_path / "dist", site_from=site, data="standins")
    assert publish.standin_pages({"book/ch09.html": (written["site"] / "book" / "ch09.html").read_bytes()})
    fine = built_site(tmp_path / "real", standin_page=False)
    assert "site" in publish.publish(tmp_path / "dist2", site_from=fine)


def test_prepare_data_names_what_is_missing_and_where_or_passes_on_standins(kernel_environment, monkeypatch):
    import publish
    from cnnbook.data import microscopy

    monkeypatch.setenv("CNNBOOK_OFFLINE", "1")  # no download: every set is missing
    monkeypatch.setattr(microscopy, "PROJECT_SHARED_MEMBRANES", kernel_environment / "nowhere")
    with pytest.raises(publish.PublishError) as error:
        publish.prepare_data("real")
    message = str(error.value)
    assert "3 of them" in message and "make publish STANDINS=1" in message
    for name, where in [("cifar10", "cifar10"), ("mnist", "mnist"), ("membranes", "isbi2012-membranes")]:
        assert f"  - {name}: " in message and str(kernel_environment / where) in message
    assert publish.prepare_data("standins") == []
