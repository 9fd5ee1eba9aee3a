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

# Below this many rows a worker's start-up (about half a second of imports) costs more than it saves.
MIN_ROWS = 20_000

Raw = list[tuple[int, dict[str, list[Any]]]]


class Cleaner(Protocol):
    def clean(self, number: int, cells: dict[str, list[Any]]) -> Any: ...


def clean_many(cleaner: Cleaner, raw: Raw) -> list[Any]:
    """Each row cleaned, or the reason (a str) it is rejected."""
    from crmcli.errors import Invalid

    out: list[Any] = []
    for number, cells in raw:
        try:
            out.append(cleaner.clean(number, cells))
        except Invalid as exc:
            out.append(str(exc))
    return out


_worker_cleaner: Cleaner | None = None


def _start(cleaner: Cleaner, parent: int) -> None:
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_cleaner
    _worker_cleaner = cleaner
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose crm was killed (kill -9, SIGTERM) would wait for work forever: it leaves
    within a second of its parent."""
    import time

    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _clean(raw: Raw) -> list[Any]:
    assert _worker_cleaner is not None
    return clean_many(_worker_cleaner, raw)


def workers_for(rows: int | None, requested: int | None) -> int:
    """REQUESTED if given, else CRM_IMPORT_WORKERS, else one worker for big files on a machine
    with more than one core."""
    if requested is None and os.environ.get("CRM_IMPORT_WORKERS", "").strip().isdigit():
        requested = int(os.environ["CRM_IMPORT_WORKERS"])
    if requested is not None:
        return max(0, requested)
    return 1 if (os.cpu_count() or 1) > 1 and (rows or 0) >= MIN_ROWS else 0


class Cleaning:
    """submit(raw) returns a function that gives the batch's results, in order."""

    def __init__(self, cleaner: Cleaner, workers: int) -> None:
        self.cleaner = cleaner
        self.pool = None
        if workers > 0:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(cleaner, os.getpid()),
            )

    def submit(self, raw: Raw) -> Callable[[], list[Any]]:
        if self.pool is None:
            done = clean_many(self.cleaner, raw)
            return lambda: done
        return self.pool.submit(_clean, raw).result

    def close(self, *, wait: bool = True) -> None:
        """Stop the worker: after the last batch it is idle and quits at once; after Ctrl-C or an
        error what it still has queued is dropped."""
        if self.pool is not None:
            self.pool.shutdown(wait=wait, cancel_futures=True)
            self.pool = None
