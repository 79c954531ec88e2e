"""Run a grading kernel inside a bubblewrap sandbox, with limits.

What the kernel of a submission can see and do:

- the file system is read-only and holds only the system (``/usr``, ``/etc``), the Python
  installation, the virtual environment, the ``cnnbook`` sources and the course's data folders;
  ``solutions/``, the gradebook, hidden tests, other submissions and the TA's home are not there;
- the only writable places are its home (also its working directory) and ``/tmp``: both are
  in-memory file systems of the sandbox, ``disk_mb`` each, whose use counts toward the memory
  limit; nothing the kernel writes reaches the host's disk;
- no network (its own empty network namespace), its own process and IPC namespaces, no
  terminal; it dies with the grader;
- limits: address space (memory), number of processes, and, enforced by the grader, wall time
  per cell and per notebook, resident memory of the whole process tree and output size.

The grader talks to the kernel over Unix sockets (ZeroMQ ``ipc`` transport) in a folder shared
with the sandbox, since a TCP port on the host's loopback is unreachable from inside.

When the grader runs as root, the kernel also drops to an unprivileged user id of its own, so
that the process limit applies (Linux does not apply it to root) and root-owned files stay
unwritable.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, fields
from pathlib import Path


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; an assignment's config may override any of them.

    A cell that runs past ``cell_timeout`` seconds is interrupted and scores 0; once the
    notebook has run ``notebook_timeout`` seconds, the cells not yet run score 0. Going over
    ``memory_mb`` (resident memory of the kernel and its children) or ``processes`` stops the
    kernel: the running cell and every later one score 0. A cell whose output passes
    ``output_kb`` has the rest of its output dropped (display updates count). The kernel's home
    and ``/tmp`` hold at most ``disk_mb`` each, and what they hold counts as memory.
    """

    cell_timeout: int = 120
    notebook_timeout: int = 900
    memory_mb: int = 4096
    processes: int = 64
    output_kb: int = 2048
    disk_mb: int = 512
    threads: int = 1  # math-library threads of the kernel (submissions are graded side by side)

    @classmethod
    def from_mapping(cls, values: dict) -> "Limits":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown limit(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{name: int(value) for name, value in values.items()})


BWRAP = "bwrap"
# Unprivileged user ids for kernels when grading as root: one per grading process.
SANDBOX_UID_BASE = 60_000
SANDBOX_UID_SPAN = 5_000


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def check_available() -> None:
    """Raise :class:`SandboxUnavailable` with what to do when the sandbox cannot run here."""
    if bwrap_path() is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, so submissions cannot be sandboxed. Install it "
            "(Debian/Ubuntu: apt-get install bubblewrap; `make setup` does this as root), or grade "
            "trusted notebooks with --no-sandbox.")


def sandbox_uid() -> int | None:
    """The user id the kernel runs as: an unprivileged one of its own when grading as root."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + os.getpid() % SANDBOX_UID_SPAN


def _readable_paths() -> list[Path]:
    """What a kernel needs to read: Python, the venv, cnnbook's sources, the course data."""
    paths = [Path(sys.base_prefix), Path(sys.prefix)]
    spec = importlib.util.find_spec("cnnbook")
    if spec and spec.origin:
        paths.append(Path(spec.origin).resolve().parent.parent)  # src/ of an editable install
    from cnnbook.data import data_dir, membrane_directories

    paths.append(data_dir())
    paths.extend(membrane_directories())
    unique: list[Path] = []
    for path in paths:
        path = path.resolve()
        if path.exists() and not any(path == kept or kept in path.parents for kept in unique):
            unique = [kept for kept in unique if path not in kept.parents] + [path]
    return unique


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _gpu_binds() -> list[str]:
    args = []
    for device in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind", str(device), str(device)]
    return args


def kernel_environment(scratch: Path, gpu_ids: str | None, threads: int = 1) -> dict[str, str]:
    """The whole environment of a sandboxed kernel (nothing is inherited from the TA's)."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(scratch / ".matplotlib"),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",
        "CUDA_VISIBLE_DEVICES": gpu_ids if gpu_ids else "",
        "CNNBOOK_OFFLINE": "1",
    }
    env.update(thread_settings(threads))
    for name in ("CNNBOOK_DATA", "CNNBOOK_DEVICE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if not gpu_ids:
        env["CNNBOOK_DEVICE"] = "cpu"
    return env


def wrap_command(argv: list[str], *, scratch: Path, shared: Path, limits: Limits, uid: int | None,
                 gpu_ids: str | None) -> list[str]:
    """``argv`` (the kernel's command line) run inside the sandbox, under the limits."""
    check_available()
    # As root the kernel drops to its own user id (setpriv below), which needs the host's user
    # namespace; otherwise bwrap makes a user namespace, the only way it can run unprivileged.
    namespaces = (["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
                  if uid is not None else ["--unshare-all"])
    command = [bwrap_path(), "--die-with-parent", "--new-session", *namespaces, "--clearenv",
               *_system_binds(),
               "--proc", "/proc", "--dev", "/dev", *_memory_folder("/tmp", limits),
               *(_gpu_binds() if gpu_ids else [])]
    readable, writable = _readable_paths(), [shared]
    # bwrap makes missing parent folders private (0700): an unprivileged kernel could not
    # reach what is mounted below them.
    parents = sorted({str(parent) for path in readable + writable + [scratch] for parent in path.parents if str(parent) != "/"},
                     key=lambda name: name.count("/"))
    for parent in parents:
        command += ["--perms", "0755", "--dir", parent]
    for path in readable:
        command += ["--ro-bind", str(path), str(path)]
    for path in writable:
        command += ["--bind", str(path), str(path)]
    command += _memory_folder(str(scratch), limits)
    command += ["--chdir", str(scratch)]
    for name, value in kernel_environment(scratch, gpu_ids, limits.threads).items():
        command += ["--setenv", name, value]
    command.append("--")
    if uid is not None:
        command += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs"]
    # RLIMIT_NPROC counts threads too (and all processes of the user): twice the process limit
    # leaves room for threads, while the grader's watcher stops the kernel at the limit itself.
    rlimits = [f"--nproc={2 * limits.processes}"]
    if not gpu_ids:  # CUDA maps far more address space than it uses: rely on the RSS watch there
        rlimits.append(f"--as={(2 * limits.memory_mb + 4096) * 2**20}")  # instant huge allocations fail
    command += ["prlimit", *rlimits, "--", *argv]
    return command


def thread_settings(threads: int) -> dict[str, str]:
    """The environment that sets the math libraries' thread count.

    Idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``): with kernels
    graded side by side, spinning threads take the cores the other kernels need. Measured on 2
    cores with one kept busy, A8's hidden checks with 2 threads: 28 s spinning, 1.4 s passive.
    The thread count, and so every summation order, is unchanged.
    """
    settings = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    return {**settings, "OMP_WAIT_POLICY": "PASSIVE"}


def _memory_folder(path: str, limits: Limits) -> list[str]:
    """An empty in-memory folder of ``limits.disk_mb``, writable by the kernel's user."""
    return ["--perms", "1777", "--size", str(limits.disk_mb * 2**20), "--tmpfs", path]


def prepare_folders(scratch: Path, shared: Path, uid: int | None) -> None:
    """Create the kernel's writable folders, owned by the kernel's user."""
    for folder in (scratch, shared):
        folder.mkdir(parents=True, exist_ok=True)
        if uid is not None:
            os.chown(folder, uid, uid)
