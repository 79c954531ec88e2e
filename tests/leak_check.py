"""Finding the instructor's lines (solutions, hidden tests) in files students or readers get.

Shared by the tests of the student bundle (tests/test_student_bundle.py), of the published trees
(tests/test_publish.py) and of the built site (tests/test_book.py).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import nbformat
import student_repo  # tools/, on the path (conftest.py)

ROOT = Path(__file__).resolve().parent.parent
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
REGION = re.compile(r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1",
                    re.DOTALL | re.MULTILINE)
MIN_LINE = 25  # shorter lines ("return out, cache") are too common to say anything
# Lines the course library shares with a solution on purpose: cnnbook.check.numerical_gradient is
# the reference gradient check every later chapter and assignment uses. Assignment 1 asks students
# to write their own, and its hidden test fails a submission that calls or re-exports the library's.
# Likewise cnnbook.train has the evaluation loop of Assignment 3, whose hidden tests fail a
# submission that calls cnnbook.train; the last line is a common idiom. Two more are single idioms
# that say nothing about a solution: clearing gradients (cnnbook.train, A5's train_epoch) and the
# normalization formula (cnnbook.models.preprocess, A6's to_network_input, whose constants the
# notebook gives).
SHARED_WITH_LIBRARY = {
    "for index in np.ndindex(x.shape):",
    "grad[index] = (f_plus - f_minus) / (2 * h)",
    "x, y = torch.as_tensor(x), torch.as_tensor(y)",
    "for start in range(0, len(x), batch_size):",
    "device = next(model.parameters()).device",
    "optimizer.zero_grad(set_to_none=True)",
    "return ((x - mean) / std).contiguous()",
}
# Single lines a chapter shares with a solution that are idioms, reviewed one by one: they say
# nothing about how to solve a graded part. Appending a loss, visiting a model's modules and
# making an Adam optimizer are how every PyTorch page trains; the stable log-softmax is the
# formula chapter 2 derives, of which Assignment 1 grades the loss and its gradient around it.
SHARED_IDIOMS = {
    "losses.append(loss.item())",
    "for module in model.modules():",
    "optimizer = torch.optim.Adam(model.parameters(), lr=lr)",
    "log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
}
# Chapters that still show code an assignment grades (issue 16, "No answer in anything published"):
# the names they define that a solution defines, and the solution lines they hold. Each is to be
# fixed in its chapter, as chapter 11 was: teach a different piece than the assignment grades, or
# take the answer from book/_instructor/ and show only its results. Listed so that no new case
# slips in unnoticed, and checked both ways: a case that is gone must be taken off this list.
KNOWN_CHAPTER_CASES = {
}
CHAPTER = re.compile(r"\b(ch\d\d_\w+?)\.(?:md|ipynb|html)\b")
TOP_LEVEL_DEFINITION = re.compile(r"^(?:def|class)\s+(\w+)", re.MULTILINE)
TAG = re.compile(r"<[^>]*>")
# A link into solutions/ (Markdown, HTML, or a repository's web address), in any published text.
SOLUTIONS_LINK = re.compile(r"(?:\]\(|href=[\"'])[^)\"']*\bsolutions/|/(?:blob|tree|raw)/[^/\s]+/solutions/")


def published_texts(folder: Path) -> dict[str, str]:
    """Every text file under ``folder``, by path; besides its raw text, a notebook also as its
    decoded cell sources and outputs (``NAME (cells)``), so a line is found whatever JSON escaping
    did to its quotes and backslashes, and an HTML page also as the text it shows (``NAME
    (text)``), so a line of code is found across the tags that color its words."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        try:
            raw = path.read_text()
        except UnicodeDecodeError:
            continue
        texts[name] = raw
        if path.suffix == ".ipynb":
            notebook = json.loads(raw)
            parts = []
            for cell in notebook["cells"]:
                parts.append("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
                for output in cell.get("outputs", []):
                    parts.append(json.dumps(output, ensure_ascii=False))
                    text = output.get("text", "")
                    parts.append("".join(text) if isinstance(text, list) else text)
            texts[name + " (cells)"] = "\n".join(parts)
        elif path.suffix == ".html":
            texts[name + " (text)"] = html.unescape(TAG.sub("", raw))
    return texts


def instructor_only_lines() -> dict[str, str]:
    """Non-trivial lines that occur only in solution or hidden-test regions of solutions/*/*.ipynb
    (including cells nbgrader replaces as a whole), mapped to where they come from.

    A solution line is no secret when students see it as given code (outside the test cells); a
    hidden-test line is none when students see it anywhere, visible tests included. A solution
    line in a visible test cell is a leak: the visible checks must not carry the solution.
    """
    solution_lines: dict[str, str] = {}
    hidden_lines: dict[str, str] = {}
    given: set[str] = set()
    visible_tests: set[str] = set()
    notebooks = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert notebooks, "no instructor notebook found"
    for path in notebooks:
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            source = cell.source
            whole_answer = meta.get("solution") and not REGION.search(source)
            for match in REGION.finditer(source) if not whole_answer else ():
                target = solution_lines if match.group(1) == "SOLUTION" else hidden_lines
                for line in match.group(2).splitlines():
                    if len(line.strip()) > MIN_LINE:
                        target.setdefault(line.strip(), f"{path.relative_to(ROOT)}")
            if whole_answer:  # nbgrader replaces the whole cell with the stub
                for line in source.splitlines():
                    if len(line.strip()) > MIN_LINE:
                        solution_lines.setdefault(line.strip(), f"{path.relative_to(ROOT)}")
    for path in sorted((ROOT / "assignments").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            is_test = cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")
            (visible_tests if is_test else given).update(line.strip() for line in cell.source.splitlines())
    secret = {line: where for line, where in solution_lines.items() if line not in given | SHARED_WITH_LIBRARY}
    secret.update({line: where for line, where in hidden_lines.items()
                   if line not in given | visible_tests | SHARED_WITH_LIBRARY})
    return secret


def graded_names() -> dict[str, str]:
    """Every function or class a solution cell of solutions/*/*.ipynb defines at top level, mapped
    to its assignment: what the students write."""
    names = {}
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                for name in TOP_LEVEL_DEFINITION.findall(cell.source):
                    names.setdefault(name, path.stem)
    return names


def chapter_of(name: str) -> str | None:
    """The chapter a published file comes from (``book/ch11_detection.ipynb (cells)`` ->
    ``ch11_detection``), or None."""
    match = CHAPTER.search(name)
    return match.group(1) if match else None


def chapter_answers(texts: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file, name, assignment) for every graded answer a chapter's published file defines."""
    graded = graded_names()
    return [(name, defined, graded[defined]) for name, text in texts.items() if chapter_of(name)
            for defined in sorted(set(TOP_LEVEL_DEFINITION.findall(text))) if defined in graded]


def split_known(found: list[tuple[str, str, str]], kind: str) -> tuple[list, set[tuple[str, str]]]:
    """Findings (file, line or name, origin) split into the new ones and the (chapter, line or
    name) pairs of KNOWN_CHAPTER_CASES they match; ``kind`` is "lines" or "names"."""
    new, known = [], set()
    for name, item, origin in found:
        chapter = chapter_of(name)
        if item in KNOWN_CHAPTER_CASES.get(chapter, {}).get(kind, set()):
            known.add((chapter, item))
        else:
            new.append((name, item, origin))
    return new, known


def known_cases(kind: str) -> set[tuple[str, str]]:
    return {(chapter, item) for chapter, case in KNOWN_CHAPTER_CASES.items() for item in case[kind]}


def find_leaks(texts: dict[str, str], secret: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file, line, where the line comes from) for every secret line that is a whole line of a text.
    Whole lines, not substrings: a hidden test's line may be the start of a longer visible one."""
    leaks = []
    for name, text in texts.items():
        lines = {line.strip() for line in text.splitlines()}
        leaks += [(name, line, where) for line, where in secret.items() if line in lines]
    return leaks


def marker_leaks(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(file, marker) for every nbgrader region marker in a text."""
    return [(name, marker) for name, text in texts.items() for marker in MARKERS if marker in text]


def assert_no_instructor_line(texts: dict[str, str]) -> None:
    """No nbgrader marker and no solution or hidden-test line, but the reviewed idioms and the
    known chapter cases; and every known case is still there (else it must come off the list)."""
    assert not marker_leaks(texts), marker_leaks(texts)
    secret = {line: where for line, where in instructor_only_lines().items() if line not in SHARED_IDIOMS}
    new, known = split_known(find_leaks(texts, secret), "lines")
    assert not new, "solution or hidden-test lines in published files:\n" + describe(new)
    new, known_names = split_known(chapter_answers(texts), "names")
    assert not new, ("published chapters define functions an assignment grades (fix the chapter as "
                     "chapter 11 does, see issue 16):\n" + describe(new))
    gone = (known_cases("lines") - known) | (known_cases("names") - known_names)
    assert not gone, f"fixed, so take them off leak_check.KNOWN_CHAPTER_CASES: {sorted(gone)}"


def instructor_links(texts: dict[str, str]) -> list[tuple[str, str]]:
    """(file, what) for every link into solutions/ and every address of the instructor repository."""
    patterns = (SOLUTIONS_LINK, student_repo.instructor_address())
    return [(name, match.group(0)) for name, text in texts.items()
            for pattern in patterns for match in pattern.finditer(text)]


def describe(leaks: list[tuple[str, str, str]], limit: int = 20) -> str:
    return "\n".join(f"  {name}: {line!r} (from {where})" for name, line, where in leaks[:limit]) + (
        f"\n  ... and {len(leaks) - limit} more" if len(leaks) > limit else "")
