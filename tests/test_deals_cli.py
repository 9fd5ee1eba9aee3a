"""crm deals and crm pipeline through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

from test_cli import ok, one_line_error


def setup_people(cli) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH"))
    ok(cli("contacts", "add", "张伟明", "-e", "zhang@yuntu.cn", "-c", "深圳云图科技有限公司"))


def test_deal_lifecycle_through_the_cli(cli, me) -> None:
    setup_people(cli)
    deal_id = ok(
        cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "12000", "--close", "2026-12-31")
    ).stdout.strip()
    assert deal_id.isdigit()
    ok(
        cli(
            "deals",
            "add",
            "云图 pilot",
            "-c",
            "zhang@yuntu.cn",
            "--amount",
            "0.10",
            "--currency",
            "cny",
            "--stage",
            "Qualified",
        )
    )
    shown = json.loads(ok(cli("deals", "show", "Acme renewal", "-f", "json")).stdout)
    assert shown["amount"] == "12000.00" and shown["currency"] == "EUR" and shown["weighted"] == "1200.00"
    assert shown["company"] == "Acme GmbH" and shown["owner"] == me and shown["close_date"] == "2026-12-31"
    moved = ok(cli("deals", "move", deal_id, "Proposal"))
    assert f"Deal #{deal_id} Acme renewal: Lead → Proposal" in moved.stderr
    ok(cli("deals", "lost", deal_id, "--reason", "price"))
    assert json.loads(ok(cli("deals", "show", deal_id, "-f", "json")).stdout)["lost_reason"] == "price"
    ok(cli("deals", "reopen", deal_id))
    ok(cli("deals", "won", deal_id))
    shown = json.loads(ok(cli("deals", "show", deal_id, "-f", "json")).stdout)
    assert shown["status"] == "won" and shown["closed_at"].endswith("Z")
    assert [(h["from"], h["to"], h["by"]) for h in shown["history"]] == [
        (None, "Lead", me), ("Lead", "Proposal", me), ("Proposal", "Lost", me),
        ("Lost", "Proposal", me), ("Proposal", "Won", me),
    ]  # fmt: skip
    table = ok(cli("deals", "show", deal_id, "-f", "table")).stdout
    assert "Stage history" in table and "€12,000.00" in table
    ok(cli("log", "deal:Acme renewal", "--type", "call", "Signed, kick-off next week"))
    assert json.loads(ok(cli("deals", "show", deal_id, "-f", "json")).stdout)["activities"][0]["text"].startswith(
        "Signed"
    )
    ok(cli("deals", "edit", deal_id, "--amount", "15000.5", "--notes", "multi-year"))
    assert json.loads(ok(cli("deals", "show", deal_id, "-f", "json")).stdout)["amount"] == "15000.50"
    ok(cli("deals", "rm", deal_id, "--yes"))
    one_line_error(cli("deals", "show", deal_id), 1, f"no deal with id {deal_id}")


def test_deals_list_filters_and_formats(cli) -> None:
    setup_people(cli)
    ok(cli("deals", "add", "A", "--amount", "300", "--owner", "ana", "--close", "2026-12-01", "--stage", "Proposal"))
    ok(cli("deals", "add", "B", "--amount", "100", "--owner", "ben", "--close", "2027-02-01"))
    ok(cli("deals", "add", "C", "--amount", "200", "--owner", "ana"))
    ok(cli("deals", "won", "B"))
    ok(cli("deals", "lost", "C", "-r", "timing"))
    titles = lambda *args: [r["title"] for r in json.loads(ok(cli("deals", "list", "-f", "json", *args)).stdout)]  # noqa: E731
    assert titles() == ["A", "B", "C"]
    assert titles("--open") == ["A"] and titles("--won") == ["B"] and titles("--lost") == ["C"]
    assert titles("--owner", "ana", "--sort", "-amount") == ["A", "C"]
    assert titles("--closing-before", "2027-01-01") == ["A"]
    assert titles("--stage", "Proposal") == ["A"]
    assert titles("--where", "owner=ben") == ["B"]
    rows = list(csv.DictReader(io.StringIO(ok(cli("deals", "list", "-f", "csv")).stdout)))
    assert rows[0]["amount"] == "300.00" and rows[0]["currency"] == "EUR"
    plain = ok(cli("deals", "list", "--open")).stdout.splitlines()
    assert plain[0].split("\t")[1:4] == ["A", "Proposal", "€300.00"]
    one_line_error(cli("deals", "list", "--open", "--won"), 2, "choose one of --open, --won and --lost")


def test_pipeline_and_stage_commands(cli) -> None:
    rows = json.loads(ok(cli("pipeline", "stages", "-f", "json")).stdout)
    assert [(r["name"], r["probability"], r["kind"]) for r in rows][:2] == [
        ("Lead", 10, "open"),
        ("Qualified", 25, "open"),
    ]
    ok(cli("pipeline", "stage", "add", "Demo", "--probability", "40", "--rot-days", "14", "--after", "Qualified"))
    ok(
        cli(
            "pipeline",
            "stage",
            "edit",
            "Proposal",
            "--require",
            "amount,close_date,contact",
            "--on-enter",
            "3d: chase the proposal",
        )
    )
    ok(cli("pipeline", "stage", "rename", "Negotiation", "Contract"))
    ok(cli("pipeline", "stage", "move", "Demo", "--after", "Proposal"))
    names = [r["name"] for r in json.loads(ok(cli("pipeline", "stages", "-f", "json")).stdout)]
    assert names == ["Lead", "Qualified", "Proposal", "Demo", "Contract", "Won", "Lost"]
    deal = ok(cli("deals", "add", "Needs things", "--stage", "Qualified")).stdout.strip()
    one_line_error(
        cli("deals", "move", deal, "Proposal"), 1, "cannot enter Proposal: it needs amount, close_date, contact"
    )
    ok(cli("deals", "move", deal, "Demo"))
    one_line_error(cli("pipeline", "stage", "rm", "Demo", "--yes"), 1, "1 deal sit in Demo")
    ok(cli("pipeline", "stage", "rm", "Demo", "--move-deals-to", "Contract", "-y"))
    assert json.loads(ok(cli("deals", "show", deal, "-f", "json")).stdout)["stage"] == "Contract"
    ok(cli("pipeline", "add", "Renewals", "--copy-from", "Sales"))
    listed = json.loads(ok(cli("pipeline", "list", "-f", "json")).stdout)
    assert [p["name"] for p in listed] == ["Sales", "Renewals"] and listed[0]["open_deals"] == 1
    one_line_error(cli("pipeline", "stage", "edit", "Proposal", "--probability", "140"), 1, "between 0 and 100")
    one_line_error(cli("pipeline", "stage", "edit", "Proposal", "--on-enter", "soon"), 1, "DELAY: NOTE")


def test_board_in_every_format(cli) -> None:
    setup_people(cli)
    ok(cli("deals", "add", "Big", "--amount", "0.1", "--stage", "Proposal", "--owner", "ana"))
    ok(cli("deals", "add", "Small", "--amount", "0.2", "--stage", "Proposal", "--owner", "ben"))
    ok(cli("deals", "add", "Dollar", "--amount", "5", "--currency", "USD", "--stage", "Lead", "--owner", "ana"))
    board = json.loads(ok(cli("pipeline", "board", "-f", "json")).stdout)
    proposal = next(s for s in board["stages"] if s["name"] == "Proposal")
    assert proposal["count"] == 2 and proposal["totals"] == [{"currency": "EUR", "amount": "0.30", "weighted": "0.15"}]
    assert {t["currency"] for t in board["totals"]} == {"EUR", "USD"}
    wide = ok(cli("pipeline", "board", "-f", "table", env={"COLUMNS": "160"})).stdout
    assert "Proposal 50%" in wide and "€0.30" in wide and "w €0.15" in wide and "$5.00" in wide
    narrow = ok(cli("pipeline", "board", "-f", "table", env={"COLUMNS": "60"})).stdout
    assert "Proposal 50%" in narrow and "Big" in narrow
    from rich.cells import cell_len

    for width, text in ((160, wide), (80, ok(cli("pipeline", "board", "-f", "table", env={"COLUMNS": "80"})).stdout)):
        assert max(cell_len(line) for line in text.splitlines()) <= width
    mine = json.loads(ok(cli("pipeline", "board", "--owner", "ana", "-f", "json")).stdout)
    assert sum(s["count"] for s in mine["stages"]) == 2
    plain = ok(cli("pipeline", "board")).stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in plain) == ["Lead", "Proposal", "Proposal"]
    assert len(ok(cli("pipeline", "board", "-q")).stdout.split()) == 3


def test_demo_has_deals_across_stages(cli) -> None:
    ok(cli("init", "--demo", env={"CRM_NOW": "2026-11-23T09:00:00Z"}))
    rows = json.loads(ok(cli("deals", "list", "-f", "json", env={"CRM_NOW": "2026-11-23T09:00:00Z"})).stdout)
    statuses = {r["status"] for r in rows}
    assert statuses == {"open", "won", "lost"}
    assert {r["stage"] for r in rows if r["status"] == "open"} == {"Lead", "Qualified", "Proposal", "Negotiation"}
    assert all(r["lost_reason"] for r in rows if r["status"] == "lost")
    shown = json.loads(ok(cli("deals", "show", str(rows[0]["id"]), "-f", "json")).stdout)
    assert shown["history"][0]["from"] is None and len(shown["history"]) >= 1
    stages = json.loads(ok(cli("pipeline", "stages", "-f", "json")).stdout)
    assert next(s for s in stages if s["name"] == "Proposal")["on_enter"] == "3d: chase the proposal"


def test_stage_rules_show_up_as_follow_ups(cli) -> None:
    """Issue 4 item 8 / issue 3 item 5: entering a stage with an on-enter rule makes a follow-up
    that crm followups lists and crm deals show shows."""
    ok(cli("pipeline", "stage", "edit", "Proposal", "--on-enter", "3d: chase the proposal"))
    deal = ok(cli("deals", "add", "Rule test", "--amount", "100", "--owner", "ana")).stdout.strip()
    ok(cli("deals", "move", deal, "Proposal"))
    listed = json.loads(ok(cli("followups", "list", "--all", "-f", "json")).stdout)
    assert [(f["note"], f["subject"], f["owner"]) for f in listed] == [("chase the proposal", "Rule test", "ana")]
    shown = json.loads(ok(cli("deals", "show", deal, "-f", "json")).stdout)
    assert [f["note"] for f in shown["followups"]] == ["chase the proposal"]
