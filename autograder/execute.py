"""nbgrader's Execute step, hardened: a sandboxed kernel, limits, and verdicts the grader decides.

:class:`SandboxedExecute` replaces nbgrader's ``Execute`` in the autograde pipeline. It

- starts the kernel inside the bubblewrap sandbox (:mod:`autograder.sandbox`) over Unix
  sockets, interrupts it by message (signals do not cross the sandbox's session boundary);
- enforces the limits: wall time per cell and per notebook, resident memory and number of
  processes of the kernel's process tree (a watcher thread stops the kernel), output size;
- wraps every graded test cell in integrity checks (:mod:`autograder.guard`);
- decides each test cell's verdict itself: it passes only if it ran, the kernel replied ``ok``,
  both checks came back clean, and it stayed within the limits. Then it rewrites the cell's
  outputs so that nbgrader's scoring agrees: a failed cell gets an error output saying why;
  a passed one keeps its output minus stderr (warnings from correct code cost nothing) and
  without partial-credit results.

Cells that never ran (the kernel died or a limit stopped it) fail with the reason; nbgrader
would otherwise score an empty test cell as passed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.client import NotebookClient
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Unicode

from . import sandbox
from .guard import Guard, modules_for, top_level_names


def is_test_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs inside the sandbox (or plainly when it is off)."""

    sandbox_settings: dict = {}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.sandbox_settings.get("enabled", True):
            shared = Path(self.sandbox_settings["shared"])
            self.transport, self.ip = "ipc", str(shared / "kernel")
            self.connection_file = str(shared / "connection.json")

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        settings = self.sandbox_settings
        if not settings.get("enabled", True):
            return command
        uid = settings.get("uid")
        if uid is not None:  # the kernel reads its connection file as its own user
            os.chown(self.connection_file, uid, uid)
        return sandbox.wrap_command(command, scratch=Path(settings["scratch"]), shared=Path(settings["shared"]),
                                    limits=settings["limits"], uid=uid, gpu_ids=settings.get("gpu_ids"))

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None and self.sandbox_settings.get("enabled", True):
            spec.interrupt_mode = "message"
        return spec


class LimitWatcher(threading.Thread):
    """Stops the kernel when its process tree passes the memory or process limit."""

    def __init__(self, pid: int, limits: sandbox.Limits, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.limits, self.interval = pid, limits, interval
        self.reason: str | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.wait(self.interval):
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            if len(tree) > self.limits.processes + 2:  # bwrap and its init are not the student's
                self.reason = f"process limit exceeded ({len(tree) - 2} processes > {self.limits.processes})"
            else:
                memory = sum(_memory(process) for process in tree)
                if memory > self.limits.memory_mb * 2**20:
                    self.reason = f"memory limit exceeded ({memory / 2**20:.0f} MB > {self.limits.memory_mb} MB)"
            if self.reason:
                _kill_tree(root)
                return

    def stop(self) -> None:
        self._stop_event.set()


def _memory(process: psutil.Process) -> int:
    """Proportional set size: forked children share their parent's pages, so plain resident
    sizes would count the same memory once per process."""
    try:
        return process.memory_full_info().pss
    except psutil.AccessDenied:
        return _resident(process)
    except (psutil.NoSuchProcess, AttributeError):
        return 0


def _resident(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


def _kill_tree(root: psutil.Process) -> None:
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass


class SandboxedExecute(Execute):
    """nbgrader's Execute with the sandbox, limits, integrity checks and grader-side verdicts."""

    use_sandbox = Bool(True).tag(config=True)
    scratch = Unicode("").tag(config=True)       # the kernel's writable home and working directory
    shared = Unicode("").tag(config=True)        # sockets and connection file, seen from both sides
    limits = Dict({}).tag(config=True)           # overrides of sandbox.Limits
    gpu_ids = Unicode("").tag(config=True)       # CUDA_VISIBLE_DEVICES for the kernel; "" = CPU
    report_path = Unicode("").tag(config=True)   # where the verdicts are written as JSON

    def preprocess(self, nb, resources=None, km=None):
        limits = sandbox.Limits.from_mapping(self.limits)
        scratch, shared = Path(self.scratch), Path(self.shared)
        uid = sandbox.sandbox_uid() if self.use_sandbox else None
        sandbox.prepare_folders(scratch, shared, uid)
        manager_class = type("ConfiguredKernelManager", (SandboxedKernelManager,), {"sandbox_settings": {
            "enabled": self.use_sandbox, "scratch": str(scratch), "shared": str(shared), "limits": limits,
            "uid": uid, "gpu_ids": self.gpu_ids or None}})
        self.kernel_manager_class = manager_class
        NotebookClient.__init__(self, nb, km)
        self.timeout = limits.cell_timeout  # after __init__, which applies the config's Execute.timeout
        self.shutdown_kernel = "immediate"
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._limits = limits
        self._output_bytes: dict[int, int] = {}
        self._overflowing: set[int] = set()
        self._last_reply: dict | None = None
        guard = Guard(modules_for("\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")))
        verdicts: dict[str, dict] = {}
        stopped: str | None = None
        watcher: LimitWatcher | None = None
        started = time.monotonic()
        try:
            kernel_log = (shared / "kernel.log").open("w")  # the kernel's own messages, not the student's
            with kernel_log, self.setup_kernel(cwd=str(scratch), stdout=kernel_log, stderr=kernel_log):
                watcher = LimitWatcher(self.km.provisioner.process.pid, limits)
                watcher.start()
                self.wait_for_reply(self.kc.kernel_info())
                setup_problems = self._check(guard, "setup")
                if setup_problems:
                    stopped = "the grader could not prepare the kernel: " + "; ".join(setup_problems)
                for index, cell in enumerate(self.nb.cells):
                    if cell.cell_type != "code":
                        continue
                    test = is_test_cell(cell)
                    if stopped is None and time.monotonic() - started > limits.notebook_timeout:
                        stopped = f"notebook time limit exceeded ({limits.notebook_timeout} s)"
                    if stopped is not None:
                        cell.outputs = []
                        if test:
                            verdicts[_grade_id(cell)] = {"passed": False, "reason": f"not run: {stopped}"}
                        continue
                    problems: list[str] = []
                    try:
                        if test:
                            problems += self._check(guard, "before")
                        self._last_reply = None
                        self.execute_cell(cell, index, store_history=True)
                        if test:
                            problems += self._check(guard, "after")
                        if _is_locked(cell):  # the notebook's own helpers and imports may not be redefined
                            problems += self._check(guard, "protect", top_level_names(cell.source))
                    except DeadKernelError:
                        stopped = (watcher.reason if watcher and watcher.reason
                                   else "the kernel stopped (the code exited or crashed)")
                        if test:
                            verdicts[_grade_id(cell)] = {"passed": False, "reason": stopped}
                        continue
                    if test:
                        verdicts[_grade_id(cell)] = self._verdict(cell, index, problems)
        finally:
            if watcher is not None:
                watcher.stop()
        for cell in self.nb.cells:
            if is_test_cell(cell):
                verdict = verdicts.setdefault(_grade_id(cell), {"passed": False, "reason": "not run"})
                _apply_verdict(cell, verdict)
        if self.report_path:
            Path(self.report_path).write_text(json.dumps({"verdicts": verdicts, "stopped": stopped}, indent=1))
        return self.nb, self.resources

    def _check(self, guard: Guard, phase: str, bound: list[str] | None = None) -> list[str]:
        expression, token = guard.expression(phase, bound)
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"check": expression})
            reply = self.wait_for_reply(msg_id)
        except DeadKernelError:
            raise
        except Exception as error:  # noqa: BLE001: any failure to check is a failed check
            return [f"the integrity check could not run ({error})"]
        if reply is None:
            return ["the integrity check timed out"]
        answer = reply["content"].get("user_expressions", {}).get("check")
        return Guard.problems(answer, token)

    def on_cell_executed(self, **kwargs):
        self._last_reply = kwargs["execute_reply"]
        super().on_cell_executed(**kwargs)

    def _verdict(self, cell: NotebookNode, index: int, problems: list[str]) -> dict:
        reply = self._last_reply
        if index in self._overflowing:
            return {"passed": False, "reason": f"output limit exceeded ({self._limits.output_kb} kB)"}
        if problems:
            return {"passed": False, "reason": "the submission tampered with the grading: " + "; ".join(problems)}
        if reply is None:
            return {"passed": False, "reason": "no reply from the kernel"}
        content = reply["content"]
        if content.get("status") != "ok":
            if content.get("ename") == "CellTimeoutError":
                return {"passed": False, "reason": f"cell time limit exceeded ({self._limits.cell_timeout} s)"}
            return {"passed": False, "reason": f"{content.get('ename', 'error')}: {content.get('evalue', '')}"}
        return {"passed": True, "reason": ""}

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        total = self._output_bytes.get(cell_index, 0) + size
        self._output_bytes[cell_index] = total
        if total > self._limits.output_kb * 1024:
            if cell_index not in self._overflowing:
                self._overflowing.add(cell_index)
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=f"\n[output beyond {self._limits.output_kb} kB dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _is_locked(cell: NotebookNode) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("locked")) and not utils.is_solution(cell)


def _grade_id(cell: NotebookNode) -> str:
    return cell.metadata["nbgrader"]["grade_id"]


def _apply_verdict(cell: NotebookNode, verdict: dict) -> None:
    """Make the outputs say what the verdict says, so that nbgrader scores it the same way."""
    if verdict["passed"]:
        kept = []
        for output in cell.outputs:
            if output.output_type == "stream" and output.name == "stderr":
                continue
            if output.output_type == "execute_result":  # nbgrader would read it as partial credit
                output = NotebookNode(output_type="display_data", data=output.data, metadata=output.metadata)
            kept.append(output)
        cell.outputs = kept
        return
    shown = {f"{output.ename}: {output.evalue}" for output in cell.outputs if output.output_type == "error"}
    if verdict["reason"] not in shown:  # a limit, tampering or a cell that never ran: say why
        cell.outputs.append(NotebookNode(output_type="error", ename="GradingError", evalue=verdict["reason"],
                                         traceback=[f"GradingError: {verdict['reason']}"]))
