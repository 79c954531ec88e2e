"""Submissions of Assignment 1 for the similarity check: independent solutions, and copies.

Three students wrote their own answers to seven of A1's answer cells, each in a style of their
own (explicit loops; NumPy's functions; methods and in-place updates), and left the two-layer
net and the training loop as released. The instructor's solution is a fourth independent
author. A copier takes someone's notebook and renames its variables, reorders its functions
and rewrites its comments (:func:`disguise`). ``tests/test_similarity.py`` builds its cohort
from these, and ``bench/similarity.py`` its 300 submissions.

Each answer is what a student types in place of a ``# YOUR CODE HERE`` /
``raise NotImplementedError()`` placeholder of the released cell, in order (:func:`fill`).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import io
import keyword
import random
import re
import textwrap
import tokenize

import nbformat

from autograder import course

ASSIGNMENT = "a1_backprop"
PLACEHOLDER = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)\n?", re.MULTILINE)

# style -> answer cell grade id -> one answer per placeholder of that cell, in order.
ANSWERS: dict[str, dict[str, list[str]]] = {
    "loops": {
        "affine": ["""
N = x.shape[0]
x_flat = np.reshape(x, (N, -1))
out = np.dot(x_flat, w)
for i in range(N):
    out[i] += b  # add the bias to each example
""", """
N = x.shape[0]
x_rows = np.reshape(x, (N, -1))
dw = np.dot(x_rows.T, dout)
db = np.zeros_like(b, dtype=float)
for i in range(N):
    db += dout[i]
dx = np.reshape(np.dot(dout, w.T), x.shape)
"""],
        "relu": ["""
out = x.copy()
out[out < 0] = 0
""", """
dx = dout.copy()
dx[x <= 0] = 0
"""],
        "sigmoid": ["""
out = np.zeros(x.shape)
flat_x = x.ravel()
flat_out = out.ravel()  # a view: writing to it fills out
for i in range(flat_x.size):
    if flat_x[i] >= 0:
        flat_out[i] = 1 / (1 + np.exp(-flat_x[i]))
    else:
        e = np.exp(flat_x[i])
        flat_out[i] = e / (1 + e)
""", """
dx = out * (1 - out) * dout
"""],
        "softmax_loss": ["""
num_examples, num_classes = scores.shape
loss = 0.0
dscores = np.zeros(scores.shape)
for i in range(num_examples):
    row = scores[i] - np.max(scores[i])  # shift for stability
    total = np.sum(np.exp(row))
    loss += np.log(total) - row[y[i]]
    dscores[i] = np.exp(row) / total
    dscores[i, y[i]] -= 1
loss /= num_examples
dscores /= num_examples
"""],
        "svm_loss": ["""
num_examples, num_classes = scores.shape
loss = 0.0
dscores = np.zeros(scores.shape)
for i in range(num_examples):
    for j in range(num_classes):
        if j == y[i]:
            continue
        margin = scores[i, j] - scores[i, y[i]] + 1
        if margin > 0:
            loss += margin
            dscores[i, j] += 1
            dscores[i, y[i]] -= 1
loss /= num_examples
dscores /= num_examples
"""],
        "numerical_gradient": ["""
grad = np.zeros(x.shape)
it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
while not it.finished:
    i = it.multi_index
    saved = x[i]
    x[i] = saved + h
    up = f(x)
    x[i] = saved - h
    down = f(x)
    x[i] = saved  # put it back
    grad[i] = (up - down) / (2 * h)
    it.iternext()
"""],
        "sgd_momentum": ["""
mu = config["momentum"]
lr = config["learning_rate"]
velocity = mu * velocity
velocity = velocity - lr * dw
next_w = w.copy()
next_w += velocity
"""],
    },
    "numpy_functions": {
        "affine": ["""
flat = x.reshape(len(x), w.shape[0])
out = np.einsum("nd,dm->nm", flat, w) + b
""", """
flat = x.reshape(len(x), w.shape[0])
dw = np.einsum("nd,nm->dm", flat, dout)
db = np.einsum("nm->m", dout)
dx = np.einsum("nm,dm->nd", dout, w).reshape(x.shape)
"""],
        "relu": ["""
out = np.where(x > 0, x, 0)
""", """
dx = np.where(x > 0, dout, 0.0)
"""],
        "sigmoid": ["""
# log(1 + exp(-x)) without overflow, then exp of its negative
out = np.exp(-np.logaddexp(0, -x))
""", """
dx = dout * out - dout * out * out
"""],
        "softmax_loss": ["""
count = len(y)
top = scores.max(axis=1)
log_norm = np.log(np.sum(np.exp(scores - top[:, None]), axis=1)) + top
log_p = scores - log_norm[:, None]
loss = np.mean(-log_p[range(count), y])
one_hot = np.eye(scores.shape[1])[y]
dscores = (np.exp(log_p) - one_hot) / count
"""],
        "svm_loss": ["""
count = len(y)
rows = np.arange(count)
diff = scores - scores[rows, y].reshape(-1, 1) + 1
diff[rows, y] = 0
hinge = np.clip(diff, 0, None)
loss = np.sum(hinge) / count
active = np.heaviside(diff, 0)
active[rows, y] = -np.sum(active, axis=1)
dscores = active / count
"""],
        "numerical_gradient": ["""
grad = np.zeros(x.shape)
for flat_index in range(x.size):
    where = np.unravel_index(flat_index, x.shape)
    keep = x[where]
    x[where] = keep + h
    plus = f(x)
    x[where] = keep - h
    minus = f(x)
    grad[where] = (plus - minus) / (2.0 * h)
    x[where] = keep
"""],
        "sgd_momentum": ["""
velocity = np.multiply(config["momentum"], velocity)
velocity = np.subtract(velocity, np.multiply(config["learning_rate"], dw))
next_w = np.add(w, velocity)
"""],
    },
    "methods": {
        "affine": ["""
rows = x.reshape((-1, w.shape[0]))
out = rows.dot(w)
out += b
""", """
rows = x.reshape((-1, w.shape[0]))
db = dout.sum(0)
dw = rows.T.dot(dout)
dx = dout.dot(w.T).reshape(*x.shape)
"""],
        "relu": ["""
out = x * (x > 0)
""", """
mask = (x > 0).astype(dout.dtype)
dx = mask * dout
"""],
        "sigmoid": ["""
out = 0.5 * (1 + np.tanh(0.5 * x))  # the same function, and tanh cannot overflow
""", """
dx = out * (1.0 - out)
dx = dx * dout
"""],
        "softmax_loss": ["""
shifted = scores - np.amax(scores, axis=-1, keepdims=True)
exps = np.exp(shifted)
sums = exps.sum(axis=-1, keepdims=True)
probs = exps / sums
n = len(scores)
picked = shifted[np.arange(n), y] - np.log(sums[:, 0])
loss = -np.sum(picked) / n
probs[np.arange(n), y] -= 1
dscores = probs / n
"""],
        "svm_loss": ["""
n = scores.shape[0]
truth = np.take_along_axis(scores, y[:, None], axis=1)
margins = scores - truth + 1
margins[np.arange(n), y] = 0
loss = np.maximum(margins, 0).sum() / n
indicator = (margins > 0) * 1.0
indicator[np.arange(n), y] -= indicator.sum(axis=1)
dscores = indicator / n
"""],
        "numerical_gradient": ["""
import itertools
grad = np.empty(x.shape, dtype=np.float64)
for idx in itertools.product(*[range(s) for s in x.shape]):
    v = x[idx]
    x[idx] = v + h
    fp = f(x)
    x[idx] = v - h
    fm = f(x)
    x[idx] = v
    grad[idx] = (fp - fm) / h / 2
"""],
        "sgd_momentum": ["""
velocity *= config["momentum"]
velocity -= config["learning_rate"] * dw
next_w = velocity + w
"""],
    },
}
STYLES = tuple(ANSWERS)


def release_notebook() -> nbformat.NotebookNode:
    return copy.deepcopy(_read(course.ASSIGNMENTS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))


def solution_notebook() -> nbformat.NotebookNode:
    return copy.deepcopy(_read(course.source_notebooks(ASSIGNMENT)[0]))


@functools.cache
def _read(path) -> nbformat.NotebookNode:  # read once: the benchmark builds hundreds of notebooks
    return nbformat.read(path, as_version=4)


def answer_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def fill(released_source: str, answers: list[str]) -> str:
    """The released cell with its placeholders replaced by ``answers``, indented like them."""
    placeholders = list(PLACEHOLDER.finditer(released_source))
    if len(placeholders) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(placeholders)} placeholders")
    filled, end = [], 0
    for match, answer in zip(placeholders, answers):
        filled.append(released_source[end:match.start()])
        filled.append(textwrap.indent(textwrap.dedent(answer).strip("\n") + "\n", match.group(1)))
        end = match.end()
    return "".join(filled) + released_source[end:]


def student_notebook(style_of_cell: dict[str, str]) -> nbformat.NotebookNode:
    """The release with each answer cell in ``style_of_cell`` filled in that style ("solution":
    the instructor's answer); the other answer cells stay as released."""
    notebook = release_notebook()
    solution_cells = answer_cells(solution_notebook())
    for grade_id, cell in answer_cells(notebook).items():
        style = style_of_cell.get(grade_id)
        if style == "solution":
            cell.source = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION\n", "", solution_cells[grade_id].source,
                                 flags=re.MULTILINE)
        elif style is not None:
            cell.source = fill(cell.source, ANSWERS[style][grade_id])
    return notebook


def in_style(style: str) -> nbformat.NotebookNode:
    """A student who answered every cell their style covers (the solution: every cell)."""
    cells = answer_cells(release_notebook()) if style == "solution" else ANSWERS[style]
    return student_notebook({grade_id: style for grade_id in cells})


def disguise(notebook: nbformat.NotebookNode, seed: int = 0) -> nbformat.NotebookNode:
    """A copy of ``notebook`` as a copier hides it: the variables they could rename renamed, the
    functions of every answer cell in the reverse order, the comments replaced by others."""
    rng = random.Random(seed)
    release = answer_cells(release_notebook())
    disguised = copy.deepcopy(notebook)
    for grade_id, cell in answer_cells(disguised).items():
        given = release[grade_id].source
        if cell.source == given:
            continue
        cell.source = reverse_definitions(recomment(rename(cell.source, given, rng), given, rng))
    return disguised


PROTECTED = set(keyword.kwlist) | set(dir(builtins)) | {"np", "self", "tqdm"}
NEW_NAMES = ("tmp", "val", "arr", "res", "acc", "buf", "cur", "part", "piece", "stuff")


def rename(source: str, given: str, rng: random.Random) -> str:
    """Rename every variable the student's code binds, as a copier would (not the names the
    released cell uses: its scaffold reads them; not modules, attributes or keyword arguments)."""
    code = [t for t in _tokens(source) if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)]
    fixed = PROTECTED | {t.string for t in _tokens(given) if t.type == tokenize.NAME}
    tree = ast.parse(source)
    bound = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    bound |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    fixed |= {after.string for before, after in zip(code, code[1:]) if before.string in ("import", "from")}
    mapping: dict[str, str] = {}
    edits = []
    depth = 0
    for index, tok in enumerate(code):
        depth += (tok.string in ("(", "[", "{")) - (tok.string in (")", "]", "}")) if tok.type == tokenize.OP else 0
        before = code[index - 1].string if index else ""
        after = code[index + 1].string if index + 1 < len(code) else ""
        keyword_argument = depth > 0 and after == "="
        if tok.string in bound and tok.string not in fixed and before != "." and not keyword_argument:
            new = mapping.setdefault(tok.string, f"{rng.choice(NEW_NAMES)}_{len(mapping)}")
            edits.append((tok.start, tok.end, new))
    return _apply(source, edits)


COMMENTS = ("# compute it", "# main part", "# TODO check this", "# done", "# formula from lecture", "# step")


def recomment(source: str, given: str, rng: random.Random) -> str:
    """Drop the student's comments and put other ones above some of their lines."""
    given_comments = {t.string for t in _tokens(given) if t.type == tokenize.COMMENT}
    edits = [(t.start, t.end, "") for t in _tokens(source)
             if t.type == tokenize.COMMENT and t.string not in given_comments]
    lines = _apply(source, edits).split("\n")
    given_lines = set(given.split("\n"))
    rewritten = []
    for line in lines:
        line = line.rstrip()
        if line.strip() and line not in given_lines and rng.random() < 0.4:
            indent = line[:len(line) - len(line.lstrip())]
            rewritten.append(indent + rng.choice(COMMENTS))
        rewritten.append(line)
    return "\n".join(rewritten)


def reverse_definitions(source: str) -> str:
    """The cell's top-level functions and classes in the reverse order."""
    tree = ast.parse(source)
    lines = source.split("\n")
    blocks = tree.body
    if len(blocks) < 2 or not all(isinstance(node, (ast.FunctionDef, ast.ClassDef)) for node in blocks):
        return source
    texts = ["\n".join(lines[node.lineno - 1:node.end_lineno]) for node in blocks]
    return "\n\n\n".join(reversed(texts)) + "\n"


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def _apply(source: str, edits: list[tuple]) -> str:
    """``source`` with each ((row, col), (row, col), text) edit made (tokenize's positions)."""
    lines = source.split("\n")
    for (row, col), (end_row, end_col), text in sorted(edits, reverse=True):
        assert row == end_row, "a name or comment spans one line"
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end_col:]
    return "\n".join(lines)
