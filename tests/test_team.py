"""A team on one PostgreSQL (issue 18 items 1–3, 6): roles, private records and history,
enforced by the database — each allowed and each denied action, through crm and through SQL."""

from __future__ import annotations

import itertools
import json
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_mcp import converse

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
    for who, role in (("adam", "admin"), ("ana", "manager"), ("ben", "member"), ("bo", "member"), ("vic", "viewer")):
        name = f"{who}_{suffix}"
        ran = cli("team", "add", name, "--role", role, "--email", f"{who}@example.org", "--format", "json")
        assert ran.exit_code == 0, ran.output
        made = json.loads(ran.stdout)
        url = make_url(db_url).set(username=name, password=made["password"]).render_as_string(hide_password=False)
        people[who] = (name, url)
    return people


def as_(cli, team, who, *args):
    return cli("--db", team[who][1], *args)


def added(ran) -> int:
    """The id of the record a command with --format json added."""
    assert ran.exit_code == 0, ran.output
    return int(json.loads(ran.stdout)["id"])


def refused(ran, line: str) -> None:
    """Exit 1 and one line on stderr, LINE."""
    assert ran.exit_code == 1 and ran.stderr.strip() == f"Error: {line}", ran.output


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
    assert denied.exit_code == 1 and "as member" in denied.stderr and "can edit contact #" in denied.stderr
    assert len(denied.stderr.strip().splitlines()) == 1
    assert as_(cli, team, "ben", "log", "ann@example.org", "called her").exit_code == 0
    assert as_(cli, team, "ben", "followups", "add", "ann@example.org", "--due", "tomorrow").exit_code == 0
    removing = as_(cli, team, "ben", "contacts", "rm", "bob@example.org", "--yes")
    assert removing.exit_code == 1 and "only by undoing their own imports" in removing.stderr, removing.output
    gift = as_(cli, team, "ben", "contacts", "edit", "bob@example.org", "--owner", team["ana"][0])
    assert gift.exit_code == 1 and "give it away" in gift.stderr
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
    sam_deal = added(as_(cli, team, "ben", "deals", "add", "Secret deal", "-c", "sam@example.org", "--amount", "500",
                         "--private", "--format", "json"))  # fmt: skip
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

    # and through MCP (`crm mcp` as a member): an admin's private records, and another member's
    sam = json.loads(as_(cli, team, "ben", "contacts", "show", "sam@example.org", "--format", "json").stdout)["id"]
    hal = added(as_(cli, team, "adam", "contacts", "add", "Secret Hal", "-e", "hal@example.org", "--private",
                    "--format", "json"))  # fmt: skip
    hal_deal = added(as_(cli, team, "adam", "deals", "add", "Secret admin deal", "-c", "hal@example.org", "--amount",
                         "700", "--private", "--format", "json"))  # fmt: skip
    assert as_(cli, team, "ana", "contacts", "add", "Open Olga", "-e", "olga@example.org").exit_code == 0

    async def talk(assistant) -> dict:  # noqa: ANN001
        out = {
            "contacts": await assistant.text("list_contacts", limit=0),
            "deals": await assistant.text("list_deals", limit=0),
            "search": await assistant.text("search", text="Secret"),
            "board": await assistant.text("pipeline_board"),
            "kpi": await assistant.json("kpi"),
        }
        shows = (
            ("sam", "show_contact", f"#{sam}"),
            ("hal", "show_contact", f"#{hal}"),
            ("sam deal", "show_deal", str(sam_deal)),
            ("hal deal", "show_deal", str(hal_deal)),
        )
        for name, tool, ref in shows:
            result = await assistant.call(tool, ref=ref)
            out[name] = None if result.is_error else result.content[0].text
        return out

    for who, own in (("bo", ()), ("ben", ("sam", "sam deal"))):
        (tmp_path / who).mkdir()
        got = converse(team[who][1], tmp_path / who, talk)
        assert "Open Olga" in got["contacts"], who  # the tools work: they show what is not private
        for name in ("sam", "hal", "sam deal", "hal deal"):
            assert (got[name] is not None) is (name in own), (who, name)
        assert ("Secret Sam" in got["contacts"]) is bool(own) and "Secret Hal" not in got["contacts"], who
        assert ("Secret deal" in got["deals"]) is bool(own) and "Secret admin deal" not in got["deals"], who
        assert ("Secret Sam" in got["search"]) is bool(own), who
        assert "Secret Hal" not in got["search"] and "Secret admin deal" not in got["search"], who
        assert ("Secret deal" in got["board"]) is bool(own) and "Secret admin deal" not in got["board"], who
        open_deals = sum(stage["count"] for stage in got["kpi"]["open_pipeline"])
        assert open_deals == (1 if own else 0), who


def test_a_manager_keeps_private_records_of_their_own(cli, team) -> None:
    """A manager's own private contact and deal: added, edited and removed by the manager (the
    policies once left them out of a manager's edits, and a removal said "Removed" and kept it)."""
    pia = added(as_(cli, team, "ana", "contacts", "add", "Private Pia", "-e", "pia@example.org", "--private",
                    "--format", "json"))  # fmt: skip
    deal = added(as_(cli, team, "ana", "deals", "add", "Pia's deal", "-c", "pia@example.org", "--private",
                     "--format", "json"))  # fmt: skip
    assert as_(cli, team, "ana", "contacts", "edit", "pia@example.org", "--title", "CFO").exit_code == 0
    assert as_(cli, team, "ana", "deals", "edit", str(deal), "--amount", "9").exit_code == 0
    assert as_(cli, team, "ana", "deals", "rm", str(deal), "--yes").exit_code == 0
    assert as_(cli, team, "ana", "contacts", "rm", "pia@example.org", "--yes").exit_code == 0
    assert as_(cli, team, "adam", "contacts", "show", str(pia)).exit_code == 1  # gone, not hidden
    assert as_(cli, team, "adam", "deals", "show", str(deal)).exit_code == 1


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


def test_a_denied_action_names_the_record(cli, team) -> None:
    ann = added(as_(cli, team, "ana", "contacts", "add", "Ann Adams", "-e", "ann@example.org", "--format", "json"))
    ann_deal = added(as_(cli, team, "ana", "deals", "add", "Ann deal", "-c", "ann@example.org", "--format", "json"))
    bob = added(as_(cli, team, "ben", "contacts", "add", "Bob Brown", "-e", "bob@example.org", "--format", "json"))
    bob_deal = added(as_(cli, team, "ben", "deals", "add", "Bob deal", "-c", "bob@example.org", "--format", "json"))
    ben, ana = team["ben"][0], team["ana"][0]
    mine = "a member removes records only by undoing their own imports"
    gift = "and a member cannot give it away"
    for args, line in (
        # a member: others' records are not theirs to edit or give; their own they cannot give away
        (("contacts", "edit", "ann@example.org", "--title", "CEO"), f"can edit contact #{ann}"),
        (("contacts", "edit", "ann@example.org", "--owner", ben), f"can edit contact #{ann}"),
        (("deals", "edit", str(ann_deal), "--amount", "5"), f"can edit deal #{ann_deal}"),
        (("deals", "edit", str(ann_deal), "--owner", ben), f"can edit deal #{ann_deal}"),
        (("contacts", "edit", "bob@example.org", "--owner", ana), f"can change contact #{bob}, {gift}"),
        (("deals", "edit", str(bob_deal), "--owner", ana), f"can change deal #{bob_deal}, {gift}"),
    ):  # fmt: skip
        refused(as_(cli, team, "ben", *args), f"as member: only the owner, a manager or an admin {line}")
    for args, record in (
        (("contacts", "rm", "ann@example.org", "--yes"), f"contact #{ann}"),
        (("contacts", "rm", "bob@example.org", "--yes"), f"contact #{bob}"),  # their own, added by hand
        (("deals", "rm", str(ann_deal), "--yes"), f"deal #{ann_deal}"),
        (("deals", "rm", str(bob_deal), "--yes"), f"deal #{bob_deal}"),
    ):
        refused(as_(cli, team, "ben", *args), f"as member: only a manager or an admin can remove {record}; {mine}")
    # a viewer: refused at the first write of the transaction (its change set), before any record
    for args in (
        ("contacts", "edit", "ann@example.org", "--title", "CEO"),
        ("contacts", "edit", "ann@example.org", "--owner", team["vic"][0]),
        ("contacts", "rm", "ann@example.org", "--yes"),
        ("deals", "edit", str(ann_deal), "--amount", "5"),
        ("deals", "edit", str(ann_deal), "--owner", team["vic"][0]),
        ("deals", "rm", str(ann_deal), "--yes"),
    ):
        refused(as_(cli, team, "vic", *args), "as viewer: a viewer reads and changes nothing")
    shown = json.loads(cli("contacts", "show", "ann@example.org", "--format", "json").stdout)
    assert (shown["title"], shown["owner"], len(shown["deals"])) == (None, ana, 1)  # nothing changed
    assert len(json.loads(cli("deals", "list", "--format", "json").stdout)) == 2


def test_a_member_undoes_their_own_import_and_no_one_elses(cli, team, tmp_path) -> None:
    def imported(who: str, rows: str) -> int:
        sheet = tmp_path / f"{who}.csv"
        sheet.write_text("Name,Email,Tags\n" + rows)
        ran = as_(cli, team, who, "import", str(sheet), "--format", "json")
        assert ran.exit_code == 0, ran.output
        return int(json.loads(ran.stdout)["run_id"])

    # an assignment rule gives the imports' contacts tagged "north" to the manager
    assert cli("rules", "add", "contacts", "--tag", "north", "--owner", team["ana"][0]).exit_code == 0
    bens = imported("ben", "Cara Cole,cara@example.org,\nDan Dietz,dan@example.org,north\n")
    bos = imported("bo", "Eva Engel,eva@example.org,\n")
    dan = json.loads(cli("contacts", "show", "dan@example.org", "--format", "json").stdout)
    assert dan["owner"] == team["ana"][0]
    # another member's import: refused before anything is written, naming the importer
    refused(
        as_(cli, team, "ben", "imports", "undo", str(bos), "--yes"),
        f"as member: only the importer ({team['bo'][0]}), a manager or an admin can undo import #{bos}",
    )
    assert [r["status"] for r in json.loads(cli("imports", "list", "--format", "json").stdout)] == ["done", "done"]
    # their own: undone through crm, the contact the rule gave away included; no backup (a member
    # cannot read every row), and the undo's batches are in the history
    ran = as_(cli, team, "ben", "imports", "undo", str(bens), "--yes")
    assert ran.exit_code == 0, ran.output
    assert "Undid import" in ran.stderr and "removed 2" in ran.stderr
    assert "No backup before the undo: only the database's owner can read every row for one" in ran.stderr
    for email in ("cara@example.org", "dan@example.org"):
        assert cli("contacts", "show", email).exit_code == 1, email
    kinds = {h["via"] for h in json.loads(cli("history", "--kind", "contact", "--format", "json").stdout)}
    assert any("imports undo" in (via or "") for via in kinds)
    # a contact they added by hand they cannot remove, through crm or SQL; nor another's import's
    hand = added(as_(cli, team, "ben", "contacts", "add", "Hal Hand", "-e", "hal@example.org", "--format", "json"))
    refused(
        as_(cli, team, "ben", "contacts", "rm", "hal@example.org", "--yes"),
        f"as member: only a manager or an admin can remove contact #{hand}; "
        "a member removes records only by undoing their own imports",
    )
    imported("ben", "Gus Gray,gus@example.org,\n")  # their own import's contact: removed only by undoing it
    gus = json.loads(cli("contacts", "show", "gus@example.org", "--format", "json").stdout)["id"]
    refused(
        as_(cli, team, "ben", "contacts", "rm", "gus@example.org", "--yes"),
        f"as member: only a manager or an admin can remove contact #{gus}; "
        "a member removes records only by undoing their own imports",
    )
    eva = json.loads(cli("contacts", "show", "eva@example.org", "--format", "json").stdout)["id"]
    ivy = added(as_(cli, team, "adam", "contacts", "add", "Ivy Private", "--private", "--format", "json"))
    member = create_engine(team["ben"][1])
    try:  # psql as the member: the database refuses whatever the client
        for row in (hand, eva):
            with pytest.raises(Exception, match=f"permission denied to remove contact {row}"), member.begin() as conn:
                conn.execute(text("DELETE FROM contact WHERE id = :id"), {"id": row})
        with member.begin() as conn:  # a row they cannot see is not reached at all
            assert conn.execute(text("DELETE FROM contact WHERE id = :id"), {"id": ivy}).rowcount == 0
    finally:
        member.dispose()
    for email in ("hal@example.org", "eva@example.org"):
        assert cli("contacts", "show", email).exit_code == 0, email
    assert cli("contacts", "show", str(ivy)).exit_code == 0
    ran = as_(cli, team, "bo", "imports", "undo", str(bos), "--yes")  # the importer may
    assert ran.exit_code == 0 and "removed 1" in ran.stderr, ran.output
    assert cli("contacts", "show", "eva@example.org").exit_code == 1
