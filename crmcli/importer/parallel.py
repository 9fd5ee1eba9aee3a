"""Rows cleaned in a worker process while the main process matches and writes the batch before.

Cleaning (email-validator, phonenumbers, dates, text) is pure Python and needs no database, and
writing a batch is mostly SQLite's own work: on two cores the two overlap. The worker is started
with "spawn" (never fork: the parent holds an open database connection) and ignores Ctrl-C,
which is the main process's to handle. Small files and one-core machines clean in-process.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from crmcli.errors import CrmError, Invalid
from crmcli.importer.table import MAX_CELL

# Below this many rows a worker's start-up (about half a second of imports) costs more than it saves.
MIN_ROWS = 20_000

Raw = list[tuple[int, list[Any]]]  # (row number in the file, its cells as read)


class Cleaner(Protocol):
    def clean(self, number: int, cells: dict[str, list[Any]]) -> Any: ...


class Layout:
    """Where each field's values are in a row's cells (the mapped columns), and the checks every
    row gets before it is cleaned: blank rows are left out, a huge cell stops the import."""

    def __init__(self, mapped: list[tuple[int, str]], file_name: str) -> None:
        self.mapped, self.file_name = mapped, file_name

    def fields(self, number: int, cells: list[Any]) -> dict[str, list[Any]] | None:
        """A row's values by field; None for a blank row (Excel's trailing empty rows)."""
        try:
            joined = "".join(cells)  # CSV rows: all text, checked in one go
        except TypeError:  # spreadsheet rows: numbers, dates, empty cells
            joined = "".join(str(c) for c in cells if c is not None)
        if not joined or joined.isspace():
            return None
        if len(joined) > MAX_CELL and any(isinstance(c, str) and len(c) > MAX_CELL for c in cells):
            raise Invalid(
                f"{self.file_name} row {number}: a cell longer than {MAX_CELL:,} characters; not a table to import"
            )
        fields: dict[str, list[Any]] = {}
        width = len(cells)
        for i, column in self.mapped:
            if i < width:
                value = cells[i]
                if value is not None and value != "":
                    if column in fields:
                        fields[column].append(value)
                    else:
                        fields[column] = [value]
        return fields


def clean_many(cleaner: Cleaner, layout: Layout, raw: Raw) -> list[Any]:
    """Each row cleaned, or the reason (a str) it is rejected, or None for a blank row."""
    out: list[Any] = []
    append = out.append
    for number, cells in raw:
        if not isinstance(cells, list):  # table.Unreadable: rejected with the reader's reason
            append(str(getattr(cells, "reason", "unreadable")))
            continue
        fields = layout.fields(number, cells)  # a huge cell's Invalid ends the import
        if fields is None:
            append(None)
            continue
        try:
            append(cleaner.clean(number, fields))
        except Invalid as exc:
            append(str(exc))
    return out


_worker: tuple[Cleaner, Layout] | None = None


def _start(cleaner: Cleaner, layout: Layout, parent: int) -> None:
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker
    _worker = (cleaner, layout)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose crm was killed (kill -9, SIGTERM) would wait for work forever: it leaves
    within a second of its parent."""
    import time

    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _clean(raw: Raw) -> list[Any]:
    assert _worker is not None
    return clean_many(*_worker, raw)


def workers_for(rows: int | None, requested: int | None) -> int:
    """REQUESTED if given, else CRM_IMPORT_WORKERS, else one worker for big files on a machine
    with more than one core."""
    if requested is None and os.environ.get("CRM_IMPORT_WORKERS", "").strip().isdigit():
        requested = int(os.environ["CRM_IMPORT_WORKERS"])
    if requested is not None:
        return max(0, requested)
    return 1 if (os.cpu_count() or 1) > 1 and (rows or 0) >= MIN_ROWS else 0


WORKER_DIED = (
    "the process cleaning the rows died (killed, or out of memory?); nothing of this import was kept: "
    "run it again, with CRM_IMPORT_WORKERS=0 to clean in one process"
)


class WorkerDied(CrmError):
    """The cleaning worker ended without a word: the import is undone, as for a broken file."""


class Cleaning:
    """submit(raw) returns a function that gives the batch's results, in order."""

    def __init__(self, cleaner: Cleaner, layout: Layout, workers: int) -> None:
        self.cleaner, self.layout = cleaner, layout
        self.pool = None
        if workers > 0:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(cleaner, layout, os.getpid()),
            )

    def submit(self, raw: Raw) -> Callable[[], list[Any]]:
        if self.pool is None:
            done = clean_many(self.cleaner, self.layout, raw)
            return lambda: done
        from concurrent.futures.process import BrokenProcessPool

        try:
            future = self.pool.submit(_clean, raw)
        except BrokenProcessPool:
            raise WorkerDied(WORKER_DIED) from None

        def result() -> list[Any]:
            try:
                return future.result()
            except BrokenProcessPool:  # killed (kill -9, out of memory): the import is undone
                raise WorkerDied(WORKER_DIED) from None

        return result

    def close(self, *, wait: bool = True) -> None:
        """Stop the worker: after the last batch it is idle and quits at once; after Ctrl-C or an
        error what it still has queued is dropped."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None
