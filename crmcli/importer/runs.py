"""The record of imports: list them, and undo one.

Undo is a use of the history (crmcli.domain.history): every batch an import commits is a change
set of kind "import" naming the run, so the change log holds what the import wrote to each record,
row by row. Undo takes those rows back record by record: what the import created is removed, what
it changed gets its values from before. It never takes away work done since: a record changed
since the import (the log has a later change to it that was not itself taken back), or one that
other records now hang on (activities, follow-ups, deals, people of a company, records merged
into it), is kept with all that, and named in the report with the reason. What it keeps, the undo
says; it never fails halfway through a record.

It works in batches of BATCH records, each one transaction (a change set of kind "undo" naming the
import) that holds the write lock for a fraction of a second and commits, so other users keep
working while a big import is undone. The checks are set-based: a few queries per batch, whatever
its size. Order: first the records the import changed are restored, then those it created are
removed, dependents before what they depend on (activities, follow-ups, deals, contacts,
companies), so that an import's own contacts never keep its own companies. Where it has got to is
kept on the run (status "undoing" and a cursor), so an undo that is interrupted or killed is
completed by running it again.

A run records the process that imports (pid, host, start time): a run still "running" whose
process is gone (kill -9, a crash, a power cut) is shown as "killed", and can be undone.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from crmcli import access, changelog
from crmcli.domain import history
from crmcli.errors import Conflict, Denied, NotFound
from crmcli.models import (
    Activity,
    Change,
    ChangeSet,
    Company,
    Contact,
    Deal,
    FollowUp,
    ImportChange,
    ImportRun,
    MergeRecord,
)
from crmcli.values import clock

BATCH = 2000  # records undone per transaction
KEPT_LISTED = 10_000  # kept records listed by name in the run's record (all are counted)
MODELS: dict[str, Any] = {
    "contact": Contact,
    "company": Company,
    "deal": Deal,
    "activity": Activity,
    "followup": FollowUp,
}
# Removal order: what may point at a record goes before it.
REMOVE_ORDER = ("activity", "followup", "deal", "contact", "company")
# (what, kind of record): the records the import changed are restored first, then those it created go
STEPS = (*(("restore", kind) for kind in MODELS), *(("remove", kind) for kind in REMOVE_ORDER))


# ---------------------------------------------------------------- the importing process


def process_mark() -> dict[str, Any]:
    """Who is importing: this process, its host and its start (a pid alone may be reused)."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _started(pid)}


def _started(pid: int) -> str | None:
    """The process's start time as the kernel counts it (Linux); None elsewhere."""
    try:
        stat = open(f"/proc/{pid}/stat", encoding="ascii", errors="replace").read()  # noqa: SIM115
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22, after the command in parentheses


def process_gone(mark: dict[str, Any] | None) -> bool:
    """True when the process MARK names has ended (on this host; elsewhere nobody can tell)."""
    if not mark or mark.get("host") != socket.gethostname() or not mark.get("pid"):
        return False
    pid = int(mark["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: it exists
        pass
    start = mark.get("start")
    return bool(start) and _started(pid) not in (None, start)  # the pid was given to another process


def _status(run: ImportRun) -> str:
    if run.status == "running" and process_gone((run.options or {}).get("process")):
        return "killed"
    return run.status


# ---------------------------------------------------------------- listing


def run_record(run: ImportRun) -> dict[str, Any]:
    counts = run.counts or {}
    return {
        "id": run.id,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "file": run.file,
        "kind": run.kind,
        "by": run.by,
        "status": _status(run),
        **{key: counts.get(key, 0) for key in ("read", "created", "updated", "merged", "skipped", "rejected")},
        "rejects_file": run.rejects_file,
        "undone_at": run.undone_at,
    }


def list_imports(session: Session, *, limit: int | None = None) -> list[dict[str, Any]]:
    query = select(ImportRun).order_by(ImportRun.id.desc())
    if limit:
        query = query.limit(limit)
    return [run_record(r) for r in session.exec(query)]


def get_run(session: Session, run_id: int) -> ImportRun:
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(f"no import with id {run_id}")
    return run


def mark_killed(session: Session) -> None:
    """Runs left "running" by a process that is gone become "killed" (a write session's chore)."""
    for run in session.exec(select(ImportRun).where(ImportRun.status == "running")):
        if process_gone((run.options or {}).get("process")):
            run.status = "killed"
            session.add(run)
    session.flush()


# ---------------------------------------------------------------- undo


def undo_import(
    session: Session,
    run_id: int,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    own: bool = False,
) -> dict[str, Any]:
    """Undo an import, committing every BATCH records (see the module's docstring). Returns
    {removed, restored, kept: [{entity, id, reason}], kept_count}. OWN: the import that is
    running in this process undoes itself (a file found broken halfway). PROGRESS(records done)
    is called after each committed batch."""
    with changelog.acting(kind="undo", import_id=run_id):  # its batches' change sets name the import
        return _undo_import(session, run_id, batch=batch, progress=progress, own=own)


def _undo_import(
    session: Session, run_id: int, *, batch: int, progress: Callable[[int], None] | None, own: bool
) -> dict[str, Any]:
    run = get_run(session, run_id)
    if run.status == "undone":
        raise Conflict(
            f"import {run_id} was undone already ({clock.show_local(run.undone_at)})"
            if run.undone_at
            else f"import {run_id} was undone already"
        )
    mark = (run.options or {}).get("process")
    if run.status == "running" and not own and not process_gone(mark):
        where = f"process {mark['pid']} on {mark['host']}" if mark else "another process"
        raise Conflict(f"import {run_id} is still running ({where}): undo it when it has finished or been stopped")
    sets = {i for i in session.exec(_import_sets(run_id)) if i is not None}
    if not sets and session.exec(select(ImportChange.id).where(ImportChange.import_id == run_id).limit(1)).first():
        raise Conflict(
            f"import {run_id} was made before crm kept a history of changes, so it cannot be undone record by "
            "record; crm db restore of a backup from before it brings back the state before it"
        )
    check_undoer(session, run_id)
    state = dict((run.counts or {}).get("undo") or {})
    state.setdefault("step", 0)
    state.setdefault("cursor", None)
    for key in ("removed", "restored", "kept_count", "done"):
        state.setdefault(key, 0)
    state.setdefault("kept", [])
    run.status = "undoing"
    run.counts = {**(run.counts or {}), "undo": state}
    session.add(run)
    session.commit()
    while state["step"] < len(STEPS):
        session.refresh(run, with_for_update=True)  # PostgreSQL: one undoer at a time moves the cursor
        state = dict(run.counts["undo"])
        if state["step"] >= len(STEPS):
            break
        action, kind = STEPS[state["step"]]
        records = _records(session, run_id, kind, created=action == "remove", after=state["cursor"], limit=batch)
        if not records:
            state["step"] += 1
            state["cursor"] = None
        else:
            kept = _undo_batch(session, run_id, sets, kind, action, records)
            for entry in kept:
                state["kept_count"] += 1
                if len(state["kept"]) < KEPT_LISTED:
                    state["kept"] = [*state["kept"], entry]
            state["removed" if action == "remove" else "restored"] += len(records) - len(kept)
            state["cursor"] = min(records)
            state["done"] += len(records)
        run.counts = {**run.counts, "undo": state}
        session.add(run)
        session.commit()
        if records and progress:
            progress(state["done"])
    run.status = "undone"
    run.undone_at = clock.now()
    session.add(run)
    session.commit()
    return {
        "removed": state["removed"],
        "restored": state["restored"],
        "kept": state["kept"],
        "kept_count": state["kept_count"],
    }


def check_undoer(session: Session, run_id: int) -> None:
    """A team's member undoes their own imports only: the database refuses the rest row by row,
    and this says so before anything is written (raises Denied)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or access.group_of(conn) != "member":
        return
    importer = session.exec(_import_sets(run_id, ChangeSet.who).limit(1)).first()
    if importer is not None and importer != changelog.current_user():
        raise Denied(f"as member: only the importer ({importer}), a manager or an admin can undo import #{run_id}")


def _import_sets(run_id: int, column: Any = ChangeSet.id) -> Any:
    """COLUMN of the change sets the import RUN_ID committed (one per batch)."""
    return select(column).where(ChangeSet.kind == "import", ChangeSet.import_id == run_id)


def _records(
    session: Session, run_id: int, kind: str, *, created: bool, after: int | None, limit: int
) -> dict[int, int]:
    """The next LIMIT records of KIND the import wrote, below the cursor AFTER, highest id first:
    those it CREATED (its own row inserted by the import) or those it changed; record → the id of
    the import's last log row for it."""
    made = func.max(case((and_(Change.tbl == kind, Change.op == "insert"), 1), else_=0))
    query = (
        select(Change.record_id, func.max(Change.id))
        .where(Change.kind == kind, col(Change.set_id).in_(_import_sets(run_id)), col(Change.record_id).is_not(None))
        .group_by(Change.record_id)
        .having(made == (1 if created else 0))
        .order_by(col(Change.record_id).desc())
        .limit(limit)
    )
    if after is not None:
        query = query.where(col(Change.record_id) < after)
    return {int(rid): int(last) for rid, last in session.exec(query)}


def _undo_batch(
    session: Session, run_id: int, sets: set[int], kind: str, action: str, records: dict[int, int]
) -> list[dict[str, Any]]:
    """Take back what the import wrote to RECORDS of KIND (ACTION: "restore" what it changed,
    "remove" what it created), except records changed or hung upon since; returns those kept."""
    ids = sorted(records)
    rows: dict[int, list[Any]] = {}  # the import's log rows of each record
    later: dict[int, list[Any]] = {}  # the log rows written to it after the import's last
    log, sets_ = Change.__table__, ChangeSet.__table__  # Core rows: read by the thousand, never changed
    for chunk in _chunks(ids):
        query = (
            select(  # type: ignore[call-overload]
                log.c.id, log.c.set_id, log.c.tbl, log.c.op, log.c.kind, log.c.record_id, log.c.before, log.c.after,
                sets_.c.kind.label("set_kind"), sets_.c.import_id.label("set_import"),
                sets_.c.undoes.label("set_undoes"),
            )
            .select_from(log.outerjoin(sets_, sets_.c.id == log.c.set_id))
            .where(log.c.kind == kind, log.c.record_id.in_(chunk))
            .order_by(log.c.id)
        )  # fmt: skip
        for row in session.execute(query):
            if row.set_id in sets:
                rows.setdefault(row.record_id, []).append(row)
            elif row.id > records[row.record_id]:
                later.setdefault(row.record_id, []).append(row)
    edited = _changed_since(session, run_id, later)
    model = MODELS[kind]
    present: set[int] = set()
    for chunk in _chunks(ids):
        present.update(int(i) for i in session.exec(select(model.id).where(col(model.id).in_(chunk))))
    kept: list[dict[str, Any]] = []
    missing = [i for i in ids if i not in present]
    merged = _merged_away(session, kind, missing) if kind in ("contact", "company") and missing else {}
    for rid in missing:
        reason = (
            f"merged into #{merged[rid]} since the import: its data stays there"
            if rid in merged
            else "removed since the import"
        )
        kept.append({"entity": kind, "id": rid, "reason": reason})
    verb = "removed" if action == "remove" else "restored"
    hanging = (
        _why_kept(session, kind, [i for i in ids if i in present and i not in edited]) if action == "remove" else {}
    )
    undone: list[Any] = []
    for rid in sorted(ids, reverse=True):
        if rid not in present:
            continue
        if rid in edited:
            kept.append({"entity": kind, "id": rid, "reason": f"edited since the import: not {verb}"})
        elif rid in hanging:
            kept.append({"entity": kind, "id": rid, "reason": f"has {', '.join(hanging[rid])} since the import: "
                         "kept with them"})  # fmt: skip
        else:
            undone.extend(rows.get(rid, []))
    history.take_back(session, undone)
    history.reindex(session, undone)
    return kept


def _changed_since(session: Session, run_id: int, later: dict[int, list[Any]]) -> set[int]:
    """The records with a log row after the import's that still counts: not this undo's own, not
    one taken back since, not an undo of a later change, and not only bookkeeping (updated_at)."""
    set_ids = sorted({row.set_id for found in later.values() for row in found if row.set_id is not None})
    taken_back: set[int] = set()
    for chunk in _chunks(set_ids):
        taken_back.update(
            int(i) for i in session.exec(select(ChangeSet.undoes).where(col(ChangeSet.undoes).in_(chunk))) if i
        )
    out: set[int] = set()
    for rid, found in later.items():
        for row in found:
            if row.set_id is not None and (
                row.set_id in taken_back
                or row.set_undoes is not None
                or (row.set_kind == "undo" and row.set_import == run_id)
            ):
                continue
            if row.op == "update" and not set(history.changed_fields(row)) - changelog.BOOKKEEPING:
                continue
            out.add(rid)
            break
    return out


def _chunks(values: list[Any], size: int = 900) -> Iterable[list[Any]]:
    """IN lists small enough for any SQLite build's variable limit."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _ids_in(session: Session, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    """How many rows have COLUMN in IDS (and WHERE), per id."""
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        query = select(column, func.count()).where(column.in_(chunk), *where).group_by(column)
        for rid, n in session.exec(query):
            found[int(rid)] = int(n)
    return found


def _merged_away(session: Session, entity: str, ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(ids):
        query = select(MergeRecord.merged_id, MergeRecord.kept_id).where(
            MergeRecord.entity == entity, MergeRecord.merged_id.in_(chunk)
        )
        for merged, kept in session.exec(query):
            found[int(merged)] = int(kept)
    return found


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _why_kept(session: Session, entity: str, ids: list[int]) -> dict[int, list[str]]:
    """For records an import created: what was added since that hangs on them, per id. Every
    table that points at a contact, company or deal is asked once for the whole batch."""
    why: dict[int, list[str]] = {}

    def note(found: dict[int, int], one: str, many: str) -> None:
        for rid, n in found.items():
            why.setdefault(rid, []).append(_plural(n, one, many))

    if entity in ("contact", "company", "deal"):
        column = {"contact": "contact_id", "company": "company_id", "deal": "deal_id"}[entity]
        note(_ids_in(session, getattr(Activity, column), ids), "activity", "activities")
        note(_ids_in(session, getattr(FollowUp, column), ids), "follow-up", "follow-ups")
        if entity != "deal":
            note(_ids_in(session, getattr(Deal, column), ids), "deal", "deals")
    if entity == "company":
        note(_ids_in(session, Contact.company_id, ids), "person", "people")
    if entity in ("contact", "company"):
        note(_ids_in(session, MergeRecord.kept_id, ids, MergeRecord.entity == entity), "record merged into it",
             "records merged into it")  # fmt: skip
    return why
