"""Run a notebook, then the hidden probes, in one sandboxed kernel, under the limits.

:class:`GradingClient` is an nbclient ``NotebookClient`` that

- starts the kernel inside the bubblewrap sandbox (:mod:`autograder.sandbox`) over Unix
  sockets and interrupts it by message (signals do not cross the sandbox's session boundary);
- runs every code cell of the notebook (the student's, with the visible tests, which decide
  nothing) except those tagged ``skip-when-grading``, going on after errors, interrupting a
  cell past the cell time limit;
- enforces the limits on the way: wall time per cell and per notebook, memory (resident memory
  of the kernel's process tree plus what it wrote to its in-memory ``/tmp`` and home) and
  number of processes (a watcher thread stops the kernel), output size per cell, display
  updates included;
- then sends each probe (:mod:`autograder.probes`) as a silent request and keeps only the
  records archive it publishes: a probe's printed output and displays go nowhere, and the
  executed notebook is frozen before the first probe, so nothing a probe does can reach it.

It decides nothing: it returns the executed notebook, the raw records of each probe and, for a
probe that could not finish, why.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

import psutil
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode

from . import sandbox
from .probes import MIME, probe_request

MAX_RECORDS_TEXT = 96 * 2**20
# Cells tagged so (long demonstrations: training on the full data, plots of it) are not run when
# grading: no hidden check needs them, and they would cost every submission their run time.
SHOWCASE_TAG = "skip-when-grading"  # base64 of the largest archive autograder.records accepts, with room


@dataclass
class KernelRun:
    """What one kernel produced: the executed notebook and each probe's raw records."""

    notebook: NotebookNode
    records: dict[str, bytes] = field(default_factory=dict)  # part -> records archive, as sent
    not_run: dict[str, str] = field(default_factory=dict)    # part -> why its probe gave nothing
    stopped: str | None = None                               # why the kernel stopped early, if it did
    cell_errors: list[str] = field(default_factory=list)     # "cell N: Error: message", for the TA
    notes: list[str] = field(default_factory=list)           # outputs cut, limits hit
    notebook_seconds: float = 0.0
    probe_seconds: float = 0.0


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
    """Stops the kernel when its process tree passes the memory or process limit.

    Memory counts the proportional set size of every process of the tree, plus the bytes
    written to the sandbox's in-memory file systems (``/tmp`` and the home folder), which no
    process's resident size shows.
    """

    def __init__(self, pid: int, limits: sandbox.Limits, memory_folders: list[Path], interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.limits, self.interval = pid, limits, interval
        self.memory_folders = memory_folders
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
                memory = sum(_memory(process) for process in tree) + self._files_in_memory(tree)
                if memory > self.limits.memory_mb * 2**20:
                    self.reason = f"memory limit exceeded ({memory / 2**20:.0f} MB > {self.limits.memory_mb} MB)"
            if self.reason:
                _kill_tree(root)
                return

    def _files_in_memory(self, tree: list[psutil.Process]) -> int:
        """Bytes used in the sandbox's tmpfs mounts, seen through a sandboxed process's root."""
        if not self.memory_folders or len(tree) < 3:
            return 0
        used = 0
        for folder in self.memory_folders:
            try:
                stats = os.statvfs(f"/proc/{tree[-1].pid}/root{folder}")
            except OSError:
                continue
            used += (stats.f_blocks - stats.f_bfree) * stats.f_frsize
        return used

    def stop(self) -> None:
        self._stop_event.set()


def _memory(process: psutil.Process) -> int:
    """Proportional set size: forked children share their parent's pages, so plain resident
    sizes would count the same memory once per process."""
    try:
        return process.memory_full_info().pss
    except psutil.AccessDenied:
        try:
            return process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return 0
    except (psutil.NoSuchProcess, AttributeError):
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


class GradingClient(NotebookClient):
    """Runs one notebook and its probes in one kernel; see the module's docstring."""

    def __init__(self, notebook: NotebookNode, *, scratch: Path, shared: Path, limits: sandbox.Limits,
                 use_sandbox: bool = True, gpu_ids: str = ""):
        self.uid = sandbox.sandbox_uid() if use_sandbox else None
        self.scratch, self.shared, self.limits, self.use_sandbox = Path(scratch), Path(shared), limits, use_sandbox
        sandbox.prepare_folders(self.scratch, self.shared, self.uid)
        manager_class = type("ConfiguredKernelManager", (SandboxedKernelManager,), {"sandbox_settings": {
            "enabled": use_sandbox, "scratch": str(self.scratch), "shared": str(self.shared), "limits": limits,
            "uid": self.uid, "gpu_ids": gpu_ids or None}})
        super().__init__(notebook, kernel_manager_class=manager_class, timeout=limits.cell_timeout,
                         allow_errors=True, interrupt_on_timeout=True, shutdown_kernel="immediate",
                         kernel_name="python3", record_timing=False)
        self._output_bytes: dict[int, int] = {}
        self._overflowing: set[int] = set()

    def run(self, probes: dict[str, str], seed: int) -> KernelRun:
        """Execute every cell, then every probe with ``seed``; never raises for the student's doings."""
        result = KernelRun(self.nb)
        watcher: LimitWatcher | None = None
        started = time.monotonic()
        self.reset_execution_trackers()
        try:
            kernel_log = (self.shared / "kernel.log").open("w")  # the kernel's own messages, not the student's
            with kernel_log, self.setup_kernel(cwd=str(self.scratch), stdout=kernel_log, stderr=kernel_log):
                watcher = LimitWatcher(self.km.provisioner.process.pid, self.limits,
                                       [Path("/tmp"), self.scratch] if self.use_sandbox else [])
                watcher.start()
                self.wait_for_reply(self.kc.kernel_info())
                result.stopped = self._run_cells(result, started, watcher)
                result.notebook = copy.deepcopy(self.nb)  # frozen: probes cannot touch what feedback shows
                result.notebook_seconds = time.monotonic() - started
                probes_started = time.monotonic()
                for part, source in probes.items():
                    if result.stopped is None and time.monotonic() - started > self.limits.notebook_timeout:
                        result.stopped = f"notebook time limit exceeded ({self.limits.notebook_timeout} s)"
                    if result.stopped is not None:
                        result.not_run[part] = f"not run: {result.stopped}"
                        continue
                    try:
                        payload, problem = run_sync(self._run_probe)(probe_request(part, source, seed))
                    except DeadKernelError as error:
                        result.stopped = self._death_reason(watcher, str(error))
                        result.not_run[part] = result.stopped
                        continue
                    if payload is not None:
                        result.records[part] = payload
                    if problem:
                        result.not_run[part] = problem
                result.probe_seconds = time.monotonic() - probes_started
        finally:
            if watcher is not None:
                watcher.stop()
        if watcher is not None and watcher.reason and not result.stopped:
            result.stopped = watcher.reason
        result.notes += [f"output of cell {index} cut at {self.limits.output_kb} kB" for index in sorted(self._overflowing)]
        return result

    def _run_cells(self, result: KernelRun, started: float, watcher: LimitWatcher) -> str | None:
        for index, cell in enumerate(self.nb.cells):
            if cell.cell_type != "code" or SHOWCASE_TAG in cell.get("metadata", {}).get("tags", []):
                continue
            if time.monotonic() - started > self.limits.notebook_timeout:
                return f"notebook time limit exceeded ({self.limits.notebook_timeout} s)"
            cell_started = time.monotonic()
            try:
                self.execute_cell(cell, index, store_history=True)
            except DeadKernelError:
                return self._death_reason(watcher)
            if time.monotonic() - cell_started >= self.limits.cell_timeout:
                result.notes.append(f"cell {index} stopped at the cell time limit ({self.limits.cell_timeout} s)")
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    result.cell_errors.append(f"cell {index}: {output.get('ename')}: {str(output.get('evalue'))[:200]}")
        return None

    def _death_reason(self, watcher: LimitWatcher | None, detail: str = "") -> str:
        if watcher and watcher.reason:
            return watcher.reason
        return detail if detail.startswith("the ") else "the kernel stopped (the code exited or crashed)"

    async def _run_probe(self, code: str) -> tuple[bytes | None, str | None]:
        """Run one probe request; its records archive (or None) and why it has none."""
        msg_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + self.limits.cell_timeout
        payload: bytes | None = None
        last_alive_check = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                await self._interrupt()
                return None, f"the hidden check ran past the cell time limit ({self.limits.cell_timeout} s)"
            try:
                message = await ensure_async(self.kc.iopub_channel.get_msg(timeout=min(remaining, 1.0)))
            except Empty:
                message = None
            if time.monotonic() - last_alive_check > 1.0:
                last_alive_check = time.monotonic()
                if not await ensure_async(self.km.is_alive()):
                    raise DeadKernelError("kernel died")
            if message is None or message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message.get("msg_type"), message.get("content", {})
            if kind == "display_data":
                text = content.get("data", {}).get(MIME)
                if isinstance(text, str) and len(text) <= MAX_RECORDS_TEXT:
                    try:
                        payload = base64.b64decode(text, validate=True)
                    except ValueError:
                        payload = None
            elif kind == "status" and content.get("execution_state") == "idle":
                await self._drain_shell(msg_id)
                return payload, None if payload is not None else "the hidden check sent no values back"

    async def _interrupt(self) -> None:
        """Interrupt a probe past its time; a kernel that does not come back is stopped."""
        await ensure_async(self.km.interrupt_kernel())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                message = await ensure_async(self.kc.iopub_channel.get_msg(timeout=1.0))
            except Empty:
                continue
            if message.get("msg_type") == "status" and message["content"].get("execution_state") == "idle":
                return
        await ensure_async(self.km.shutdown_kernel(now=True))
        raise DeadKernelError(f"the kernel was stopped: a hidden check ran past the cell time limit "
                              f"({self.limits.cell_timeout} s) and did not stop when interrupted")

    async def _drain_shell(self, msg_id: str) -> None:
        while True:
            try:
                reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=5))
            except Empty:
                return
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return

    def process_message(self, msg, cell, cell_index):
        """Count every message's size against its cell's output limit, display updates included
        (an update is counted once per output it replaces); past the limit, outputs are dropped."""
        kind = msg.get("msg_type")
        if kind != "status":
            size = len(json.dumps(msg.get("content", {}), default=str))
            if kind in ("update_display_data", "display_data", "execute_result"):
                transient = msg.get("content", {}).get("transient") or {}
                targets = self._display_id_map.get(transient.get("display_id"), {})
                size *= max(1, sum(len(indices) for indices in targets.values()))
            total = self._output_bytes.get(cell_index, 0) + size
            self._output_bytes[cell_index] = total
            if total > self.limits.output_kb * 1024:
                if cell_index not in self._overflowing:
                    self._overflowing.add(cell_index)
                    cell.outputs.append(NotebookNode(output_type="stream", name="stdout",
                                                     text=f"\n[output beyond {self.limits.output_kb} kB dropped]\n"))
                return None
        return super().process_message(msg, cell, cell_index)


def run_notebook(notebook: NotebookNode, probes: dict[str, str], seed: int, *, scratch: Path, shared: Path,
                 limits: sandbox.Limits, use_sandbox: bool = True, gpu_ids: str = "") -> KernelRun:
    """Run ``notebook`` then ``probes`` in a fresh (sandboxed) kernel; see :class:`GradingClient`."""
    threads = sandbox.thread_settings(limits.threads)  # an unsandboxed kernel inherits our environment
    saved = {name: os.environ.get(name) for name in threads}
    os.environ.update(threads)
    try:
        client = GradingClient(notebook, scratch=scratch, shared=shared, limits=limits, use_sandbox=use_sandbox,
                               gpu_ids=gpu_ids)
        return client.run(probes, seed)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
