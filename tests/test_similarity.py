"""The similarity check on a cohort of Assignment 1 (tests/similarity_cohort.py): independent
correct solutions written in different styles, a copy of one disguised by renaming, reordering
and recommenting, and blank notebooks. Only notebooks are read: nothing is graded or run,
except the cohort's answers themselves, once, to show they are correct."""

from __future__ import annotations

import copy
import csv
import itertools
import random
import re

import nbformat
import numpy as np
import pytest

import similarity_cohort as cohort
from autograder import cli, similarity, similarity_fingerprints
from autograder.similarity import compare, written_by_student
from autograder.similarity_fingerprints import fingerprint
from copydetect import compare_files

INDEPENDENT = ("solution",) + cohort.STYLES


def answers_of(notebooks: dict) -> dict[str, str]:
    release = cohort.release_notebook()
    return {student: written_by_student(notebook, release) for student, notebook in notebooks.items()}


def pair(match) -> frozenset:
    return frozenset((match.student_a, match.student_b))


@pytest.fixture(scope="module")
def independent() -> dict:
    return {style: cohort.in_style(style) for style in INDEPENDENT}


@pytest.mark.parametrize("copied", INDEPENDENT)
def test_a_disguised_copy_ranks_first_and_independent_solutions_stay_below(independent, copied):
    notebooks = {**independent, "copier": cohort.disguise(independent[copied], seed=7),
                 "blank_1": cohort.release_notebook(), "blank_2": cohort.release_notebook()}
    comparison = compare(answers_of(notebooks), progress=False)
    assert comparison.matches, "the copy was not flagged"
    assert pair(comparison.matches[0]) == {copied, "copier"}, comparison.matches[0]
    assert comparison.matches[0].score > 0.85
    flagged = [pair(match) for match in comparison.matches]
    assert flagged == [{copied, "copier"}], f"independent solutions flagged: {flagged[1:]}"
    # every pair is scored: the independent ones well below the threshold, not just under it
    assert len(comparison.scores) == 5 * 4 // 2  # the blank notebooks have nothing to compare
    assert sorted(comparison.scores)[-2] < similarity.THRESHOLD / 2


@pytest.mark.parametrize("disguise", ["rename", "reverse_definitions", "recomment"])
def test_no_single_disguise_hides_a_copy(independent, disguise):
    """copydetect's tokens really do make names and comments invisible, and its fingerprints the order."""
    original = independent["loops"]
    disguised = copy.deepcopy(original)
    release = cohort.answer_cells(cohort.release_notebook())
    for grade_id, cell in cohort.answer_cells(disguised).items():
        if cell.source == release[grade_id].source:
            continue
        if disguise == "reverse_definitions":
            cell.source = cohort.reverse_definitions(cell.source)
        else:
            cell.source = getattr(cohort, disguise)(cell.source, release[grade_id].source, random.Random(1))
    answers = answers_of({"original": original, "disguised": disguised})
    assert answers["original"] != answers["disguised"]
    comparison = compare(answers, progress=False)
    assert [pair(match) for match in comparison.matches] == [{"original", "disguised"}]
    assert comparison.matches[0].score > 0.85


def test_only_what_the_student_wrote_is_compared(independent):
    release = cohort.release_notebook()
    assert written_by_student(release, release) == ""
    written = written_by_student(independent["methods"], release)
    assert "out = x * (x > 0)" in written and "answer cell relu" in written
    for given in ("def relu_forward(x):", "Forward pass of", "# YOUR CODE HERE", "raise NotImplementedError()",
                  "cache = x", "return out, cache", "class TwoLayerNet:"):
        assert given not in written, given
    # a cell the student added counts, without the lines it repeats from released cells
    added = copy.deepcopy(release)
    added.cells.append(nbformat.v4.new_code_cell("import numpy as np\nhelper = np.ones(3) * 7"))
    assert written_by_student(added, release).splitlines() == ["# ---- a cell the student added or edited",
                                                             "helper = np.ones(3) * 7"]


def test_what_most_of_the_class_writes_alike_is_an_idiom_not_a_copy(independent):
    """Ten students write the same obvious affine, ReLU and sigmoid answers; four of them also
    answer the rest, each in their own way. Nobody copied: with the idioms left out, no pair is
    flagged; counted, every pair with one of the six who wrote nothing else would be."""
    common = {grade_id: "solution" for grade_id in ("affine", "relu", "sigmoid")}
    notebooks = {f"obvious_{index}": cohort.student_notebook(common) for index in range(6)}
    for style in INDEPENDENT:
        own = {grade_id: style for grade_id in cohort.ANSWERS["loops"]} | common
        notebooks[style] = cohort.student_notebook(own)
    answers = answers_of(notebooks)
    assert compare(answers, progress=False).matches == []
    counted = compare(answers, common=1.0, progress=False).matches
    assert {pair(match) for match in counted} == {pair for pair in map(frozenset, itertools.combinations(answers, 2))
                                                   if any(student.startswith("obvious") for student in pair)}


def test_two_blank_notebooks_are_not_similar():
    comparison = compare(answers_of({"blank_1": cohort.release_notebook(), "blank_2": cohort.release_notebook()}),
                         threshold=0.0, min_matched=1, progress=False)
    assert comparison.matches == [] and comparison.scores == []


def test_scores_are_copydetects_and_do_not_depend_on_the_processes(independent, monkeypatch):
    """Each pair's shares, size and marked regions are those copydetect's compare_files gives,
    whether computed here or in worker processes (which must hash strings as one another:
    copydetect uses Python's hash)."""
    answers = answers_of({**independent, "copier": cohort.disguise(independent["numpy_functions"], seed=3)})
    alone = compare(answers, threshold=0.0, min_matched=1, progress=False)
    expected = {}
    for a, b in itertools.combinations(answers, 2):
        matched, shares, (slices_a, slices_b) = compare_files(fingerprint(answers[a]), fingerprint(answers[b]))
        if max(shares) > 0:
            expected[a, b] = (pytest.approx(shares), matched, [tuple(s) for s in np.transpose(slices_a)],
                              [tuple(s) for s in np.transpose(slices_b)])
    assert len(expected) >= 5, "the cohort's pairs share too little to test the shares"
    assert {(m.student_a, m.student_b): ((m.share_a, m.share_b), m.matched, m.regions_a, m.regions_b)
            for m in alone.matches} == expected
    monkeypatch.setattr(similarity_fingerprints, "BLOCK", 2)  # several tasks for each of the two workers
    together = compare(answers, threshold=0.0, min_matched=1, jobs=2, progress=False)
    assert [(m.student_a, m.student_b, m.share_a, m.share_b, m.regions_a) for m in together.matches] == \
           [(m.student_a, m.student_b, m.share_a, m.share_b, m.regions_a) for m in alone.matches]


def test_command_writes_a_page_and_a_csv(tmp_path, independent):
    """`python -m autograder similarity` on a grading work directory's submitted notebooks."""
    workdir = tmp_path / "work"
    name = f"{cohort.ASSIGNMENT}.ipynb"
    copier = cohort.disguise(independent["loops"], seed=11)
    copier.cells.append(nbformat.v4.new_code_cell('print("</pre><script>alert(1)</script>")'))
    for student, notebook in {**independent, "copier": copier, "blank": cohort.release_notebook()}.items():
        folder = workdir / "submitted" / student / cohort.ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / name)
    (workdir / "assignments" / cohort.ASSIGNMENT).mkdir(parents=True)
    nbformat.write(cohort.release_notebook(), workdir / "assignments" / cohort.ASSIGNMENT / name)

    assert cli.main(["similarity", "a1", "--workdir", str(workdir), "--jobs", "1"]) == 0

    with (workdir / "similarity.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["rank"], {row["student_a"], row["student_b"]}) for row in rows] == [("1", {"loops", "copier"})]
    assert float(rows[0]["score"]) > 0.85
    page = (workdir / "similarity.html").read_text()
    assert "id='pair-1'" in page and page.count("<mark>") >= 4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page
    links = re.findall(r"""(?:src|href)\s*=\s*['"]?([^'" >]*)""", page)
    assert links and all(link.startswith(("data:image/png;base64,", "#pair-")) for link in links), links
    assert "No answers written (left out): blank" in page
    assert "data:image/png;base64," in page


def test_the_command_says_what_to_do_without_graded_submissions(tmp_path):
    with pytest.raises(SystemExit, match="grade them first"):
        cli.main(["similarity", "a1", "--workdir", str(tmp_path)])


def test_the_cohorts_answers_are_correct(independent):
    """The independent solutions (and a disguised copy) compute what the instructor's does:
    they are correct solutions, so the check is judged on what it will meet."""
    expected = _functions(independent["solution"])
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5)
    dout, dw, point = rng.normal(size=(3, 5)), rng.normal(size=(8, 5)), rng.normal(size=(2, 3))
    wide = np.concatenate([rng.normal(size=6), [-1000.0, 0.0, 1000.0]])
    scores, y = rng.normal(size=(4, 6)) * 1000, np.array([0, 5, 2, 2])
    for student, notebook in {**independent, "disguised": cohort.disguise(independent["loops"], seed=5)}.items():
        got = _functions(notebook)
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            checks = {
                "affine_forward": lambda f: f(x, w, b)[0],
                "affine_backward": lambda f: f(dout, (x, w, b)),
                "relu_forward": lambda f: f(wide)[0],
                "relu_backward": lambda f: f(wide + 1, wide),
                "sigmoid_forward": lambda f: f(wide)[0],
                "sigmoid_backward": lambda f: f(wide, 1 / (1 + np.exp(-wide / 100))),
                "softmax_loss": lambda f: f(scores, y),
                "svm_loss": lambda f: f(scores / 1000, y),
                "numerical_gradient": lambda f: _numerical(f, point.copy()),
                "sgd_momentum": lambda f: _two_steps(f, w, dw),
            }
            for name, call in checks.items():
                mine, theirs = _flat(call(got[name])), _flat(call(expected[name]))
                assert len(mine) == len(theirs), f"{student}: {name} returns {len(mine)} values, not {len(theirs)}"
                for mine, theirs in zip(mine, theirs):
                    np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-9, err_msg=f"{student}: {name}")


def _functions(notebook) -> dict:
    from tqdm.auto import tqdm
    namespace = {"np": np, "tqdm": tqdm}
    for cell in cohort.answer_cells(notebook).values():
        exec(compile(cell.source, "<answer cell>", "exec"), namespace)
    return namespace


def _numerical(function, x):
    before = x.copy()
    grad = function(lambda a: float(np.sum(a ** 3)), x)
    assert np.array_equal(x, before), "x was not put back"
    return grad


def _two_steps(function, w, dw):
    config = {"learning_rate": 0.1, "momentum": 0.9}
    first, config = function(w.copy(), dw.copy(), config)
    second, config = function(first, dw.copy(), config)
    return first, second, config["velocity"]


def _flat(value):
    if isinstance(value, (tuple, list)):
        return list(itertools.chain.from_iterable(_flat(item) for item in value))
    return [np.asarray(value, dtype=float)]
