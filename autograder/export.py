"""Course-wide grade exports: one row per student over every assignment, and a Canvas import file.

They read the results stored by ``grade`` in each assignment's work directory
(``ROOT/A/results/A/STUDENT.json``, ROOT being ``~/cnnbook-grading`` by default), so they need
no kernel and no gradebook lock. Late penalties (autograder/course.toml) are applied to the
assignment totals; the per-task columns are the raw autograded points.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from . import course


def stored_results(root: Path) -> dict[str, dict[str, dict]]:
    """``{assignment: {student: result}}`` for every assignment graded under ``root``."""
    found: dict[str, dict[str, dict]] = {}
    for assignment in course.all_assignments():
        folder = Path(root) / assignment / "results" / assignment
        if folder.is_dir():
            found[assignment] = {path.stem: json.loads(path.read_text())["result"]
                                 for path in sorted(folder.glob("*.json"))}
    return found


def final_score(result: dict) -> float:
    return round(result["score"] * result.get("late_factor", 1.0), 2)


def export_course(root: Path, path: Path) -> Path:
    """student, then for each assignment: its total after the late penalty, the factor kept,
    and each task's points. A student without a submission has empty cells."""
    results = stored_results(root)
    students = sorted({student for by_student in results.values() for student in by_student})
    header, columns = ["student"], []
    for assignment, by_student in results.items():
        tasks = list(dict.fromkeys(name for result in by_student.values() for name in result["cells"]))
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
                row += [f"{final_score(result):g}", f"{result.get('late_factor', 1.0):g}",
                        *(f"{result['cells'][task][0]:g}" if task in result["cells"] else "" for task in tasks)]
            writer.writerow(row)
    return path


def export_canvas(root: Path, path: Path) -> Path:
    """A CSV in the layout Canvas's gradebook import reads: Student, ID, SIS User ID, SIS Login ID,
    Section, one column per assignment, and a "Points Possible" row first. Student ids go in
    "SIS Login ID" (Canvas matches rows on it); fill ID from a Canvas export to match on it."""
    results = stored_results(root)
    students = sorted({student for by_student in results.values() for student in by_student})
    maxima = {assignment: max((r["max_score"] for r in by_student.values()), default=0)
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
