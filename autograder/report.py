"""The class report: how one assignment went for the whole class, on one self-contained page.

    python -m autograder report A [--workdir W]   ->  W/report.html and W/report.csv

Everything comes from the work directory (:mod:`autograder.store`): scores from the gradebook,
each part's verdict (kind and message), the notes for the TA and the timings from the stored
results. The page shows the score distribution and each part's pass rate (whole class, on
time, late), each part's most common failure reasons with links to a few students' feedback
pages, the parts nearly everyone passes or fails, the submissions a TA should look at, and the
time each took. Figures are PNG images inside the page (:mod:`autograder.report_plots`); the
page loads nothing and runs no script, and every string that came from a submission is escaped.

A submission is "late" when a late penalty was applied to it (autograder/course.toml).
Failure messages that differ only in their numbers ("shape (2,)", "shape (3,)") are one reason.
"""

from __future__ import annotations

import base64
import csv
import html
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np

from . import report_plots, store
from .feedback import STYLE
from .verdicts import ERROR, LIMIT, NOT_RUN, POLICY, UNREADABLE

HEALTH_KINDS = (LIMIT, NOT_RUN, ERROR, POLICY, UNREADABLE)
NEARLY_EVERYONE = 0.9      # a part passed (or failed) by at least this share of the class needs a look
EXAMPLE_STUDENTS = 3       # students linked per failure reason
SCORE_EDGES = [float(edge) for edge in range(0, 101, 10)]  # percent; the last band includes 100
# A number standing alone (not part of a name such as conv2d or float32), sign and exponent included.
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)")


@dataclass
class Reason:
    """Why some students failed one part: a verdict kind and its message with numbers as '#'."""

    kind: str
    pattern: str
    students: list[str] = field(default_factory=list)
    example: str = ""  # one message as the check wrote it


@dataclass
class ClassReport:
    assignment: str
    points: dict[str, float]                    # autograded part -> points, in notebook order
    groups: dict[str, list]                     # "all", "on time", "late" -> grading.Result
    pass_rates: dict[str, dict[str, float]]     # group -> part -> share passed (non-empty groups only)
    histograms: dict[str, list[int]]            # "on time", "late" -> students per band of SCORE_EDGES
    reasons: dict[str, list[Reason]]            # part -> failure reasons, most common first
    attention: dict[str, str]                   # part -> what nearly everyone does
    health: list = field(default_factory=list)  # results with a problem for the TA, worst first


def message_pattern(message: str) -> str:
    return NUMBER.sub("#", message)


def is_late(result) -> bool:
    return result.late_factor < 1


def summarize(assignment: str, results: list, points: dict[str, float]) -> ClassReport:
    """Every number of the report, from graded results (:class:`autograder.grading.Result`)."""
    groups = {"all": results, "on time": [r for r in results if not is_late(r)],
              "late": [r for r in results if is_late(r)]}
    rates = {group: {part: sum(_passed(r, part) for r in members) / len(members) for part in points}
             for group, members in groups.items() if members}
    histograms = {group: np.histogram([_percent(r) for r in groups[group]], bins=SCORE_EDGES)[0].tolist()
                  for group in ("on time", "late")}
    return ClassReport(assignment, points, groups, rates, histograms,
                       {part: failure_reasons(results, part) for part in points},
                       attention_needed(rates.get("all", {})),
                       sorted((r for r in results if _health_problems(r) or r.notes),
                              key=lambda r: (r.error is None, -len(_health_problems(r)), r.student)))


def failure_reasons(results: list, part: str) -> list[Reason]:
    """The reasons ``part`` failed, grouped by kind and message pattern, most common first."""
    grouped: dict[tuple[str, str], Reason] = {}
    for result in results:
        verdict = result.verdicts.get(part)
        if verdict is not None and verdict.passed:
            continue
        kind, message = (verdict.kind, verdict.message) if verdict else (NOT_RUN, "not graded")
        reason = grouped.setdefault((kind, message_pattern(message)),
                                    Reason(kind, message_pattern(message), example=message))
        reason.students.append(result.student)
    return sorted(grouped.values(), key=lambda reason: (-len(reason.students), reason.kind, reason.pattern))


def attention_needed(rates: dict[str, float]) -> dict[str, str]:
    """Parts that (nearly) everyone passes or fails: the assignment or its check may be off."""
    flagged = {}
    for part, rate in rates.items():
        if rate >= NEARLY_EVERYONE:
            flagged[part] = f"{rate:.0%} pass: is the check strict enough, is the part too easy?"
        elif rate <= 1 - NEARLY_EVERYONE:
            flagged[part] = f"{rate:.0%} pass: is the task clear, is the check right?"
    return flagged


def build(assignment: str, workdir: Path) -> ClassReport:
    """The report of everything graded for ``assignment`` in ``workdir``."""
    from .grading import results_from_gradebook

    results = results_from_gradebook(assignment, workdir)
    if not results:
        raise SystemExit(f"nothing graded for {assignment} in {workdir}: "
                         f"run `python -m autograder grade {assignment} --submissions DIR` first")
    return summarize(assignment, results, store.maxima(workdir, assignment))


def write_report(assignment: str, workdir: Path) -> tuple[Path, Path]:
    """Write ``workdir/report.html`` and ``workdir/report.csv``; returns both paths."""
    workdir = Path(workdir)
    report = build(assignment, workdir)
    page, table = workdir / "report.html", workdir / "report.csv"
    page.write_text(render(report, workdir))
    write_csv(report, table)
    return page, table


CSV_COLUMNS = ["part", "points", "outcome", "reason", "students", "percent", "on_time", "late", "examples"]


def write_csv(report: ClassReport, path: Path) -> Path:
    """Per part, a row for the students who passed, then one per failure reason."""
    with Path(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        everyone = report.groups["all"]
        for part, points in report.points.items():
            passed = [r.student for r in everyone if _passed(r, part)]
            outcomes = [("passed", "", passed)] + [(r.kind, r.pattern, r.students) for r in report.reasons[part]]
            for outcome, reason, students in outcomes:
                named = set(students)
                late = sum(is_late(r) for r in everyone if r.student in named)
                writer.writerow([part, f"{points:g}", outcome, reason, len(students),
                                 f"{100 * len(students) / len(everyone):.1f}", len(students) - late, late,
                                 " ".join(students[:EXAMPLE_STUDENTS])])
    return Path(path)


def render(report: ClassReport, workdir: Path) -> str:
    """The page, with links to feedback pages relative to ``workdir`` (where the page goes)."""
    everyone = report.groups["all"]
    title = f"{_e(report.assignment)}: class report"
    return "\n".join([
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>",
        f"<p>{len(everyone)} students graded, {len(report.groups['late'])} late; mean score "
        f"{np.mean([_percent(r) for r in everyone]):.1f}% before late penalties.</p>",
        _scores_section(report), _parts_section(report), _reasons_section(report, workdir),
        _health_section(report, workdir), _time_section(report), "</body></html>"])


def _scores_section(report: ClassReport) -> str:
    bands = [f"{left:g}-{right:g}" for left, right in zip(SCORE_EDGES, SCORE_EDGES[1:])]
    return ("<h2>Scores</h2>"
            + _image(report_plots.score_histogram(SCORE_EDGES, report.histograms), "histogram of the scores")
            + _table(["score (%)", *bands], [[group, *counts] for group, counts in report.histograms.items()]))


def _parts_section(report: ClassReport) -> str:
    rates = report.pass_rates
    shown = ("<h2>Pass rate per part</h2>"
             + _image(report_plots.pass_rates(list(report.points), rates), "pass rate of each part")
             + _table(["part", "points", *rates],
                      [[part, f"{points:g}", *(f"{100 * by_part[part]:.0f}%" for by_part in rates.values())]
                       for part, points in report.points.items()])
             + "<h2>Parts that need attention</h2>")
    if not report.attention:
        return shown + (f"<p>None: every part is passed by more than {1 - NEARLY_EVERYONE:.0%} and less than "
                        f"{NEARLY_EVERYONE:.0%} of the class.</p>")
    return shown + _table(["part", "nearly everyone passes or fails"], report.attention.items())


def _reasons_section(report: ClassReport, workdir: Path) -> str:
    shown = ["<h2>Why parts failed</h2>"]
    for part, reasons in report.reasons.items():
        shown.append(f"<h3>{_e(part)}</h3>")
        if not reasons:
            shown.append("<p>Everyone passed.</p>")
            continue
        examples = [_Raw(", ".join(_student_link(report.assignment, workdir, student)
                                   for student in reason.students[:EXAMPLE_STUDENTS])) for reason in reasons]
        shown.append(_table(["students", "kind", "reason (numbers as #)", "for example"],
                            [[len(reason.students), reason.kind, reason.pattern, example]
                             for reason, example in zip(reasons, examples)]))
    return "\n".join(shown)


def _health_section(report: ClassReport, workdir: Path) -> str:
    shown = ("<h2>Grading health</h2><p>Submissions that could not run, hit a limit, raised in a hidden check, "
             "were flagged by a policy rule, or carry notes for the TA.</p>")
    if not report.health:
        return shown + "<p>Nothing to look at.</p>"
    rows = [[_Raw(_student_link(report.assignment, workdir, r.student)), r.error or "",
             _Raw("<br>".join(_e(f"{part}: {v.kind}: {v.message}") for part, v in _health_problems(r).items())),
             _Raw("<br>".join(_e(note) for note in r.notes))] for r in report.health]
    return shown + _table(["student", "could not be graded", "parts", "notes"], rows)


def _time_section(report: ClassReport) -> str:
    slowest = sorted(report.groups["all"], key=lambda r: -r.seconds)
    figure = report_plots.seconds_per_submission([r.student for r in slowest], [r.seconds for r in slowest])
    return ("<h2>Time per submission</h2>" + _image(figure, "seconds per submission, slowest first")
            + _table(["student", "total (s)", "notebook (s)", "hidden checks (s)", "judging (s)"],
                     [[r.student, f"{r.seconds:.1f}", f"{r.notebook_seconds:.1f}", f"{r.probe_seconds:.1f}",
                       f"{r.judge_seconds:.2f}"] for r in slowest]))


class _Raw(str):
    """A table cell that is already HTML (built from escaped pieces)."""


def _table(header: list[str], rows) -> str:
    return ("<table><tr>" + "".join(f"<th>{_e(name)}</th>" for name in header) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows)
            + "</table>")


def _cell(value) -> str:
    return value if isinstance(value, _Raw) else _e(value)


def _image(png: bytes, description: str) -> str:
    return f"<p><img alt='{_e(description)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'></p>"


def _student_link(assignment: str, workdir: Path, student: str) -> str:
    page = Path(workdir) / "feedback" / student / assignment / f"{assignment}.html"
    if not page.exists():
        return _e(student)
    return f"<a href='{_e(quote(os.path.relpath(page, workdir)))}'>{_e(student)}</a>"


def _health_problems(result) -> dict:
    return {part: v for part, v in result.verdicts.items() if not v.passed and v.kind in HEALTH_KINDS}


def _passed(result, part: str) -> bool:
    verdict = result.verdicts.get(part)
    return bool(verdict and verdict.passed)


def _percent(result) -> float:
    return 100 * result.score / result.max_score if result.max_score else 0.0


def _e(text) -> str:
    return html.escape(str(text), quote=True)
