"""A course roster: who the names and ids in an LMS download are, as student ids.

The roster is a CSV with a header: ``student_id`` (required: the id grades are kept under),
``canvas_id`` (Canvas user id) and ``name`` (full name, "Jane Doe" or "Doe, Jane"). A Canvas
gradebook export is read as it is: its "SIS Login ID", "ID" and "Student" columns are
``student_id``, ``canvas_id`` and ``name`` (:func:`autograder.export.export_canvas` writes student
ids in "SIS Login ID"); rows without a student id, such as its "Points Possible" row, are passed
over. Names compare letters and digits only, case and accents aside, first name first or last
(Canvas writes "doejane" for Jane Doe); a name two students share matches neither.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .submissions import STUDENT_ID

# Roster column -> the header names accepted for it (lower case), a Canvas gradebook export's included.
COLUMNS = {"student_id": ("student_id", "sis login id"), "canvas_id": ("canvas_id", "id"),
           "name": ("name", "student", "full name")}


@dataclass
class Roster:
    students: list[str]
    by_canvas_id: dict[str, str]
    by_name: dict[str, str | None]  # name_key -> student id; None when several students share it


def read_roster(path: Path) -> Roster:
    """The roster in ``path``; ``SystemExit`` saying what to fix when it cannot be used."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"roster {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:  # utf-8-sig: a spreadsheet's BOM
        reader = csv.DictReader(handle)
        headers = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
        column = {key: next((headers[a] for a in accepted if a in headers), None) for key, accepted in COLUMNS.items()}
        if column["student_id"] is None:
            raise SystemExit(f"roster {path} has no student_id column (found: {', '.join(headers) or 'none'}): "
                             "give student_id, and canvas_id and/or name")
        rows = [{key: (row.get(name) or "").strip() if name else "" for key, name in column.items()} for row in reader]
    rows = [row for row in rows if row["student_id"]]
    bad = [row["student_id"] for row in rows if not STUDENT_ID.match(row["student_id"])]
    if bad:
        raise SystemExit(f"roster {path}: unusable student ids {', '.join(bad[:10])}: "
                         "use letters, digits, '_', '.', '-', '@'")
    roster = Roster([row["student_id"] for row in rows], {}, {})
    for row in rows:
        if row["canvas_id"]:
            known = roster.by_canvas_id.setdefault(row["canvas_id"], row["student_id"])
            if known != row["student_id"]:
                raise SystemExit(f"roster {path}: canvas_id {row['canvas_id']} is given to both {known} "
                                 f"and {row['student_id']}")
        for key in _name_keys(row["name"]):
            known = roster.by_name.setdefault(key, row["student_id"])
            if known != row["student_id"]:
                roster.by_name[key] = None
    return roster


def name_key(text: str) -> str:
    """Letters and digits only, accents and case aside: "Doe, Jane" -> "doejane"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def _name_keys(name: str) -> set[str]:
    """A roster name, first name first and last name first."""
    if not name.strip():
        return set()
    if "," in name:
        last, first = name.split(",", 1)
    else:
        *first_names, last = name.split()
        first = " ".join(first_names)
    return {name_key(first + last), name_key(last + first)}
