"""Hostile and unusual submissions, each with the score it must get and why.

Most entries take the blank release and add one generic cell that attacks the grading itself
(patching the kernel, the message layer, the compiler, IPython's hooks, NumPy or torch, forging
the records a probe sends, racing the probes from a thread, reading frames for expected
values, ...): each must score 0, since a verdict is computed outside the student's process
from values only a solved part can produce. The generic attacks are tried on Assignment 1
(NumPy), 3 (PyTorch) and 9 (detection). Assignment 1 also gets the accidents and the harm:
limits, exits, edited cells, extra notebooks, floods of output, scripts in outputs.

Points of A1's parts: affine 4+8, relu 3+5, sigmoid 5+5, softmax 12, svm 10, numerical gradient
10, two-layer net 16, SGD with momentum 8, train 14 (100 in all).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import nbformat

from autograder import course

ASSIGNMENT = "a1_backprop"
GENERIC_ASSIGNMENTS = ("a1_backprop", "a3_lenet", "a9_detection")


@dataclass
class Hostile:
    name: str
    expected: float
    why: str
    build: Callable[[dict], bytes]  # context (e.g. the loopback URL) -> the submitted notebook
    assignment: str = ASSIGNMENT
    extra_files: dict[str, bytes] = field(default_factory=dict)  # also in the student's folder


def solution(assignment: str = ASSIGNMENT):
    return nbformat.read(course.source_notebooks(assignment)[0], as_version=4)


def blank(assignment: str = ASSIGNMENT):
    return nbformat.read(course.ASSIGNMENTS / assignment / f"{assignment}.ipynb", as_version=4)


def _index(notebook, grade_id: str) -> int:
    return next(i for i, cell in enumerate(notebook.cells)
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with_cell(notebook, after: str | None, source: str, cell_type: str = "code"):
    notebook = copy.deepcopy(notebook)
    new = nbformat.v4.new_code_cell(source) if cell_type == "code" else nbformat.v4.new_markdown_cell(source)
    notebook.cells.insert(len(notebook.cells) if after is None else _index(notebook, after) + 1, new)
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


def _edit_all(notebook, grade_ids, change):
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in grade_ids:
            change(cell)
    return notebook


def _bytes(notebook) -> bytes:
    return nbformat.writes(notebook).encode()


def _tests(notebook) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"]


# ---------------------------------------------------------------- generic attacks on the grading
# Each is one cell added at the end of a blank notebook (it runs last, right before the hidden
# checks); none knows the assignment.

GENERIC_ATTACKS = {
    "patch_do_execute": ("the kernel's execute handler replaced: every request 'succeeds' without running",
                         '''
from ipykernel.ipkernel import IPythonKernel
async def _do_nothing(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, **kw):
    return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}
IPythonKernel.do_execute = _do_nothing
'''),
    "patch_session_send": ("the message layer turns every error reply into 'ok'", '''
import jupyter_client.session as _session
_send = _session.Session.send
def _lying_send(self, stream, msg_or_type, content=None, *args, **kwargs):
    if isinstance(content, dict) and content.get("status") == "error":
        content = {"status": "ok", "execution_count": content.get("execution_count", 0), "payload": [],
                   "user_expressions": {}}
    return _send(self, stream, msg_or_type, content, *args, **kwargs)
_session.Session.send = _lying_send
'''),
    "patch_compiler": ("IPython's compiler turns every later cell and request into `pass`", '''
import ast
from IPython.core.compilerop import CachingCompiler
CachingCompiler.ast_parse = lambda self, source, filename="<unknown>", symbol="exec": ast.parse("pass")
'''),
    "forge_records": ("rewrites the records archive every hidden check publishes: zeros under every name "
                      "found in the check's source, no error", '''
import base64, io, json, re, sys
import numpy
import IPython.display as _display
_publish = _display.publish_display_data
def _forging_publish(data, *args, **kwargs):
    if isinstance(data, dict) and "application/x-cnnbook-records" in data:
        frame, source = sys._getframe(1), ""
        while frame is not None and not source:
            found = frame.f_locals.get("source")
            source = found if isinstance(found, str) else ""
            frame = frame.f_back
        names = [name for _, name in re.findall(r'record\\((f?)"([^"]*)"', source)]
        buffer = io.BytesIO()
        meta = {"names": names, "settings": {}, "unreadable": [], "error": None, "trace": ""}
        numpy.savez(buffer, __meta__=numpy.array(json.dumps(meta)),
                    **{f"r{i}": numpy.zeros(3) for i in range(len(names))})
        data = {"application/x-cnnbook-records": base64.b64encode(buffer.getvalue()).decode()}
    return _publish(data, *args, **kwargs)
_display.publish_display_data = _forging_publish
'''),
    "replace_record": ("an audit hook swaps the probe's `record` for one that records nothing useful "
                       "(and a thread keeps doing it)", '''
import sys, threading, time
def _fake_record(name, value, **how):
    pass
def _hook(event, args):
    if event == "exec":
        get_ipython().user_ns["record"] = _fake_record
sys.addaudithook(_hook)
def _race():
    while True:
        get_ipython().user_ns["record"] = _fake_record
        time.sleep(0.0005)
threading.Thread(target=_race, daemon=True).start()
'''),
    "frame_reader": ("every unanswered function is replaced by one returning an array-like that reads "
                     "`expected` and other locals of its caller's frames", '''
import sys, numpy
class _Mirror:
    def __init__(self, frame):
        self.frame = frame
    def __array__(self, dtype=None, copy=None):
        frame = self.frame
        while frame is not None:
            for name in ("expected", "expected_loss", "dx_ref", "reference", "target"):
                if name in frame.f_locals:
                    return numpy.asarray(frame.f_locals[name])
            frame = frame.f_back
        return numpy.zeros(1)
def _impostor(*args, **kwargs):
    mirror = _Mirror(sys._getframe(1))
    return (mirror, mirror, mirror)
for _name, _value in list(get_ipython().user_ns.items()):
    if callable(_value) and getattr(_value, "__module__", None) == "__main__" and not _name.startswith("_"):
        get_ipython().user_ns[_name] = _impostor
'''),
    "gc_and_ctypes": ("walks gc for the grader's state, empties every list it finds in frames, and "
                      "writes through ctypes into the records' builtins", '''
import ctypes, gc, threading, time
def _scrub():
    while True:
        for obj in gc.get_objects():
            if isinstance(obj, dict) and "names" in obj and "settings" in obj:
                obj.clear()
        time.sleep(0.01)
threading.Thread(target=_scrub, daemon=True).start()
ctypes.c_long.from_address(id(1) + 24).value = 1
'''),
    "patch_numpy_and_torch": ("numpy's comparisons, array conversion and torch.Tensor's numpy/item "
                              "replaced to return zeros or True", '''
import numpy as _np
_np.allclose = lambda *a, **k: True
_np.array_equal = lambda *a, **k: True
_np.testing.assert_allclose = lambda *a, **k: None
try:
    import torch as _torch
    _torch.Tensor.numpy = lambda self, *a, **k: _np.zeros(1)
    _torch.Tensor.item = lambda self: 0.0
    _torch.Tensor.__eq__ = lambda self, other: _torch.ones((), dtype=_torch.bool)
except ImportError:
    pass
'''),
    "input_transformer": ("a transformer rewriting every later cell and request to `pass`",
                          "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])\n"),
}


def generic_attacks(assignment: str) -> list[Hostile]:
    """Every generic attack, added to the blank release of ``assignment``: each scores 0."""
    released = blank(assignment)
    return [Hostile(f"{assignment.split('_')[0]}_{name}", 0, why,
                    (lambda source: lambda context: _bytes(_with_cell(released, None, source)))(source),
                    assignment=assignment)
            for name, (why, source) in GENERIC_ATTACKS.items()]


# ---------------------------------------------------------------- Assignment 1: accidents and harm

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

# Reads the source of whatever called it (a hidden check, when grading) and tries to get it out:
# printed, shown with display, put in an exception message, written to a file.
SOURCE_THIEF = '''
import sys
def _steal():
    found = []
    frame = sys._getframe(1)
    while frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for value in list(scope.values()):
                if isinstance(value, str) and "record(" in value:
                    found.append(value)
        frame = frame.f_back
    return "\\n".join(found)
'''

def a1_entries() -> list[Hostile]:
    good, empty = solution(), blank()
    every_test = _tests(empty)

    def blank_with(source: str) -> Callable[[dict], bytes]:
        return lambda context: _bytes(_with_cell(empty, None, source.format(**context)))

    def solution_with(source: str, after: str | None = None) -> Callable[[dict], bytes]:
        return lambda context: _bytes(_with_cell(good, after, source))

    def delete_tests(context):
        notebook = copy.deepcopy(empty)
        notebook.cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in every_test]
        return _bytes(notebook)

    def duplicate_test(context):
        notebook = copy.deepcopy(good)
        index = _index(notebook, "test_affine_forward")
        copies = [copy.deepcopy(notebook.cells[index]) for _ in range(3)]
        for number, cell in enumerate(copies):
            cell.id = f"pasted-{number}"  # Jupyter gives pasted cells new ids; the grade_id stays
        notebook.cells[index + 1:index + 1] = copies
        return _bytes(notebook)

    def reordered_locked_cells(context):
        # lenient helpers first, then the imports cell moved to the very end
        notebook = _with_cell(empty, None, "")
        imports = notebook.cells.pop(_index(notebook, "imports"))
        notebook.cells.insert(0, nbformat.v4.new_code_cell(
            "import numpy as np\nassert_close = lambda *a, **k: 0.0\nexpect_tuple = lambda r, n, f: r\n"))
        notebook.cells.append(imports)
        return _bytes(notebook)

    def zero_points(cell):
        cell.metadata["nbgrader"].update(points=0, grade=False)

    def to_markdown(notebook, grade_id):
        notebook = copy.deepcopy(notebook)
        index = _index(notebook, grade_id)
        old = notebook.cells[index]
        notebook.cells[index] = nbformat.v4.new_markdown_cell(old.source, metadata=old.metadata)
        return notebook

    def buggy_relu(notebook):  # wrong forward and backward: loses both ReLU parts (3 + 5 points)
        def change(cell):
            cell.source = cell.source.replace("out = np.maximum(0, x)", "out = np.maximum(0, x) + 0.1")
            cell.source = cell.source.replace("dx = dout * (x > 0)", "dx = dout * (x > -1)")
        return _edit(notebook, "relu", change)

    def with_affine_prefix(prefix: str) -> Callable[[dict], bytes]:
        def build(context):
            notebook = _with_cell(good, "imports", SOURCE_THIEF)
            return _bytes(_edit(notebook, "affine", lambda cell: setattr(cell, "source", cell.source.replace(
                "    ### BEGIN SOLUTION\n    out = x.reshape", "    " + prefix + "\n    ### BEGIN SOLUTION\n    out = x.reshape"))))
        return build

    naive_sigmoid = ("out = np.empty_like(x, dtype=np.float64)\n    positive = x >= 0\n"
                     "    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))\n    exp_x = np.exp(x[~positive])\n"
                     "    out[~positive] = exp_x / (1.0 + exp_x)")

    return [
        Hostile("correct", 100, "the control: a correct submission", lambda c: _bytes(good)),
        Hostile("blank", 0, "the control: nothing answered", lambda c: _bytes(empty)),
        Hostile("infinite_loop", 86, "train's cell never ends: it is stopped at the cell time limit, so train "
                "is undefined and only its part fails", lambda c: _bytes(_prepend(good, "train", "while True:\n    pass"))),
        Hostile("memory_bomb", 0, "the kernel is stopped at the memory limit while train's cell runs: no "
                "hidden check can run after it",
                lambda c: _bytes(_prepend(good, "train", "hog = []\nwhile True:\n    hog.append(np.ones(2**25))"))),
        Hostile("fork_bomb", 0, "the process limit stops the forks and the kernel: no hidden check runs",
                lambda c: _bytes(_prepend(good, "train", "import os\nwhile True:\n    os.fork()"))),
        Hostile("os_exit", 0, "the kernel exits: nothing runs after it", blank_with("import os\nos._exit(0)")),
        Hostile("sys_exit", 0, "SystemExit is caught by IPython; the blank answers still fail",
                blank_with("import sys\nsys.exit()")),
        Hostile("keyboard_interrupt", 100, "an interrupt raised in a student's cell stops only that cell",
                lambda c: _bytes(_with_cell(good, "imports", "raise KeyboardInterrupt"))),
        Hostile("always_equal", 0, "answers return an object equal and close to everything",
                blank_with(ALWAYS_EQUAL)),
        Hostile("patch_traceback", 0, "IPython's traceback display and exception handling patched to hide "
                "failures", blank_with("ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                                       "ip.set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                       "import sys\nsys.excepthook = lambda *a: None\n")),
        Hostile("read_hidden_tests", 0, "looks for the solutions, the gradebook and the hidden checks on disk",
                blank_with('''import glob, json
found = [p for root in ("/work", "/root", "/home", "/tmp", "/srv", "/opt")
         for name in ("solutions/a1_backprop/*.ipynb", "gradebook.db", "reference")
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
                lambda c: _bytes(_edit_all(empty, every_test, lambda cell: setattr(cell, "source", "pass")))),
        Hostile("deleted_tests", 0, "every test cell deleted: the released tests are put back", delete_tests),
        Hostile("reordered_locked_cells", 0, "lenient helpers defined first, the imports cell moved to the "
                "end: the release's order is put back, and helpers decide nothing anyway", reordered_locked_cells),
        Hostile("duplicated_tests", 100, "a test cell pasted three more times counts once", duplicate_test),
        Hostile("changed_points", 92, "a ReLU bug, with ReLU's tests set to 0 points and not graded: the "
                "release's metadata is put back and ReLU's 8 points are lost",
                lambda c: _bytes(_edit(_edit(buggy_relu(good), "test_relu_forward", zero_points),
                                       "test_relu_backward", zero_points))),
        Hostile("tests_to_markdown", 92, "a ReLU bug, with ReLU's tests turned into markdown cells",
                lambda c: _bytes(to_markdown(to_markdown(buggy_relu(good), "test_relu_forward"), "test_relu_backward"))),
        Hostile("noop_errstate", 95, "a naive sigmoid, with np.errstate made a no-op so that no overflow is "
                "ever raised: its values at large negative x are still wrong",
                lambda c: _bytes(_with_cell(_edit(good, "sigmoid", lambda cell: setattr(
                    cell, "source", cell.source.replace(naive_sigmoid, "out = 1.0 / (1.0 + np.exp(-x))"))),
                    "imports", "import contextlib\nnp.errstate = lambda *a, **k: contextlib.nullcontext()\n"
                               "np.seterr(all='ignore')"))),
        Hostile("torch_in_answer", 88, "affine_forward delegates to torch: the policy check costs the affine "
                "parts (12 points)", lambda c: _bytes(_edit(good, "affine", lambda cell: setattr(
                    cell, "source", cell.source.replace(
                        "out = x.reshape(x.shape[0], -1) @ w + b",
                        "out = F.linear(torch.tensor(x).flatten(1), torch.tensor(w).T, torch.tensor(b)).numpy()"))))),
        Hostile("print_caller_source", 100, "a correct affine_forward that prints and displays the source "
                "of whatever calls it: nothing of the hidden check reaches the feedback",
                with_affine_prefix("print(_steal()); display(_steal()); open('stolen.txt', 'w').write(_steal())")),
        Hostile("raise_caller_source", 96, "affine_forward raises with the caller's source in the message: "
                "its part fails (the backward part's check falls back to a cache of its own), and the "
                "feedback shows only the exception's type",
                with_affine_prefix("raise ValueError(_steal())")),
        Hostile("custom_exception_name", 96, "affine_forward raises an exception class named after the "
                "hidden source: its name is not repeated",
                with_affine_prefix("raise type('record_affine_forward_output', (Exception,), {})()")),
        Hostile("corrupt_json", 0, "the file is not JSON: it scores 0 with the reason, the batch goes on",
                lambda c: _bytes(good)[:5000]),
        Hostile("huge_output", 100, "a correct submission printing 20 MB: the output is cut at the limit",
                solution_with("print('x' * 20_000_000)", after="imports")),
        Hostile("display_update_flood", 100, "25 outputs sharing one display id, then two updates of "
                "400 kB each: every update counts once per output it replaces, so the notebook stays small",
                solution_with("from IPython.display import display, update_display\n"
                              "for _ in range(25):\n    display('small', display_id='flood')\n"
                              "update_display('y' * 400_000, display_id='flood')\n"
                              "update_display('z' * 400_000, display_id='flood')", after="imports")),
        Hostile("fill_tmp", 100, "a correct submission that writes 1.5 GB to /tmp and its home: both are "
                "in-memory folders of a fixed size, so the writes fail and nothing reaches the host's disk",
                solution_with('''import os
for folder in ("/tmp", os.getcwd()):
    try:
        with open(os.path.join(folder, "fill.bin"), "wb") as handle:
            for _ in range(150):
                handle.write(b"\\0" * 10_000_000)
    except OSError as error:
        print("stopped:", error.strerror)
    finally:
        try:
            os.remove(os.path.join(folder, "fill.bin"))
        except OSError:
            pass''')),
        Hostile("tmp_counts_as_memory", 0, "fills /tmp to its size, then allocates memory: together they pass "
                "the memory limit, the kernel is stopped before any hidden check",
                solution_with('''import numpy as np
with open("/tmp/fill.bin", "wb") as handle:
    try:
        for _ in range(60):
            handle.write(b"\\1" * 10_000_000)
    except OSError:
        pass
hog = np.ones(112_500_000)  # 0.9 GB: with the kernel, under the limit; with /tmp's 512 MB, over it
import time
time.sleep(3)''')),
        Hostile("html_and_script", 100, "a correct submission whose outputs and markdown carry HTML and a "
                "<script>: the feedback escapes or drops them",
                lambda c: _bytes(_with_cell(_with_cell(good, "imports",
                                                       "from IPython.display import HTML, Javascript, display\n"
                                                       "display(HTML('<script>alert(\"html\")</script><b>bold</b>'))\n"
                                                       "display(Javascript('alert(\"js\")'))\n"
                                                       "print('<script>alert(\"printed\")</script>')"),
                                            "imports", "<script>alert('markdown')</script>\n[link](javascript:alert(1))",
                                            cell_type="markdown"))),
        Hostile("user_warning", 100, "a correct submission whose ReLU emits a UserWarning on every call",
                lambda c: _bytes(_edit(good, "relu", lambda cell: setattr(cell, "source", cell.source.replace(
                    "    out = np.maximum(0, x)",
                    "    import warnings\n    warnings.warn('a harmless warning', UserWarning)\n"
                    "    out = np.maximum(0, x)"))))),
        Hostile("extra_cells", 100, "a correct submission with cells of its own, one defining a helper the "
                "answers use", lambda c: _bytes(_with_cell(_with_cell(_edit(
                    good, "relu", lambda cell: setattr(cell, "source", cell.source.replace(
                        "out = np.maximum(0, x)", "out = clip_below_zero(x)"))), "imports",
                    "def clip_below_zero(x):\n    return np.maximum(0, x)"), "test_relu_backward", "print('my notes')"))),
        Hostile("second_notebook", 100, "the student's folder also holds a copy of the blank notebook: the one "
                "named like the assignment is graded", lambda c: _bytes(good),
                extra_files={"a1_backprop-Copy1.ipynb": _bytes(empty)}),
        Hostile("malformed_timestamp", 100, "an unparseable timestamp.txt in the student's folder: ignored "
                "(times come from the collection step)", lambda c: _bytes(good),
                extra_files={"timestamp.txt": b"the 31st of Smarch, at tea time"}),
    ]


# ---------------------------------------------------------------- library shortcuts

# Assignment 3's augment (8 points) done by the course library's distortions, which the notebook's
# own training cell uses: shifts only, the distorted copy of each image kept. The policy forbids
# the library's augmentations in augment, and its values would not match the reference's shifts.
LIBRARY_AUGMENT = """def augment(x, max_shift=2, generator=None):
    from cnnbook.data.distort import with_distorted_copies
    seed = int(torch.randint(0, 2**31, (1,), generator=generator))
    images, _ = with_distorted_copies(x.numpy(), np.zeros(len(x)), copies=1, seed=seed, rotation=0, scale=0,
                                      shear=0, shift=max_shift, elastic=0)
    return torch.from_numpy(images[len(x):])
"""


def library_shortcuts() -> list[Hostile]:
    solved = solution("a3_lenet")
    shortcut = _edit(solved, "augment", lambda cell: setattr(cell, "source", LIBRARY_AUGMENT))
    return [Hostile("a3_library_augment", 92, "augment delegates to cnnbook.data.distort: the policy and the "
                    "values cost augment's 8 points, nothing else", lambda c: _bytes(shortcut), assignment="a3_lenet")]


def corpus() -> list[Hostile]:
    entries = a1_entries()
    for assignment in GENERIC_ASSIGNMENTS:
        entries += generic_attacks(assignment)
    return entries + library_shortcuts()
