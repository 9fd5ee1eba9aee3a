"""What changed, who changed it, and taking it back.

The database logs every row written (crmcli.changelog); this module reads that log as the
history of records and undoes a change set: the rows it inserted are deleted, the rows it
deleted come back with their ids, the fields it updated get their values from before. When a
later change touched the same rows and fields, undo says which and stops, unless forced.
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import text
from sqlmodel import Session, col, select

from crmcli import changelog
from crmcli.domain import backups, indexing, lookup, search
from crmcli.errors import Conflict, Hint, NotFound
from crmcli.models import Change, ChangeSet, Company, Contact, Deal, SQLModel, UTCDateTime
from crmcli.values import clock

BACKUP_ABOVE = 100  # rows: an undo of more takes an automatic backup first
KINDS = ("contact", "company", "deal", "activity", "followup", "pipeline", "field", "setting", "target", "suppression")


class Entry(TypedDict):
    """One row written, with the change set it belongs to."""

    change: int | None  # the change set (what `crm undo` takes); None: written around crm
    id: int  # the row's own entry in the log
    at: datetime | None
    who: str | None
    via: str | None
    kind: str
    record: int | None
    table: str
    op: str  # insert | update | delete
    fields: dict[str, list[Any]]  # field: [before, after], the fields that changed
    undone_by: int | None  # the change set that took this one back


class UndoResult(TypedDict, total=False):
    change: int  # the change set taken back
    via: str
    rows: int  # rows restored, removed or set back
    conflicts: list[str]  # later changes to the same fields (undone over them with force)
    undo: int | None  # the change set of the undo itself; None on a dry run
    dry_run: bool
    backup: str  # the automatic backup made first (an undo of more than BACKUP_ABOVE rows); "" when the
    # acting role cannot read every row for one (a team's member): the undo's own change takes it back


# ---------------------------------------------------------------- reading


@functools.cache
def _pk(table: str) -> tuple[str, ...]:
    return tuple(c.name for c in SQLModel.metadata.tables[table].primary_key.columns)


def _changed(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    before, after = before or {}, after or {}
    keys = list(after) or list(before)
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k) or not before or not after}


def changed_fields(change: Any) -> dict[str, list[Any]]:
    """The fields a logged row write (a Change, or a row with its columns) changed: field → [before, after]."""
    return _changed(change.before, change.after)


def _entries(session: Session, rows: Iterable[tuple[Change, ChangeSet | None]]) -> list[Entry]:
    """Entries from log rows newest first; the writes of one change set to one row are one entry
    (an edit that wrote a row twice, once for the field and once for updated_at, shows once)."""
    rows = list(rows)
    set_ids = {s.id for _c, s in rows if s is not None}
    undone: dict[int, int] = {}
    if set_ids:
        for undo_id, target in session.exec(
            select(ChangeSet.id, ChangeSet.undoes).where(col(ChangeSet.undoes).in_(set_ids))
        ):
            if target is not None and undo_id is not None:
                undone[target] = undo_id
    merged: list[tuple[Change, ChangeSet | None, dict[str, Any] | None, dict[str, Any] | None, str]] = []
    for c, s in rows:
        row = c.after or c.before or {}
        if merged:
            last_c, last_s, before, after, op = merged[-1]
            last_row = last_c.after or last_c.before or {}
            if c.set_id is not None and c.set_id == last_c.set_id and _key(c.tbl, row) == _key(last_c.tbl, last_row):
                merged[-1] = (c, last_s, c.before, after, "insert" if c.op == "insert" else op)
                continue
        merged.append((c, s, c.before, c.after, c.op))
    out: list[Entry] = []
    for c, s, before, after, op in merged:
        assert c.id is not None
        out.append(
            {
                "change": c.set_id,
                "id": c.id,
                "at": clock.as_utc(s.at) if s is not None else None,
                "who": (s.who if s is not None else None) or c.who,
                "via": s.via if s is not None else None,
                "kind": c.kind,
                "record": c.record_id,
                "table": c.tbl,
                "op": op,
                "fields": _changed(before, after),
                "undone_by": undone.get(c.set_id) if c.set_id is not None else None,
            }
        )
    return out


def record_history(session: Session, ref: str, *, limit: int | None = None) -> tuple[str, int, list[Entry]]:
    """(kind, id, changes newest first) of the contact, company or deal REF names: its own row and
    the rows that belong to it (a contact's emails, phones and tags; a deal's stage moves)."""
    kind, record = lookup.resolve(session, ref)
    assert record.id is not None
    return kind, record.id, changes(session, kind=kind, record=record.id, limit=limit)


def changes(
    session: Session,
    *,
    kind: str | None = None,
    record: int | None = None,
    since: datetime | None = None,
    by: str | None = None,
    change: int | None = None,
    limit: int | None = None,
) -> list[Entry]:
    """Rows written, newest first, narrowed to a KIND of record (and one RECORD), to change sets
    made SINCE a time or BY someone, or to one CHANGE set."""
    query = select(Change, ChangeSet).join(ChangeSet, col(ChangeSet.id) == col(Change.set_id), isouter=True)
    if kind is not None:
        query = query.where(Change.kind == kind)
    if record is not None:
        query = query.where(Change.record_id == record)
    if since is not None:
        query = query.where(col(ChangeSet.at) >= since)
    if by is not None:
        query = query.where(ChangeSet.who == by)
    if change is not None:
        query = query.where(Change.set_id == change)
    query = query.order_by(col(Change.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return _entries(session, session.exec(query))


# ---------------------------------------------------------------- undo


def _target(session: Session, change: int | None, who: str | None) -> ChangeSet:
    if change is not None:
        found = session.get(ChangeSet, change)
        if found is None or not session.exec(select(Change.id).where(Change.set_id == change).limit(1)).first():
            raise NotFound(f"no change {change} in the history")
        return found
    me = who or _me(session)
    undone = select(ChangeSet.undoes).where(col(ChangeSet.undoes).is_not(None))
    query = (
        select(ChangeSet)
        .where(ChangeSet.who == me, col(ChangeSet.undoes).is_(None), col(ChangeSet.id).not_in(undone))
        .where(select(Change.id).where(Change.set_id == ChangeSet.id).exists())
        .order_by(col(ChangeSet.id).desc())
        .limit(1)
    )
    found = session.exec(query).first()
    if found is None:
        raise NotFound(f"no change of {me} left to undo")
    return found


def _me(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        return str(session.exec(text("SELECT current_user")).scalar_one())  # type: ignore[call-overload]
    return changelog.current_user()


def _key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return (table, *(row.get(c) for c in _pk(table)))


def _conflicts(session: Session, target: ChangeSet, mine: list[Change]) -> list[str]:
    """Later changes to the rows and fields this change set wrote."""
    touched: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    last = max(c.id for c in mine if c.id is not None)
    for c in mine:
        row = c.after or c.before or {}
        fields = set(_changed(c.before, c.after)) if c.op == "update" else set(row)
        touched[_key(c.tbl, row)] |= fields - changelog.BOOKKEEPING
    # rows this change set added: removing them would take along (or unlink) rows added since that
    # point at them, by their foreign keys
    added = {(c.tbl, (c.after or {}).get("id")) for c in mine if c.op == "insert"}
    pointing = _pointing({t for t, _i in added})
    tables = {k[0] for k in touched} | {child for child, _col, _parent in pointing}
    later: list[tuple[Change, ChangeSet | None]] = list(
        session.exec(
            select(Change, ChangeSet)
            .join(ChangeSet, col(ChangeSet.id) == col(Change.set_id), isouter=True)
            .where(col(Change.id) > last, col(Change.tbl).in_(tables))
            .order_by(col(Change.id))
        )
    )
    later_sets = {s.id for _c, s in later if s is not None}
    taken_back = set(
        session.exec(select(ChangeSet.undoes).where(col(ChangeSet.undoes).in_(later_sets))) if later_sets else []
    )
    out: list[str] = []
    for c, s in later:
        if s is not None and (s.id in taken_back or (s.undoes is not None and s.undoes > (target.id or 0))):
            continue  # a later change taken back since, or the undo of one: together they changed nothing
        row = c.after or c.before or {}
        key = _key(c.tbl, row)
        if c.op != "delete" and c.after:
            for child, column, parent in pointing:
                if child == c.tbl and (parent, c.after.get(column)) in added and key not in touched:
                    when = clock.show_local(s.at) if s is not None else "outside crm"
                    label = f"change {s.id}" if s is not None else "a write outside crm"
                    out.append(f"{label} ({when}) added {c.tbl} #{row.get('id')} to {parent} #{c.after.get(column)}")
        if key not in touched:
            continue
        fields = set(_changed(c.before, c.after)) if c.op == "update" else set(row)
        clash = sorted((fields - changelog.BOOKKEEPING) & touched[key]) if c.op == "update" else ["the whole row"]
        if not clash:
            continue
        when = clock.show_local(s.at) if s is not None else "outside crm"
        who = f" by {s.who}" if s is not None and s.who else ""
        label = f"change {s.id}" if s is not None else "a write outside crm"
        done = {"insert": "inserted", "update": "updated", "delete": "deleted"}[c.op]
        out.append(f"{label} ({when}{who}) {done} {c.kind} #{c.record_id}: {', '.join(clash)}")
    return out


def _pointing(parents: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, parent table) of every foreign key into PARENTS."""
    out = []
    for table in SQLModel.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name in parents and fk.column.name == "id":
                out.append((table.name, fk.parent.name, fk.column.table.name))
    return out


def _inverse(dialect: Any, c: Any) -> tuple[str, dict[str, Any]] | None:
    """The statement (and its parameters) that takes back one logged row write; None when there
    is nothing to take back. Rows of one table taken back alike share the statement's text."""
    pg = dialect.name == "postgresql"
    if c.op == "insert":
        row = c.after or {}
        params = {"row": json.dumps(row)} if pg else {f"k_{k}": row.get(k) for k in _pk(c.tbl)}
        return _statement(dialect, c.tbl, c.op, ()), params
    before = c.before or {}
    if c.op == "delete":
        columns = tuple(k for k in _columns(c.tbl) if k in before)
        params = {"row": json.dumps(before)} if pg else {f"v_{i}": before[k] for i, k in enumerate(columns)}
        return _statement(dialect, c.tbl, c.op, columns), params
    table_columns = _columns(c.tbl)
    changed = tuple(
        k
        for k in _changed(c.before, c.after)
        if k in before and k in table_columns and (c.tbl, k) not in changelog.NOT_UNDONE
    )
    if not changed:
        return None
    if pg:
        params = {"row": json.dumps(before)}
    else:
        params = {f"v_{i}": before[k] for i, k in enumerate(changed)} | {f"k_{k}": before.get(k) for k in _pk(c.tbl)}
    return _statement(dialect, c.tbl, c.op, changed), params


@functools.cache
def _columns(table: str) -> frozenset[str]:
    return frozenset(c.name for c in SQLModel.metadata.tables[table].columns)


@functools.cache
def _statement(dialect: Any, tbl: str, op: str, columns: tuple[str, ...]) -> str:
    """The SQL that takes back an OP on TBL (COLUMNS: those put back), for _inverse. On
    PostgreSQL the values come typed from the row's JSON (:row), on SQLite as they are."""
    pk = _pk(tbl)
    q = dialect.identifier_preparer.quote
    name = q(tbl)
    pg = dialect.name == "postgresql"
    populated = f"jsonb_populate_record(NULL::{name}, CAST(:row AS jsonb))"
    if op == "insert":
        if pg:
            return f"DELETE FROM {name} WHERE " + " AND ".join(f"{q(k)} = (SELECT {q(k)} FROM {populated})" for k in pk)
        return f"DELETE FROM {name} WHERE " + " AND ".join(f"{q(k)} = :k_{k}" for k in pk)
    if op == "delete":
        names = ", ".join(q(k) for k in columns)
        if pg:
            return f"INSERT INTO {name} ({names}) SELECT {names} FROM {populated}"
        return f"INSERT INTO {name} ({names}) VALUES ({', '.join(f':v_{i}' for i in range(len(columns)))})"
    if pg:
        where = " AND ".join(f"{name}.{q(k)} = src.{q(k)}" for k in pk)
        sets, picked = ", ".join(q(k) for k in columns), ", ".join("src." + q(k) for k in columns)
        return f"UPDATE {name} SET ({sets}) = (SELECT {picked}) FROM {populated} AS src WHERE {where}"
    sets = ", ".join(f"{q(k)} = :v_{i}" for i, k in enumerate(columns))
    return f"UPDATE {name} SET {sets} WHERE " + " AND ".join(f"{q(k)} = :k_{k}" for k in pk)


def take_back(session: Session, rows: Sequence[Any]) -> None:
    """Take back these logged row writes (Changes, or rows with their columns), in an order in
    which every foreign key holds at each step (see _order); rows taken back alike go to the
    database together."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    batches: list[tuple[str, list[dict[str, Any]]]] = []
    for c in _order(rows):
        inverse = _inverse(conn.dialect, c)
        if inverse is None:
            continue
        statement, row = inverse
        if batches and batches[-1][0] == statement:
            batches[-1][1].append(row)
        else:
            batches.append((statement, [row]))
    for statement, params in batches:
        conn.execute(text(statement), params)


def _order(changes_: Sequence[Any]) -> list[Any]:
    """Rows deleted come back parents first, rows inserted go children first, updates newest
    first: the order in which every foreign key holds at each step."""
    rank = {t.name: i for i, t in enumerate(SQLModel.metadata.sorted_tables)}
    newest_first = sorted(changes_, key=lambda c: -(c.id or 0))
    restored = sorted((c for c in newest_first if c.op == "delete"), key=lambda c: rank.get(c.tbl, 0))
    updated = [c for c in newest_first if c.op == "update"]
    removed = sorted((c for c in newest_first if c.op == "insert"), key=lambda c: -rank.get(c.tbl, 0))
    return restored + updated + removed


def undo(
    session: Session, change: int | None = None, *, force: bool = False, dry_run: bool = False, who: str | None = None
) -> UndoResult:
    """Take back CHANGE (a change set), or the caller's last one not taken back yet. A change set
    taken back already, or one whose rows and fields a later change touched, is refused (the
    latter unless FORCE). The undo is itself a change set (kind "undo"), in the caller's transaction."""
    target = _target(session, change, who)
    assert target.id is not None
    done = session.exec(select(ChangeSet.id).where(ChangeSet.undoes == target.id)).first()
    if done is not None:
        raise Conflict(f"change {target.id} was undone already (by change {done})")
    mine = list(session.exec(select(Change).where(Change.set_id == target.id).order_by(col(Change.id))))
    conflicts = _conflicts(session, target, mine)
    if conflicts and not force:
        more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
        raise Conflict(
            f"change {target.id} ({target.via}) was changed again since: {conflicts[0]}{more}",
            hint=Hint("{force} undoes it over the later change", form="{message}; {hint}"),
        )
    result: UndoResult = {
        "change": target.id, "via": target.via, "rows": len(mine), "conflicts": conflicts, "undo": None,
        "dry_run": dry_run,
    }  # fmt: skip
    if dry_run:
        return result
    if len(mine) > BACKUP_ABOVE:  # a big undo can be taken back by restoring what was there before
        made = backups.automatic(session.get_bind(), f"undo {target.id}")  # type: ignore[arg-type]
        result["backup"] = str(made) if made else ""  # "": the acting role cannot read every row
    with changelog.acting(kind="undo", undoes=target.id):
        session.flush()
        conn = session.connection()
        opened = session.info.get("crm_set")
        if opened is not None:  # the transaction's change set is closed (dropped when still empty) …
            changelog.end_set(conn, opened)
        session.info["crm_set"] = changelog.begin_set(conn)  # … and the undo's own begins
        take_back(session, mine)
        session.expire_all()
        reindex(session, mine)
        session.flush()
        result["undo"] = session.info["crm_set"]
    return result


def reindex(session: Session, rows: Iterable[Any]) -> None:
    """The search documents of the contacts, companies and deals these logged row writes (Changes,
    or rows with their columns) belong to, as the records are now: rewritten, or removed with them."""
    touched: dict[str, set[int]] = defaultdict(set)
    for c in rows:
        if c.record_id is not None:
            touched[c.kind].add(c.record_id)
    for kind, model in (("contact", Contact), ("company", Company), ("deal", Deal)):
        ids = touched.get(kind)
        if not ids:
            continue
        there = {i for i in session.exec(select(model.id).where(col(model.id).in_(ids))) if i is not None}
        search.remove(session, kind, sorted(ids - there))
        if kind == "contact":
            indexing.reindex_contacts(session, sorted(there))
        elif kind == "company":
            for company in session.exec(select(Company).where(col(Company.id).in_(there))):
                indexing.reindex_company(session, company)
        else:
            for deal in session.exec(select(Deal).where(col(Deal.id).in_(there))):
                indexing.reindex_deal(session, deal)


# ---------------------------------------------------------------- pruning


def prune(session: Session, before: datetime) -> dict[str, int]:
    """Remove the change sets made before BEFORE with their rows, and the rows written around crm
    before the oldest change set kept: the one way the log is ever shortened."""
    conn = session.connection()
    bound = UTCDateTime().process_bind_param(before, conn.dialect)
    kept_from = session.exec(
        select(Change.id)
        .join(ChangeSet, col(ChangeSet.id) == col(Change.set_id))
        .where(col(ChangeSet.at) >= before)
        .order_by(col(Change.id))
        .limit(1)
    ).first()
    with changelog.rewriting(conn):
        rows = conn.execute(
            text(
                "DELETE FROM change WHERE set_id IN (SELECT id FROM change_set WHERE at < :before) "
                "OR (set_id IS NULL AND (CAST(:kept AS INTEGER) IS NULL OR id < CAST(:kept AS INTEGER)))"
            ),
            {"before": bound, "kept": kept_from},
        ).rowcount
        sets = conn.execute(text("DELETE FROM change_set WHERE at < :before"), {"before": bound}).rowcount
    return {"changes": sets, "rows": rows}
