"""The hostile corpus (tests/hostile_corpus.py), graded in the sandbox two at a time, one batch
per assignment: every submission gets exactly its expected score, the batch completes, nothing
of a hidden check reaches any feedback page, and grading again gives the same scores."""

from __future__ import annotations

import http.server
import re
import threading

import nbformat
import pytest

from autograder import course, grading, sandbox
from autograder.probes import probes

from hostile_corpus import ASSIGNMENT, GENERIC_ASSIGNMENTS, corpus

# Small limits keep the batch fast; the infinite loop, memory, disk and fork bombs hit them.
LIMITS = {"cell_timeout": 20, "memory_mb": 1500, "processes": 32, "output_kb": 512, "disk_mb": 512}
SEED = 777

pytestmark = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")


@pytest.fixture(scope="module")
def answers_server():
    """A server on the host's loopback offering the solution's code: the sandbox must not reach it."""
    solution = nbformat.read(course.source_notebooks(ASSIGNMENT)[0], as_version=4)
    code = "\n\n".join(c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")).encode()

    class Answers(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(code)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/answers.py"
    server.shutdown()


def write_submissions(entries, folder, context):
    folder.mkdir(parents=True)
    for entry in entries:
        if entry.extra_files:
            (folder / entry.name).mkdir()
            (folder / entry.name / f"{entry.assignment}.ipynb").write_bytes(entry.build(context))
            for name, data in entry.extra_files.items():
                (folder / entry.name / name).write_bytes(data)
        else:
            (folder / f"{entry.name}.ipynb").write_bytes(entry.build(context))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, answers_server):
    """{assignment: (entries, {student: Result}, workdir)}"""
    root = tmp_path_factory.mktemp("hostile")
    found = {}
    for assignment in GENERIC_ASSIGNMENTS:
        entries = [entry for entry in corpus() if entry.assignment == assignment]
        write_submissions(entries, root / assignment / "submissions", {"url": answers_server})
        workdir = root / assignment / "work"
        results = grading.grade(assignment, grading.collect_submissions(root / assignment / "submissions", assignment),
                                workdir, progress=False, jobs=2, limits=LIMITS, seed=SEED)
        grading.feedback(assignment, workdir)
        found[assignment] = (entries, {result.student: result for result in results}, workdir)
    return found


def test_corpus_covers_every_attack_class():
    names = {entry.name for entry in corpus()}
    assert len(names) >= 50
    for assignment in GENERIC_ASSIGNMENTS:
        short = assignment.split("_")[0]
        assert {f"{short}_forge_records", f"{short}_patch_do_execute", f"{short}_frame_reader"} <= names


@pytest.mark.parametrize("assignment", GENERIC_ASSIGNMENTS)
def test_every_hostile_submission_gets_its_expected_score(graded, assignment):
    entries, results, _ = graded[assignment]
    wrong = [f"{e.name}: {results[e.name].score:g}, expected {e.expected:g} ({e.why}); "
             f"error={results[e.name].error} reasons={results[e.name].reasons} notes={results[e.name].notes[:6]}"
             for e in entries if results[e.name].score != e.expected]
    assert not wrong, "\n".join(wrong)


def test_limits_and_repairs_are_reported(graded):
    _, results, _ = graded[ASSIGNMENT]
    assert any("memory limit" in note for note in results["memory_bomb"].notes)
    assert any("process limit" in note for note in results["fork_bomb"].notes)
    assert any("memory limit" in note for note in results["tmp_counts_as_memory"].notes)
    assert any("cell time limit" in note for note in results["infinite_loop"].notes)
    assert "not a readable notebook" in results["corrupt_json"].error
    assert any("restored" in note for note in results["deleted_tests"].notes)
    assert any("release's order" in note for note in results["reordered_locked_cells"].notes)
    assert results["torch_in_answer"].verdicts["test_affine_forward"].kind == "policy"
    assert any("graded a1_backprop.ipynb" in note for note in results["second_notebook"].notes)


def hidden_lines(assignment: str) -> set[str]:
    """Lines of the hidden checks that the student cannot see: long enough to be telling, and in no
    cell of the released notebook (a hidden check may repeat a signature or a visible line)."""
    source_notebook = course.source_notebooks(assignment)[0]
    solution = nbformat.read(source_notebook, as_version=4)
    released = nbformat.read(course.REPO_ROOT / "assignments" / assignment / source_notebook.name, as_version=4)
    visible = "\n".join(cell.source for cell in released.cells)
    return {line.strip() for source in probes(solution).values() for line in source.splitlines()
            if len(line.strip()) >= 20 and line.strip() not in visible}


def notebook_text(path) -> str:
    """Every cell's source of a notebook, or nothing if it is not a readable notebook."""
    try:
        return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)
    except Exception:  # a corrupt submission: nothing of its own to allow
        return ""


@pytest.mark.parametrize("assignment", GENERIC_ASSIGNMENTS)
def test_no_feedback_page_holds_a_hidden_check(graded, assignment):
    entries, _, workdir = graded[assignment]
    pages = sorted((workdir / "feedback").rglob("*.html"))
    assert len(pages) == len(entries)
    secret = hidden_lines(assignment)
    assert len(secret) > 10
    for page in pages:
        text = page.read_text()
        # A correct submission holds lines that a hidden check also uses (a stand-in may compute a
        # softmax the way the student did): the student's own lines are theirs to see.
        student = page.relative_to(workdir / "feedback").parts[0]
        submitted = workdir / "submitted" / student / assignment / f"{assignment}.ipynb"
        own = notebook_text(submitted)
        leaked = [line for line in secret if line in text and line not in own]
        assert not leaked, f"{page}: {leaked[:3]}"
        assert "<script" not in text.lower(), f"{page} holds a script"
        assert not re.search(r"href=['\"]?javascript:", text), f"{page} links to javascript:"


def test_outputs_stay_small(graded):
    _, _, workdir = graded[ASSIGNMENT]
    for name in ("huge_output", "display_update_flood"):
        executed = workdir / "autograded" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert executed.stat().st_size < 3 * 2**20, name


def test_grading_again_gives_the_same_scores(graded, tmp_path):
    entries, results, workdir = graded[ASSIGNMENT]
    again = ["correct", "noop_errstate", "a1_forge_records", "raise_caller_source", "infinite_loop"]
    submissions = {name: workdir / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb" for name in again}
    regraded = grading.grade(ASSIGNMENT, submissions, workdir, progress=False, jobs=2, limits=LIMITS, seed=SEED,
                             force=True)
    assert [(r.student, r.score) for r in regraded] == [(name, results[name].score) for name in again]
