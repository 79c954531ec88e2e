"""Read a zip whose names and sizes nobody vouches for: an LMS download of students' files.

Nothing is extracted by the names the zip gives. Callers get the members that are plain files
with a harmless relative name, and read their bytes under a size limit; where the bytes go is
the caller's choice. So an entry named ``../../.bashrc``, ``/etc/passwd`` or ``C:\\x``, or a
symbolic link, never reaches the disk, and a zip bomb costs at most the limit: the sizes a zip
declares are not believed, bytes are counted as they are decompressed.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from pathlib import Path

# Read at call time, so a test (or a TA with unusual notebooks) can change them.
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 64 * 2**20  # one notebook: the course's largest, outputs included, is a few MB
MAX_TOTAL_BYTES = 4 * 2**30    # everything read from one download

_DRIVE = re.compile(r"^[A-Za-z]:")
# Written by the tools that re-zip a folder, never by a student: not worth a note.
_CLUTTER_FOLDERS, _CLUTTER_FILES = ("__MACOSX",), (".DS_Store", "Thumbs.db")


class MemberProblem(Exception):
    """One member could not be taken (too large, corrupt); the rest of the zip still can."""


class UntrustedZip:
    """A zip opened for reading: ``members`` are the usable entries, ``skipped`` says what was
    refused and why (one line each, for the TA)."""

    def __init__(self, path: Path):
        try:
            self._archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise SystemExit(f"{path} is not a readable zip file ({error}): download it again from the LMS")
        entries = self._archive.infolist()
        if len(entries) > MAX_MEMBERS:
            self._archive.close()
            raise SystemExit(f"{path} holds {len(entries)} entries, more than the {MAX_MEMBERS} an LMS download "
                             "of one assignment would: not opened (autograder.untrusted_zip.MAX_MEMBERS)")
        self.members: list[zipfile.ZipInfo] = []
        self.skipped: list[str] = []
        for entry in entries:
            refusal = _refusal(entry)
            if refusal:
                self.skipped.append(f"{entry.filename[:120]!r}: {refusal}")
            elif not entry.is_dir() and not _clutter(entry.filename):
                self.members.append(entry)
        self._bytes_read = 0

    def read(self, member: zipfile.ZipInfo) -> bytes:
        """The member's bytes; ``MemberProblem`` when it is over ``MAX_MEMBER_BYTES`` or corrupt.

        Stops the batch (``SystemExit``) once the download as a whole is over ``MAX_TOTAL_BYTES``.
        """
        try:
            with self._archive.open(member) as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)  # never more than the limit is decompressed
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, zlib.error) as error:
            raise MemberProblem(f"{member.filename} could not be read from the zip ({error})")
        if len(data) > MAX_MEMBER_BYTES:
            raise MemberProblem(f"{member.filename} is larger than {MAX_MEMBER_BYTES / 2**20:g} MB: not taken")
        self._bytes_read += len(data)
        if self._bytes_read > MAX_TOTAL_BYTES:
            raise SystemExit(f"the download unpacks to more than {MAX_TOTAL_BYTES / 2**30:g} GB of notebooks: "
                             "stopped (a zip bomb?); raise autograder.untrusted_zip.MAX_TOTAL_BYTES if it is real")
        return data

    def __enter__(self) -> "UntrustedZip":
        return self

    def __exit__(self, *exc) -> None:
        self._archive.close()


def _clutter(name: str) -> bool:
    parts = name.split("/")
    return parts[0] in _CLUTTER_FOLDERS or parts[-1] in _CLUTTER_FILES


def _refusal(entry: zipfile.ZipInfo) -> str | None:
    """Why an entry is not taken at all, or None."""
    name = entry.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts:
        return "a path outside the download: not taken"
    if stat.S_ISLNK(entry.external_attr >> 16):
        return "a symbolic link: not taken"
    if entry.flag_bits & 0x1:
        return "encrypted: not taken"
    return None
