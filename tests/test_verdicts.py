"""The grader's trusted side, without a kernel: reading records, comparing them, policy, rebuild."""

from __future__ import annotations

import copy
import io
import json
import pickle
import zipfile

import nbformat
import numpy as np
import pytest

from autograder import policy
from autograder.rebuild import rebuild
from autograder.records import Records, UnreadableRecords, parse
from autograder.verdicts import compare, judge


def archive(values: dict, error=None, settings=None, unreadable=()) -> bytes:
    buffer = io.BytesIO()
    meta = {"names": list(values), "settings": settings or {}, "unreadable": list(unreadable), "error": error,
            "trace": ""}
    np.savez(buffer, __meta__=np.array(json.dumps(meta)),
             **{f"r{i}": np.asarray(value) for i, value in enumerate(values.values())})
    return buffer.getvalue()


def test_records_round_trip():
    records = parse(archive({"out": np.arange(6.0).reshape(2, 3), "name": "relu", "flag": True}))
    assert list(records.values) == ["out", "name", "flag"]
    assert records.values["out"].shape == (2, 3) and str(records.values["name"]) == "relu"


@pytest.mark.parametrize("data", [
    b"not a zip",
    pickle.dumps({"out": 1}),
])
def test_unreadable_archives_are_refused(data):
    with pytest.raises(UnreadableRecords):
        parse(data)


def test_object_arrays_and_pickles_never_load():
    buffer = io.BytesIO()
    meta = {"names": ["out"], "settings": {}, "unreadable": [], "error": None, "trace": ""}
    np.savez(buffer, __meta__=np.array(json.dumps(meta)), r0=np.array([object()], dtype=object))
    with pytest.raises(UnreadableRecords):
        parse(buffer.getvalue())


def test_a_zip_bomb_is_refused_before_unpacking():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("r0.npy", b"\0" * (300 * 2**20))
    with pytest.raises(UnreadableRecords, match="unpacks"):
        parse(buffer.getvalue())


def reference(values, settings=None):
    return parse(archive(values, settings=settings))


def test_judge_passes_matching_values_and_says_what_differs():
    expected = reference({"out": np.linspace(0, 1, 6), "count": 3}, {"out": {"rtol": 1e-6, "atol": 1e-9}})
    assert judge("p", expected, parse(archive({"out": np.linspace(0, 1, 6) + 1e-10, "count": 3}))).passed
    wrong = judge("p", expected, parse(archive({"out": np.linspace(0, 1, 6) * 1.1, "count": 3})))
    assert (wrong.passed, wrong.kind) == (False, "wrong") and wrong.message.startswith("out: 5 of 6 entries")
    missing = judge("p", expected, parse(archive({"out": np.linspace(0, 1, 6)})))
    assert missing.kind == "missing" and "count" in missing.message


def test_the_students_settings_are_ignored():
    expected = reference({"out": np.ones(3)}, {"out": {"rtol": 1e-9, "atol": 0.0}})
    lenient = parse(archive({"out": np.full(3, 2.0)}, settings={"out": {"rtol": 1e9, "compare": "shape"}}))
    assert not judge("p", expected, lenient).passed


def test_errors_name_only_builtin_exceptions():
    expected = reference({"out": np.ones(3)})
    builtin = judge("p", expected, parse(archive({}, error="ZeroDivisionError")))
    custom = judge("p", expected, parse(archive({}, error="record_the_hidden_source")))
    assert "ZeroDivisionError" in builtin.message
    assert "record_the_hidden_source" not in custom.message and "an exception" in custom.message


def test_messages_never_state_an_expected_value():
    verdict = judge("p", reference({"loss": 2.302585092994046}), parse(archive({"loss": 1.5})))
    assert "2.30" not in verdict.message and "1.5" not in verdict.message


@pytest.mark.parametrize("actual, expected, settings, passes", [
    (np.float32(1e-5 + 1.5e-8), np.float32(1e-5), {"rtol": 1e-4, "atol": 1e-6}, True),   # float32 noise near 0
    (np.array([0.0]), np.array([4.9e-324]), {"rtol": 1e-6, "atol": 0.0}, False),         # a tiny value lost
    (np.array([np.nan]), np.array([1.0]), {}, False),
    (np.array([1.0, 2.0]), np.array([[1.0, 2.0]]), {}, False),
    (np.array(0.93), np.array(0.95), {"compare": "at_least", "atol": 0.03}, True),
    (np.array(0.90), np.array(0.95), {"compare": "at_least", "atol": 0.03}, False),
    (np.array([1, 2, 3, 4]), np.array([1, 2, 3, 5]), {"compare": "agree", "fraction": 0.75}, True),
    (np.array("a"), np.array(1.0), {}, False),
    (np.zeros((2, 3)), np.ones((2, 3)), {"compare": "shape"}, True),
])
def test_comparisons(actual, expected, settings, passes):
    assert (compare(np.asarray(actual), np.asarray(expected), settings) is None) is passes


def notebook(*cells):
    book = nbformat.v4.new_notebook()
    book.cells = list(cells)
    return book


def answer(grade_id, source):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "solution": True,
                                                                    "grade": False, "locked": False}})


def test_cell(grade_id, source="pass"):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {"grade_id": grade_id, "grade": True,
                                                                    "solution": False, "locked": True,
                                                                    "points": 1}})


test_cell.__test__ = False  # a cell factory, not a test


def test_policy_costs_the_parts_of_the_answer_cell_or_every_part_for_an_added_cell():
    release = notebook(answer("f", ""), test_cell("test_f"), answer("g", ""), test_cell("test_g"))
    rules = [policy.Rule.from_mapping({"forbid": ["torch"], "reason": "NumPy only"})]
    submitted = notebook(answer("f", "import torch\ndef f(x):\n    return torch.relu(x)"), test_cell("test_f"),
                         answer("g", "def g(x):\n    return x"), test_cell("test_g"))
    verdicts, _ = policy.check(submitted, release, rules, ["test_f", "test_g"])
    assert set(verdicts) == {"test_f"} and verdicts["test_f"].kind == "policy"
    clean = notebook(answer("f", "def f(x):\n    return helper(x)"), test_cell("test_f"),
                     answer("g", "def g(x):\n    return x"), test_cell("test_g"))
    in_section = copy.deepcopy(clean)
    in_section.cells.append(nbformat.v4.new_code_cell("import torch as t\nscratch = t.zeros(3)"))
    assert set(policy.check(in_section, release, rules, ["test_f", "test_g"])[0]) == {"test_g"}
    helper_for_f = copy.deepcopy(clean)
    helper_for_f.cells.append(nbformat.v4.new_code_cell("def helper(x):\n    import torch\n    return torch.relu(x)"))
    assert set(policy.check(helper_for_f, release, rules, ["test_f", "test_g"])[0]) == {"test_f", "test_g"}
    on_top = copy.deepcopy(clean)
    on_top.cells.insert(0, nbformat.v4.new_code_cell("import torch"))
    assert set(policy.check(on_top, release, rules, ["test_f", "test_g"])[0]) == {"test_f", "test_g"}


def test_require_rules_and_tampering_notes():
    release = notebook(answer("f", ""), test_cell("test_f"))
    rules = [policy.Rule.from_mapping({"require": [".to", "device"], "reason": "move the batch",
                                       "parts": ["test_f"]})]
    lazy = notebook(answer("f", "def f(model, x):\n    return model(x)"), test_cell("test_f"),
                    nbformat.v4.new_code_cell("import sys\nframe = sys._getframe(1)\nframe.f_locals"))
    verdicts, notes = policy.check(lazy, release, rules, ["test_f"])
    assert "test_f" in verdicts and any("sys._getframe" in note for note in notes)
    careful = notebook(answer("f", "def f(model, x):\n    return model(x.to(next(model.parameters()).device))"),
                       test_cell("test_f"))
    assert policy.check(careful, release, rules, ["test_f"])[0] == {}


def test_rebuild_puts_released_cells_in_order_and_keeps_added_cells_after_their_anchor():
    release = notebook(test_cell("imports", "import numpy as np"), answer("f", "stub"), test_cell("test_f", "check"))
    submitted = notebook(nbformat.v4.new_code_cell("lenient = True"), test_cell("test_f", "pass"),
                         answer("f", "def f(): return 1"), nbformat.v4.new_code_cell("helper = 2"),
                         test_cell("imports", "import numpy as np"))
    rebuilt, notes = rebuild(submitted, release)
    assert [cell.source for cell in rebuilt.cells] == ["lenient = True", "import numpy as np", "def f(): return 1",
                                                       "helper = 2", "check"]
    assert "cells put back in the release's order" in notes and "locked cell test_f restored" in notes
