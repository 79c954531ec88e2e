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
from toy_assignment import ASSIGNMENT, edited

from autograder import cli, course, grading, store
from autograder.probes import probes, without_hidden_blocks
from autograder.validate import validate


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


def test_feedback_is_written_by_the_grader_without_hidden_checks(toy_course, tmp_path):
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    edited(solution, submissions / "carol.ipynb", "return a * b", "return 6")
    workdir = tmp_path / "work"
    grading.grade(ASSIGNMENT, grading.collect_submissions(submissions), workdir, progress=False)

    [html] = grading.feedback(ASSIGNMENT, workdir)

    text = html.read_text()
    assert "multiply on unseen numbers: differs from the expected value" in text  # the check's own message
    assert "test_multiply" in text and "0 / 3" in text and "Score: 2 / 6" in text
    for hidden in ("record(", "seed % 1000", "BEGIN HIDDEN"):
        assert hidden not in text
    autograded = (workdir / "autograded" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    assert "record(" not in autograded  # the student's kernel never had the hidden checks in its notebook


def test_probes_are_the_hidden_blocks():
    notebook = nbformat.v4.new_notebook()
    test_meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}}
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nrecord('a', f(seed))\n### END HIDDEN TESTS\ny = 2",
                                  metadata=test_meta),
        nbformat.v4.new_code_cell("### BEGIN HIDDEN TESTS\nstudent text\n### END HIDDEN TESTS"),
    ]
    assert probes(notebook) == {"t": "record('a', f(seed))\n"}
    stripped = without_hidden_blocks(notebook)
    assert stripped.cells[0].source == "x = 1\ny = 2"


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


def test_a_folder_of_several_notebooks_affects_only_its_student(toy_course, tmp_path):
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submissions = tmp_path / "submissions"
    for student, names in (("named", [f"{ASSIGNMENT}.ipynb", f"{ASSIGNMENT}-Copy1.ipynb"]),
                           ("unnamed", ["first.ipynb", "second.ipynb"])):
        (submissions / student).mkdir(parents=True)
        for name in names:
            shutil.copy(solution, submissions / student / name)
    shutil.copy(solution, submissions / "plain.ipynb")
    collected = grading.collect_submissions(submissions, ASSIGNMENT)
    assert collected["named"].notebook.name == f"{ASSIGNMENT}.ipynb"
    assert "2 notebooks" in collected["unnamed"].problem
    results = {r.student: r for r in grading.grade(ASSIGNMENT, collected, tmp_path / "work", progress=False)}
    assert results["named"].score == results["plain"].score == 5
    assert results["unnamed"].score == 0 and "2 notebooks" in results["unnamed"].error


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


@pytest.mark.slow  # a minute of a local Dask cluster: `make test-slow` runs it
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
    shutil.copy(toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", submissions["carol"].notebook)  # fixed
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
    rows = ["student,submitted_at"]
    for student, stamp in (("ontime", "2027-01-10T11:00:00+00:00"), ("late2", "2027-01-11T13:00:00Z"),
                           ("toolate", "2027-01-20T12:00:00"), ("garbled", "the 31st of Smarch")):
        (folder / student).mkdir(parents=True)
        shutil.copy(solution, folder / student / f"{ASSIGNMENT}.ipynb")
        (folder / student / "timestamp.txt").write_text("2027-01-01 00:00:00 UTC")  # the student's: ignored
        rows.append(f"{student},{stamp}")
    (folder / "submitted.csv").write_text("\n".join(rows) + "\n")
    root = tmp_path / "grading"
    results = grading.grade(ASSIGNMENT, grading.collect_submissions(folder), root / ASSIGNMENT, progress=False)
    assert [(r.student, r.score, r.late_factor) for r in results] == [
        ("garbled", 5, 1.0), ("late2", 5, 0.8), ("ontime", 5, 1.0), ("toolate", 5, 0.0)]
    assert any("not a date" in note for note in results[0].notes)

    rows = {row["student"]: row for row in csv.DictReader(export_course(root, tmp_path / "course.csv").open())}
    assert {s: rows[s][ASSIGNMENT] for s in rows} == {"garbled": "5", "late2": "4", "ontime": "5", "toolate": "0"}
    assert rows["late2"][f"{ASSIGNMENT}:test_multiply"] == "3"
    canvas = list(csv.reader(export_canvas(root, tmp_path / "canvas.csv").open()))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][5] == "6" and canvas[3][3] == "late2" and canvas[3][5] == "4"


def test_workers_take_one_gpu_each(monkeypatch):
    from autograder import worker

    queue = __import__("queue").Queue()
    queue.put("3")
    monkeypatch.setattr(worker, "_worker_gpu", "")
    worker.take_gpu(queue)
    assert worker.worker_gpu() == "3"


def test_the_work_directory_opens_in_the_formgrader_and_hand_grades_reach_the_exports(toy_course, tmp_path):
    from nbgrader.api import Gradebook

    from autograder import nbgrader_steps
    from autograder.export import export_course

    submissions = _three_submissions(toy_course, tmp_path / "submissions")
    root = tmp_path / "grading"
    workdir = root / ASSIGNMENT
    grading.grade(ASSIGNMENT, submissions, workdir, progress=False)
    config = (workdir / "nbgrader_config.py").read_text()
    assert str(workdir) in config and "nbgrader_config.py" in config
    # a TA grades alice's written answer and overrides carol's multiply score in the formgrader
    with Gradebook(nbgrader_steps.db_url(workdir)) as gradebook:
        gradebook.find_grade("explain", ASSIGNMENT, ASSIGNMENT, "alice").manual_score = 1
        gradebook.find_grade("test_multiply", ASSIGNMENT, ASSIGNMENT, "carol").manual_score = 1.5
        gradebook.db.commit()
    assert cli.main(["export", "a0", "--workdir", str(workdir)]) == 0
    rows = {row["student"]: row for row in csv.DictReader((workdir / "grades.csv").open())}
    assert rows["alice"]["score"] == "6" and rows["alice"]["explain"] == "1"
    assert rows["carol"]["score"] == "3.5"
    course_rows = {row["student"]: row for row in csv.DictReader(export_course(root, tmp_path / "c.csv").open())}
    assert course_rows["alice"][ASSIGNMENT] == "6" and course_rows["carol"][ASSIGNMENT] == "3.5"
    assert store.read_scores(workdir, ASSIGNMENT, "alice")[1] == {"explain": (1, 1)}
