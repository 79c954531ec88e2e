"""Read what a probe sent back, trusting nothing about it.

A probe's records arrive as the bytes of an ``.npz`` archive (:mod:`autograder.probes`). This
module is the only place they are opened: sizes are bounded before anything is decompressed,
arrays are loaded with ``allow_pickle=False`` (no object can be rebuilt from them), and only
numeric, boolean and string arrays are accepted. Anything else makes the whole archive
unreadable, which scores its part 0.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

MAX_ARCHIVE_BYTES = 64 * 2**20
MAX_UNPACKED_BYTES = 256 * 2**20
MAX_RECORDS = 10_000
MAX_NAME_CHARS = 400
ACCEPTED_KINDS = "biufU"


class UnreadableRecords(ValueError):
    """The archive is not what a probe writes; the message says why (for the TA's log)."""


@dataclass(frozen=True)
class Records:
    """The values one probe recorded, in order, and how it ended."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, dict] = field(default_factory=dict)  # meaningful from the solution's run only
    unreadable: tuple[str, ...] = ()                           # names whose value was not plain data
    error: str | None = None                                   # type of the exception that stopped it
    trace: str = ""                                            # its traceback (shown for the solution only)


def parse(data: bytes) -> Records:
    """The records in ``data``, or :class:`UnreadableRecords`."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise UnreadableRecords(f"{len(data)} bytes, more than {MAX_ARCHIVE_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise UnreadableRecords(f"unpacks to {unpacked} bytes, more than {MAX_UNPACKED_BYTES}")
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            meta = json.loads(str(_array(archive, "__meta__", kind="U")[()]))
            names = [_name(name) for name in _list(meta, "names")]
            if len(names) > MAX_RECORDS or len(set(names)) != len(names):
                raise UnreadableRecords("too many or repeated names")
            values = {name: _array(archive, f"r{index}") for index, name in enumerate(names)}
            settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
            error = meta.get("error")
            return Records(values=values, settings={name: dict(settings.get(name) or {}) for name in names},
                           unreadable=tuple(_name(name) for name in _list(meta, "unreadable")),
                           error=error if isinstance(error, str) else None,
                           trace=meta.get("trace") if isinstance(meta.get("trace"), str) else "")
    except UnreadableRecords:
        raise
    except Exception as error:  # noqa: BLE001: whatever is wrong with it, it is unreadable
        raise UnreadableRecords(f"{type(error).__name__}: {error}") from None


def _array(archive, key: str, kind: str = ACCEPTED_KINDS) -> np.ndarray:
    array = archive[key]
    if not isinstance(array, np.ndarray) or array.dtype.kind not in kind:
        raise UnreadableRecords(f"{key} is not a plain array")
    return array


def _list(meta: dict, key: str) -> list:
    value = meta.get(key, [])
    if not isinstance(value, list):
        raise UnreadableRecords(f"{key} is not a list")
    return value


def _name(name) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise UnreadableRecords("a record's name is not a short string")
    return name
