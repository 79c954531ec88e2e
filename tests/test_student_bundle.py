"""The student bundle (tools/student_bundle.py) holds what students need and nothing of the
instructors': no solution, no hidden test, no grading tool; its pyproject installs cnnbook alone.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
REGION = re.compile(r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1",
                    re.DOTALL | re.MULTILINE)
MIN_LINE = 25  # shorter lines ("return out, cache") are too common to say anything
# Lines the course library shares with a solution on purpose: cnnbook.check.numerical_gradient is
# the reference gradient check every later chapter and assignment uses. Assignment 1 asks students
# to write their own, and its hidden test fails a submission that calls or re-exports the library's.
# Likewise cnnbook.train has the evaluation loop of Assignment 3, whose hidden tests fail a
# submission that calls cnnbook.train; the last line is a common idiom. Two more are single idioms
# that say nothing about a solution: clearing gradients (cnnbook.train, A5's train_epoch) and the
# normalisation formula (cnnbook.models.preprocess, A6's to_network_input, whose constants the
# notebook gives).
SHARED_WITH_LIBRARY = {
    "for index in np.ndindex(x.shape):",
    "grad[index] = (f_plus - f_minus) / (2 * h)",
    "x, y = torch.as_tensor(x), torch.as_tensor(y)",
    "for start in range(0, len(x), batch_size):",
    "device = next(model.parameters()).device",
    "optimizer.zero_grad(set_to_none=True)",
    "return ((x - mean) / std).contiguous()",
}

spec = importlib.util.spec_from_file_location("student_bundle", ROOT / "tools" / "student_bundle.py")
student_bundle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student_bundle)


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
    assert released and set(released) <= set(paths), "every released notebook is in the bundle"
    assert set(library) <= set(paths), "the whole cnnbook package is in the bundle"
    assert {"pyproject.toml", "requirements.txt", "environment.yml", "README.md"} <= set(paths)
    allowed = ("assignments/", "src/cnnbook/")
    extra = [p for p in paths if not p.startswith(allowed) and "/" in p]
    assert not extra, f"unexpected files in the bundle: {extra}"
    forbidden = ("solutions", "autograder", "tests", "bench", "book", "__pycache__", ".ipynb_checkpoints")
    leaked = [p for p in paths if set(Path(p).parts) & set(forbidden)]
    assert not leaked, f"instructor or build files in the bundle: {leaked}"


def bundle_texts(bundle: Path) -> dict[str, str]:
    """Every text file of the bundle; a notebook as its decoded cell sources and outputs, so a
    line is found whatever JSON escaping did to its quotes and backslashes."""
    texts = {}
    for path in bundle.rglob("*"):
        if not path.is_file():
            continue
        name = path.relative_to(bundle).as_posix()
        try:
            raw = path.read_text()
        except UnicodeDecodeError:
            continue
        texts[name] = raw
        if path.suffix == ".ipynb":
            notebook = json.loads(raw)
            parts = []
            for cell in notebook["cells"]:
                parts.append("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
                for output in cell.get("outputs", []):
                    parts.append(json.dumps(output, ensure_ascii=False))
                    text = output.get("text", "")
                    parts.append("".join(text) if isinstance(text, list) else text)
            texts[name + " (cells)"] = "\n".join(parts)
    return texts


def instructor_only_lines() -> dict[str, str]:
    """Non-trivial lines that occur only in solution or hidden-test regions of solutions/*/*.ipynb
    (including cells nbgrader replaces as a whole), mapped to where they come from.

    A solution line is no secret when students see it as given code (outside the test cells); a
    hidden-test line is none when students see it anywhere, visible tests included. A solution
    line in a visible test cell is a leak: the visible checks must not carry the solution.
    """
    solution_lines: dict[str, str] = {}
    hidden_lines: dict[str, str] = {}
    given: set[str] = set()
    visible_tests: set[str] = set()
    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert notebooks, "no instructor notebook found"
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            source = cell.source
            whole_answer = meta.get("solution") and not REGION.search(source)
            for match in REGION.finditer(source) if not whole_answer else ():
                target = solution_lines if match.group(1) == "SOLUTION" else hidden_lines
                for line in match.group(2).splitlines():
                    if len(line.strip()) > MIN_LINE:
                        target.setdefault(line.strip(), f"{path.relative_to(ROOT)}")
            if whole_answer:  # nbgrader replaces the whole cell with the stub
                for line in source.splitlines():
                    if len(line.strip()) > MIN_LINE:
                        solution_lines.setdefault(line.strip(), f"{path.relative_to(ROOT)}")
    for path in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            is_test = cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
            (visible_tests if is_test else given).update(line.strip() for line in cell.source.splitlines())
    secret = {line: where for line, where in solution_lines.items() if line not in given | SHARED_WITH_LIBRARY}
    secret.update({line: where for line, where in hidden_lines.items()
                   if line not in given | visible_tests | SHARED_WITH_LIBRARY})
    return secret


def test_released_notebooks_define_no_reference_implementation():
    defining = re.compile(r"^\s*(def|class)\s+(reference_\w+|Reference\w+)", re.MULTILINE)
    found = [(path.name, match.group(2)) for path in sorted((ROOT / "assignments").glob("*/*.ipynb"))
             for cell in nbformat.read(path, as_version=4).cells for match in defining.finditer(cell.source)]
    assert not found, f"released notebooks define reference implementations: {found}"


def test_no_solution_or_hidden_test_in_bundle(bundle):
    texts = bundle_texts(bundle)
    for name, text in texts.items():
        found = [marker for marker in MARKERS if marker in text]
        assert not found, f"{name} contains {found}"
    secret = instructor_only_lines()
    assert len(secret) > 50, "the solution notebooks should have many solution lines to look for"
    # whole lines, not substrings: a hidden test's line may be the start of a longer visible one
    lines = {name: {line.strip() for line in text.splitlines()} for name, text in texts.items()}
    leaks = [(line, where, name) for line, where in secret.items()
             for name in texts if line in lines[name]]
    assert not leaks, "instructor lines in the bundle:\n" + "\n".join(
        f"  {name}: {line!r} (from {where})" for line, where, name in leaks[:20])


def test_leak_check_catches_a_leak(tmp_path):
    # The check above must be able to fail: a solution line pasted in a library file is found.
    line = next(iter(instructor_only_lines()))
    (tmp_path / "leak.py").write_text(f"x = 1\n    {line}\n")
    assert any(line in {row.strip() for row in text.splitlines()} for text in bundle_texts(tmp_path).values())


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
