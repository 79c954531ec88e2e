"""Collect submissions from an LMS download: the zip Canvas or Moodle gives of everyone's files.

The zip is turned into the folder layout of :mod:`autograder.submissions` (one folder per
student id, and ``submitted.csv`` when times are known) in a temporary folder, and read from
there, so choosing a notebook and reading times work as for any folder.

Layouts, as the LMSs' own code writes them:

Canvas, "Download Submissions" (canvas-lms ``lib/content_zipper.rb``: ``get_filename``,
``add_upload_submission``, ``sanitize_user_name``): one flat file per uploaded file, named
``{name}_{LATE_}{user id}_{file id}_{file name}``, e.g. ``doejane_123456_7890123_a1_backprop.ipynb``.
The name is the sortable name ("Doe, Jane") lower-cased with all but letters, digits and ``_``
removed; ``LATE_`` is there when Canvas counts the submission late (no time is given); the user
id is Canvas's; with anonymous grading there is no name and the id is ``anon_{id}``. The file id
is Canvas's id of the uploaded file (a later upload has a larger one), and the file name its
display name: Canvas renames a student's re-upload of the same name ``a1_backprop-1.ipynb``,
``-2``, ... A typed answer or URL comes as ``{name}_{LATE_}{user id}_text.html`` / ``_link.html``.
Only each student's latest submission is in the zip; for a group assignment graded as a group,
only the files of the member Canvas picks to represent the group.

Moodle, "Download all submissions" (``mod/assign/classes/downloader.php``): by default (since
Moodle 3.1) one folder per participant, ``{Full Name}_{participant id}_assignsubmission_file``
(ending in ``_`` before Moodle 4.1), holding the files as uploaded, subfolders kept; online text
is in ``..._assignsubmission_onlinetext``. With "Download submissions in folders" unticked, the
files are flat: ``{Full Name}_{participant id}_assignsubmission_file_{file name}``. ``_`` in the
name becomes a space. The participant id is the per-assignment number Moodle shows as
"Participant 1234567", not the user id, so a roster matches names. Blind marking writes
"Participant" for the name; a team submission ``{group name}_{group id}``. No time, no late mark.

Names are mapped to student ids with a roster (:mod:`autograder.roster`): Canvas files on the
Canvas user id, then the name; Moodle folders on the name.

A submitter the roster lacks, or every submitter when there is no roster, is graded under an id
made from the download (``doejane-123456``, ``jane-doe-1234567``) so no work is lost; with a
roster, that name is printed and a note on the student's result says to add them to the roster
and grade again. So is a second submitter the roster maps to a student who already has one.

Submission times: neither download carries one. A TA expects the course's penalty
(``autograder/course.toml``) applied to the real time, never to a guess, so times come from a
CSV beside the zip named like it, ``X.submitted.csv`` for ``X.zip`` (the columns of a folder's
``submitted.csv``: ``student,submitted_at``, by student id after mapping), made from the LMS's
records (Canvas's API or SpeedGrader, Moodle's grading worksheet). Without a time no penalty is
applied here, and Canvas's LATE mark is kept as a note on the student's result: Canvas's own
late policy, where the course uses one, deducts it when the grades are imported, so a penalty
guessed here could count twice.

Only notebooks are taken: other files are named in a note; a student with no notebook gets a
problem, not a score. The zip is read by :mod:`autograder.untrusted_zip`.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import submissions
from .roster import Roster, name_key, read_roster
from .untrusted_zip import MemberProblem, UntrustedZip

CANVAS, MOODLE = "Canvas", "Moodle"

_CANVAS_TAIL = r"_(?:(?P<file_id>\d+)_(?P<file>.+)|(?P<typed>text|link)\.html)$"
_CANVAS_ANONYMOUS = re.compile(r"^(?P<late>LATE_)?(?P<id>anon_[A-Za-z0-9]+)" + _CANVAS_TAIL)
# The name is matched shortest first: Canvas removes any "_digits_" from names so that the first
# one marks the user id.
_CANVAS_NAMED = re.compile(r"^(?P<name>.+?)_(?P<late>LATE_)?(?P<id>\d+)" + _CANVAS_TAIL)
_MOODLE_PREFIX = r"^(?P<name>.+?)(?:_(?P<id>\d+))?_assignsubmission_(?P<plugin>[a-z]+)"
_MOODLE_FOLDER = re.compile(_MOODLE_PREFIX + r"_?$")
_MOODLE_FLAT = re.compile(_MOODLE_PREFIX + r"_(?P<file>.+)$")
_CANVAS_COPY_SUFFIX = re.compile(r"-\d+(?=\.ipynb$)")

@dataclass
class _Submitter:
    """Everything one submitter has in the download."""

    lms: str
    lms_id: str   # Canvas user id or anon_..., Moodle participant or group id ("" when none)
    name: str     # as the download spells it ("" when anonymous)
    late: bool = False
    notebooks: dict[str, tuple[int, zipfile.ZipInfo]] = field(default_factory=dict)  # path -> (file id, zip member)
    ignored: list[str] = field(default_factory=list)      # files that are not notebooks
    unreadable: list[str] = field(default_factory=list)   # notebooks not taken: too large, corrupt
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        who = {CANVAS: "user", MOODLE: "participant"}[self.lms]
        return " ".join(filter(None, (self.lms, who if self.lms_id else "submission", self.lms_id,
                                      f"({self.name})" if self.name else "")))


def collect_lms_download(path: Path, assignment: str | None = None,
                         roster_path: Path | None = None) -> dict[str, submissions.Submission]:
    """Every submission in a Canvas or Moodle zip, by student id; prints what a TA must know
    (names not in the roster, files not taken, LATE marks without a time)."""
    path = Path(path)
    roster = read_roster(roster_path) if roster_path else None
    report: list[str] = []
    folder, by_student = _unpack(path, roster, report)
    times = path.with_name(f"{path.stem}.{submissions.TIMES_FILE}")
    if times.is_file():
        shutil.copy(times, folder / submissions.TIMES_FILE)
    collected = submissions.collect_submissions(folder, assignment)
    late_without_time = [student for student, submission in collected.items()
                         if _annotate(submission, by_student[student], times)]
    if late_without_time:
        report.append(f"LATE in Canvas, no time in {times.name}, no penalty applied: {_listed(late_without_time)}")
    lms = " and ".join(sorted({submitter.lms for submitter in by_student.values()}))
    mapped = f", {len(set(by_student) & set(roster.students))} matched to the roster" if roster else ""
    print(f"{lms} download {path.name}: {len(collected)} submissions{mapped}"
          + ("" if times.is_file() else f"; no {times.name} beside it: submission times unknown"))
    missing = sorted(set(roster.students) - set(collected)) if roster else []
    if missing:
        report.append(f"in the roster, without a submission ({len(missing)}): {_listed(missing)}")
    for line in report:
        print(f"  {line}")
    return collected


def _unpack(path: Path, roster: Roster | None, report: list[str]) -> tuple[Path, dict[str, _Submitter]]:
    """The download's notebooks written in a temporary folder, one folder per student id."""
    with UntrustedZip(path) as download:
        submitters, unrecognized = _submitters(download)
        report += [f"skipped {line}" for line in download.skipped]
        if unrecognized:
            report.append(f"skipped, not named like a Canvas or Moodle download: {_listed(unrecognized)}")
        if not submitters:
            raise SystemExit(f"{path} holds no file named like a Canvas or Moodle download: expected e.g. "
                             "doejane_123456_7890123_a1_backprop.ipynb or "
                             "'Jane Doe_1234567_assignsubmission_file/a1_backprop.ipynb'")
        folder = Path(tempfile.mkdtemp(prefix="cnnbook-lms-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # the notebooks are read until grading ends
        by_student = _map_students(submitters, roster, report)
        for student, submitter in by_student.items():
            _write(download, submitter, folder / student)
    return folder, by_student


def _submitters(download: UntrustedZip) -> tuple[list[_Submitter], list[str]]:
    """Each submitter's notebooks (by path in their submission) and other files; unrecognized names."""
    found: dict[tuple, _Submitter] = {}
    unrecognized = []
    for member in download.members:
        parsed = _parse(member.filename)
        if parsed is None:
            unrecognized.append(member.filename)
            continue
        lms, lms_id, name, late, inner, file_id = parsed
        submitter = found.setdefault((lms, lms_id, name), _Submitter(lms, lms_id, name))
        submitter.late |= late
        if ".ipynb_checkpoints" in inner.split("/"):
            continue  # Jupyter's autosaves, uploaded along with a folder
        if not inner.endswith(".ipynb"):
            submitter.ignored.append(inner)
            continue
        kept = submitter.notebooks.get(inner)
        if kept is not None:
            submitter.notes.append(f"two uploads named {inner}: graded the later one")
        if kept is None or file_id > kept[0]:
            submitter.notebooks[inner] = (file_id, member)
    return list(found.values()), unrecognized


def _parse(filename: str) -> tuple[str, str, str, bool, str, int] | None:
    """(lms, submitter id, submitter name, marked late, path in the submission, file id) or None."""
    folder, _, inner = filename.partition("/")
    if inner and (match := _MOODLE_FOLDER.match(folder)):
        return MOODLE, match["id"] or "", match["name"], False, _moodle_inner(match["plugin"], inner), 0
    basename = filename.rsplit("/", 1)[-1]
    if match := _MOODLE_FLAT.match(basename):
        return MOODLE, match["id"] or "", match["name"], False, _moodle_inner(match["plugin"], match["file"]), 0
    if match := _CANVAS_ANONYMOUS.match(basename) or _CANVAS_NAMED.match(basename):
        name = match.groupdict().get("name") or ""
        if match["typed"]:
            return CANVAS, match["id"], name, bool(match["late"]), f"{match['typed']} entry (html)", 0
        # Canvas's -1, -2 mark a re-upload, not the student's naming: a1_backprop-1.ipynb is a1_backprop.ipynb
        return (CANVAS, match["id"], name, bool(match["late"]), _CANVAS_COPY_SUFFIX.sub("", match["file"]),
                int(match["file_id"]))
    return None


def _moodle_inner(plugin: str, inner: str) -> str:
    return inner if plugin == "file" else f"{plugin} ({inner})"  # online text, feedback: not files


def _map_students(submitters: list[_Submitter], roster: Roster | None, report: list[str]) -> dict[str, _Submitter]:
    """Student id -> submitter: from the roster where it knows them, else an id made from the download."""
    by_student: dict[str, _Submitter] = {}
    unmapped = []
    for submitter in submitters:
        student, why = _roster_match(submitter, roster) if roster else (None, None)
        if student in by_student:
            why = f"is matched to {student}, who already has {by_student[student]}'s submission"
            student = None
        if student is None:
            student = _download_id(submitter)
            if student in by_student:  # the same as a roster id: never put two submissions under one id
                student = f"{student}-{len(by_student)}"
            if roster:
                submitter.notes.append(f"{submitter} {why}: graded as {student}; add them to the roster "
                                       "and grade again")
                unmapped.append(f"{submitter} as {student}")
        by_student[student] = submitter
    if unmapped:
        report.append(f"not in the roster, graded under an id made from the download: {_listed(unmapped)}")
    elif roster is None:
        report.append("no --roster: students are named from the download (name-id)")
    return by_student


def _roster_match(submitter: _Submitter, roster: Roster) -> tuple[str | None, str | None]:
    """(student id, None), or (None, why not)."""
    if submitter.lms == CANVAS and submitter.lms_id in roster.by_canvas_id:
        return roster.by_canvas_id[submitter.lms_id], None
    if not submitter.name:
        return None, "is anonymous (anonymous grading)"
    key = name_key(submitter.name)
    if key not in roster.by_name:
        return None, "matches no one in the roster"
    if roster.by_name[key] is None:
        return None, "has a name several students in the roster share"
    return roster.by_name[key], None


def _write(download: UntrustedZip, submitter: _Submitter, folder: Path) -> None:
    folder.mkdir()
    for inner, (_, member) in sorted(submitter.notebooks.items()):
        try:
            data = download.read(member)
        except MemberProblem as problem:
            submitter.unreadable.append(str(problem))
            continue
        target = folder.joinpath(*(_harmless(part) for part in inner.split("/") if part))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _annotate(submission: submissions.Submission, submitter: _Submitter, times: Path) -> bool:
    """Put what the download says about a submitter on its submission; True when it is marked late
    and its time is unknown."""
    submission.notes += submitter.notes + submitter.unreadable
    if submitter.ignored and submitter.notebooks:
        submission.notes.append(f"not notebooks, not graded: {_listed(submitter.ignored)}")
    if not submitter.notebooks:
        submission.notebook = None
        submission.problem = (f"the {submitter.lms} submission holds no notebook"
                              + (f" (only {_listed(submitter.ignored)})" if submitter.ignored else "")
                              + ": only .ipynb files are graded")
    elif len(submitter.unreadable) == len(submitter.notebooks):
        submission.notebook, submission.problem = None, "; ".join(submitter.unreadable)
    without_time = submitter.late and submission.submitted_at is None
    if submitter.late:
        submission.notes.append(
            "Canvas marks this submission LATE" + (
                f"; the download gives no time, so no late penalty is applied here (Canvas's late policy "
                f"deducts it on import if the course uses one; or give the time in {times.name})"
                if without_time else ""))
    return without_time


def _download_id(submitter: _Submitter) -> str:
    """A usable student id from the download: doejane-123456, jane-doe-1234567, anon-x1y2z."""
    return "-".join(filter(None, (_slug(submitter.name), _slug(submitter.lms_id)))) or "unnamed"


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _harmless(part: str) -> str:
    """A file or folder name with only letters, digits, space, '.', '-', '_' (never '.' or '..')."""
    cleaned = re.sub(r"[^\w. -]", "_", part).strip()
    return cleaned if cleaned.strip(".") else "_"


def _listed(items: list[str], shown: int = 10) -> str:
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more
