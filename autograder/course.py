"""Where the course's assignments live, and how to name them."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from datetime import datetime
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


COURSE_SETTINGS = Path(__file__).parent / "course.toml"
_LATE_POLICY = ("due", "late_penalty_percent_per_day", "max_late_days")


@dataclass(frozen=True)
class Settings:
    """How an assignment is graded (autograder/course.toml)."""

    limits: dict
    gpu: bool = False
    due: datetime | None = None
    late_penalty_percent_per_day: float = 0.0
    max_late_days: int = 0
    policy: tuple = ()  # static rules on the student's code (autograder.policy.Rule tables)

    def late_factor(self, submitted: datetime | None) -> float:
        """The fraction of the score kept for a submission at ``submitted`` (1.0 when on time)."""
        if self.due is None or submitted is None or submitted <= self.due:
            return 1.0
        days = math.ceil((submitted - self.due).total_seconds() / 86400)
        if days > self.max_late_days:
            return 0.0
        return max(0.0, 1.0 - days * self.late_penalty_percent_per_day / 100)


def settings(assignment: str) -> Settings:
    """The grading settings of ``assignment``: the defaults overridden by its own table."""
    table = tomllib.loads(COURSE_SETTINGS.read_text())
    merged = {**table.get("defaults", {}), **table.get("assignments", {}).get(assignment, {})}
    due = merged.pop("due", None)
    gpu = bool(merged.pop("gpu", False))
    penalty = float(merged.pop("late_penalty_percent_per_day", 0))
    max_days = int(merged.pop("max_late_days", 0))
    rules = tuple(merged.pop("policy", ()))
    return Settings(limits=merged, gpu=gpu, due=datetime.fromisoformat(due) if due else None,
                    late_penalty_percent_per_day=penalty, max_late_days=max_days, policy=rules)
