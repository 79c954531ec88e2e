"""The two-part toy assignment (tests/fixtures/toy_course) that grades in seconds.

:func:`install` copies it to a temporary course and points the autograder at it, so tests
never touch the real solutions/ or assignments/; conftest.py's ``toy_course`` fixture uses it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

TOY = Path(__file__).parent / "fixtures" / "toy_course"
ASSIGNMENT = "a0_smoke"


def install(root: Path, monkeypatch) -> Path:
    """Copy the toy course to ``root``, point autograder.course at it and release it."""
    from autograder import course, grading

    shutil.copytree(TOY, root)
    (root / "assignments").mkdir()
    monkeypatch.setattr(course, "SOLUTIONS", root / "solutions")
    monkeypatch.setattr(course, "ASSIGNMENTS", root / "assignments")
    grading.release(ASSIGNMENT)
    return root


def edited(source: Path, destination: Path, old: str, new: str) -> Path:
    """``source`` written to ``destination`` with ``old`` replaced by ``new`` (which must be there)."""
    text = source.read_text()
    assert old in text
    destination.write_text(text.replace(old, new))
    return destination
