"""The single customer view: `crm contacts show` and `crm companies show` list the deals, open and
closed, with stage, amount and close date, beside activities and follow-ups, and sum the open
pipeline and the won revenue per currency (issue 13, item 4). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from decimal import Decimal

from test_cli import ok

from crmcli.domain import contacts, deals, lookup, views

WIDE = {"COLUMNS": "200", "CRM_NOW": "2026-11-20T12:00:00Z"}


def _id(result) -> str:
    return ok(result).stdout.strip()


def build(cli) -> dict[str, str]:
    """Acme with Anna and Ben, Globex with Cleo; deals of every kind around them."""
    env = WIDE
    ok(cli("companies", "add", "Globex Corp", "--domain", "globex.com", env=env))
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH", env=env))
    ok(cli("contacts", "add", "Ben Brandt", "-e", "ben@acme.de", "-c", "Acme GmbH", env=env))
    ok(cli("contacts", "add", "Cleo Chen", "-e", "cleo@globex.com", "-c", "Globex Corp", env=env))
    ids = {
        # open, Anna at Acme, 50 %: weighted 6,000
        "renewal": _id(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "12000",
                           "--stage", "Proposal", "--close", "2026-12-31", env=env)),
        # open, Ben at Acme, in dollars, no close date, 10 %: weighted 300.05
        "pilot": _id(cli("deals", "add", "Acme pilot", "-c", "ben@acme.de", "--amount", "3000.50",
                         "--currency", "USD", env=env)),
        # won on 1 October, Anna at Acme
        "old": _id(cli("deals", "add", "Acme 2025 licence", "-c", "anna@acme.de", "--amount", "5000", env=env)),
        # lost on 1 November, Acme without a contact
        "lost": _id(cli("deals", "add", "Acme training", "--company", "Acme GmbH", "--amount", "800", env=env)),
        # Cleo's: not Acme's, not Anna's
        "globex": _id(cli("deals", "add", "Globex rollout", "-c", "cleo@globex.com", "--amount", "7000", env=env)),
        # Anna's, but booked on Globex: in Anna's view, not in Acme's
        "side": _id(cli("deals", "add", "Globex intro via Anna", "-c", "anna@acme.de", "--company", "Globex Corp",
                        "--amount", "1000", "--close", "2026-11-30", env=env)),
        # Ben's without a company and without an amount: in Acme's view through Ben, summed as nothing
        "bare": _id(cli("deals", "add", "Acme idea", "-c", "ben@acme.de", env=env)),
    }  # fmt: skip
    ok(cli("deals", "edit", ids["bare"], "--company", "", env=env))
    ok(cli("deals", "won", ids["old"], env={**env, "CRM_NOW": "2026-10-01T10:00:00Z"}))
    ok(cli("deals", "lost", ids["lost"], "--reason", "price", env={**env, "CRM_NOW": "2026-11-01T10:00:00Z"}))
    ok(cli("followups", "add", "company:Acme GmbH", "--due", "2026-11-25", "--note", "Quarterly review", env=env))
    ok(cli("log", "anna@acme.de", "--type", "call", "Talked about the renewal", env=env))
    return ids


def test_contact_show_lists_the_contacts_deals_in_json_table_and_plain(cli) -> None:
    ids = build(cli)
    view = json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json", env=WIDE)).stdout)
    # open first by close date, then closed, latest first; Globex's own deal stays out
    assert [d["id"] for d in view["deals"]] == [int(ids["side"]), int(ids["renewal"]), int(ids["old"])]
    renewal = view["deals"][1]
    assert (renewal["stage"], renewal["status"], renewal["amount"], renewal["currency"], renewal["close_date"]) == (
        "Proposal", "open", "12000.00", "EUR", "2026-12-31",
    )  # fmt: skip
    old = view["deals"][2]
    assert (old["stage"], old["status"], old["closed_at"]) == ("Won", "won", "2026-10-01T10:00:00Z")
    assert (view["open_deals"], view["won_deals"], view["lost_deals"]) == (2, 1, 0)
    assert view["open_pipeline"] == {"EUR": "13000.00"}
    assert view["open_weighted"] == {"EUR": "6100.00"}  # 12,000 × 50 % + 1,000 × 10 %
    assert view["won_revenue"] == {"EUR": "5000.00"}
    assert view["activities"][0]["text"] == "Talked about the renewal" and "followups" in view

    table = ok(cli("contacts", "show", "anna@acme.de", "-f", "table", env=WIDE)).stdout
    assert "Deals (3, 2 open)" in table
    assert "Open pipeline" in table and "€13,000.00 (weighted €6,100.00)" in table
    assert "Won revenue" in table and "€5,000.00" in table
    assert "2 open, 1 won" in table
    line = next(x for x in table.splitlines() if "Acme 2025 licence" in x)
    assert "Won" in line and "€5,000.00" in line and "2026-10-01" in line  # a closed deal: the day it closed
    line = next(x for x in table.splitlines() if "Acme renewal" in x)
    assert "Proposal" in line and "€12,000.00" in line and "2026-12-31" in line  # an open one: expected close
    assert table.index("Deals (3") < table.index("Follow-ups") < table.index("Activity (1)")

    plain = ok(cli("contacts", "show", "anna@acme.de", env=WIDE)).stdout
    rows = [x.split("\t") for x in plain.splitlines() if x.startswith("deals\t")]
    assert [r[1] for r in rows] == [ids["side"], ids["renewal"], ids["old"]]
    assert rows[2][2:7] == ["Acme 2025 licence", "Won", "won", "€5,000.00", "2026-10-01"]
    assert "Open pipeline\t€13,000.00 (weighted €6,100.00)" in plain


def test_company_show_lists_its_deals_and_its_peoples_and_sums_per_currency(cli) -> None:
    ids = build(cli)
    view = json.loads(ok(cli("companies", "show", "Acme GmbH", "-f", "json", env=WIDE)).stdout)
    assert [d["id"] for d in view["deals"]] == [
        int(ids["renewal"]), int(ids["pilot"]), int(ids["bare"]), int(ids["lost"]), int(ids["old"]),
    ]  # fmt: skip
    assert (view["open_deals"], view["won_deals"], view["lost_deals"]) == (3, 1, 1)
    assert view["open_pipeline"] == {"EUR": "12000.00", "USD": "3000.50"}  # never added across currencies
    assert view["open_weighted"] == {"EUR": "6000.00", "USD": "300.05"}
    assert view["won_revenue"] == {"EUR": "5000.00"}  # the lost one is not revenue
    lost = next(d for d in view["deals"] if d["id"] == int(ids["lost"]))
    assert (lost["status"], lost["lost_reason"], lost["closed_at"]) == ("lost", "price", "2026-11-01T10:00:00Z")
    assert [f["note"] for f in view["followups"]] == ["Quarterly review"]
    assert view["activities"][0]["text"] == "Talked about the renewal"

    table = ok(cli("companies", "show", "Acme GmbH", "-f", "table", env=WIDE)).stdout
    assert "Deals (5, 3 open)" in table
    assert "€12,000.00 (weighted €6,000.00), $3,000.50 (weighted $300.05)" in table
    assert "3 open, 1 won, 1 lost" in table
    assert "Globex rollout" not in table and "Globex intro via Anna" not in table
    line = next(x for x in table.splitlines() if "Acme pilot" in x)
    assert "Lead" in line and "$3,000.50" in line and "Ben Brandt" in line
    line = next(x for x in table.splitlines() if "Acme training" in x)
    assert "Lost" in line and "€800.00" in line and "2026-11-01" in line
    assert "Follow-ups (1)" in table and "Quarterly review" in table

    csv_out = ok(cli("companies", "show", "Acme GmbH", "-f", "csv", env=WIDE)).stdout.splitlines()
    header, row = csv_out[0].split(","), csv_out[1].split(",")
    cells = dict(zip(header, row, strict=False))
    assert cells["open_pipeline.USD"] == "3000.50" and cells["won_revenue.EUR"] == "5000.00"


def test_a_customer_without_deals_says_so(cli) -> None:
    ok(cli("contacts", "add", "Dora Dee", "-e", "dora@example.com", "-c", "Empty Co", env=WIDE))
    view = json.loads(ok(cli("contacts", "show", "dora@example.com", "-f", "json", env=WIDE)).stdout)
    assert view["deals"] == [] and view["open_pipeline"] == {} and view["won_revenue"] == {}
    assert (view["open_deals"], view["won_deals"], view["lost_deals"]) == (0, 0, 0)
    table = ok(cli("contacts", "show", "dora@example.com", "-f", "table", env=WIDE)).stdout
    assert "Deals: none yet" in table and "Open pipeline" not in table
    company = ok(cli("companies", "show", "Empty Co", "-f", "table", env=WIDE)).stdout
    assert "Deals: none yet" in company and "Follow-ups (0): none open" in company


def test_customer_deals_sums_exactly_per_currency(session) -> None:
    anna = contacts.add_contact(session, name="Anna", emails=["anna@acme.de"], company="Acme")
    for amount, currency in (("0.10", "EUR"), ("0.20", "EUR"), ("1", "JPY"), ("2", "JPY"), ("0.105", "KWD")):
        deals.add_deal(session, title=f"d {amount} {currency}", contact=str(anna.id), amount=amount, currency=currency)
    mine = views.customer_deals(session, contact_id=anna.id)
    assert mine["open_pipeline"] == {"EUR": Decimal("0.30"), "JPY": Decimal("3"), "KWD": Decimal("0.105")}
    assert str(mine["open_pipeline"]["EUR"]) == "0.30"  # not 0.30000000000000004
    # Lead is 10 %: each deal's weighted value is rounded to its currency, then added
    assert mine["open_weighted"] == {"EUR": Decimal("0.03"), "JPY": Decimal("0"), "KWD": Decimal("0.010")}
    acme = lookup.resolve_company(session, "Acme")
    theirs = views.company_view(session, acme)
    assert [d["id"] for d in theirs["deals"]] == [d["id"] for d in mine["deals"]]
    assert theirs["open_pipeline"] == mine["open_pipeline"] and theirs["won_revenue"] == {}
    assert views.contact_view(session, anna)["open_deals"] == 5
