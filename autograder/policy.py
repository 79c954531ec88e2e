"""Policy checks: static analysis of what the student wrote, in the grader's process.

Some parts forbid a shortcut: Assignment 1's layers may not call PyTorch, Assignment 2's
convolution may not call ``torch.nn.functional.conv2d``. Such rules are written in
``autograder/course.toml`` per assignment::

    [[assignments.a1_backprop.policy]]
    forbid = ["torch", "F", "__import__", "importlib"]
    reason = "Assignment 1 is NumPy only"
    parts = ["test_affine_forward", ...]     # optional: every part by default

    [[assignments.a3_lenet.policy]]
    require = [".to", ".cuda", "device"]     # at least one of them, in the part's answer cells
    reason = "evaluate must move each minibatch to the model's device"
    parts = ["test_evaluate"]

and checked on the source of the student's code cells (answer cells and cells they added),
never by running it. A name is used when it appears as a variable, a keyword argument, an
attribute path (``torch.relu`` uses ``torch`` and ``torch.relu``), an attribute (``x.to(d)``
uses ``.to``) or an import. A forbidden name in an answer cell costs the parts tested between
that cell and the next answer cell; in a cell the student added, the parts of the section it
stands in (every part, above the first answer cell) and those whose answer cells use a name the
cell defines. A
``require`` rule costs each of its parts whose answer cells use none of the names: a check on
what cannot be seen when grading on a CPU (where a model never moved to the GPU still works).

The same pass notes, for the TA, constructs that only tampering needs (frames, ``ctypes``,
audit hooks, the kernel's internals). They change no score: the verdicts are computed outside
the student's process, where tampering cannot reach.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from nbformat.notebooknode import NotebookNode

from .verdicts import POLICY, Verdict, failed

TAMPERING_NAMES = ("ctypes", "gc.get_objects", "gc.get_referrers", "sys._getframe", "sys.settrace", "sys.setprofile",
                   "sys.addaudithook", "sys.modules", "inspect.currentframe", "inspect.stack", "linecache",
                   "threading", "get_ipython", "IPython", "ipykernel", "jupyter_client", "builtins", "__builtins__")
TAMPERING_ATTRIBUTES = ("__closure__", "__code__", "__globals__", "f_locals", "f_globals", "f_back", "__defaults__",
                        "tb_frame", "gi_frame", "cell_contents")
_MAGIC_LINE = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Rule:
    forbid: tuple[str, ...]
    reason: str
    parts: tuple[str, ...] | None = None  # None: every part
    require: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, table: dict) -> "Rule":
        parts = table.get("parts")
        return cls(tuple(table.get("forbid", ())), str(table.get("reason", "not allowed here")),
                   tuple(parts) if parts else None, tuple(table.get("require", ())))


def used_names(source: str) -> set[str]:
    """Every name, attribute path and imported module the code mentions (empty if it does not parse).

    A name the cell binds itself (assigns, takes as an argument, loops over) is its own, not the
    module of the same name: ``F, C, H, W = w.shape`` does not use ``torch.nn.functional``.
    """
    try:
        tree = ast.parse("\n".join("" if _MAGIC_LINE.match(line) else line for line in source.splitlines()))
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else names).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Attribute):
            path = _attribute_path(node)
            if path:
                parts = path.split(".")
                names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
            names.add("." + node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            names.add(node.arg)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                names.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.add(node.module.split(".")[0])
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] not in bound or name.startswith(".")}


def _attribute_path(node: ast.Attribute) -> str | None:
    parts = [node.attr]
    value = node.value
    while isinstance(value, ast.Attribute):
        parts.append(value.attr)
        value = value.value
    if isinstance(value, ast.Name):
        parts.append(value.id)
        return ".".join(reversed(parts))
    return None


def parts_of_answer_cells(release: NotebookNode) -> dict[str, list[str]]:
    """Answer cell grade id -> the test cells after it, up to the next answer cell."""
    mapping: dict[str, list[str]] = {}
    current: str | None = None
    for cell in release.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            current = meta["grade_id"]
            mapping[current] = []
        elif cell.cell_type == "code" and meta.get("grade") and current is not None:
            mapping[current].append(meta["grade_id"])
    return mapping


def check(notebook: NotebookNode, release: NotebookNode, rules: list[Rule],
          graded_parts: list[str]) -> tuple[dict[str, Verdict], list[str]]:
    """Policy verdicts (only failures) per part, and notes for the TA, for a rebuilt notebook."""
    released_ids = {cell.metadata["nbgrader"]["grade_id"] for cell in release.cells
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    tested_after = parts_of_answer_cells(release)
    answer_names = {cell.metadata["nbgrader"]["grade_id"]: used_names(cell.source) for cell in notebook.cells
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") in tested_after}
    verdicts: dict[str, Verdict] = {}
    notes: list[str] = []
    section: str | None = None  # the answer cell the student's cells follow
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if gid in tested_after:
            section = gid
        if cell.cell_type != "code" or (gid in released_ids and not meta.get("solution")):
            continue  # a locked cell, exactly as released
        names = used_names(cell.source)
        where = f"answer cell {gid}" if gid in released_ids else "a cell you added"
        for rule in rules:
            hits = [name for name in rule.forbid if name in names]
            if not hits:
                continue
            covered = rule.parts or tuple(graded_parts)
            affected = tested_after.get(gid, []) if gid in released_ids else _parts_of_added_cell(
                cell.source, section, tested_after, answer_names, covered)
            for part in affected:
                if part in covered:
                    verdicts.setdefault(part, failed(part, POLICY, f"{where} uses {', '.join(hits)}: {rule.reason}"))
        suspicious = [name for name in TAMPERING_NAMES if name in names]
        suspicious += [attribute for attribute in TAMPERING_ATTRIBUTES if "." + attribute in names]
        if suspicious:
            notes.append(f"{where} uses {', '.join(suspicious)}: worth a look (no effect on the score)")
    for rule in rules:
        for part in (rule.parts or ()) if rule.require else ():
            answer_cells = [gid for gid, parts in tested_after.items() if part in parts]
            names = set().union(*(answer_names.get(gid, set()) for gid in answer_cells))
            if not any(name in names for name in rule.require):
                verdicts.setdefault(part, failed(part, POLICY, f"your code for this part never uses "
                                                              f"{' or '.join(rule.require)}: {rule.reason}"))
    return verdicts, notes


def _parts_of_added_cell(source: str, section: str | None, tested_after: dict[str, list[str]],
                         answer_names: dict[str, set[str]], covered) -> list[str]:
    """The parts a cell the student added counts for: those of the section it stands in (every
    part, before the first answer cell), and those whose answer cells use a name it defines."""
    if section is None:
        return list(covered)
    defined = _defined_names(source)
    users = [gid for gid, names in answer_names.items() if names & defined]
    return list(dict.fromkeys(tested_after[section] + [part for gid in users for part in tested_after[gid]]))


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse("\n".join("" if _MAGIC_LINE.match(line) else line for line in source.splitlines()))
    except (SyntaxError, ValueError):
        return set()
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        else:
            defined.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return defined
