"""Command line for TAs: ``python -m autograder COMMAND`` (or ``make release/validate/grade``).

    release  [A ...]                      regenerate assignments/A from solutions/A
    check-release [A ...]                 fail if assignments/ differs from a fresh release
    validate [A ...]                      solution full marks, blank release zero
    grade A --submissions DIR [--workdir W] [--jobs N] [--gpus 0,1] [--scheduler ADDR]
          [--force] [--no-sandbox]        autograde (N at a time, sandboxed), feedback, grades.csv
          [--roster F]                    DIR may be a Canvas or Moodle download zip: F maps names to ids
    feedback A [--workdir W]              (re)write the feedback pages from the stored verdicts
    export A [--workdir W] [--csv F]      (re)write the grades CSV from the gradebook
    report A [--workdir W]                class report: W/report.html (plots, failure reasons,
                                          grading health, times) and W/report.csv
    export-course [--root R] [--csv F] [--canvas F]
                                          every assignment graded under R: one row per student
                                          (late penalties applied), and a Canvas gradebook CSV
    similarity A [--workdir W] [--threshold T] [--jobs N]
                                          pairs of students whose answers look copied:
                                          W/similarity.html (side by side) and W/similarity.csv

Assignments are named by id (a1_backprop) or short form (a1); no name means all of them.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from . import course


def default_workdir(assignment: str) -> Path:
    """Grading happens outside the repository so no student file ever lands in it."""
    return Path.home() / "cnnbook-grading" / assignment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("release", "regenerate student versions"),
                            ("check-release", "check assignments/ matches solutions/"),
                            ("validate", "solution full marks, blank release zero")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("assignments", nargs="*", help="ids or short names; none means all")
    grade_parser = commands.add_parser("grade", help="autograde a folder of submissions")
    grade_parser.add_argument("assignment")
    grade_parser.add_argument("--submissions", required=True, type=Path,
                              help="folder of STUDENT.ipynb files or STUDENT/ folders, or a Canvas or Moodle zip")
    grade_parser.add_argument("--roster", type=Path,
                              help="CSV mapping an LMS zip's names to student ids (see autograder/lms.py)")
    grade_parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                              help="submissions graded at once (default: the number of cores)")
    grade_parser.add_argument("--gpus", default="",
                              help="CUDA device ids, e.g. 0,1: one per worker, for assignments marked gpu")
    grade_parser.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786): grade on that cluster")
    grade_parser.add_argument("--force", action="store_true", help="grade again submissions already graded")
    grade_parser.add_argument("--no-sandbox", action="store_true",
                              help="run kernels without bubblewrap (only for trusted notebooks)")
    course_parser = commands.add_parser("export-course", help="grades of every assignment, and a Canvas CSV")
    course_parser.add_argument("--root", type=Path, default=default_workdir("x").parent,
                               help="folder holding one work directory per assignment (default ~/cnnbook-grading)")
    course_parser.add_argument("--csv", type=Path, help="default ROOT/course-grades.csv")
    course_parser.add_argument("--canvas", type=Path, help="default ROOT/canvas-import.csv")
    similarity_parser = commands.add_parser("similarity", help="pairs of students whose answers look copied")
    similarity_parser.add_argument("assignment")
    similarity_parser.add_argument("--workdir", type=Path, help="grading folder (default ~/cnnbook-grading/A)")
    similarity_parser.add_argument("--threshold", type=float,
                                   help="lowest share of one student's answers found in the other's (default 0.5)")
    similarity_parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                                   help="processes comparing pairs (default: the number of cores)")
    for name, help_text in (("feedback", "write feedback HTML"), ("export", "write the grades CSV")):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("assignment")
    for sub in (grade_parser, commands.choices["feedback"], commands.choices["export"]):
        sub.add_argument("--workdir", type=Path, help="grading folder (default ~/cnnbook-grading/A)")
    for sub in (grade_parser, commands.choices["export"]):
        sub.add_argument("--csv", type=Path, help="where to write grades (default WORKDIR/grades.csv)")
    report_parser = commands.add_parser("report", help="class report: scores, pass rates, failure reasons")
    report_parser.add_argument("assignment")
    report_parser.add_argument("--workdir", type=Path, help="grading folder (default ~/cnnbook-grading/A)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    return COMMANDS[args.command](args)


def _release(args) -> int:
    from .release import release
    for assignment in _assignments(args.assignments):
        print(f"released {release(assignment).relative_to(course.REPO_ROOT)}")
    return 0


def _check_release(args) -> int:
    from .release import release_differences
    failed = False
    for assignment in _assignments(args.assignments):
        differences = release_differences(assignment)
        for line in differences:
            print(f"{assignment}: {line}")
        failed |= bool(differences)
    if failed:
        print("assignments/ is out of date: run `make release` and commit the result")
    return int(failed)


def _validate(args) -> int:
    from .validate import validate
    failed = False
    for assignment in _assignments(args.assignments):
        validation = validate(assignment)
        print(f"{assignment}: solution {validation.solution.score:g}/{validation.solution.max_score:g}, "
              f"blank {validation.blank.score:g}/{validation.blank.max_score:g}")
        for problem in validation.problems:
            print(f"  PROBLEM {problem}")
        failed |= bool(validation.problems)
    return int(failed)


def _grade(args) -> int:
    from .export import export_csv
    from .grading import collect_submissions, feedback, grade
    from .reference import ReferenceFailed
    assignment = course.resolve(args.assignment)
    workdir = (args.workdir or default_workdir(assignment)).resolve()
    submissions = collect_submissions(args.submissions, assignment, args.roster)
    gpus = [gpu.strip() for gpu in args.gpus.split(",") if gpu.strip()]
    settings = course.settings(assignment)
    if settings.gpu and not gpus:
        print(f"note: {assignment} is marked gpu but no --gpus were given: grading on the CPU")
    try:
        results = grade(assignment, submissions, workdir, jobs=args.jobs, sandbox=not args.no_sandbox, gpus=gpus,
                        scheduler=args.scheduler, force=args.force)
    except ReferenceFailed as error:
        print(f"nothing graded: {error}", file=sys.stderr)
        return 2
    feedback(assignment, workdir, [r.student for r in results if not r.cached])
    csv_path = export_csv(results, args.csv or workdir / "grades.csv")
    _summary(results)
    print(f"grades: {csv_path}\nfeedback: {workdir / 'feedback'}")
    return 0


def _feedback(args) -> int:
    from .grading import feedback
    assignment = course.resolve(args.assignment)
    for path in feedback(assignment, (args.workdir or default_workdir(assignment)).resolve()):
        print(path)
    return 0


def _export(args) -> int:
    from .export import export_csv
    from .grading import results_from_gradebook
    assignment = course.resolve(args.assignment)
    workdir = (args.workdir or default_workdir(assignment)).resolve()
    print(export_csv(results_from_gradebook(assignment, workdir), args.csv or workdir / "grades.csv"))
    return 0


def _report(args) -> int:
    from .report import write_report
    assignment = course.resolve(args.assignment)
    page, table = write_report(assignment, (args.workdir or default_workdir(assignment)).resolve())
    print(f"report: {page}\nper part and failure reason: {table}")
    return 0


def _export_course(args) -> int:
    from .export import export_canvas, export_course
    root = args.root.resolve()
    print(export_course(root, args.csv or root / "course-grades.csv"))
    print(export_canvas(root, args.canvas or root / "canvas-import.csv"))
    return 0


def _similarity(args) -> int:
    from .similarity import check
    assignment = course.resolve(args.assignment)
    workdir = (args.workdir or default_workdir(assignment)).resolve()
    comparison, page, table = check(assignment, workdir, threshold=args.threshold, jobs=args.jobs)
    print(f"{len(comparison.matches)} pairs at or above {comparison.threshold:.0%}")
    for match in comparison.matches[:10]:
        print(f"  {match.score:4.0%}  {match.student_a}  {match.student_b}")
    print(f"side by side: {page}\nranked pairs: {table}")
    return 0


# Failures worth a TA's eye in the summary (a plain wrong answer is in the feedback and CSV).
NOTABLE_KINDS = ("limit", "not run", "unreadable", "policy")


def _summary(results) -> None:
    graded = [r for r in results if not r.error]
    reused = sum(r.cached for r in results)
    print(f"\n{len(graded)} graded, {len(results) - len(graded)} failed"
          + (f" ({reused} unchanged since the last run, not graded again)" if reused else ""))
    if graded:
        mean = sum(r.score / r.max_score for r in graded if r.max_score) / len(graded)
        slowest = max(results, key=lambda r: r.seconds)
        print(f"mean score {100 * mean:.1f}%; slowest {slowest.student} ({slowest.seconds:.0f} s)")
    for result in results:
        status = f"{result.score:g}/{result.max_score:g}" + (f"  ERROR {result.error}" if result.error else "")
        if result.late_factor < 1:
            status += f"  late: x{result.late_factor:g}"
        print(f"  {result.student:<24} {status}")
        for part, verdict in result.verdicts.items():
            if not verdict.passed and verdict.kind in NOTABLE_KINDS:
                print(f"      {part}: {verdict.kind}: {verdict.message[:150]}")
        for note in result.notes:
            if "worth a look" in note or "stopped" in note:
                print(f"      note: {note[:150]}")


def _assignments(names: list[str]) -> list[str]:
    chosen = [course.resolve(name) for name in names] or course.all_assignments()
    if not chosen:
        raise SystemExit("no assignments in solutions/ yet")
    return chosen


COMMANDS = {"release": _release, "check-release": _check_release, "validate": _validate,
            "similarity": _similarity,
            "grade": _grade, "feedback": _feedback, "export": _export, "export-course": _export_course,
            "report": _report}

if __name__ == "__main__":
    sys.exit(main())
