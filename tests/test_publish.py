"""What `make publish` writes holds no answer and points at the student repository.

Runs the publisher's fast core (``tools/publish.py --no-site``: the student repository alone, in
seconds) into a temporary folder; the built site is checked the same way in tests/test_book.py,
which has the book. The site's own rules (MathJax, addresses) are checked here on a tiny fake build.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import publish  # tools/, on the path (conftest.py)
import pytest
import student_repo
import yaml
from leak_check import (assert_no_instructor_line, chapter_answers, find_leaks, instructor_links,
                        instructor_only_lines, published_texts)

ROOT = Path(__file__).resolve().parent.parent
STUDENT_URL = student_repo.student_repository()[0]
INSTALL_CELL = re.compile(r"pip install[^\n]*git\+(https://[^\s\"'@#]+)")


@pytest.fixture(scope="module")
def student_tree(tmp_path_factory) -> Path:
    """dist/student-repo as the command line writes it, alone in a temporary folder."""
    dest = tmp_path_factory.mktemp("publish")
    completed = subprocess.run([sys.executable, str(ROOT / "tools" / "publish.py"), "--dest", str(dest), "--no-site"],
                               capture_output=True, text=True, timeout=300, cwd=dest)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert sorted(p.name for p in dest.iterdir()) == ["student-repo"], "--no-site writes the student repository only"
    return dest / "student-repo"


@pytest.fixture(scope="module")
def student_texts(student_tree) -> dict[str, str]:
    return published_texts(student_tree)


def tree_paths(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_student_repository_is_the_listed_files_and_no_instructor_folder(student_tree):
    paths = tree_paths(student_tree)
    assert paths == sorted(student_repo.student_repository_files()), "the tree is exactly tools/student_repo.py's list"
    forbidden = {"solutions", "autograder", "tests", "tools", "bench", "_instructor", "__pycache__"}
    assert not [p for p in paths if forbidden & set(Path(p).parts)], "instructor folders in the student repository"
    released = {p.relative_to(ROOT).as_posix() for p in (ROOT / "assignments").glob("*/*.ipynb")}
    assert released <= set(paths), "every released assignment is published"


def test_nothing_published_holds_a_solution_or_hidden_test(student_texts):
    assert any(name.startswith("book/ch11_detection") for name in student_texts), "chapter 11 is published"
    assert_no_instructor_line(student_texts)


def test_leak_test_sees_chapter_11_as_it_was(tmp_path):
    # Chapter 11 once held Assignment 9's answers in a remove-input cell: in the page's source,
    # and in the executed notebook, they are found whichever way they are published.
    cell = ("def pairwise_iou(a, b):\n"
            "    sides = np.clip(bottom_right - top_left, 0.0, None)\n"
            "    intersection = sides[..., 0] * sides[..., 1]\n")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell, metadata={"tags": ["remove-input"]})])
    (tmp_path / "book").mkdir()
    nbformat.write(notebook, tmp_path / "book" / "ch11_detection.ipynb")
    (tmp_path / "book" / "ch11_detection.html").write_text(
        '<pre><span class="n">intersection</span> <span class="o">=</span> <span class="n">sides</span>'
        '[..., 0] * sides[..., 1]</pre>')
    texts = published_texts(tmp_path)
    lines = {(name, line) for name, line, _ in find_leaks(texts, instructor_only_lines())}
    assert ("book/ch11_detection.ipynb (cells)", "intersection = sides[..., 0] * sides[..., 1]") in lines
    assert ("book/ch11_detection.html (text)", "intersection = sides[..., 0] * sides[..., 1]") in lines
    assert ("book/ch11_detection.ipynb (cells)", "pairwise_iou", "a9_detection") in chapter_answers(texts)


def test_no_published_file_links_to_solutions_or_the_instructor_repository(student_texts):
    found = instructor_links(student_texts)
    assert not found, f"published files name solutions/ or {student_repo.INSTRUCTOR_REPOSITORY}: {found[:10]}"


def test_every_install_cell_installs_from_the_student_repository(student_texts):
    """The first cell of every chapter and assignment installs cnnbook on Colab or Binder from the
    address in _config.yml, whose root (this tree) packages cnnbook."""
    notebooks = [name for name in student_texts if name.endswith(".ipynb")]
    assert len(notebooks) >= 12 + 9
    for name in notebooks:
        addresses = INSTALL_CELL.findall(student_texts[name + " (cells)"])
        assert addresses == [STUDENT_URL], f"{name} installs cnnbook from {addresses}, expected [{STUDENT_URL}]"


def test_student_repository_alone_has_what_its_readme_needs(student_tree, tmp_path):
    """The README's commands name files the tree has; the files they install point inside it;
    cnnbook imports from the tree alone (a full pip install is tests/test_student_bundle.py's)."""
    readme = (student_tree / "README.md").read_text()
    commands = "\n".join(re.findall(r"```bash\n(.*?)```", readme, re.DOTALL))
    assert "pip install -r requirements.txt" in commands and "pip install --no-deps -e ." in commands
    named = re.findall(r"(?:-r|-f|--file)\s+(\S+)", commands)
    assert named and all((student_tree / name).is_file() for name in named), f"the README's commands need {named}"
    links = [link for link in re.findall(r"\]\(([^)\s]+)\)", readme) if not link.startswith("https://")]
    missing = [link for link in links if not (student_tree / link).exists()]
    assert links and not missing, f"the README links to files the student repository lacks: {missing}"
    environment = yaml.safe_load((student_tree / "environment.yml").read_text())
    pip_lines = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert "-r requirements.txt" in pip_lines and "-e ." in pip_lines, "Binder and conda install the same set and cnnbook"
    assert (student_tree / "pyproject.toml").is_file() and "cnnbook" in (student_tree / "pyproject.toml").read_text()
    probe = ("import pathlib, cnnbook, cnnbook.data, cnnbook.check; "
             "print(pathlib.Path(cnnbook.__file__).resolve())")
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(student_tree / "src")})
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert Path(completed.stdout.strip()).is_relative_to(student_tree.resolve()), completed.stdout


def test_chapter_notebooks_match_their_markdown(student_tree):
    """Colab opens book/chNN.ipynb: the same cells as the chapter's Markdown, without outputs."""
    for markdown in sorted((student_tree / "book").glob("ch[0-9][0-9]_*.md")):
        notebook = nbformat.read(markdown.with_suffix(".ipynb"), as_version=4)
        code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
        assert len(code) == markdown.read_text().count("```{code-cell}"), markdown.name
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
        assert code and all(source.strip() in markdown.read_text() for source in code), markdown.name


# ---------------------------------------------------------------- the site, on a fake build


def fake_build(folder: Path, mathjax: str) -> Path:
    """A built book of one page that installs cnnbook from the instructor repository."""
    (folder / "book").mkdir(parents=True)
    page = (f'<script src="{mathjax}"></script><pre>%pip install -q "cnnbook @ git+'
            f'{student_repo.INSTRUCTOR_REPOSITORY}"</pre>')
    (folder / "index.html").write_text(page)
    (folder / "book" / "ch01.html").write_text(page)
    (folder / ".buildinfo").write_text("sphinx")
    return folder


def test_site_refuses_a_book_that_loads_mathjax_from_a_cdn(tmp_path):
    built = fake_build(tmp_path / "html", "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js")
    with pytest.raises(publish.PublishError, match="CNNBOOK_LOCAL_MATHJAX=1"):
        publish.publish(tmp_path / "dist", site_from=built)
    assert not (tmp_path / "dist").exists(), "a refused site leaves nothing half-written"
    with pytest.raises(publish.PublishError, match="no built book"):
        publish.site_files(tmp_path / "nothing")


def test_site_with_local_mathjax_is_copied_pointing_at_the_student_repository(tmp_path):
    built = fake_build(tmp_path / "html", "_static/mathjax/tex-mml-chtml.js")
    (built / publish.LOCAL_MATHJAX).parent.mkdir(parents=True)
    (built / publish.LOCAL_MATHJAX).write_text("/* MathJax */")
    files = publish.site_files(built)
    assert sorted(files) == ["_static/mathjax/tex-mml-chtml.js", "book/ch01.html", "index.html"]
    assert f"git+{STUDENT_URL}" in files["index.html"].decode()
    assert not student_repo.instructor_address().search(files["book/ch01.html"].decode())


def test_config_buttons_point_at_the_student_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == STUDENT_URL
    assert not student_repo.instructor_address().search(STUDENT_URL)
    assert config["html"]["use_repository_button"] and config["launch_buttons"]["colab_url"]
    assert "book/_instructor/*" in config["exclude_patterns"], "instructor-only code is never a page"


# ---------------------------------------------------------------- installed as its README says

INSTALLED_ASSIGNMENT = "a9_detection"  # the quickest notebook to run: NumPy only, seconds


def readme_setup_commands(readme: str) -> list[list[str]]:
    """The set-up commands of the student README's first bash block, as argument lists, up to
    the one that starts Jupyter."""
    block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL).group(1)
    commands = []
    for line in block.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0].endswith("jupyter") or words[-1] == "lab":
            break
        commands.append(words)
    return commands


def with_answers(released: Path, solution: Path) -> nbformat.NotebookNode:
    """The released notebook with every answer cell filled in as the instructor's solution has it
    (hidden blocks removed, as a student never sees them): what a student who solved it submits."""
    notebook = nbformat.read(released, as_version=4)
    answers = {cell.metadata["nbgrader"]["grade_id"]: cell.source
               for cell in nbformat.read(solution, as_version=4).cells
               if cell.metadata.get("nbgrader", {}).get("solution")}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[^\n]*\n", "", answers[meta["grade_id"]],
                                 flags=re.MULTILINE)
    return notebook


EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
notebook = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
except CellExecutionError as error:
    print(str(error).splitlines()[-1] if str(error).strip() else "error")
    sys.exit(3)
"""


def test_student_repository_alone_installs_and_runs_an_assignments_visible_tests(student_tree, tmp_path):
    """The student repository, copied alone, is set up with its README's own commands; in that
    environment an assignment's visible tests pass on a solved notebook and fail on the blank one.

    So that the test runs offline in seconds, the new environment is made without its own pip
    and setuptools and sees this environment's packages (a .pth file) instead of downloading
    them; pip runs with ``--no-index`` (which also proves requirements.txt asks for nothing this
    environment lacks) and, for the library, ``--no-build-isolation`` (an isolated build would
    fetch setuptools)."""
    import shutil
    import sysconfig

    repo = Path(shutil.copytree(student_tree, tmp_path / "student-repo"))
    commands = readme_setup_commands((repo / "README.md").read_text())
    assert [words[1:3] for words in commands] == [["-m", "venv"], ["install", "-r"], ["install", "--no-deps"]], commands
    venv_python = repo / ".venv" / "bin" / "python"
    for words in commands:
        if words[1:3] == ["-m", "venv"]:
            argv = [sys.executable, *words[1:], "--without-pip"]
        else:
            argv = [str(venv_python), "-m", "pip", *words[1:], "--no-index", "--quiet"]
            argv += ["--no-build-isolation"] if "-e" in words else []
        completed = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, f"{' '.join(words)}:\n{completed.stdout[-2000:]}{completed.stderr[-3000:]}"
        if words[1:3] == ["-m", "venv"]:
            site = Path(subprocess.check_output([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                                text=True).strip())
            (site / "course_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    where = subprocess.run([str(venv_python), "-c", "import cnnbook, pathlib; print(pathlib.Path(cnnbook.__file__).resolve())"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0 and Path(where.stdout.strip()).is_relative_to(repo.resolve()), where.stdout + where.stderr

    released = repo / "assignments" / INSTALLED_ASSIGNMENT / f"{INSTALLED_ASSIGNMENT}.ipynb"
    solved = tmp_path / "solved.ipynb"
    nbformat.write(with_answers(released, ROOT / "solutions" / INSTALLED_ASSIGNMENT / f"{INSTALLED_ASSIGNMENT}.ipynb"), solved)
    for notebook, expected in ((solved, 0), (released, 3)):
        run = subprocess.run([str(venv_python), "-c", EXECUTE, str(notebook)], cwd=released.parent,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == expected, f"{notebook.name}: exit {run.returncode}\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
    assert "NotImplementedError" in run.stdout, "the blank notebook should stop at its first unanswered part"
