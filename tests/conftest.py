"""Shared pytest setup: the --runslow switch and small notebook helpers."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run checks marked slow (make test-slow)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The book built by the README's own command (`make book`); returns _build/html.

    Each xdist worker that needs the book asks for it, and a file lock makes the second wait
    for the first: its own `make book` then finds everything cached and only re-renders.
    (pytest-xdist's loadgroup, which would keep these tests on one worker, does not group
    under pytest 9.)
    """
    lock_path = ROOT / "_build" / ".build.lock"
    lock_path.parent.mkdir(exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        completed = subprocess.run(["make", "-s", "book"], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, (f"the book did not build:\n{completed.stdout[-6000:]}\n"
                                       f"{completed.stderr[-6000:]}")
    return ROOT / "_build" / "html"
