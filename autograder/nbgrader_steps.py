"""The nbgrader step the course uses, run in-process with the course configuration.

nbgrader generates the student version (and the gradebook's record of the graded cells and
their points); grading itself is the autograder's own (see autograder.grading), and nbgrader's
plain autograde serves only as the benchmark's baseline. The function
takes a *course root*, a folder laid out as nbgrader expects (``solutions/A``,
``assignments/A``): the repository itself for releases, a work directory for grading.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

from nbgrader.converters import Autograde, GenerateAssignment
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory

from .course import course_config

GRADEBOOK = "gradebook.db"

# nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every autograde; they
# are about nbgrader's own session handling and say nothing a TA can act on.
warnings.filterwarnings("ignore", module="nbgrader.api")

# nbgrader runs helper programs (alembic) by name: make the ones installed next to this
# interpreter findable even when the virtual environment is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


class StepFailed(RuntimeError):
    """An nbgrader step failed. The message is the underlying error in one line;
    ``details`` holds everything nbgrader logged (tracebacks included)."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


def _root_cause(log_text: str) -> str:
    """The last 'SomeError: message' line of nbgrader's log: what actually went wrong."""
    causes = [line.strip() for line in log_text.splitlines()
              if re.match(r"^[A-Za-z_.]*(Error|Exception|Interrupt)\b", line.strip())]
    return causes[-1] if causes else "see the log"


def db_url(course_root: Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / GRADEBOOK}"


def generate_assignment(course_root: Path, assignment: str, db: str | None = None) -> None:
    """Write the student version ``course_root/assignments/A`` from ``course_root/solutions/A``
    and record the assignment's cells (hidden tests included) in the gradebook ``db``.

    Without ``db`` a throwaway gradebook is used, so a release leaves no database behind.
    """
    if db is not None:
        _run(GenerateAssignment, course_root, db, assignment_id=assignment, create_assignment=True)
        return
    with tempfile.TemporaryDirectory(prefix="cnnbook-release-") as scratch:
        _run(GenerateAssignment, course_root, db_url(Path(scratch)), assignment_id=assignment,
             create_assignment=True)


def plain_autograde(course_root: Path, assignment: str, student: str) -> None:
    """nbgrader's own ``autograde`` of ``submitted/STUDENT/A``: test cells' outcomes as scores, no
    sandbox. The course never grades this way; bench/grading_throughput.py compares against it."""
    _run(Autograde, course_root, db_url(course_root), assignment_id=assignment, student_id=student,
         create_student=True)


def _run(converter, course_root: Path, db: str, assignment_id: str, student_id: str = ".",
         **converter_settings) -> None:
    config = course_config()
    config.CourseDirectory.root = str(Path(course_root).resolve())
    config.CourseDirectory.db_url = db
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment_id
    coursedir.student_id = student_id
    app = converter(coursedir=coursedir, config=config)
    app.force = True
    for name, value in converter_settings.items():
        setattr(app, name, value)
    # nbgrader explains failures only in its log: keep its errors to put them in our exception.
    errors = io.StringIO()
    handler = logging.StreamHandler(errors)
    handler.setLevel(logging.ERROR)
    app.log.addHandler(handler)
    app.log.setLevel(logging.ERROR)
    app.log.propagate = False
    # nbgrader changes the working directory while it runs; put it back even when it fails.
    cwd = os.getcwd()
    try:
        app.start()
    except NbGraderException as error:
        log_text = errors.getvalue()
        raise StepFailed(f"{converter.__name__} failed: {_root_cause(log_text)}", log_text) from None
    finally:
        os.chdir(cwd)
        app.log.removeHandler(handler)
