"""Verdicts: the student's records compared with the solution's, in the grader's own process.

This module never sees a student's object: only the arrays :mod:`autograder.records` let
through. For every value the solution's run recorded, in order, the student's run must have
recorded a value under the same name that compares as the solution's ``record(...)`` call
asked (the student's own settings are ignored):

=============  ==========================================================================
``compare``    passes when
=============  ==========================================================================
``close``      same shape, finite where the solution's is, and ``|s - r| <= atol + rtol |r|``
               elementwise (the default for floating-point values; ``rtol`` 1e-5,
               ``atol`` 1e-7 unless given; an absolute floor keeps float32 noise near zero
               from counting as a relative error)
``equal``      same shape and the same values (the default for integers, booleans, strings)
``shape``      same shape
``at_least``   a number no smaller than the solution's minus ``atol``
``at_most``    a number no larger than the solution's plus ``atol``
``agree``      same shape and at least a ``fraction`` of the entries equal to the solution's
=============  ==========================================================================
"""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass

import numpy as np

from .records import Records

PASSED, WRONG, MISSING, ERROR, NOT_RUN, LIMIT, POLICY, UNREADABLE = (
    "passed", "wrong", "missing", "error", "not run", "limit", "policy", "unreadable")
DEFAULT_RTOL, DEFAULT_ATOL = 1e-5, 1e-7


@dataclass(frozen=True)
class Verdict:
    """One graded part's outcome: passed, or failed with a kind and a message for the student."""

    part: str
    passed: bool
    kind: str
    message: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Verdict":
        return cls(str(data["part"]), bool(data["passed"]), str(data["kind"]), str(data.get("message", "")))


def failed(part: str, kind: str, message: str) -> Verdict:
    return Verdict(part, False, kind, message)


def judge(part: str, reference: Records, student: Records) -> Verdict:
    """The verdict on ``part`` from the solution's records and the student's."""
    if not reference.values:
        raise ValueError(f"the hidden check of {part} records nothing in the solution's run: it cannot grade")
    for name, expected in reference.values.items():
        if name not in student.values:
            return failed(part, *_why_missing(name, student))
        problem = compare(student.values[name], expected, reference.settings.get(name, {}))
        if problem:
            return failed(part, WRONG, f"{name}: {problem}")
    return Verdict(part, True, PASSED)


def _why_missing(name: str, student: Records) -> tuple[str, str]:
    if name in student.unreadable:
        return WRONG, f"{name}: not a number, boolean, string or numeric array"
    if student.error:
        return ERROR, f"your code raised {_exception_name(student.error)} while the hidden check ran it (at: {name})"
    return MISSING, f"{name}: no value came back from your code"


def _exception_name(name: str) -> str:
    """Only a built-in exception's name is repeated: the name of a student's own class could
    carry anything into the feedback."""
    return name if isinstance(getattr(builtins, name, None), type) else "an exception"


def compare(actual: np.ndarray, expected: np.ndarray, settings: dict) -> str | None:
    """Why ``actual`` does not match ``expected`` under ``settings``, or None when it does."""
    how = settings.get("compare") or ("close" if expected.dtype.kind in "fc" else "equal")
    if how == "shape":
        return None if actual.shape == expected.shape else _shape_problem(actual, expected)
    if how in ("at_least", "at_most"):
        return _bound(actual, expected, how, float(settings.get("atol", 0.0)))
    if actual.shape != expected.shape:
        return _shape_problem(actual, expected)
    if (actual.dtype.kind == "U") != (expected.dtype.kind == "U"):
        return "a string where numbers were expected" if actual.dtype.kind == "U" else "numbers where a string was expected"
    if how == "equal":
        if np.array_equal(actual, expected):
            return None
        return _first_difference(actual, expected)
    if how == "agree":
        fraction = float(np.mean(actual == expected)) if expected.size else 1.0
        wanted = float(settings.get("fraction", 1.0))
        return None if fraction >= wanted else f"{fraction:.0%} of the entries agree, at least {wanted:.0%} expected"
    if how == "close":
        return _close(actual, expected, float(settings.get("rtol", DEFAULT_RTOL)), float(settings.get("atol", DEFAULT_ATOL)))
    raise ValueError(f"unknown comparison {how!r}")


def _shape_problem(actual: np.ndarray, expected: np.ndarray) -> str:
    return f"shape {actual.shape}, expected {expected.shape}"


def _bound(actual: np.ndarray, expected: np.ndarray, how: str, atol: float) -> str | None:
    if actual.size != 1 or actual.dtype.kind not in "biuf" or not np.isfinite(actual).all():
        return "should be one finite number"
    value, limit = float(actual.reshape(())), float(expected.reshape(()))
    if how == "at_least":
        return None if value >= limit - atol else f"{value:.4g}, expected at least {limit - atol:.4g}"
    return None if value <= limit + atol else f"{value:.4g}, expected at most {limit + atol:.4g}"


def _first_difference(actual: np.ndarray, expected: np.ndarray) -> str:
    # Messages never state an expected value: with the batch's seed kept for regrading, a value
    # shown once could be typed in and pass the next time.
    if expected.ndim == 0:
        return "differs from the expected value"
    index = tuple(int(i) for i in np.argwhere(actual != expected)[0])
    return f"{int(np.sum(actual != expected))} of {expected.size} entries differ, the first at index {index}"


def _close(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    if actual.dtype.kind not in "biuf":
        return "not a numeric array"
    actual64, expected64 = actual.astype(np.float64), expected.astype(np.float64)
    finite = np.isfinite(expected64)
    if not np.array_equal(np.isfinite(actual64), finite):
        return "contains NaN or infinity where the expected values are finite"
    if actual64.size == 0:
        return None
    difference = np.where(finite, np.abs(actual64 - expected64), 0.0)
    allowed = atol + rtol * np.abs(np.where(finite, expected64, 0.0))
    bad = (difference > allowed) | (~finite & (actual64 != expected64))
    if not bad.any():
        return None
    scale = np.abs(actual64) + np.abs(expected64)
    relative = float(np.max(np.where(bad, difference / np.maximum(scale, 1e-300), 0.0)))
    tolerance = f"allowed {atol:.0e} + {rtol:.0e} x |expected|"
    if expected.ndim == 0:
        return f"differs from the expected value (relative error {relative:.0e}; {tolerance})"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return (f"{int(bad.sum())} of {bad.size} entries are off, the first at index {index} "
            f"(largest relative error {relative:.0e}; {tolerance})")
