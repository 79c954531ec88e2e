"""Shared pytest setup: the --runslow switch, the built book and the toy course."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# tools/ holds scripts, not a package: the tests of the publishing tools import them by name.
sys.path.insert(0, str(ROOT / "tools"))


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


BUILD_LOCK = ROOT / "_build" / ".build.lock"
# The background build's output and exit status: the build that executes the pages is the one whose
# warnings count (a second build finds the pages cached, reads none again and warns of nothing).
BACKGROUND_LOG = ROOT / "_build" / ".background-build.log"
BACKGROUND_STATUS = ROOT / "_build" / ".background-build.status"


def pytest_collection_finish(session):
    """Start `make book` in the background as soon as tests that need it are collected.

    The build executes every chapter on one core; started early it overlaps with the rest
    of the suite instead of running alone at the end. Only the first xdist worker starts it,
    holding the same lock as :func:`built_book`, which then waits for it and finds it cached.
    """
    if os.environ.get("PYTEST_XDIST_WORKER", "gw0") != "gw0":
        return
    if not any("built_book" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    BUILD_LOCK.parent.mkdir(exist_ok=True)
    BACKGROUND_STATUS.unlink(missing_ok=True)
    build = ("import fcntl, pathlib, subprocess, sys\n"
             f"lock = open({str(BUILD_LOCK)!r}, 'w')\n"
             "fcntl.flock(lock, fcntl.LOCK_EX)\n"
             f"with open({str(BACKGROUND_LOG)!r}, 'w') as log:\n"
             f"    completed = subprocess.run(['make', '-s', 'book'], cwd={str(ROOT)!r}, stdout=log, stderr=log)\n"
             f"pathlib.Path({str(BACKGROUND_STATUS)!r}).write_text(str(completed.returncode))\n")
    subprocess.Popen([sys.executable, "-c", build], start_new_session=True)


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The book built by the README's own command (`make book`); returns _build/html.

    Each xdist worker that needs the book asks for it, and a file lock makes the second wait
    for the first: its own `make book` then finds everything cached and only re-renders.
    (pytest-xdist's loadgroup, which would keep these tests on one worker, does not group
    under pytest 9.)
    """
    BUILD_LOCK.parent.mkdir(exist_ok=True)
    with BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        completed = subprocess.run(["make", "-s", "book"], cwd=ROOT, capture_output=True, text=True)
        background = BACKGROUND_STATUS.read_text().strip() if BACKGROUND_STATUS.exists() else "0"
    assert completed.returncode == 0, (f"the book did not build:\n{completed.stdout[-6000:]}\n"
                                       f"{completed.stderr[-6000:]}")
    assert background == "0", (f"the book's first build (in the background, {BACKGROUND_LOG}) failed; a second "
                               f"build found its pages cached:\n{BACKGROUND_LOG.read_text()[-6000:]}")
    return ROOT / "_build" / "html"


@pytest.fixture
def toy_course(tmp_path, monkeypatch) -> Path:
    """The toy assignment (tests/toy_assignment.py), released in a course of its own; returns its root."""
    from toy_assignment import install

    return install(tmp_path / "course", monkeypatch)


@pytest.fixture(scope="session")
def graded_toy_cohort(tmp_path_factory) -> Path:
    """Nine students graded on the toy assignment (see toy_assignment.graded_cohort): the work
    directory, beside which ``course/`` holds the toy course. Graded once per test process."""
    from toy_assignment import graded_cohort

    with pytest.MonkeyPatch.context() as patch:
        return graded_cohort(tmp_path_factory.mktemp("cohort"), patch)
