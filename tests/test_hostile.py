"""The hostile corpus (tests/hostile_corpus.py) graded in one batch, in the sandbox, two at a time:
every submission gets exactly its expected score and the batch completes."""

from __future__ import annotations

import http.server
import threading

import nbformat
import pytest

from autograder import course, grading, sandbox

from hostile_corpus import ASSIGNMENT, corpus

# Small limits keep the batch fast; the infinite loop, memory and fork bombs hit them.
LIMITS = {"cell_timeout": 20, "memory_mb": 1500, "processes": 32, "output_kb": 512}

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


@pytest.fixture(scope="module")
def graded(tmp_path_factory, answers_server):
    folder = tmp_path_factory.mktemp("hostile")
    submissions = folder / "submissions"
    submissions.mkdir()
    entries = corpus()
    for entry in entries:
        (submissions / f"{entry.name}.ipynb").write_bytes(entry.build({"url": answers_server}))
    results = grading.grade(ASSIGNMENT, grading.collect_submissions(submissions), folder / "work",
                            progress=False, jobs=2, limits=LIMITS)
    return entries, {result.student: result for result in results}, folder / "work"


def test_corpus_is_large_enough():
    assert len(corpus()) >= 20


def test_every_hostile_submission_gets_its_expected_score(graded):
    entries, results, _ = graded
    wrong = [f"{e.name}: {results[e.name].score:g}, expected {e.expected:g} ({e.why}); "
             f"error={results[e.name].error} reasons={results[e.name].reasons}"
             for e in entries if results[e.name].score != e.expected]
    assert not wrong, "\n".join(wrong)


def test_limits_and_tampering_are_reported(graded):
    _, results, _ = graded
    assert "memory limit" in results["memory_bomb"].reasons["test_train"]
    assert "process limit" in results["fork_bomb"].reasons["test_train"]
    assert "tampered" in results["patch_numpy"].reasons["test_affine_forward"]
    assert "not a readable notebook" in results["corrupt_json"].error
    assert any("restored" in note for note in results["deleted_tests"].notes)


def test_huge_output_is_cut(graded):
    _, _, workdir = graded
    executed = workdir / "autograded" / "huge_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.stat().st_size < 3 * 2**20
