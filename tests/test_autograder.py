"""The autograder on a two-part toy assignment: release, grade, feedback, export, CLI.

The toy course is copied to a temporary folder and the autograder is pointed at it, so
these tests run in seconds and never touch the real solutions/ or assignments/.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli, course, grading
from autograder.hidden import strip_hidden_tests
from autograder.validate import validate

TOY = Path(__file__).parent / "fixtures" / "toy_course"
ASSIGNMENT = "a0_smoke"


@pytest.fixture
def toy_course(tmp_path, monkeypatch):
    root = tmp_path / "course"
    shutil.copytree(TOY, root)
    (root / "assignments").mkdir()
    monkeypatch.setattr(course, "SOLUTIONS", root / "solutions")
    monkeypatch.setattr(course, "ASSIGNMENTS", root / "assignments")
    grading.release(ASSIGNMENT)
    return root


def edited(source: Path, destination: Path, old: str, new: str) -> Path:
    text = source.read_text()
    assert old in text
    destination.write_text(text.replace(old, new))
    return destination


def test_release_removes_solutions_and_hidden_tests(toy_course):
    released = (toy_course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "raise NotImplementedError()" in released
    for marker in ("BEGIN SOLUTION", "return a + b", "HIDDEN TESTS", "unseen numbers"):
        assert marker not in released
    assert grading.release_differences(ASSIGNMENT) == []


def test_drift_is_detected(toy_course):
    notebook = toy_course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook.write_text(notebook.read_text().replace("add(1, 2) should be 3", "edited by hand"))
    assert grading.release_differences(ASSIGNMENT) == [f"{ASSIGNMENT}.ipynb: differs from a fresh release"]


def test_validate_gives_solution_full_marks_and_blank_zero(toy_course):
    validation = validate(ASSIGNMENT, progress=False)
    assert validation.problems == []
    # the written answer (1 point) waits for a TA: it is neither lost nor scored
    assert (validation.solution.score, validation.solution.max_score) == (5, 6)
    assert validation.solution.manual_cells == {"explain": (None, 1)}
    assert validation.blank.score == 0


def test_grade_scores_each_part_and_survives_broken_submissions(toy_course, tmp_path):
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = tmp_path / "submissions"
    (submissions / "carol").mkdir(parents=True)
    shutil.copy(solution, submissions / "alice.ipynb")
    # passes the visible test only: the hidden test must catch it
    edited(solution, submissions / "carol" / "my_work.ipynb", "return a + b", "return 3")
    (submissions / "dave.ipynb").write_text("this is not a notebook")
    workdir = tmp_path / "work"

    collected = grading.collect_submissions(submissions)
    results = {r.student: r for r in grading.grade(ASSIGNMENT, collected, workdir, progress=False)}

    assert results["alice"].cells == {"test_add": (2, 2), "test_multiply": (3, 3)}
    assert results["carol"].cells == {"test_add": (0, 2), "test_multiply": (3, 3)}
    assert results["dave"].error and "JSON" in results["dave"].error
    assert (results["dave"].score, results["dave"].max_score) == (0, 6)
    assert (workdir / "logs" / "dave.log").exists()

    # graded two at a time, in worker processes, the scores are the same
    in_parallel = grading.grade(ASSIGNMENT, collected, tmp_path / "parallel", progress=False, jobs=2)
    assert [(r.student, r.score, r.cells, r.error) for r in in_parallel] == \
        [(r.student, r.score, r.cells, r.error) for r in results.values()]


def test_feedback_hides_hidden_tests(toy_course, tmp_path):
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    edited(solution, submissions / "carol.ipynb", "return a * b", "return 6")
    workdir = tmp_path / "work"
    grading.grade(ASSIGNMENT, grading.collect_submissions(submissions), workdir, progress=False)

    [html] = grading.feedback(ASSIGNMENT, workdir)

    text = html.read_text()
    assert "multiply fails on unseen numbers" in text  # the message the test chose to give
    assert "multiply(-4, 5)" not in text  # but not the hidden test's source
    assert "hidden tests ran here" in text
    autograded = (workdir / "autograded" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "multiply(-4, 5)" in autograded  # the TA's copy keeps everything


def test_strip_hidden_tests_leaves_other_cells_alone():
    notebook = nbformat.v4.new_notebook()
    test_meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}}
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\ny = 2",
                                  metadata=test_meta),
        nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nstudent text\n### END HIDDEN TESTS"),
    ]
    notebook.cells[0].outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="boom",
                                                        traceback=["\x1b[31mline with assert secret()", "..."])]
    stripped = strip_hidden_tests(notebook)
    assert stripped.cells[0].source == "x = 1\n# (hidden tests ran here)\ny = 2"
    assert stripped.cells[0].outputs[0].traceback == ["AssertionError: boom"]
    assert "student text" in stripped.cells[1].source


def test_cli_grade_writes_csv_and_feedback(toy_course, tmp_path, capsys):
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(solution, submissions / "alice.ipynb")
    shutil.copy(toy_course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", submissions / "bob.ipynb")
    edited(solution, submissions / "carol.ipynb", "return a * b", "return a + b")
    workdir = tmp_path / "work"

    assert cli.main(["grade", "a0", "--submissions", str(submissions), "--workdir", str(workdir)]) == 0

    rows = {row["student"]: row for row in csv.DictReader((workdir / "grades.csv").open())}
    assert {name: rows[name]["score"] for name in rows} == {"alice": "5", "bob": "0", "carol": "2"}
    assert rows["carol"]["test_add"] == "2" and rows["carol"]["test_multiply"] == "0"
    assert rows["alice"]["explain"] == "" and rows["alice"]["max_score"] == "6"  # graded by hand later
    assert sorted(p.parent.parent.name for p in (workdir / "feedback").rglob("*.html")) == ["alice", "bob", "carol"]
    assert "3 graded, 0 failed" in capsys.readouterr().out
    # export again from the gradebook alone gives the same numbers
    assert cli.main(["export", "a0", "--workdir", str(workdir), "--csv", str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_text() == (workdir / "grades.csv").read_text()


@pytest.mark.parametrize("layout, message", [
    ({"two": ["a.ipynb", "b.ipynb"]}, "exactly one notebook"),
    ({"bad name!.ipynb": None}, "not a usable student id"),
    ({}, "no notebooks"),
])
def test_collect_submissions_explains_bad_folders(tmp_path, layout, message):
    for name, inner in layout.items():
        if inner is None:
            (tmp_path / name).write_text("{}")
        else:
            (tmp_path / name).mkdir()
            for notebook in inner:
                (tmp_path / name / notebook).write_text("{}")
    with pytest.raises(SystemExit, match=message):
        grading.collect_submissions(tmp_path)


def test_assignment_short_names_resolve(toy_course):
    assert course.resolve("a0") == ASSIGNMENT
    with pytest.raises(SystemExit, match="unknown assignment"):
        course.resolve("a9")


def _three_submissions(toy_course, folder: Path) -> dict[str, Path]:
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    folder.mkdir()
    shutil.copy(solution, folder / "alice.ipynb")
    shutil.copy(toy_course / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder / "bob.ipynb")
    edited(solution, folder / "carol.ipynb", "return a * b", "return a + b")
    return grading.collect_submissions(folder)


def _scores(results):
    return [(r.student, r.score, r.cells, r.error) for r in results]


def test_dask_cluster_gives_the_scores_of_the_local_pool(toy_course, tmp_path):
    distributed = pytest.importorskip("distributed")
    submissions = _three_submissions(toy_course, tmp_path / "submissions")
    local = grading.grade(ASSIGNMENT, submissions, tmp_path / "local", progress=False, jobs=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        on_cluster = grading.grade(ASSIGNMENT, submissions, tmp_path / "dask", progress=False,
                                   scheduler=cluster.scheduler_address)
    assert _scores(on_cluster) == _scores(local)
    assert [r.score for r in local] == [5, 0, 2]


def test_regrading_skips_unchanged_submissions_unless_forced(toy_course, tmp_path):
    submissions = _three_submissions(toy_course, tmp_path / "submissions")
    workdir = tmp_path / "work"
    first = grading.grade(ASSIGNMENT, submissions, workdir, progress=False)
    shutil.copy(toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", submissions["carol"])  # fixed
    second = grading.grade(ASSIGNMENT, submissions, workdir, progress=False)
    assert [r.cached for r in second] == [True, True, False]
    assert _scores(second)[:2] == _scores(first)[:2] and second[2].score == 5
    forced = grading.grade(ASSIGNMENT, submissions, workdir, progress=False, force=True)
    assert not any(r.cached for r in forced) and _scores(forced) == _scores(second)


def test_course_export_applies_late_penalties(toy_course, tmp_path, monkeypatch):
    from autograder.export import export_canvas, export_course

    settings = tmp_path / "course.toml"
    settings.write_text('[defaults]\nlate_penalty_percent_per_day = 10\nmax_late_days = 3\n'
                        f'[assignments.{ASSIGNMENT}]\ndue = "2027-01-10T12:00:00+00:00"\n')
    monkeypatch.setattr(course, "COURSE_SETTINGS", settings)
    folder = tmp_path / "submissions"
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, stamp in (("ontime", "2027-01-10 11:00:00 UTC"), ("late2", "2027-01-11 13:00:00 UTC"),
                           ("toolate", "2027-01-20 12:00:00 UTC")):
        (folder / student).mkdir(parents=True)
        shutil.copy(solution, folder / student / f"{ASSIGNMENT}.ipynb")
        (folder / student / "timestamp.txt").write_text(stamp)
    root = tmp_path / "grading"
    results = grading.grade(ASSIGNMENT, grading.collect_submissions(folder), root / ASSIGNMENT, progress=False)
    assert [(r.score, r.late_factor) for r in results] == [(5, 0.8), (5, 1.0), (5, 0.0)]

    rows = {row["student"]: row for row in csv.DictReader(export_course(root, tmp_path / "course.csv").open())}
    assert {s: rows[s][ASSIGNMENT] for s in rows} == {"late2": "4", "ontime": "5", "toolate": "0"}
    assert rows["late2"][f"{ASSIGNMENT}:test_multiply"] == "3"
    canvas = list(csv.reader(export_canvas(root, tmp_path / "canvas.csv").open()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][5] == "6" and canvas[2][3] == "late2" and canvas[2][5] == "4"


def test_workers_take_one_gpu_each(monkeypatch):
    from autograder import worker

    queue = __import__("queue").Queue()
    queue.put("3")
    monkeypatch.setattr(worker, "_worker_gpu", "")
    worker.take_gpu(queue)
    assert worker.worker_gpu() == "3"
