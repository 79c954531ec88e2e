"""The student bundle (tools/student_bundle.py, the student repository as one archive) holds what
students need and nothing of the instructors': no solution, no hidden test, no grading tool; its
pyproject installs cnnbook alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import nbformat
import pytest
import student_bundle  # tools/, on the path (conftest.py)
from leak_check import MARKERS, describe, find_leaks, instructor_only_lines, marker_leaks, published_texts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The bundle, written by the script's command line and unpacked."""
    scratch = tmp_path_factory.mktemp("bundle")
    archive = scratch / "dist" / "student.tar.gz"
    completed = subprocess.run([sys.executable, str(ROOT / "tools" / "student_bundle.py"), str(archive)],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert all(name.startswith(f"{student_bundle.TOP}/") for name in names), names
        tar.extractall(scratch / "unpacked", filter="data")
    return scratch / "unpacked" / student_bundle.TOP


def bundle_paths(bundle: Path) -> list[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def test_bundle_holds_exactly_the_student_files(bundle):
    paths = bundle_paths(bundle)
    released = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "assignments").glob("*/*.ipynb"))
    library = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "src" / "cnnbook").rglob("*.py"))
    chapters = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book").glob("ch[0-9][0-9]_*.md"))
    assert released and set(released) <= set(paths), "every released notebook is in the bundle"
    assert set(library) <= set(paths), "the whole cnnbook package is in the bundle"
    assert chapters and set(chapters) <= set(paths), "every chapter is in the bundle"
    assert {path.removesuffix(".md") + ".ipynb" for path in chapters} <= set(paths), "each chapter also as a notebook"
    assert {"pyproject.toml", "requirements.txt", "environment.yml", "README.md", ".gitignore"} <= set(paths)
    allowed = ("assignments/", "src/cnnbook/", "book/assignments/")
    extra = [p for p in paths if "/" in p and not p.startswith(allowed) and p not in chapters
             and p.removesuffix(".ipynb") + ".md" not in chapters]
    assert not extra, f"unexpected files in the bundle: {extra}"
    forbidden = ("solutions", "autograder", "tests", "bench", "tools", "_instructor", "__pycache__", ".ipynb_checkpoints")
    leaked = [p for p in paths if set(Path(p).parts) & set(forbidden)]
    assert not leaked, f"instructor or build files in the bundle: {leaked}"


def test_released_notebooks_define_no_reference_implementation():
    defining = re.compile(r"^\s*(def|class)\s+(reference_\w+|Reference\w+)", re.MULTILINE)
    found = [(path.name, match.group(2)) for path in sorted((ROOT / "assignments").glob("*/*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells for match in defining.finditer(cell.source)]
    assert not found, f"released notebooks define reference implementations: {found}"


def test_no_solution_or_hidden_test_in_bundle(bundle):
    texts = published_texts(bundle)
    assert not marker_leaks(texts)
    secret = instructor_only_lines()
    assert len(secret) > 50, "the solution notebooks should have many solution lines to look for"
    # The chapters are checked with their known cases in tests/test_publish.py.
    leaks = [leak for leak in find_leaks(texts, secret) if not leak[0].startswith("book/ch")]
    assert not leaks, "instructor lines in the bundle:\n" + describe(leaks)


def test_leak_check_catches_a_leak(tmp_path):
    # The check above must be able to fail: a solution line pasted in a library file is found.
    line = next(iter(instructor_only_lines()))
    (tmp_path / "leak.py").write_text(f"x = 1\n    {line}\n")
    assert find_leaks(published_texts(tmp_path), {line: "here"}) == [("leak.py", line, "here")]


def test_student_pyproject_packages_cnnbook_only(bundle):
    student = tomllib.loads((bundle / "pyproject.toml").read_text())
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert student["project"]["name"] == "cnnbook"
    assert student["project"]["dependencies"] == root["project"]["dependencies"]
    assert student["project"]["requires-python"] == root["project"]["requires-python"]
    assert "scripts" not in student["project"]
    extras = " ".join(" ".join(v) for v in student["project"].get("optional-dependencies", {}).values())
    assert "nbgrader" not in extras and "jupyter-book" not in extras
    setuptools = student["tool"]["setuptools"]
    assert all(p == "cnnbook" or p.startswith("cnnbook.") for p in setuptools["packages"])
    assert set(setuptools["package-dir"]) == {"cnnbook"}
    assert (bundle / setuptools["package-dir"]["cnnbook"] / "__init__.py").exists()
    assert (bundle / student["project"]["readme"]).exists()


def test_bundle_installs_cnnbook_alone(bundle, tmp_path):
    """pip builds the bundle offline (no dependencies, no isolated build) and the installed
    package imports from the target folder, without the repository on the path."""
    target = tmp_path / "site"
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--no-cache-dir", "--target", str(target), str(bundle)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    installed = sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info"))
    assert installed == ["cnnbook"], f"the bundle should install cnnbook only, installed {installed}"
    probe = ("import cnnbook, cnnbook.data, cnnbook.check, pathlib; "
             "print(pathlib.Path(cnnbook.__file__).resolve().parent)")
    completed = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {probe}"],
                               capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert Path(completed.stdout.strip()) == (target / "cnnbook").resolve()
    assert (target / "cnnbook" / "data" / "digits.py").exists()


# ---------------------------------------------------------------- the book's assignment pages

PAGES = ROOT / "book" / "assignments"


def graded_cells(notebook_path: Path) -> dict[str, float]:
    """grade_id -> points of every graded test cell, from the released notebook's metadata."""
    cells = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cells[meta["grade_id"]] = float(meta["points"])
    return cells


@pytest.mark.parametrize("notebook", sorted((ROOT / "assignments").glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_assignment_page_matches_notebook(notebook):
    """book/assignments/A.md exists, lists every graded cell with its points as the notebook's
    nbgrader metadata says, links the notebook, and shows no instructor line."""
    page = PAGES / f"{notebook.stem}.md"
    assert page.exists(), f"{page.relative_to(ROOT)} is missing: every assignment has a page in the book"
    text = page.read_text()
    listed = {name: float(points) for name, points in re.findall(r"`(test_\w+)` \((\d+(?:\.\d+)?)\)", text)}
    expected = graded_cells(notebook)
    assert listed == expected, f"{page.name}: graded cells and points differ from the notebook's: {listed} vs {expected}"
    assert f"**{sum(expected.values()):g}**" in text, f"{page.name}: the total should be {sum(expected.values()):g}"
    relative = notebook.relative_to(ROOT).as_posix()
    assert f"`{relative}`" in text and f"/blob/main/{relative}" in text, f"{page.name} should name and link {relative}"
    assert not [m for m in MARKERS if m in text]
    leaks = [line for line in instructor_only_lines() if line in text]
    assert not leaks, f"{page.name} shows instructor lines: {leaks}"
