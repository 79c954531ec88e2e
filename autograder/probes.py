"""Hidden checks as probes: code that calls the student's functions and records plain data.

Each graded test cell of an instructor notebook ends with a block::

    ### BEGIN HIDDEN TESTS
    rng = np.random.default_rng(seed + 1)          # `seed` is drawn at grading time
    x = rng.standard_normal((7, 3))
    out, _ = affine_forward(x, w, b)
    record("affine_forward output for x of shape (7, 3)", out)
    ### END HIDDEN TESTS

nbgrader's release removes the block, so students never see it. When grading, the block is
not part of the notebook the student's kernel runs: after the whole notebook has run, the
grader sends each block, wrapped by :func:`probe_request`, as a silent request of its own,
to the student's kernel and, with the same seed, to a kernel running the instructor's
solution. A probe only *records*: ``record(name, value, compare=..., rtol=..., atol=...)``
turns ``value`` (a number, string, boolean, NumPy array or tensor) into a numeric or string
array, and the harness sends every record back at the end as one ``.npz`` archive inside a
display message of its own MIME type. Nothing is compared in the kernel: how to compare (and
what to say) is read from the *solution's* run only (:mod:`autograder.verdicts`), so a
student's kernel, whatever it does, can only send values.

A probe may still ``assert`` or raise (a value that cannot be recorded, a wrong type): that
stops it, and the records it did not make count as missing. Names it binds are removed and
names it rebinds (a reference implementation swapped in for a part that depends on another)
are restored after it, so one probe never changes what the next one sees.
"""

from __future__ import annotations

import json
import re

import nbformat

MIME = "application/x-cnnbook-records"

HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n(?P<body>.*?)^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                          re.DOTALL | re.MULTILINE)

# The harness, sent before every probe. It is self-contained (it relies on nothing defined by
# the notebook) and leaves only one underscored name behind. Its comparison settings are
# sent by both kernels, but only the solution's are ever read.
_HARNESS = r'''
def __cnnbook_probe(source, seed, part):
    import base64, io, json, sys, traceback
    import numpy
    from IPython import get_ipython
    from IPython.display import publish_display_data

    names, values, settings, unreadable = [], [], {}, []

    def plain(value):
        if type(value).__module__.startswith("torch"):
            import torch
            value = value.detach().cpu()
            if value.dtype in (torch.float16, torch.bfloat16):
                value = value.float()
            value = value.numpy()
        array = numpy.array(value)
        if array.dtype.kind not in "biufU":
            raise TypeError(type(value).__name__)
        return array

    def record(name, value, **how):
        name = str(name)
        try:
            array = plain(value)
        except Exception:
            unreadable.append(name)
            return
        names.append(name)
        values.append(array)
        settings[name] = how

    namespace = get_ipython().user_ns
    before = dict(namespace)
    namespace.update(record=record, seed=int(seed))
    error, trace = None, ""
    try:
        exec(compile(source, "<hidden check " + part + ">", "exec"), namespace)
    except BaseException as raised:
        error, trace = type(raised).__name__, traceback.format_exc()
    finally:
        for name in list(namespace):
            if name not in before:
                del namespace[name]
        namespace.update(before)
    buffer = io.BytesIO()
    arrays = {f"r{i}": value for i, value in enumerate(values)}
    meta = {"names": names, "settings": settings, "unreadable": unreadable, "error": error, "trace": trace}
    numpy.savez(buffer, __meta__=numpy.array(json.dumps(meta)), **arrays)
    publish_display_data({"''' + MIME + r'''": base64.b64encode(buffer.getvalue()).decode()})
'''


def probes(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Each graded test cell's hidden block, by grade id, in notebook order."""
    found = {}
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            blocks = [match.group("body") for match in HIDDEN_BLOCK.finditer(cell.source)]
            found[meta["grade_id"]] = "\n".join(_dedent_block(block) for block in blocks)
    return found


def without_hidden_blocks(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every hidden block removed from its source (as released)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN_BLOCK.sub("", cell.source)
    return notebook


def probe_request(part: str, source: str, seed: int) -> str:
    """The code to send to a kernel to run one probe and publish its records."""
    return (_HARNESS + f"\n__cnnbook_probe({json.dumps(source)}, {int(seed)}, {json.dumps(part)})\n"
            "del __cnnbook_probe\n")


def _dedent_block(block: str) -> str:
    """Hidden blocks sit at the cell's top level; a common indentation is removed anyway."""
    lines = block.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in lines) + "\n"
