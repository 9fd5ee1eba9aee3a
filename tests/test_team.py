"""A team on one PostgreSQL (issue 18 items 1–3, 6): roles, private records and history,
enforced by the database — each allowed and each denied action, through crm and through SQL."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_n = itertools.count()


@pytest.fixture
def team(cli, db_url):
    """A team database: an admin, a manager, a member and a viewer (role names unique on the server)."""
    if not db_url.startswith("postgresql"):
        ran = cli("team", "setup")
        assert ran.exit_code == 2 and "PostgreSQL" in ran.stderr
        pytest.skip("a team needs PostgreSQL (checked: SQLite refuses in one line)")
    assert cli("team", "setup").exit_code == 0
    again = cli("team", "setup")
    assert again.exit_code == 0, again.output  # idempotent
    suffix = f"{os.getpid()}_{next(_n)}"
    people = {}
    for who, role in (("adam", "admin"), ("ana", "manager"), ("ben", "member"), ("vic", "viewer")):
        name = f"{who}_{suffix}"
        ran = cli("team", "add", name, "--role", role, "--email", f"{who}@example.org", "--format", "json")
        assert ran.exit_code == 0, ran.output
        made = json.loads(ran.stdout)
        url = make_url(db_url).set(username=name, password=made["password"]).render_as_string(hide_password=False)
        people[who] = (name, url)
    return people


def as_(cli, team, who, *args):
    return cli("--db", team[who][1], *args)


def test_team_list_roles_and_the_acting_user_is_the_database_role(cli, team, monkeypatch) -> None:
    listed = {m["name"]: m["role"] for m in json.loads(cli("team", "list", "--format", "json").stdout)}
    assert {listed[team[w][0]] for w in team} == {"admin", "manager", "member", "viewer"}
    monkeypatch.setenv("CRM_USER", "somebody_else")
    ran = as_(cli, team, "ben", "contacts", "add", "Bea Bauer", "-e", "bea@example.org", "--format", "json")
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["owner"] == team["ben"][0]  # not CRM_USER
    history = json.loads(as_(cli, team, "ben", "history", "bea@example.org", "--format", "json").stdout)
    assert history and {h["who"] for h in history} == {team["ben"][0]}
    assert as_(cli, team, "ben", "team", "add", "x_" + team["ben"][0], "--role", "admin").exit_code == 1
    assert "only an admin" in as_(cli, team, "ana", "team", "role", team["ben"][0], "manager").stderr
    moved = as_(cli, team, "adam", "team", "role", team["vic"][0], "member")
    assert moved.exit_code == 0, moved.output


def test_member_viewer_and_manager_rules(cli, team) -> None:
    assert as_(cli, team, "ana", "contacts", "add", "Ann Adams", "-e", "ann@example.org").exit_code == 0
    assert as_(cli, team, "ben", "contacts", "add", "Bob Brown", "-e", "bob@example.org").exit_code == 0
    # member: own records yes, others' no; activities and follow-ups on what they can read yes
    assert as_(cli, team, "ben", "contacts", "edit", "bob@example.org", "--title", "CTO").exit_code == 0
    denied = as_(cli, team, "ben", "contacts", "edit", "ann@example.org", "--title", "CEO")
    assert denied.exit_code == 1 and "as member" in denied.stderr and "owner" in denied.stderr, denied.output
    assert len(denied.stderr.strip().splitlines()) == 1
    assert as_(cli, team, "ben", "log", "ann@example.org", "called her").exit_code == 0
    assert as_(cli, team, "ben", "followups", "add", "ann@example.org", "--due", "tomorrow").exit_code == 0
    removing = as_(cli, team, "ben", "contacts", "rm", "bob@example.org", "--yes")
    assert removing.exit_code == 1 and "may not change contacts" in removing.stderr, removing.output
    gift = as_(cli, team, "ben", "contacts", "edit", "bob@example.org", "--owner", team["ana"][0])
    assert gift.exit_code == 1 and "give one away" in gift.stderr
    assert as_(cli, team, "ben", "pipeline", "add", "Renewals").exit_code == 1
    assert as_(cli, team, "ben", "config", "set", "currency", "USD").exit_code == 1
    # viewer: reads, writes nothing
    assert as_(cli, team, "vic", "contacts", "list").exit_code == 0
    viewer = as_(cli, team, "vic", "contacts", "add", "Vera", "-e", "vera@example.org")
    assert viewer.exit_code == 1 and "viewer" in viewer.stderr
    # manager: everyone's, reassigning too; removing
    assert as_(cli, team, "ana", "contacts", "edit", "bob@example.org", "--owner", team["ana"][0]).exit_code == 0
    assert as_(cli, team, "ana", "pipeline", "add", "Renewals").exit_code == 0
    assert as_(cli, team, "ana", "contacts", "rm", "bob@example.org", "--yes").exit_code == 0
    assert as_(cli, team, "ana", "team", "add", "z_" + team["ana"][0], "--role", "member").exit_code == 1


def test_private_records_are_hidden_everywhere_but_from_owner_and_admins(cli, team, tmp_path) -> None:
    assert as_(cli, team, "ben", "contacts", "add", "Secret Sam", "-e", "sam@example.org", "--private").exit_code == 0
    deal = as_(cli, team, "ben", "deals", "add", "Secret deal", "-c", "sam@example.org", "--amount", "500", "--private")
    assert deal.exit_code == 0, deal.output
    for who, sees in (("ben", True), ("adam", True), ("ana", False), ("vic", False)):
        listed = as_(cli, team, who, "contacts", "list", "--format", "json").stdout
        assert ("Secret Sam" in listed) is sees, who
        assert ("Secret Sam" in as_(cli, team, who, "search", "Secret", "--format", "json").stdout) is sees, who
        assert ("Secret deal" in as_(cli, team, who, "deals", "list", "--format", "json").stdout) is sees, who
        kpi = json.loads(as_(cli, team, who, "kpi", "--format", "json").stdout)
        open_deals = sum(stage["count"] for stage in kpi["open_pipeline"])
        assert open_deals == (1 if sees else 0), who
        out = tmp_path / f"{who}.csv"
        assert as_(cli, team, who, "export", "contacts", str(out)).exit_code == 0
        assert ("Secret Sam" in out.read_text()) is sees, who
        owners = json.loads(as_(cli, team, who, "report", "owners", "--format", "json").stdout)
        assert (team["ben"][0] in json.dumps(owners)) is sees, who
    shown = as_(cli, team, "ana", "contacts", "show", "sam@example.org")
    assert shown.exit_code == 1


def test_the_database_enforces_it_for_direct_sql_too(cli, team) -> None:
    assert as_(cli, team, "ana", "contacts", "add", "Ann Adams", "-e", "ann@example.org").exit_code == 0
    member = create_engine(team["ben"][1])
    try:
        with member.begin() as conn:
            changed = conn.execute(text("UPDATE contact SET title = 'hacked' WHERE name = 'Ann Adams'")).rowcount
        assert changed == 0  # the row is not theirs to change: the policy lets the update reach no row
        with pytest.raises(Exception, match="permission denied"), member.begin() as conn:
            conn.execute(text("DELETE FROM contact"))
        with pytest.raises(Exception, match="permission denied"), member.begin() as conn:
            conn.execute(text("INSERT INTO change (tbl, op, kind) VALUES ('contact', 'insert', 'contact')"))
        with pytest.raises(Exception, match="permission denied"), member.begin() as conn:
            conn.execute(text("UPDATE setting SET value = 'x'"))
    finally:
        member.dispose()
    viewer = create_engine(team["vic"][1])
    try:
        with pytest.raises(Exception, match="permission denied"), viewer.begin() as conn:
            conn.execute(text("INSERT INTO contact (name, name_key, custom, created_at, updated_at) "
                              "VALUES ('x', 'x', '{}', now(), now())"))  # fmt: skip
    finally:
        viewer.dispose()


def test_team_remove_reassigns_open_work(cli, team) -> None:
    assert as_(cli, team, "ben", "contacts", "add", "Cara Cole", "-e", "cara@example.org").exit_code == 0
    assert as_(cli, team, "ben", "deals", "add", "Cara deal", "-c", "cara@example.org").exit_code == 0
    refused = cli("team", "remove", team["ben"][0], "--reassign-to", team["ana"][0])
    assert refused.exit_code == 2  # no terminal: --yes
    ran = cli("team", "remove", team["ben"][0], "--reassign-to", team["ana"][0], "--yes")
    assert ran.exit_code == 0, ran.output
    shown = json.loads(cli("contacts", "show", "cara@example.org", "--format", "json").stdout)
    assert shown["owner"] == team["ana"][0]
    assert team["ben"][0] not in cli("team", "list").stdout


def test_a_member_adds_a_contact_a_rule_gives_to_someone_else(cli, team) -> None:
    assert as_(cli, team, "ana", "rules", "add", "contacts", "--any", "--owner", team["ana"][0]).exit_code == 0
    ran = as_(cli, team, "ben", "contacts", "add", "Rui Reis", "-e", "rui@example.org", "-p", "+351 912 345 678",
              "--format", "json")  # fmt: skip
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout)["owner"] == team["ana"][0]  # the rule's, with the email and phone the member gave
    later = as_(cli, team, "ben", "contacts", "edit", "rui@example.org", "--title", "CFO")
    assert later.exit_code == 1  # not theirs to edit afterwards
