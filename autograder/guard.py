"""Kernel-side integrity checks around every graded test cell.

Student code and tests share one Python process, so a submission can try to pass tests it
should fail: replace ``numpy.allclose`` or an assert helper, install an IPython input or AST
transformer that rewrites the test cells, swallow exceptions with a custom exception handler
or a patched ``showtraceback``, set a trace function, or swap a module in ``sys.modules``.

Before the student's first cell, :func:`setup_expression` records the pristine state: every
function, class and code object of the modules tests rely on (numpy, math, builtins, torch and
cnnbook where the assignment uses them), IPython's hooks and ``sys``'s. Before and after each
test cell, :func:`check_expression` compares the state with that record, restores it, and
reports what had been changed. The grader fails a test cell when a check reports tampering or
does not answer with the right token; it never trusts what the cell prints.

The checks travel as ``user_expressions`` of an empty execute request: IPython evaluates them
with ``eval``, so they bypass input and AST transformers that a submission may have installed.
The record lives under a name drawn at random per kernel. A submission that rewrites the
interpreter with full knowledge of this module can still defeat in-process checks; the sandbox
keeps that from reaching anything beyond the student's own score, and every check that does
not answer as expected fails the cell (fail closed).
"""

from __future__ import annotations

import ast
import secrets

# The kernel-side program. It is executed with exec() in a fresh namespace each time, with
# PHASE (see Guard.expression), SLOT (attribute name of the record), MODULES, NAMES, NAMES_BOUND set.
_KERNEL_PROGRAM = r'''
import importlib, sys, threading, types
from IPython import get_ipython
from IPython.core import interactiveshell

shell = get_ipython()
WATCHED_CLASSES = [klass for klass in type(shell).__mro__ if klass.__module__.startswith(("IPython", "ipykernel"))]
if "torch" in MODULES:
    import torch
    WATCHED_CLASSES.append(torch.Tensor)
SYS_HOOKS = ("excepthook", "displayhook", "stdout", "stderr", "stdin")


ROUTINES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, staticmethod, classmethod)


def watched_modules():
    return {name: sys.modules[name] for name in MODULES if sys.modules.get(name) is not None}


def members(namespace, names=None):
    """(value, code, defaults) of the functions and classes of a namespace (or of ``names``)."""
    kept = {}
    for key, value in list(namespace.items()):
        if (names is None or key in names) and isinstance(value, ROUTINES):
            is_function = isinstance(value, types.FunctionType)
            kept[key] = (value, value.__code__ if is_function else None, value.__defaults__ if is_function else None)
    return kept


def take_record():
    modules = watched_modules()
    record = {
        "modules": {name: (module, members(vars(module), NAMES.get(name))) for name, module in modules.items()},
        "classes": {klass: members(dict(vars(klass))) for klass in WATCHED_CLASSES},
        "sys": {name: getattr(sys, name) for name in SYS_HOOKS},
        "meta_path": list(sys.meta_path),
        "path_hooks": list(sys.path_hooks),
        "shell_attributes": set(vars(shell)),
        "builtins_in_ns": shell.user_ns.get("__builtins__"),
        "transforms": transforms(),
        "protected": {},
    }
    return record


def protect(names):
    """Remember what the notebook's own (locked) cells bound to ``names``: helpers, imports."""
    protected = getattr(store, SLOT)["protected"]
    for name in names:
        value = shell.user_ns.get(name)
        if isinstance(value, ROUTINES + (types.ModuleType,)):
            protected[name] = value


def transforms():
    manager = shell.input_transformer_manager
    return {"cleanup": list(manager.cleanup_transforms), "line": list(manager.line_transforms),
            "token": list(manager.token_transformers)}


def compare(record, check_names):
    problems = []
    for name, (module, kept) in record["modules"].items():
        if sys.modules.get(name) is not module:
            problems.append(f"sys.modules[{name!r}] was replaced")
            sys.modules[name] = module
        namespace = vars(module)
        for key, (value, code, defaults) in kept.items():
            current = namespace.get(key)
            if current is not value:
                problems.append(f"{name}.{key} was replaced")
                namespace[key] = value
            elif code is not None and (value.__code__ is not code or value.__defaults__ is not defaults):
                problems.append(f"the code of {name}.{key} was changed")
                value.__code__, value.__defaults__ = code, defaults
    for klass, kept in record["classes"].items():
        for key, (value, code, defaults) in kept.items():
            if vars(klass).get(key) is not value:
                problems.append(f"{klass.__name__}.{key} was replaced")
                setattr(klass, key, value)
    for name, value in record["sys"].items():
        if getattr(sys, name) is not value:
            problems.append(f"sys.{name} was replaced")
            setattr(sys, name, value)
    if sys.meta_path != record["meta_path"] or sys.path_hooks != record["path_hooks"]:
        problems.append("an import hook was installed")
        sys.meta_path[:] = record["meta_path"]
        sys.path_hooks[:] = record["path_hooks"]
    if sys.gettrace() is not None or sys.getprofile() is not None:
        problems.append("a trace or profile function was set")
        sys.settrace(None)
        sys.setprofile(None)
    if getattr(threading, "_trace_hook", None) or getattr(threading, "_profile_hook", None):
        problems.append("a thread trace or profile function was set")
        threading.settrace(None)
        threading.setprofile(None)
    for key in set(vars(shell)) - record["shell_attributes"]:
        if callable(vars(shell)[key]):
            problems.append(f"the IPython shell's {key} was replaced")
            delattr(shell, key)
    if shell.input_transformers_post or shell.ast_transformers:
        problems.append("an IPython input or AST transformer was installed")
        shell.input_transformers_post[:] = []
        shell.ast_transformers[:] = []
    if transforms() != record["transforms"]:
        problems.append("an IPython input transformer was installed")
        manager = shell.input_transformer_manager
        manager.cleanup_transforms[:] = record["transforms"]["cleanup"]
        manager.line_transforms[:] = record["transforms"]["line"]
        manager.token_transformers[:] = record["transforms"]["token"]
    if shell.custom_exceptions:
        problems.append("a custom exception handler was installed")
        shell.set_custom_exc((), None)
    for name, value in record["protected"].items() if check_names else ():
        if shell.user_ns.get(name) is not value:
            problems.append(f"the notebook's {name} was redefined")
            shell.user_ns[name] = value
    if shell.user_ns.get("__builtins__") is not record["builtins_in_ns"]:
        problems.append("__builtins__ was replaced")
        shell.user_ns["__builtins__"] = record["builtins_in_ns"]
    return problems


store = interactiveshell
if PHASE == "setup":
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    setattr(store, SLOT, take_record())
    RESULT = []
elif PHASE == "protect":
    protect(NAMES_BOUND)
    RESULT = []
else:  # "before" a test cell checks the notebook's names too; "after" it, the test may rebind them
    RESULT = compare(getattr(store, SLOT), check_names=PHASE == "before")
'''

# Modules whose functions and classes are all watched: what tests compare and assert with.
BASE_MODULES = ("builtins", "math", "operator", "functools", "unittest.case", "numpy", "numpy._core.numeric",
                "numpy._core.fromnumeric", "numpy.linalg", "numpy.testing", "numpy.testing._private.utils")
TORCH_MODULES = ("torch", "torch.testing", "torch.testing._comparison", "torch.autograd", "torch.nn.functional")
CNNBOOK_MODULES = ("cnnbook", "cnnbook.check")
# torch rebinds some of its own top-level functions when parts of it load lazily: watch only these.
NAMES = {"torch": ("allclose", "isclose", "equal", "all", "any", "abs", "max", "min", "sum", "mean", "norm",
                   "tensor", "as_tensor", "from_numpy", "no_grad", "enable_grad", "is_tensor", "isfinite",
                   "isnan"),
         "torch.autograd": ("grad", "backward", "gradcheck")}


def modules_for(sources: str) -> tuple[str, ...]:
    """The modules to watch for an assignment whose code is ``sources``."""
    return (BASE_MODULES + (TORCH_MODULES if "torch" in sources else ())
            + (CNNBOOK_MODULES if "cnnbook" in sources else ()))


class Guard:
    """Expressions for one kernel: a random record name and a fresh token per check."""

    def __init__(self, modules: tuple[str, ...]):
        self.modules = modules
        self.slot = "_autograder_" + secrets.token_hex(8)
        self._program = _KERNEL_PROGRAM
        ast.parse(self._program)  # fail here, not in the kernel, if the program is broken

    def expression(self, phase: str, bound: list[str] | None = None) -> tuple[str, str]:
        """``(expression, token)``: the answer of a clean check is ``repr((token, []))``.

        Phases: ``setup`` records the pristine state; ``before`` and ``after`` a test cell
        compare with it and restore it (``before`` also checks the names the notebook's locked
        cells bound); ``protect`` remembers the names ``bound`` by a locked cell that just ran.
        """
        token = secrets.token_hex(16)
        namespace = repr({"PHASE": phase, "SLOT": self.slot, "MODULES": self.modules, "NAMES": NAMES,
                          "NAMES_BOUND": list(bound or [])})
        expression = (f"(lambda ns: (exec({self._program!r}, ns), ({token!r}, ns['RESULT']))[1])"
                      f"(dict({namespace}))")
        return expression, token

    @staticmethod
    def problems(answer: dict | None, token: str) -> list[str]:
        """What a check reported; a missing or unexpected answer is itself a problem."""
        if not answer or answer.get("status") != "ok":
            detail = (answer or {}).get("evalue") or "no answer"
            return [f"the integrity check could not run ({detail})"]
        text = answer.get("data", {}).get("text/plain", "")
        try:
            returned_token, problems = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return ["the integrity check gave an unexpected answer"]
        if returned_token != token or not isinstance(problems, list):
            return ["the integrity check gave an unexpected answer"]
        return [str(problem) for problem in problems]


def top_level_names(source: str) -> list[str]:
    """Names a cell binds at top level (imports, functions, classes, assignments)."""
    try:
        tree = ast.parse("\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"]
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [target.id for target in targets if isinstance(target, ast.Name)]
    return names
