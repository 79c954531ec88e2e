"""The grading contract of every real assignment, through the real grading path.

- the committed student version equals a fresh release of the solution (no drift);
- every graded cell has a hidden check, and each check depends on the grading seed;
- in one batch per assignment (one reference run): the solution scores full marks with two
  math threads (the reference runs with one), the blank release scores 0 everywhere, and each
  one-bug submission listed in tests/mutations/A.json loses exactly the points of the parts it
  names and keeps all the others.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import course, grading
from autograder.probes import probes

MUTATIONS = Path(__file__).parent / "mutations"
ASSIGNMENTS = course.all_assignments()
SEED = 20261203  # fixed, so that a failure here can be reproduced


def load_mutations(assignment: str) -> list[dict]:
    path = MUTATIONS / f"{assignment}.json"
    return json.loads(path.read_text()) if path.exists() else []


def test_every_assignment_has_mutations():
    missing = [a for a in ASSIGNMENTS if len(load_mutations(a)) < 3]
    assert not missing, f"each assignment needs at least three one-bug submissions in tests/mutations/: {missing}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_up_to_date(assignment):
    differences = grading.release_differences(assignment)
    assert not differences, f"run `make release` and commit assignments/: {differences}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_cell_has_a_recording_probe(assignment):
    notebook = nbformat.read(course.source_notebooks(assignment)[0], as_version=4)
    found = probes(notebook)
    assert found, f"{assignment} has no graded cells"
    silent = [part for part, source in found.items() if "record(" not in source]
    assert not silent, f"hidden blocks that record nothing: {silent}"


def apply_mutation(assignment: str, mutation: dict, destination: Path) -> Path:
    notebook = nbformat.read(course.source_notebooks(assignment)[0], as_version=4)
    [cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == mutation["cell"]]
    assert cell.source.count(mutation["old"]) == 1, f"{mutation['name']}: 'old' must occur once in {mutation['cell']}"
    cell.source = cell.source.replace(mutation["old"], mutation["new"])
    nbformat.write(notebook, destination)
    return destination


def grade_contract_batch(assignment: str, folder: Path, names: list[str] | None = None) -> tuple[dict, list[dict]]:
    """Solution, blank release and every mutation (or those named), graded as one batch."""
    submissions = {"solution": course.source_notebooks(assignment)[0],
                   "blank": course.ASSIGNMENTS / assignment / course.source_notebooks(assignment)[0].name}
    chosen = [m for m in load_mutations(assignment) if names is None or m["name"] in names]
    folder.mkdir(parents=True, exist_ok=True)
    for index, mutation in enumerate(chosen):
        submissions[f"mutation{index:02d}"] = apply_mutation(assignment, mutation, folder / f"mutation{index:02d}.ipynb")
    # The solution runs with two threads (the reference always runs with one), so that tolerances
    # are checked against a different summation order; the others run with one thread, as two
    # pytest workers already keep both cores busy. The reference is computed once and reused.
    solution = {"solution": submissions.pop("solution")}
    results = grading.grade(assignment, solution, folder / "work", progress=False, seed=SEED, limits={"threads": 2})
    results += grading.grade(assignment, submissions, folder / "work", progress=False, seed=SEED)
    return {result.student: result for result in results}, chosen


def contract_problems(results: dict, mutations: list[dict]) -> list[str]:
    problems = []
    for student, result in results.items():
        if result.error:
            problems.append(f"{student}: grading failed: {result.error}")
    solution, blank = results["solution"], results["blank"]
    problems += [f"solution (2 threads) loses {part}: {solution.verdicts[part].message}"
                 for part, (score, maximum) in solution.cells.items() if score != maximum]
    problems += [f"blank scores {score:g} in {part}" for part, (score, _) in blank.cells.items() if score != 0]
    for index, mutation in enumerate(mutations):
        result = results[f"mutation{index:02d}"]
        lost = sorted(part for part, (score, maximum) in result.cells.items() if score < maximum)
        if lost != sorted(mutation["loses"]):
            why = {part: result.verdicts[part].message for part in lost}
            problems.append(f"{mutation['name']}: lost {lost}, expected {sorted(mutation['loses'])} {why}")
    return problems


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_full_marks_blank_zero_each_bug_loses_its_part(assignment, tmp_path):
    results, mutations = grade_contract_batch(assignment, tmp_path)
    problems = contract_problems(results, mutations)
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_check_depends_on_the_seed(assignment, tmp_path):
    """Each part records at least one value that changes with the grading seed: what a blank
    notebook cannot know in advance (two reference runs; `make test-slow`)."""
    from autograder import reference, store, worker

    store.prepare(assignment, tmp_path)
    solution = course.source_notebooks(assignment)[0].read_bytes()
    checks = {part: source for part, source in probes(nbformat.reads(solution.decode(), as_version=4)).items()}
    runs = []
    for seed in (1, 2):
        outcome = worker.grade_job(reference.job(assignment, solution, checks, seed, course.settings(assignment).limits,
                                                 use_sandbox=False, gpu_ids=""))
        runs.append(reference.store_outcome(tmp_path, f"seed{seed}", outcome, list(checks)))
    constant = [part for part in checks
                if all(np.array_equal(runs[0][part].values[name], runs[1][part].values.get(name))
                       for name in runs[0][part].values)]
    assert not constant, f"parts whose every recorded value is the same for two seeds: {constant}"
