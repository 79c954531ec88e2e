"""Where the course's assignments live, and how to name them."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO_ROOT / "solutions"
ASSIGNMENTS = REPO_ROOT / "assignments"


def course_config() -> Config:
    """The course's nbgrader configuration (autograder/nbgrader_config.py), as a fresh copy."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(Path(__file__).parent)).load_config()


def all_assignments() -> list[str]:
    """Ids of every assignment with a source folder, e.g. ``["a1_backprop", ...]``, in order."""
    if not SOLUTIONS.is_dir():
        return []
    return sorted((p.name for p in SOLUTIONS.iterdir() if p.is_dir() and list(p.glob("*.ipynb"))),
                  key=_assignment_order)


def resolve(name: str) -> str:
    """Accept an assignment's full id (``a1_backprop``) or its short form (``a1``)."""
    known = all_assignments()
    if name in known:
        return name
    matches = [full for full in known if full.split("_")[0] == name]
    if len(matches) == 1:
        return matches[0]
    raise SystemExit(f"unknown assignment {name!r}: choose one of {', '.join(known) or '(none yet)'}")


def source_notebooks(assignment: str) -> list[Path]:
    """The instructor notebooks of an assignment (usually one)."""
    notebooks = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    if not notebooks:
        raise SystemExit(f"no notebook in {SOLUTIONS / assignment}")
    return notebooks


def _assignment_order(name: str):
    number = name.split("_")[0].lstrip("a")
    return (int(number) if number.isdigit() else 10**6, name)
