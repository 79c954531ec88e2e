"""Grade exports: one assignment's CSV, the course's table, and a Canvas import file.

Scores come from each work directory's gradebook (the one store of scores, hand grades entered
in the formgrader included); late factors from the stored results. Course exports look for one
work directory per assignment under ROOT (``~/cnnbook-grading`` by default). Late penalties
(autograder/course.toml) are applied to the assignment totals; the per-part columns are the
raw points.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import course


def export_csv(results: list, path: Path) -> Path:
    """One row per student: total, maximum, percentage, each graded cell (hand-graded ones empty
    until a TA has graded them), error if any."""
    scores = [{**result.cells, **result.manual_cells} for result in results]
    cell_names = list(dict.fromkeys(name for cells in scores for name in cells))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "score", "max_score", "percent", *cell_names, "error"])
        for result, cells in zip(results, scores):
            percent = 100 * result.score / result.max_score if result.max_score else 0.0
            writer.writerow([result.student, f"{result.score:g}", f"{result.max_score:g}", f"{percent:.1f}",
                             *(_number(cells.get(name, (None, None))[0]) for name in cell_names),
                             result.error or ""])
    return path


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def course_results(root: Path) -> dict[str, dict]:
    """``{assignment: {student: Result}}`` for every assignment graded under ``root``."""
    from .grading import results_from_gradebook

    found: dict[str, dict] = {}
    for assignment in course.all_assignments():
        workdir = Path(root) / assignment
        if (workdir / "results" / assignment).is_dir():
            found[assignment] = {r.student: r for r in results_from_gradebook(assignment, workdir)}
    return found


def final_score(result) -> float:
    return round(result.score * result.late_factor, 2)


def export_course(root: Path, path: Path) -> Path:
    """student, then for each assignment: its total after the late penalty, the factor kept,
    and each part's points. A student without a submission has empty cells."""
    results = course_results(root)
    students = sorted({student for by_student in results.values() for student in by_student})
    header, columns = ["student"], []
    for assignment, by_student in results.items():
        tasks = list(dict.fromkeys(name for result in by_student.values() for name in result.cells))
        header += [assignment, f"{assignment}:late_factor", *(f"{assignment}:{task}" for task in tasks)]
        columns.append((assignment, tasks))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student in students:
            row = [student]
            for assignment, tasks in columns:
                result = results[assignment].get(student)
                if result is None:
                    row += [""] * (2 + len(tasks))
                    continue
                row += [f"{final_score(result):g}", f"{result.late_factor:g}",
                        *(f"{result.cells[task][0]:g}" if task in result.cells else "" for task in tasks)]
            writer.writerow(row)
    return path


def export_canvas(root: Path, path: Path) -> Path:
    """A CSV in the layout Canvas's gradebook import reads: Student, ID, SIS User ID, SIS Login ID,
    Section, one column per assignment, and a "Points Possible" row first. Student ids go in
    "SIS Login ID" (Canvas matches rows on it); fill ID from a Canvas export to match on it."""
    results = course_results(root)
    students = sorted({student for by_student in results.values() for student in by_student})
    maxima = {assignment: max((r.max_score for r in by_student.values()), default=0)
              for assignment, by_student in results.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *results])
        writer.writerow(["    Points Possible", "", "", "", "", *(f"{maxima[a]:g}" for a in results)])
        for student in students:
            scores = [f"{final_score(results[a][student]):g}" if student in results[a] else "" for a in results]
            writer.writerow([student, "", "", student, "", *scores])
    return path
