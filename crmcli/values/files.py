"""Every file crm writes (exports, report workbooks, import reports and rejects, calendars, database
backups) goes through here: checked before any work is done, written whole or not at all, readable
by its owner alone, and never over an existing file unless the user said --force.

A file is written to a temporary file beside its target (created 0600: it holds personal data),
flushed to disk, then renamed over the target in one step: a reader, or a crash, never sees half a
file, and an older file of the same name keeps its content until the new one is complete. Without
FORCE the last step links rather than renames, so a file that appeared meanwhile is not replaced
either. A symbolic link is refused as a target: crm would replace the link, not the file it names.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from crmcli.errors import Conflict, Hint, Invalid

MODE = 0o600


REPLACE = Hint("use {force} to replace it", form="{message}: {hint}")  # the hint of a file that exists


def exists(path: Path) -> Conflict:
    """The error for PATH, which exists: FORCE replaces it."""
    return Conflict(f"{path} exists", hint=REPLACE)


def target(name: str | Path, *, force: bool, example: str = "export.csv") -> Path | None:
    """The file to write NAME to ('-': None, standard output), refused before any work is done:
    a directory, a symbolic link, a directory that is missing or cannot be written, or a file that
    exists (unless FORCE)."""
    if str(name) == "-":
        return None
    path = Path(name).expanduser()
    if path.is_dir():
        raise Invalid(f"{path} is a directory: give a file name such as {path / example}")
    check(path, force=force)
    return path


def check(path: Path, *, force: bool) -> None:
    """PATH could be written now (without FORCE: it does not exist)."""
    if path.is_symlink():
        raise Invalid(f"{path} is a symbolic link: give the file itself")
    check_writable(path)
    if not force and os.path.lexists(path):
        raise exists(path)


def check_writable(path: Path) -> None:
    """Refuse, before anything is done, a file that could not be written: its directory missing
    or not writable (files are written beside their target, then renamed)."""
    if not path.parent.is_dir():
        raise Invalid(f"cannot write {path}: directory {path.parent} does not exist")
    try:  # a probe, as the write will be: permissions, read-only file systems, ACLs and root alike
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise Invalid(f"cannot write {path}: directory {path.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


class Atomic:
    """PATH being written: `fh` is the temporary file (0600); commit() puts it in place, abort()
    removes it. Without FORCE, commit() refuses a PATH that exists by then."""

    def __init__(
        self, path: Path, *, force: bool, binary: bool = True, encoding: str | None = None, newline: str | None = None
    ) -> None:
        self.path, self.force = path, force
        try:
            fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise Invalid(f"cannot write {path}: {exc.strerror or exc}") from None
        os.fchmod(fd, MODE)  # mkstemp's mode already; said once more for umask-free certainty
        self.fh: IO[Any] = os.fdopen(fd, "wb" if binary else "w", encoding=encoding, newline=newline)

    def commit(self) -> Path:
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            if self.force:
                os.replace(self.tmp, self.path)
            else:
                _link(self.tmp, self.path)
        except OSError as exc:  # a full disk, a file that appeared meanwhile
            self.abort()
            if isinstance(exc, FileExistsError):
                raise exists(self.path) from None
            raise Invalid(f"cannot write {self.path}: {exc.strerror or exc}") from None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        if not self.fh.closed:
            self.fh.close()
        Path(self.tmp).unlink(missing_ok=True)


def _link(tmp: str, path: Path) -> None:
    """TMP to PATH, unless PATH exists (then FileExistsError), in one step where the file system
    has hard links."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network and FAT file systems)
        if os.path.lexists(path):
            raise FileExistsError(path) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextmanager
def atomic(
    path: Path, *, force: bool, binary: bool = True, encoding: str | None = None, newline: str | None = None
) -> Iterator[IO[Any]]:
    """A file handle whose content becomes PATH when the block ends without an error."""
    out = Atomic(path, force=force, binary=binary, encoding=encoding, newline=newline)
    try:
        yield out.fh
    except BaseException:
        out.abort()
        raise
    out.commit()


def write_bytes(path: Path, data: bytes, *, force: bool) -> Path:
    """DATA as PATH, atomically and 0600."""
    with atomic(path, force=force) as fh:
        fh.write(data)
    return path


def write_new(path: Path, fill: Any) -> Path:
    """A file of its own beside PATH, never over another: PATH, else PATH.2, PATH.3 … FILL(tmp) puts
    the content into the temporary file (named, 0600) before it takes its name. Returns the name."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise Invalid(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.close(fd)
        fill(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, MODE)
        n, name = 1, path
        while True:
            try:
                _link(tmp, name)
                return name
            except FileExistsError:
                n += 1
                name = path.with_name(f"{path.name}.{n}")
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_over(path: Path, fill: Any, *, force: bool) -> Path:
    """As write_new, but an existing PATH is replaced (in one step) when FORCE; without FORCE a file
    that exists, or appeared meanwhile, leaves the new one beside it (PATH.2 …). Returns the name."""
    if not force or not os.path.lexists(path):
        return write_new(path, fill)
    tmp = write_new(path.with_name(f".{path.name}.new"), fill)
    os.replace(tmp, path)
    return path


@contextmanager
def scratch(folder: Path | None, name: str) -> Iterator[str]:
    """A temporary file's name (created empty, 0600) in FOLDER (None: the system's), removed with the
    journal files SQLite may have left beside it when the block ends."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise Invalid(f"cannot write a temporary file for {name}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield tmp
    finally:
        for leftover in (tmp, f"{tmp}-journal", f"{tmp}-wal", f"{tmp}-shm"):
            Path(leftover).unlink(missing_ok=True)


def filling(tmp: str) -> IO[bytes]:
    """The temporary file a fill function (write_new, write_over) or scratch gave, open for writing."""
    return open(tmp, "wb")  # noqa: SIM115 - the caller closes it (with …)
