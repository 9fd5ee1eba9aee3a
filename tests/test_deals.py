"""Deals: exact money, stage moves with their history, rules, the board; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from crmcli import storage
from crmcli.domain import contacts, deals, fields, lookup, pipeline, settings
from crmcli.errors import Invalid, NotFound
from crmcli.models import FollowUp, StageChange


def test_add_links_contact_company_and_defaults(session) -> None:
    anna = contacts.add_contact(session, name="Anna", emails=["anna@acme.de"], company="Acme GmbH")
    deal = deals.add_deal(
        session,
        title=" Acme  renewal ",
        contact="anna@acme.de",
        amount="12,000.50",
        close_date="2026-12-31",
        owner="ana",
        by="ana",
    )
    record = deals.list_deals(session)[0]
    assert record["title"] == "Acme renewal"
    assert record["contact"] == "Anna" and record["company"] == "Acme GmbH"  # the contact's company
    assert record["amount"] == Decimal("12000.50") and record["currency"] == "EUR"
    assert record["stage"] == "Lead" and record["status"] == "open"
    assert record["weighted"] == Decimal("1200.05")
    assert record["close_date"] == date(2026, 12, 31)
    assert deal.contact_id == anna.id
    assert [(h["from"], h["to"], h["by"]) for h in deals.history(session, deal)] == [(None, "Lead", "ana")]


def test_money_is_exact(session) -> None:
    settings.set_value(session, "currency", "usd")
    for amount in ("0.1", "0.2", "0.7"):
        deals.add_deal(session, title=f"tiny {amount}", amount=amount, stage="Proposal")
    deals.add_deal(session, title="yen", amount="1500", currency="JPY", stage="Proposal")
    board = deals.board(session)
    proposal = next(s for s in board["stages"] if s["name"] == "Proposal")
    totals = {t["currency"]: t for t in proposal["totals"]}
    assert totals["USD"]["amount"] == Decimal("1.00")  # not 0.9999999999999999
    assert totals["USD"]["weighted"] == Decimal("0.50")
    assert totals["JPY"]["amount"] == Decimal("1500")
    with pytest.raises(Invalid, match="JPY has 0 decimal places"):
        deals.add_deal(session, title="half yen", amount="0.5", currency="JPY")
    with pytest.raises(Invalid, match="unknown currency"):
        deals.add_deal(session, title="x", amount="1", currency="XYZ")
    with pytest.raises(Invalid, match="invalid amount"):
        deals.add_deal(session, title="x", amount="lots")


def test_moves_write_history_and_closing_fields(session) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    deal = deals.add_deal(session, title="D", amount="100", created_at=t0 - timedelta(days=3))
    deals.move_deal(session, deal, "Qualified", by="ana", at=t0)
    deals.move_deal(session, deal, "Proposal", by="ben", at=t0 + timedelta(days=10))
    deals.lose(session, deal, reason=" price ", by="ben", at=t0 + timedelta(days=15))
    assert (deal.status, deal.lost_reason, deal.closed_at) == ("lost", "price", t0 + timedelta(days=15))
    deals.reopen(session, deal, by="ana")
    assert deal.status == "open" and deal.closed_at is None and deal.lost_reason is None
    assert pipeline.resolve_stage(session, pipeline.get_pipeline(session), "Proposal").id == deal.stage_id
    deals.win(session, deal, by="ana")
    assert deal.status == "won" and deal.closed_at is not None
    rows = deals.history(session, deal)
    assert [(r["from"], r["to"]) for r in rows] == [
        (None, "Lead"),
        ("Lead", "Qualified"),
        ("Qualified", "Proposal"),
        ("Proposal", "Lost"),
        ("Lost", "Proposal"),
        ("Proposal", "Won"),
    ]
    assert rows[2]["days"] == 5  # Proposal from day 10 to day 15
    with pytest.raises(Invalid, match="already in Won"):
        deals.move_deal(session, deal, "Won")
    with pytest.raises(Invalid, match="won already"):
        deals.win(session, deal)
    with pytest.raises(NotFound, match="no stage 'Nowhere'"):
        deals.move_deal(session, deal, "Nowhere")


def test_stage_rules_refuse_missing_fields_and_schedule_followups(session) -> None:
    fields.add_field(session, entity="deals", name="budget_ok", type="bool")
    sales = pipeline.get_pipeline(session)
    proposal = pipeline.resolve_stage(session, sales, "Proposal")
    pipeline.edit_stage(
        session, proposal, require=["amount", "close_date", "contact", "budget_ok"], on_enter="3d: chase the proposal"
    )
    won = pipeline.resolve_stage(session, sales, "Won")
    pipeline.edit_stage(session, won, on_enter="30d: check in, ask for a referral")
    deal = deals.add_deal(session, title="Rules", owner="ana")
    with pytest.raises(Invalid, match="needs amount, close_date, contact, budget_ok"):
        deals.move_deal(session, deal, "Proposal")
    assert session.exec(select(StageChange).where(StageChange.deal_id == deal.id)).all()[-1].to_stage == "Lead"
    contacts.add_contact(session, name="Bo", emails=["bo@x.de"])
    deals.edit_deal(
        session, deal, amount="500", close_date="2026-12-01", contact="bo@x.de", custom={"budget_ok": "yes"}
    )
    entered = datetime(2026, 11, 2, 9, tzinfo=UTC)
    deals.move_deal(session, deal, "Proposal", at=entered)
    with pytest.raises(Invalid, match="requires amount"):
        deals.edit_deal(session, deal, amount="")
    deals.win(session, deal, at=entered + timedelta(days=5))
    made = session.exec(select(FollowUp).where(FollowUp.deal_id == deal.id).order_by(FollowUp.due_at)).all()
    assert [(f.note, f.due_at, f.owner, f.origin) for f in made] == [
        ("chase the proposal", entered + timedelta(days=3), "ana", "stage"),
        ("check in, ask for a referral", entered + timedelta(days=35), "ana", "stage"),
    ]
    with pytest.raises(Invalid, match="a deal in Proposal needs"):
        deals.add_deal(session, title="Straight in", stage="Proposal")


def test_list_filters(session) -> None:
    deals.add_deal(session, title="A", amount="300", owner="ana", close_date="2026-12-01", stage="Proposal")
    b = deals.add_deal(session, title="B", amount="100", owner="ben", close_date="2027-02-01")
    c = deals.add_deal(session, title="C", amount="200", owner="ana")
    deals.win(session, b)
    deals.lose(session, c, reason="timing")

    def titles(**kw):
        return [r["title"] for r in deals.list_deals(session, **kw)]

    assert titles() == ["A", "B", "C"]  # by close date, undated last
    assert titles(status="open") == ["A"]
    assert titles(status="won") == ["B"] and titles(status="lost") == ["C"]
    assert titles(owner="ana", sort="-amount") == ["A", "C"]
    assert titles(stage="Proposal") == ["A"]
    assert titles(closing_before="2027-01-01") == ["A"]
    assert titles(where=["owner=ben"]) == ["B"]
    assert titles(limit=1, sort="title") == ["A"]


def test_board_aggregates_in_sql_and_flags_stalled_deals(session) -> None:
    sales = pipeline.get_pipeline(session)
    pipeline.edit_stage(session, pipeline.resolve_stage(session, sales, "Qualified"), rot_days=14)
    old = deals.add_deal(session, title="Old", amount="1000", stage="Qualified", owner="ana")
    fresh = deals.add_deal(session, title="Fresh", amount="3000", stage="Qualified", owner="ben")
    deals.add_deal(session, title="Dollar", amount="50", currency="USD", stage="Qualified", owner="ana")
    deals.add_deal(session, title="Closed", amount="99999", stage="Negotiation")
    deals.win(session, lookup.resolve_deal(session, "Closed"))
    old.stage_entered_at = datetime.now(UTC) - timedelta(days=20)
    session.add(old)
    session.flush()
    board = deals.board(session, per_stage=2)
    qualified = next(s for s in board["stages"] if s["name"] == "Qualified")
    assert [s["name"] for s in board["stages"]] == ["Lead", "Qualified", "Proposal", "Negotiation"]
    assert qualified["count"] == 3 and qualified["stalled"] == 1 and qualified["more"] == 1
    assert {t["currency"]: (t["amount"], t["weighted"]) for t in qualified["totals"]} == {
        "EUR": (Decimal("4000.00"), Decimal("1000.00")),
        "USD": (Decimal("50.00"), Decimal("12.50")),
    }
    assert [d["title"] for d in qualified["deals"]] == ["Fresh", "Old"]
    assert [d["stalled"] for d in qualified["deals"]] == [False, True]
    assert next(s for s in board["stages"] if s["name"] == "Negotiation")["count"] == 0  # won deals leave the board
    mine = deals.board(session, owner="ana")
    assert next(s for s in mine["stages"] if s["name"] == "Qualified")["count"] == 2
    assert fresh.id not in [d["id"] for s in mine["stages"] for d in s["deals"]]


def test_concurrent_moves_leave_a_consistent_history(db_url: str) -> None:
    """Two sessions move the same deal at once: the second waits, and its history row starts
    where the first one ended."""
    with storage.session_scope(db_url, write=True) as s:
        deal_id = deals.add_deal(s, title="Contested", amount="10").id
    engine, _ = storage.open_engine(db_url)
    first = storage.make_session(engine, write=True)
    deals.move_deal(first, lookup.resolve_deal(first, str(deal_id)), "Qualified", by="ana")
    done = threading.Event()
    errors: list[BaseException] = []

    def second_mover() -> None:
        try:
            with storage.session_scope(db_url, write=True) as other:
                deals.move_deal(other, lookup.resolve_deal(other, str(deal_id)), "Proposal", by="ben")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second_mover)
    thread.start()
    assert not done.wait(0.5)
    first.commit()
    first.close()
    thread.join(15)
    assert errors == []
    with storage.session_scope(db_url) as s:
        deal = lookup.resolve_deal(s, str(deal_id))
        rows = deals.history(s, deal)
        assert [(r["from"], r["to"], r["by"]) for r in rows] == [
            (None, "Lead", None),
            ("Lead", "Qualified", "ana"),
            ("Qualified", "Proposal", "ben"),
        ]
        assert pipeline.resolve_stage(s, pipeline.get_pipeline(s), "Proposal").id == deal.stage_id
