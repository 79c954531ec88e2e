"""Collecting from an LMS download: Canvas and Moodle zips, a roster, times, and unsafe entries.

The zips are built here in each LMS's layout (autograder/lms.py says where the layouts come
from); one is graded end to end on the toy assignment (tests/toy_assignment.py).
"""

from __future__ import annotations

import csv
import stat
import zipfile
from pathlib import Path

import nbformat
import pytest
from toy_assignment import ASSIGNMENT, edited

from autograder import cli, course, grading, untrusted_zip
from autograder.roster import read_roster

A1 = "a1_backprop"


def notebook(marker: str) -> str:
    """A small notebook told apart by ``marker``."""
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {marker}")]))


def make_zip(path: Path, entries: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name), data)
    return path


def add_symlink(path: Path, name: str, target: str) -> None:
    link = zipfile.ZipInfo(name)
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(link, target)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def unpacked_files(collected: dict) -> list[str]:
    """Every file the collection wrote, relative to the folder it unpacked into."""
    root = next(s.notebook for s in collected.values() if s.notebook).parent.parent
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_canvas_zip_maps_ids_keeps_late_marks_and_reports_what_it_did_not_take(tmp_path, capsys):
    download = make_zip(tmp_path / "canvas.zip", {
        "doejane_123456_7890123_a1_backprop.ipynb": notebook("jane"),
        # a re-upload Canvas renamed -1, and the earlier upload of the same name: the later one counts
        "smithjohn_LATE_234567_7890110_a1_backprop.ipynb": notebook("john, first try"),
        "smithjohn_LATE_234567_7890124_a1_backprop-1.ipynb": notebook("john, second try"),
        "leeann_345678_7890126_a1_backprop.ipynb": notebook("ann"),
        "leeann_345678_7890127_scratch.ipynb": notebook("ann's scratch"),
        "leeann_345678_7890128_report.pdf": b"%PDF-1.4",
        "kimbo_456789_7890129_essay.pdf": b"%PDF-1.4",
        "newstudent_567890_7890130_a1_backprop.ipynb": notebook("new"),
        "../evil.ipynb": notebook("traversal"),
        "/etc/cron.d/evil.ipynb": notebook("absolute"),
        "notes from the TA.txt": "not from Canvas",
    })
    add_symlink(download, "doejane_123456_7890131_link.ipynb", "/etc/passwd")
    assert "../evil.ipynb" in zipfile.ZipFile(download).namelist()  # the zip really holds the bad names
    roster = write_csv(tmp_path / "roster.csv", [
        ["student_id", "canvas_id", "name"], ["jdoe", "123456", "Jane Doe"], ["jsmith", "", "John Smith"],
        ["alee", "345678", "Ann Lee"], ["bkim", "456789", "Bo Kim"], ["nobody", "999999", "No Body"]])

    collected = grading.collect_submissions(download, A1, roster)

    assert list(collected) == ["alee", "bkim", "jdoe", "jsmith", "newstudent-567890"]
    john = collected["jsmith"]  # matched by name: "smithjohn" is John Smith, last name first
    assert "john, second try" in john.notebook.read_text() and john.notebook.name == f"{A1}.ipynb"
    assert john.submitted_at is None
    assert any("LATE" in note and "no late penalty" in note for note in john.notes)
    assert not any("LATE" in note for note in collected["jdoe"].notes)
    ann = collected["alee"]
    assert "ann" in ann.notebook.read_text() and ann.notebook.name == f"{A1}.ipynb"
    assert any("2 notebooks" in note for note in ann.notes) and any("report.pdf" in note for note in ann.notes)
    assert collected["bkim"].notebook is None and "essay.pdf" in collected["bkim"].problem
    assert any("add them to the roster" in note for note in collected["newstudent-567890"].notes)
    # only notebooks, each in its student's folder: no traversal, no link, nothing else
    assert unpacked_files(collected) == [f"alee/{A1}.ipynb", "alee/scratch.ipynb", f"jdoe/{A1}.ipynb",
                                         f"jsmith/{A1}.ipynb", f"newstudent-567890/{A1}.ipynb"]
    printed = capsys.readouterr().out
    assert "Canvas download canvas.zip: 5 submissions, 4 matched to the roster" in printed
    for expected in ("Canvas user 567890 (newstudent) as newstudent-567890", "'../evil.ipynb': a path outside",
                     "'/etc/cron.d/evil.ipynb': a path outside", "symbolic link", "notes from the TA.txt",
                     "in the roster, without a submission (1): nobody",
                     "LATE in Canvas, no time in canvas.submitted.csv, no penalty applied: jsmith"):
        assert expected in printed


def test_moodle_zip_in_folders_and_flat_matched_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(untrusted_zip, "MAX_MEMBER_BYTES", 2**20)
    folder = "_assignsubmission_file"
    download = make_zip(tmp_path / "moodle.zip", {
        f"Jane Doe_1234567{folder}/{A1}.ipynb": notebook("jane"),
        f"Jane Doe_1234567{folder}/.ipynb_checkpoints/{A1}-checkpoint.ipynb": notebook("autosave"),
        "Jane Doe_1234567_assignsubmission_onlinetext/onlinetext.html": "<p>see my notebook</p>",
        f"José Núñez_2345678{folder}_/work/{A1}.ipynb": notebook("jose"),  # Moodle before 4.1: a trailing _
        f"Sam Park_3456789{folder}_{A1}.ipynb": notebook("sam"),           # not in folders: flat
        f"Alex Kim_4567890{folder}/first.ipynb": notebook("alex 1"),
        f"Alex Kim_4567890{folder}/second.ipynb": notebook("alex 2"),
        f"Chris Doe_5678901{folder}/{A1}.ipynb": notebook("chris"),
        f"Lee Wong_6789012{folder}/{A1}.ipynb": notebook("one of two Lee Wongs"),
        f"Big One_7890123{folder}/{A1}.ipynb": " " * 2**21,  # compresses to a few kB
    })
    roster = write_csv(tmp_path / "roster.csv", [
        ["student_id", "name"], ["jdoe", "Jane Doe"], ["jnunez", "Jose Nunez"], ["spark", "Park, Sam"],
        ["akim", "Alex Kim"], ["lwong1", "Lee Wong"], ["lwong2", "Lee Wong"], ["bone", "Big One"]])

    collected = grading.collect_submissions(download, A1, roster)

    assert list(collected) == ["akim", "bone", "chris-doe-5678901", "jdoe", "jnunez", "lee-wong-6789012", "spark"]
    assert "jose" in collected["jnunez"].notebook.read_text()  # accents and subfolders aside
    assert "sam" in collected["spark"].notebook.read_text()
    assert any("onlinetext" in note for note in collected["jdoe"].notes)
    assert "2 notebooks" in collected["akim"].problem
    assert collected["bone"].notebook is None and "larger than 1 MB" in collected["bone"].problem
    assert any("several students in the roster share" in note for note in collected["lee-wong-6789012"].notes)
    assert any("matches no one" in note for note in collected["chris-doe-5678901"].notes)
    assert all(s.submitted_at is None for s in collected.values())
    assert "checkpoint" not in " ".join(unpacked_files(collected))
    assert "Moodle download moodle.zip: 7 submissions, 5 matched to the roster" in capsys.readouterr().out


def test_without_a_roster_students_are_named_from_the_download(tmp_path, capsys):
    download = make_zip(tmp_path / "canvas.zip", {
        f"doejane_123456_7890123_{A1}.ipynb": notebook("jane"),
        f"müllerjan_LATE_345678_7890124_{A1}.ipynb": notebook("jan"),
        f"LATE_anon_x1y2z_7890125_{A1}.ipynb": notebook("anonymous grading"),
    })
    collected = grading.collect_submissions(download, A1)
    assert list(collected) == ["anon-x1y2z", "doejane-123456", "mullerjan-345678"]
    assert not any("roster" in note for submission in collected.values() for note in submission.notes)
    assert any("LATE" in note for note in collected["anon-x1y2z"].notes)
    assert "no --roster" in capsys.readouterr().out


def test_a_canvas_zip_is_graded_end_to_end_with_times_from_beside_it(toy_course, tmp_path, monkeypatch, capsys):
    settings = tmp_path / "course.toml"
    settings.write_text('[defaults]\nlate_penalty_percent_per_day = 10\nmax_late_days = 3\n'
                        f'[assignments.{ASSIGNMENT}]\ndue = "2027-01-10T12:00:00+00:00"\n')
    monkeypatch.setattr(course, "COURSE_SETTINGS", settings)
    solution = toy_course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    buggy = edited(solution, tmp_path / "buggy.ipynb", "return a * b", "return a + b")
    download = make_zip(tmp_path / "a0.zip", {
        f"doejane_123456_7890123_{ASSIGNMENT}.ipynb": solution.read_bytes(),
        f"smithjohn_LATE_234567_7890124_{ASSIGNMENT}-1.ipynb": solution.read_bytes(),
        f"newstudent_LATE_567890_7890125_{ASSIGNMENT}.ipynb": buggy.read_bytes(),
    })
    roster = write_csv(tmp_path / "roster.csv", [["student_id", "canvas_id"], ["jdoe", "123456"],
                                                 ["jsmith", "234567"]])
    # the times a TA took from Canvas, by student id: a day late
    write_csv(tmp_path / "a0.submitted.csv", [["student", "submitted_at"], ["jsmith", "2027-01-11T11:00:00Z"],
                                              ["jdoe", "2027-01-10T11:00:00Z"]])
    workdir = tmp_path / "work"

    assert cli.main(["grade", "a0", "--submissions", str(download), "--roster", str(roster),
                     "--workdir", str(workdir)]) == 0

    rows = {row["student"]: row["score"] for row in csv.DictReader((workdir / "grades.csv").open())}
    assert rows == {"jdoe": "5", "jsmith": "5", "newstudent-567890": "2"}
    results = {r.student: r for r in grading.results_from_gradebook(ASSIGNMENT, workdir)}
    assert results["jsmith"].late_factor == 0.9 and results["jdoe"].late_factor == 1
    assert results["jsmith"].submitted_at.startswith("2027-01-11")
    unmapped = results["newstudent-567890"]
    assert unmapped.late_factor == 1 and unmapped.submitted_at is None  # LATE, but no time to judge by
    assert any("LATE" in note and "a0.submitted.csv" in note for note in unmapped.notes)
    assert any("add them to the roster" in note for note in unmapped.notes)
    printed = capsys.readouterr().out
    assert "not in the roster" in printed and "3 graded, 0 failed" in printed


def test_a_canvas_gradebook_export_serves_as_roster(tmp_path):
    export = write_csv(tmp_path / "export.csv", [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "A1 (123)"],
        ["    Points Possible", "", "", "", "", "6"],
        ["Doe, Jane", "123456", "S1", "jdoe", "Sec 1", "5"]])
    roster = read_roster(export)
    assert roster.students == ["jdoe"] and roster.by_canvas_id == {"123456": "jdoe"}
    assert roster.by_name["doejane"] == roster.by_name["janedoe"] == "jdoe"


@pytest.mark.parametrize("rows, message", [
    ([["name"], ["Jane Doe"]], "no student_id column"),
    ([["student_id"], ["bad id!"]], "unusable student ids"),
    ([["student_id", "canvas_id"], ["a", "1"], ["b", "1"]], "canvas_id 1 is given to both a and b"),
])
def test_an_unusable_roster_says_what_to_fix(tmp_path, rows, message):
    with pytest.raises(SystemExit, match=message):
        read_roster(write_csv(tmp_path / "roster.csv", rows))


def test_what_is_not_an_lms_download_is_refused(tmp_path, monkeypatch):
    (tmp_path / "not.zip").write_text("plain text")
    with pytest.raises(SystemExit, match="not a readable zip file"):
        grading.collect_submissions(tmp_path / "not.zip")
    with pytest.raises(SystemExit, match="no file named like a Canvas or Moodle download"):
        grading.collect_submissions(make_zip(tmp_path / "other.zip", {"alice.ipynb": notebook("alice")}))
    (tmp_path / "folder").mkdir()
    with pytest.raises(SystemExit, match="leave --roster out"):
        grading.collect_submissions(tmp_path / "folder", roster=tmp_path / "roster.csv")
    monkeypatch.setattr(untrusted_zip, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(SystemExit, match="zip bomb"):
        grading.collect_submissions(make_zip(tmp_path / "big.zip", {f"doejane_1_2_{A1}.ipynb": notebook("x")}))
