"""Who may see and change what in a team database on PostgreSQL, enforced by the database.

Four group roles (made by `crm team setup`): crm_viewer, crm_member, crm_manager, crm_admin; each
person is a login role in one of them. Grants say which tables a group may read or change;
row-level security policies (migrations 0014 and 0015 install them with `install_policies`) say which
rows (and for a member's removals a trigger, which refuses out loud where a policy would
only leave the row out):

- viewer: reads everything not private; writes nothing.
- member: reads everything not private; adds records; edits the contacts, companies and deals
  they own (and cannot give them away); adds and edits activities and follow-ups on records they
  can read; removes records only by undoing their own imports (`crm imports undo`), and of
  contacts, companies and deals only those they own or that still have the owner the import gave
  them; cannot change pipelines, fields, settings or the team.
- manager: reads and writes everything not private of everyone (reassigning too), and their own
  private records; cannot change the team.
- admin: everything, private records of others included; manages the team (CREATEROLE).

A private record is seen only by its owner and admins. The database's owner (the single user of
a database before `crm team setup`) owns the tables and so is not bound by the policies.

SQLite has none of this: one file is one trust domain.
"""

from __future__ import annotations

import re
from typing import Any

GROUPS = ("viewer", "member", "manager", "admin")
RECORDS = ("contact", "company", "deal")

FUNCTIONS = [
    # is the acting role in one of the crm_ groups WANTED? (a group that does not exist: no)
    """
CREATE OR REPLACE FUNCTION crm_is(VARIADIC wanted text[]) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM unnest(wanted) AS w JOIN pg_roles r ON r.rolname = 'crm_' || w
        WHERE pg_has_role(current_user, r.oid, 'MEMBER'))
$$
""",
    # may the acting role see the record KIND #ID? (RLS of that table decides: a subquery under it)
    """
CREATE OR REPLACE FUNCTION crm_sees(kind text, record integer) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF record IS NULL THEN RETURN true; END IF;
    IF kind = 'contact' THEN RETURN EXISTS (SELECT 1 FROM contact WHERE id = record); END IF;
    IF kind = 'company' THEN RETURN EXISTS (SELECT 1 FROM company WHERE id = record); END IF;
    IF kind = 'deal' THEN RETURN EXISTS (SELECT 1 FROM deal WHERE id = record); END IF;
    IF kind = 'activity' THEN RETURN EXISTS (SELECT 1 FROM activity WHERE id = record); END IF;
    RETURN true;
END $$
""",
    # may the acting role change the record KIND #ID? (its owner, a manager if not private, an admin)
    """
CREATE OR REPLACE FUNCTION crm_edits(kind text, record integer) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    o text;
    p boolean;
    x xid;
BEGIN
    IF record IS NULL THEN RETURN true; END IF;
    IF kind = 'contact' THEN SELECT owner, private, xmin INTO o, p, x FROM contact WHERE id = record;
    ELSIF kind = 'company' THEN SELECT owner, private, xmin INTO o, p, x FROM company WHERE id = record;
    ELSIF kind = 'deal' THEN SELECT owner, private, xmin INTO o, p, x FROM deal WHERE id = record;
    ELSE RETURN true;
    END IF;
    IF NOT FOUND THEN RETURN false; END IF;
    -- a record added in this very transaction (an assignment rule may have given it to someone
    -- else) gets its emails, phones and tags from whoever adds it
    IF x = pg_current_xact_id()::xid THEN RETURN true; END IF;
    RETURN crm_is('admin') OR (crm_is('manager') AND NOT p) OR o = current_user;
END $$
""",
    # the owner the acting person's import RUN gave TBL #RECORD when it added it ('' for none; an
    # assignment rule may have given it to someone else); NULL when that import did not add it.
    # Read as the change log's owner.
    """
CREATE OR REPLACE FUNCTION crm_my_import_gave(tbl text, record integer, run integer) RETURNS text LANGUAGE sql
STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT coalesce(c.after ->> 'owner', '') FROM change c JOIN change_set s ON s.id = c.set_id
    WHERE c.kind = tbl AND c.record_id = record AND c.tbl = tbl AND c.op = 'insert'
      AND s.kind = 'import' AND s.import_id = run AND s.who = session_user
    ORDER BY c.id DESC LIMIT 1
$$
""",
    # a member removes a row only while undoing their own import that added it (of contacts,
    # companies and deals: one they own, or one that still has the owner the import gave it); else
    # the removal is refused out loud, naming the row (and the import being undone), where a
    # policy would have left the row out without a word
    """
CREATE OR REPLACE FUNCTION crm_check_remove() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k text;
    undoing bigint;
    gave text;
    owner text;
BEGIN
    IF NOT crm_is('member') OR crm_is('admin', 'manager') THEN RETURN OLD; END IF;
    SELECT kind, import_id INTO k, undoing FROM change_set
    WHERE id = nullif(current_setting('crm.change_set', true), '')::bigint;
    IF k IS DISTINCT FROM 'undo' OR undoing IS NULL THEN
        RAISE EXCEPTION 'permission denied to remove % %: a member removes records only by undoing their own imports',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    gave := crm_my_import_gave(TG_TABLE_NAME, OLD.id, undoing::integer);
    owner := coalesce(to_jsonb(OLD) ->> 'owner', '');
    IF gave IS NOT NULL AND (TG_TABLE_NAME NOT IN ('contact', 'company', 'deal') OR owner = current_user
                             OR owner = gave) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'permission denied to remove % % for undoing import %',
        TG_TABLE_NAME, OLD.id, undoing USING ERRCODE = 'insufficient_privilege';
END $$
""",
    # the change log: who wrote a change set is the database's answer, not the client's
    """
CREATE OR REPLACE FUNCTION crm_set_who() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.who := session_user;
    RETURN NEW;
END $$
""",
]

DROP_ALL = """
DO $$
DECLARE pol record;
BEGIN
    FOR pol IN SELECT policyname, tablename FROM pg_policies
               WHERE schemaname = current_schema() AND policyname LIKE 'crm_%' LOOP
        EXECUTE format('DROP POLICY %I ON %I', pol.policyname, pol.tablename);
    END LOOP;
END $$
"""


def _record_policies(table: str) -> list[str]:
    seen = "(NOT private OR owner = current_user OR crm_is('admin'))"
    managed = "(crm_is('manager') AND (NOT private OR owner = current_user))"  # a manager's own private ones too
    edit = f"(crm_is('admin') OR {managed} OR (crm_is('member') AND owner = current_user))"
    add = f"(crm_is('admin', 'manager', 'member') AND {seen})"
    # a member reaches what they see; crm_check_remove lets only their own imports' rows go
    remove = f"(crm_is('admin') OR {managed} OR (crm_is('member') AND {seen}))"
    return [
        f"CREATE POLICY crm_read ON {table} FOR SELECT USING {seen}",
        f"CREATE POLICY crm_add ON {table} FOR INSERT WITH CHECK {add}",
        f"CREATE POLICY crm_edit ON {table} FOR UPDATE USING {edit} WITH CHECK {edit}",
        f"CREATE POLICY crm_remove ON {table} FOR DELETE USING {remove}",
    ]


def _child_policies(table: str, kind: str, column: str) -> list[str]:
    """Rows that belong to a record (emails, tags, stage moves): seen with it, changed by who may change it."""
    edits = f"crm_edits('{kind}', {column})"
    return [  # (a FOR ALL policy would also let its USING decide what SELECT shows)
        f"CREATE POLICY crm_read ON {table} FOR SELECT USING (crm_sees('{kind}', {column}))",
        f"CREATE POLICY crm_add ON {table} FOR INSERT WITH CHECK ({edits})",
        f"CREATE POLICY crm_edit ON {table} FOR UPDATE USING ({edits}) WITH CHECK ({edits})",
        f"CREATE POLICY crm_remove ON {table} FOR DELETE USING ({edits})",
    ]


def _on_records(table: str) -> list[str]:
    """Activities and follow-ups: seen and written with the records they are on (that one can read)."""
    seen = "(crm_sees('contact', contact_id) AND crm_sees('company', company_id) AND crm_sees('deal', deal_id))"
    return [
        f"CREATE POLICY crm_read ON {table} FOR SELECT USING {seen}",
        f"CREATE POLICY crm_add ON {table} FOR INSERT WITH CHECK (crm_is('admin', 'manager', 'member') AND {seen})",
        f"CREATE POLICY crm_edit ON {table} FOR UPDATE USING {seen} WITH CHECK {seen}",
        # a member's removals: crm_check_remove
        f"CREATE POLICY crm_remove ON {table} FOR DELETE USING (crm_is('admin', 'manager', 'member') AND {seen})",
    ]


def _search_policies() -> list[str]:
    seen = "crm_sees(kind, ref_id)"
    return [
        f"CREATE POLICY crm_read ON search_doc FOR SELECT USING ({seen})",
        "CREATE POLICY crm_add ON search_doc FOR INSERT WITH CHECK (true)",
        "CREATE POLICY crm_edit ON search_doc FOR UPDATE USING (true) WITH CHECK (true)",
        "CREATE POLICY crm_remove ON search_doc FOR DELETE USING (true)",
    ]


def policies() -> list[tuple[str, list[str]]]:
    """(table, its policies) for every table under row-level security."""
    out = [(t, _record_policies(t)) for t in RECORDS]
    out += [
        ("contact_email", _child_policies("contact_email", "contact", "contact_id")),
        ("contact_phone", _child_policies("contact_phone", "contact", "contact_id")),
        ("contact_tag", _child_policies("contact_tag", "contact", "contact_id")),
        ("company_tag", _child_policies("company_tag", "company", "company_id")),
        ("stage_history", _child_policies("stage_history", "deal", "deal_id")),
        ("activity", _on_records("activity")),
        ("followup", _on_records("followup")),
        ("search_doc", _search_policies()),
    ]
    return out


def install_policies(connection: Any) -> None:
    """The functions and row-level security policies (PostgreSQL; nothing on SQLite). Idempotent."""
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        return
    for statement in FUNCTIONS:
        connection.execute(text(statement))
    connection.execute(text(DROP_ALL))
    for table, statements in policies():
        connection.execute(text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
        for statement in statements:
            connection.execute(text(statement))
    connection.execute(text("DROP TRIGGER IF EXISTS crm_set_who ON change_set"))
    connection.execute(
        text("CREATE TRIGGER crm_set_who BEFORE INSERT ON change_set FOR EACH ROW EXECUTE FUNCTION crm_set_who()")
    )
    team = has_team(connection)  # without the groups nobody is a member: no trigger to run for every row removed
    for table in IMPORTED_ONLY_FOR_MEMBERS:
        connection.execute(text(f"DROP TRIGGER IF EXISTS crm_check_remove ON {table}"))
        if team:
            connection.execute(
                text(
                    f"CREATE TRIGGER crm_check_remove BEFORE DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION crm_check_remove()"
                )
            )


# table groups for the grants
READ_ONLY_FOR_MEMBERS = ("pipeline", "stage", "field_def", "setting", "suppression", "erasure", "merge_log")
# a member removes rows of these only where their own import added them (crm_check_remove)
IMPORTED_ONLY_FOR_MEMBERS = ("contact", "company", "deal", "activity", "followup")


def grants(schema: str, tables: list[str]) -> list[str]:
    """What each group may do to TABLES (all of crm's tables, alembic_version aside)."""
    everyone = "crm_viewer, crm_member, crm_manager, crm_admin"
    out = [
        f"GRANT USAGE ON SCHEMA {schema} TO {everyone}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {everyone}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {everyone}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO crm_member, crm_manager, crm_admin",
    ]
    for table in tables:
        if table == "alembic_version":
            continue  # the schema is the migrations' (the database's owner)
        if table == "change":  # written by its trigger function only; rewritten by forget and prune
            out.append("GRANT UPDATE, DELETE ON change TO crm_manager, crm_admin")
            continue
        if table == "change_set":  # a transaction's own; an empty one is dropped at commit
            out.append("GRANT INSERT, DELETE ON change_set TO crm_member")
            out.append("GRANT INSERT, UPDATE, DELETE ON change_set TO crm_manager, crm_admin")
            continue
        out.append(f"GRANT INSERT, UPDATE, DELETE ON {table} TO crm_manager, crm_admin")
        if table in READ_ONLY_FOR_MEMBERS:
            continue
        if table == "assignment_rule":
            out.append("GRANT UPDATE (turn) ON assignment_rule TO crm_member")  # round robin
            continue
        out.append(f"GRANT INSERT, UPDATE, DELETE ON {table} TO crm_member")
    return out


def group_of(connection: Any) -> str | None:
    """The acting role's group, highest first (admin, manager, member, viewer); None for a role in
    none of them (the database's owner before `crm team setup`)."""
    from sqlalchemy import text

    for group in reversed(GROUPS):
        if connection.execute(text("SELECT crm_is(:g)"), {"g": group}).scalar():
            return group
    return None


def has_team(connection: Any) -> bool:
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        return False
    return connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'crm_admin'")).first() is not None


def apply_grants(connection: Any) -> None:
    """Grant the groups their rights on every table as the schema is now (after setup and every upgrade)."""
    from sqlalchemy import inspect, text

    if not has_team(connection):
        return
    schema = connection.execute(text("SELECT quote_ident(current_schema())")).scalar_one()
    tables = inspect(connection).get_table_names()
    for statement in grants(schema, tables):
        connection.execute(text(statement))


KINDS = {
    "contact": "contacts", "company": "companies", "deal": "deals", "activity": "activities",
    "followup": "follow-ups", "pipeline": "pipelines", "stage": "pipeline stages", "field_def": "fields",
    "setting": "settings", "contact_email": "contacts' emails", "contact_phone": "contacts' phones",
    "contact_tag": "contacts' tags", "company_tag": "companies' tags", "stage_history": "deal moves",
    "merge_log": "merges", "suppression": "the suppression list", "erasure": "erasures",
    "change": "the history", "change_set": "the history", "assignment_rule": "assignment rules",
    "search_doc": "the search index", "import_run": "imports",
}  # fmt: skip
ONE = {"contact": "contact", "company": "company", "deal": "deal", "activity": "activity", "followup": "follow-up"}
RULES = {  # what a group may not do, as the one line a denied command prints
    "viewer": "a viewer reads and changes nothing",
    "member": (
        "a member adds records, edits the contacts, companies and deals they own, logs activities and follow-ups "
        "and undoes their own imports; removing, merging and changing pipelines, fields, settings or the team is "
        "for managers and admins"
    ),
    "manager": "a manager changes everything but private records of others and the team",
}
# what a refused statement did to which one row: ("edit" | "remove", table, id)
Record = tuple[str, str, int]


def _named(record: Record | None, table: str, doing: str) -> str | None:
    """RECORD as a line names it ("deal #12"), when it is the row of TABLE that was being DOING."""
    if record is None or record[0] != doing or record[1] != table or table not in ONE:
        return None
    return f"{ONE[table]} #{record[2]}"


def denied(message: str, role: str | None, record: Record | None = None) -> str | None:
    """The one line for a write the database refused to ROLE (MESSAGE: its error), or None when
    MESSAGE is no refusal. RECORD: the one row the refused statement was about, when storage could
    tell; the line then names it ("only the owner, a manager or an admin can edit deal #12")."""
    removal = re.search(r"permission denied to remove (\w+) (\d+)(?: for undoing import (\d+))?", message)
    rls = re.search(r'violates row-level security policy for table "(\w+)"', message)
    grant = re.search(r"permission denied for (?:table|relation) (\w+)", message)
    stale = re.search(r"(UPDATE|DELETE) statement on table '(\w+)' expected to (?:update|delete) \d+ row", message)
    locked = re.search(r"Could not refresh instance '<(Contact|Company|Deal) at", message)  # SELECT … FOR UPDATE
    if locked and not stale:
        stale = re.search(r"(UPDATE) (\w+)", f"UPDATE {locked.group(1).lower()}")
    if not (removal or rls or grant or stale):
        return None
    who = f"as {role}: " if role in RULES else ""
    if removal:  # crm_check_remove: a member's removal of a row their own import did not add
        table, row, undoing = removal.groups()
        if undoing:
            return f"{who}only the importer, a manager or an admin can undo import #{undoing}"
        return (
            f"{who}only a manager or an admin can remove {ONE.get(table, table)} #{row}; "
            "a member removes records only by undoing their own imports"
        )
    if rls:
        table = rls.group(1)
        what = KINDS.get(table, table)
        if table in RECORDS:
            one = _named(record, table, "edit")
            if one:
                return f"{who}only the owner, a manager or an admin can change {one}, and a member cannot give it away"
            return (
                f"{who}only the owner, a manager or an admin can change these {what}, and a member cannot give one away"
            )
        return f"{who}not allowed on {what} of records you cannot change" + (
            f" ({RULES[role]})" if role in RULES else ""
        )
    if stale:
        verb, table = stale.group(1), stale.group(2)
        what = KINDS.get(table, table)
        doing = "edit" if verb == "UPDATE" else "remove"
        one = _named(record, table, doing) if table in RECORDS else None
        if one and doing == "edit":
            return f"{who}only the owner, a manager or an admin can edit {one}"
        if one:
            return f"{who}only a manager or an admin can remove {one} (a private one: only an admin)"
        return (
            f"{who}only its owner, a manager or an admin can {doing} one of these {what}"
            " (private ones: its owner or an admin)"
        )
    table = grant.group(1)  # type: ignore[union-attr]
    if table == "change_set" and role in RULES:  # a write transaction's first statement: no write at all
        return f"{who}{RULES[role]}"
    rule = f": {RULES[role]}" if role in RULES else ""
    one = _named(record, table, record[0]) if record is not None else None
    if one and record is not None:
        return f"{who}you may not {record[0]} {one}{rule}"
    return f"{who}you may not change {KINDS.get(table, table)}{rule}"
