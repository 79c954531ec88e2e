"""Student versions: generate ``assignments/A`` from ``solutions/A`` and detect drift."""

from __future__ import annotations

import filecmp
import shutil
import tempfile
from pathlib import Path

from . import course, nbgrader_steps


def release(assignment: str) -> Path:
    """Regenerate ``assignments/A`` in the repository from ``solutions/A``."""
    nbgrader_steps.generate_assignment(course.SOLUTIONS.parent, assignment)
    return course.ASSIGNMENTS / assignment


def release_differences(assignment: str) -> list[str]:
    """Files of ``assignments/A`` that differ from a fresh release (empty when in sync)."""
    with tempfile.TemporaryDirectory(prefix="cnnbook-drift-") as scratch:
        root = Path(scratch)
        shutil.copytree(course.SOLUTIONS / assignment, root / "solutions" / assignment)
        nbgrader_steps.generate_assignment(root, assignment)
        return tree_differences(root / "assignments" / assignment, course.ASSIGNMENTS / assignment)


def tree_differences(expected: Path, actual: Path) -> list[str]:
    """What differs between two folders, one line per file (empty when they are equal)."""
    if not actual.is_dir():
        return [f"{actual} is missing"]
    comparison = filecmp.dircmp(expected, actual, ignore=[".ipynb_checkpoints", "__pycache__"])
    differences: list[str] = []

    def walk(node: filecmp.dircmp, prefix: str) -> None:
        differences.extend(f"{prefix}{name}: only in a fresh release" for name in node.left_only)
        differences.extend(f"{prefix}{name}: not produced by a release" for name in node.right_only)
        _, mismatch, errors = filecmp.cmpfiles(node.left, node.right, node.common_files, shallow=False)
        differences.extend(f"{prefix}{name}: differs from a fresh release" for name in mismatch + errors)
        for name, child in node.subdirs.items():
            walk(child, f"{prefix}{name}/")

    walk(comparison, "")
    return differences
