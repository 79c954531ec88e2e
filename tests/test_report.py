"""The class report, built from a small class graded for real on the toy assignment.

The cohort (tests/toy_assignment.py: ``graded_cohort``): alice and heidi (late) hand in the
solution, bob the blank release, carol a wrong ``add``, dave, erin and frank (late) a
``multiply`` that returns a list, grace a file that is not a notebook, and ivan an ``add``
that never returns. Every number below follows from that.
"""

from __future__ import annotations

import base64
import csv
import re

import pytest
from toy_assignment import ASSIGNMENT

from autograder import cli, course, report
from autograder.grading import results_from_gradebook

STUDENTS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]


@pytest.fixture(scope="module")
def built(graded_toy_cohort):
    return report.build(ASSIGNMENT, graded_toy_cohort)


def test_pass_rates_for_the_class_and_late_vs_on_time(built):
    assert [r.student for r in built.groups["all"]] == STUDENTS
    assert [r.student for r in built.groups["late"]] == ["frank", "heidi"]
    assert built.points == {"test_add": 2, "test_multiply": 3}
    assert built.pass_rates == {"all": {"test_add": 5 / 9, "test_multiply": 4 / 9},
                                "on time": {"test_add": 3 / 7, "test_multiply": 3 / 7},
                                "late": {"test_add": 1.0, "test_multiply": 0.5}}


def test_score_histogram_counts(built):
    # out of 6 points (the written answer waits for a TA): 0 (bob, grace), 2 (dave, erin, frank),
    # 3 (carol, ivan), 5 (alice, heidi)
    assert built.histograms == {"on time": [2, 0, 0, 2, 0, 2, 0, 0, 1, 0],
                                "late": [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]}


def test_failure_reasons_are_grouped_with_their_counts(built):
    summary = {part: [(r.kind, r.pattern, r.students) for r in reasons] for part, reasons in built.reasons.items()}
    multiply_wrong, *others = summary["test_multiply"]
    # a list of 2 and a list of 3 numbers: one mistake, told apart only by a number
    assert multiply_wrong == ("wrong", "multiply on unseen numbers: shape (#,), expected ()", ["dave", "erin", "frank"])
    assert [(kind, students) for kind, _, students in others] == [("error", ["bob"]), ("not run", ["grace"])]
    assert [(kind, students) for kind, _, students in summary["test_add"]] == [
        ("error", ["bob"]), ("limit", ["ivan"]), ("not run", ["grace"]), ("wrong", ["carol"])]
    assert "time limit" in built.reasons["test_add"][1].pattern
    assert {r.example for r in built.reasons["test_multiply"][:1]} == {"multiply on unseen numbers: shape (2,), expected ()"}


def test_numbers_alone_are_replaced_but_not_inside_names():
    assert report.message_pattern("conv2d out: 3 of 12 entries differ, the first at index (0, -1) (error 1e-05; "
                                  "float32)") == "conv2d out: # of # entries differ, the first at index (#, #) (error #; float32)"


def test_parts_nearly_everyone_passes_or_fails_are_flagged(graded_toy_cohort, built):
    assert built.attention == {}  # 56% and 44%: nothing to worry about
    results = {r.student: r for r in results_from_gradebook(ASSIGNMENT, graded_toy_cohort)}
    strong = report.summarize(ASSIGNMENT, [results[s] for s in ("alice", "heidi", "dave", "erin")], built.points)
    assert list(strong.attention) == ["test_add"] and strong.attention["test_add"].startswith("100% pass")
    weak = report.summarize(ASSIGNMENT, [results[s] for s in ("bob", "grace")], built.points)
    assert list(weak.attention) == ["test_add", "test_multiply"]


def test_grading_health_lists_what_a_ta_should_look_at(built):
    health = {r.student: r for r in built.health}
    assert list(health)[:3] == ["grace", "bob", "ivan"]  # could not run; two parts raised; a limit
    assert "JSON" in health["grace"].error
    assert "alice" not in health and "heidi" not in health and "carol" not in health
    assert any("time limit" in note for note in health["ivan"].notes)
    assert any("not a date" in note for note in health["ivan"].notes)  # its time in submitted.csv


def test_page_is_self_contained_escaped_and_links_to_feedback(graded_toy_cohort, monkeypatch, capsys):
    monkeypatch.setattr(course, "SOLUTIONS", graded_toy_cohort.parent / "course" / "solutions")
    assert cli.main(["report", "a0", "--workdir", str(graded_toy_cohort)]) == 0
    printed = capsys.readouterr().out
    page_path, table_path = graded_toy_cohort / "report.html", graded_toy_cohort / "report.csv"
    assert str(page_path) in printed and str(table_path) in printed
    page = page_path.read_text()

    assert "<script" not in page.lower() and not re.search(r"https?:", page)
    assert "&lt;script&gt;" in page  # ivan's submission time, as collected, is shown as text
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3 and all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)
    assert page.count("<img") == 3
    links = re.findall(r"href='([^']+)'", page)
    assert "feedback/dave/a0_smoke/a0_smoke.html" in links
    assert all((graded_toy_cohort / link).is_file() for link in links)
    # the score bands as a table too, and the submissions slowest first
    assert "<tr><td>on time</td><td>2</td><td>0</td><td>0</td><td>2</td>" in page
    timings = re.findall(r"<tr><td>(\w+)</td><td>([\d.]+)</td>", page.split("<h2>Time per submission</h2>")[1])
    assert sorted(student for student, _ in timings) == STUDENTS
    seconds = [float(total) for _, total in timings]
    assert seconds == sorted(seconds, reverse=True) and float(dict(timings)["ivan"]) >= 8  # stopped twice at 4 s


def test_csv_has_a_row_per_part_and_outcome(graded_toy_cohort, built):
    path = report.write_csv(built, graded_toy_cohort / "report-check.csv")
    rows = [{key: row[key] for key in ("part", "outcome", "reason", "students", "on_time", "late", "examples")}
            for row in csv.DictReader(path.open())]
    assert rows[0] == {"part": "test_add", "outcome": "passed", "reason": "", "students": "5", "on_time": "3",
                       "late": "2", "examples": "alice dave erin"}
    multiply = [row for row in rows if row["part"] == "test_multiply"]
    assert [(row["outcome"], row["students"]) for row in multiply] == [
        ("passed", "4"), ("wrong", "3"), ("error", "1"), ("not run", "1")]
    assert multiply[1]["late"] == "1" and multiply[1]["reason"].endswith("shape (#,), expected ()")
    assert sum(int(row["students"]) for row in multiply) == len(STUDENTS)
