"""The data directory and the one downloader every real data set goes through.

``CNNBOOK_DATA`` names the directory that holds downloads and staged files (default: a per-user
cache directory, see :func:`data_dir`); each data set has a subdirectory there. A TA preparing
offline graders copies the files listed in the error message into that subdirectory.

Nothing is downloaded unless asked: the loaders read cached or staged files only, and download
a missing file when their ``download`` argument is true or, when it is left out, when
``CNNBOOK_DOWNLOAD=1`` is set (``make publish`` asks, for the real sets the site runs on).
``CNNBOOK_OFFLINE=1`` forbids every download, even an asked one, with an immediate
:class:`DatasetUnavailable` (offline graders, benchmarks, tests).

A download is all or nothing: bytes go to a temporary file next to the destination, the
SHA-256 is checked, and only then is the file renamed into place. An interrupted, failed or
corrupt transfer leaves nothing behind, so a file that exists under its final name is complete.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Mapping, Sequence

from tqdm.auto import tqdm

USER_AGENT = "cnnbook (course data loader; Python urllib)"
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 30.0


class DatasetUnavailable(RuntimeError):
    """A data set is neither cached nor downloadable here; the message says what to stage where.

    ``detail`` is the cause alone (what failed, and why), for messages that add their own advice.
    """

    def __init__(self, message: str, detail: str | None = None):
        super().__init__(message)
        self.detail = detail or message


class ChecksumMismatch(ValueError):
    """A file's SHA-256 differs from the expected one; the message names the file.

    Not a :class:`DatasetUnavailable`: a wrong file is a problem to fix, not a reason to fall
    back quietly to a stand-in.
    """


def data_dir() -> Path:
    """The directory for downloaded and staged data: ``$CNNBOOK_DATA``, else a user cache dir.

    The default is ``~/.cache/cnnbook`` on Linux (``$XDG_CACHE_HOME/cnnbook`` when set),
    ``~/Library/Caches/cnnbook`` on macOS and ``%LOCALAPPDATA%\\cnnbook`` on Windows.
    The directory is created only when something is written to it.
    """
    configured = os.environ.get("CNNBOOK_DATA")
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "win32":
        cache = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        cache = Path.home() / "Library" / "Caches"
    else:
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cnnbook"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _flag(variable: str) -> bool:
    return os.environ.get(variable, "") not in ("", "0")


def downloads_disabled() -> bool:
    """True when ``CNNBOOK_OFFLINE`` is set to something other than ``0``/empty."""
    return _flag("CNNBOOK_OFFLINE")


def downloads_requested(download: bool | None = None) -> bool:
    """Whether a loader was asked to download what is missing: ``download`` when it is given,
    else whether ``CNNBOOK_DOWNLOAD`` is set to something other than ``0``/empty."""
    return _flag("CNNBOOK_DOWNLOAD") if download is None else bool(download)


def download(urls: Sequence[str], sha256: str, destination: str | os.PathLike, *,
             progress: bool = True, timeout: float = TIMEOUT_SECONDS) -> Path:
    """Make sure ``destination`` holds the file with this ``sha256``, downloading it if needed.

    An existing ``destination`` (downloaded earlier or staged by hand) is checked and returned
    without any request. Otherwise the ``urls`` (mirrors of the same file) are tried in order,
    with a tqdm progress bar, and the first verified copy is renamed to ``destination``.

    Raises :class:`ChecksumMismatch` when the existing file, or the copy every mirror served,
    has another checksum; :class:`DatasetUnavailable`, in one line naming the file and the
    directory to stage it in, when no mirror could be reached (offline, server down,
    interrupted transfer) or downloads are disabled.
    """
    destination = Path(destination)
    if destination.exists():
        actual = sha256_of(destination)
        if actual != sha256:
            raise ChecksumMismatch(
                f"{destination} has SHA-256 {actual}, expected {sha256}: it is not the right file "
                f"(truncated or another version); delete it to download it again, or stage the right one")
        return destination
    stage_hint = f"put {destination.name} in {destination.parent} (or set CNNBOOK_DATA)"
    if downloads_disabled():
        detail = f"{destination.name} is not cached and CNNBOOK_OFFLINE disables downloads"
        raise DatasetUnavailable(f"{detail}: {stage_hint}", detail)
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures, mismatches = [], []
    for url in urls:
        try:
            _fetch_verified(url, sha256, destination, progress, timeout)
            return destination
        except ChecksumMismatch as error:
            mismatches.append(str(error))
        except (OSError, http.client.HTTPException) as error:  # URLError and timeouts are OSErrors
            failures.append(f"{url}: {_reason(error)}")
    if mismatches and not failures:
        raise ChecksumMismatch("; ".join(mismatches))
    detail = f"could not download {destination.name} ({'; '.join(failures + mismatches)})"
    raise DatasetUnavailable(f"{detail}; to work without the network, {stage_hint}", detail)


_download = download  # fetch_files's argument ``download`` hides the function's name there


def _fetch_verified(url: str, sha256: str, destination: Path, progress: bool, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``destination``; rename it only if verified."""
    partial = None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            expected_bytes = int(length) if length else None
            handle, name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.",
                                            suffix=".part")
            partial = Path(name)
            digest, received = hashlib.sha256(), 0
            with os.fdopen(handle, "wb") as file, tqdm(
                    total=expected_bytes, unit="B", unit_scale=True, unit_divisor=1024,
                    desc=destination.name, disable=not progress, leave=False) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    file.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected_bytes is not None and received != expected_bytes:
            raise http.client.IncompleteRead(b"", expected_bytes - received)
        if digest.hexdigest() != sha256:
            raise ChecksumMismatch(f"{destination.name} from {url} has SHA-256 {digest.hexdigest()}, "
                                   f"expected {sha256}")
        os.replace(partial, destination)
        partial = None
    finally:  # also on KeyboardInterrupt: never leave a partial file behind
        if partial is not None:
            partial.unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    if isinstance(error, http.client.IncompleteRead):
        return f"transfer interrupted ({error.expected} bytes missing)"
    reason = getattr(error, "reason", None)  # URLError wraps the socket error
    return str(reason if reason is not None else error) or type(error).__name__


def fetch_files(title: str, mirrors: Sequence[str], sha256_by_name: Mapping[str, str],
                subdirectory: str, download: bool | None = None, *, ask: str = "download=True",
                size: str = "") -> dict[str, Path]:
    """Every file of a data set, from ``data_dir() / subdirectory``; return their paths.

    Files there (downloaded earlier or staged by hand) are checked by SHA-256 and used. A missing
    one is downloaded from ``mirror + name``, for each mirror in turn, only when downloads are
    asked for (:func:`downloads_requested` of ``download``); otherwise nothing is requested and a
    :class:`DatasetUnavailable` says how to ask (``ask``, the loader's argument, e.g.
    ``data.load("cifar10", download=True)``, or ``CNNBOOK_DOWNLOAD=1``; ``size`` is what that
    costs) and which files to stage where instead, in one line.
    """
    directory = data_dir() / subdirectory

    def staging(missing: list[str]) -> str:
        return (f"download {', '.join(missing)} from {mirrors[0] if mirrors else 'its source'} on a connected "
                f"machine and put {'them' if len(missing) > 1 else 'it'} in {directory}")

    missing = [name for name in sha256_by_name if not (directory / name).exists()]
    if missing and not downloads_requested(download):
        detail = f"{title} is not in the data cache and downloads were not asked for"
        raise DatasetUnavailable(
            f"{title} is not in the data cache ({directory}) and downloads were not asked for: to "
            f"download it{f' ({size})' if size else ''}, call {ask} or set CNNBOOK_DOWNLOAD=1; or {staging(missing)}",
            detail)
    paths = {}
    for name, sha256 in sha256_by_name.items():
        try:
            paths[name] = _download([mirror + name for mirror in mirrors], sha256, directory / name)
        except DatasetUnavailable as error:
            missing = [other for other in sha256_by_name if not (directory / other).exists()]
            detail = f"{title} is not available ({error.detail})"
            raise DatasetUnavailable(f"{detail}. To use it offline, {staging(missing)}", detail) from None
    return paths
