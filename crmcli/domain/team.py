"""A team on one PostgreSQL database: its people are database roles, each in one of four groups
(crmcli.access says what each may do; the database enforces it). Only admins change the team."""

from __future__ import annotations

import re
import secrets
from typing import Any, TypedDict

from sqlalchemy import text
from sqlmodel import Session

from crmcli import access
from crmcli.errors import Conflict, Invalid, NotFound, UsageError

NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,62}$")
OPEN_WORK = (  # what a person leaving hands over: (table, condition besides the owner)
    ("contact", "true"),
    ("company", "true"),
    ("deal", "status = 'open'"),
    ("followup", "done_at IS NULL"),
)


class Member(TypedDict):
    name: str
    role: str
    email: str | None
    can_login: bool


def _postgres(session: Session) -> Any:
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        raise UsageError(
            "a team needs a PostgreSQL database: on SQLite one file is one trust domain (CRM_USER names you)"
        )
    return conn


def _admin(conn: Any) -> None:
    """Only an admin changes the team: a member of crm_admin, the database's owner or a superuser."""
    ok = conn.execute(
        text(
            "SELECT r.rolsuper OR crm_is('admin') OR pg_has_role(current_user, d.datdba, 'MEMBER') "
            "FROM pg_roles r, pg_database d WHERE r.rolname = current_user AND d.datname = current_database()"
        )
    ).scalar()
    if not ok:
        raise Conflict("only an admin can change the team")


def _check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise Invalid(f"invalid team member name '{name}': lower-case letters, digits, _ . - (a database role)")
    if name.startswith("crm_"):
        raise Invalid(f"'{name}': names starting with crm_ are the team's groups")
    return name


def _role(role: str) -> str:
    if role not in access.GROUPS:
        raise Invalid(f"unknown role '{role}': admin, manager, member or viewer")
    return role


def setup(session: Session) -> dict[str, Any]:
    """Make this database a team database: the four groups, their grants and the policies. Idempotent."""
    conn = _postgres(session)
    made = []
    for group in access.GROUPS:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": f"crm_{group}"}).first()
        if exists is None:  # roles belong to the server: another database's setup may make it meanwhile
            conn.execute(
                text(
                    f"DO $$ BEGIN CREATE ROLE crm_{group} NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
            )
            made.append(group)
    access.install_policies(conn)
    access.apply_grants(conn)
    return {"groups_created": made, "database": conn.execute(text("SELECT current_database()")).scalar()}


def add(
    session: Session, name: str, role: str, *, email: str | None = None, password: str | None = None
) -> dict[str, Any]:
    """A new person: a login role in the group ROLE; PASSWORD, else one generated (returned once)."""
    conn = _postgres(session)
    _admin(conn)
    name, role = _check_name(name), _role(role)
    if not access.has_team(conn):
        raise Conflict("this database is not a team database yet: crm team setup makes it one")
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
        raise Conflict(f"a database role named '{name}' exists already")
    chosen = password or secrets.token_urlsafe(18)
    statement = conn.execute(
        text("SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', CAST(:n AS text), CAST(:p AS text))"),
        {"n": name, "p": chosen},
    ).scalar_one()
    conn.exec_driver_sql(statement.replace("%", "%%"))
    _grant(conn, name, role)
    if email:
        comment = conn.execute(
            text("SELECT format('COMMENT ON ROLE %I IS %L', CAST(:n AS text), CAST(:e AS text))"),
            {"n": name, "e": email},
        ).scalar_one()
        conn.exec_driver_sql(comment.replace("%", "%%"))
    return {"name": name, "role": role, "email": email, "password": chosen}


def _grant(conn: Any, name: str, role: str) -> None:
    quoted = conn.execute(text("SELECT quote_ident(:n)"), {"n": name}).scalar_one()
    for group in access.GROUPS:
        conn.execute(text(f"REVOKE crm_{group} FROM {quoted}"))
    if role == "admin":  # admins manage the team: they create roles and hand out the groups
        conn.execute(text(f"ALTER ROLE {quoted} CREATEROLE"))
        conn.execute(text(f"GRANT {', '.join(f'crm_{g}' for g in access.GROUPS)} TO {quoted} WITH ADMIN OPTION"))
        return
    if conn.execute(text("SELECT rolcreaterole FROM pg_roles WHERE rolname = :n"), {"n": name}).scalar():
        conn.execute(text(f"ALTER ROLE {quoted} NOCREATEROLE"))  # an admin no more
    conn.execute(text(f"GRANT crm_{role} TO {quoted}"))


def members(session: Session) -> list[Member]:
    conn = _postgres(session)
    rows = conn.execute(
        text(
            "SELECT r.rolname, substr(g.rolname, 5), shobj_description(r.oid, 'pg_authid'), r.rolcanlogin "
            "FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid JOIN pg_roles g ON g.oid = m.roleid "
            "WHERE g.rolname IN ('crm_viewer', 'crm_member', 'crm_manager', 'crm_admin') "
            "ORDER BY r.rolname"
        )
    )
    best: dict[str, Member] = {}
    for name, role, email, login in rows:
        rank = access.GROUPS.index(role)
        if name not in best or access.GROUPS.index(best[name]["role"]) < rank:
            best[name] = {"name": name, "role": role, "email": email, "can_login": bool(login)}
    return list(best.values())


def _member(session: Session, name: str) -> Member:
    for m in members(session):
        if m["name"] == name:
            return m
    raise NotFound(f"no team member named '{name}'")


def set_role(session: Session, name: str, role: str) -> Member:
    conn = _postgres(session)
    _admin(conn)
    _member(session, name)
    _grant(conn, name, _role(role))
    return _member(session, name)


def remove(session: Session, name: str, reassign_to: str) -> dict[str, int]:
    """Remove NAME from the team; their contacts, companies, open deals and open follow-ups go to
    REASSIGN_TO (a team member). Returns how many of each were handed over."""
    conn = _postgres(session)
    _admin(conn)
    _member(session, name)
    if reassign_to == name:
        raise Invalid("give the records to someone else")
    _member(session, reassign_to)
    moved = {}
    for table, condition in OPEN_WORK:
        moved[table] = conn.execute(
            text(f"UPDATE {table} SET owner = :to WHERE owner = :who AND {condition}"), {"to": reassign_to, "who": name}
        ).rowcount
    quoted = conn.execute(text("SELECT quote_ident(:n)"), {"n": name}).scalar_one()
    conn.execute(text(f"DROP OWNED BY {quoted}"))
    conn.execute(text(f"DROP ROLE {quoted}"))
    return moved
