"""Pipelines and stages: the default process, stage editing, rules and removal."""

from __future__ import annotations

import pytest

from crmcli.domain import deals, pipeline
from crmcli.errors import Conflict, Invalid, NotFound


def names(session, p=None):
    return [s.name for s in pipeline.stages(session, p or pipeline.get_pipeline(session))]


def test_fresh_database_has_the_default_sales_pipeline(session) -> None:
    sales = pipeline.get_pipeline(session)
    rows = pipeline.stage_table(session, sales)
    assert sales.name == "Sales"
    assert [(r["name"], r["probability"], r["kind"]) for r in rows] == [
        ("Lead", 10, "open"), ("Qualified", 25, "open"), ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"), ("Won", 100, "won"), ("Lost", 0, "lost"),
    ]  # fmt: skip


def test_add_edit_rename_and_move_stages(session) -> None:
    sales = pipeline.get_pipeline(session, "sales")
    demo = pipeline.add_stage(session, sales, name="Demo", probability=40, rot_days=14, after="Qualified")
    assert names(session) == ["Lead", "Qualified", "Demo", "Proposal", "Negotiation", "Won", "Lost"]
    pipeline.add_stage(session, sales, name="Discovery", probability=15)  # default: after the last open stage
    assert names(session)[4:] == ["Negotiation", "Discovery", "Won", "Lost"]
    pipeline.move_stage(session, pipeline.resolve_stage(session, sales, "discovery"), after="Lead")
    pipeline.move_stage(session, demo, after="start")
    assert names(session) == ["Demo", "Lead", "Discovery", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    pipeline.rename_stage(session, demo, "Intro demo")
    pipeline.edit_stage(
        session, demo, probability=30, rot_days=0, require=["amount", "Close Date"], on_enter="2w:  send recap "
    )
    assert (demo.name, demo.probability, demo.rot_days, demo.required, demo.on_enter) == (
        "Intro demo",
        30,
        None,
        ["amount", "close_date"],
        "2w: send recap",
    )
    with pytest.raises(Conflict):
        pipeline.add_stage(session, sales, name="lead", probability=5)
    with pytest.raises(Invalid, match="between 0 and 100"):
        pipeline.edit_stage(session, demo, probability=120)
    with pytest.raises(Invalid, match="cannot require shoe_size"):
        pipeline.edit_stage(session, demo, require=["shoe size"])
    with pytest.raises(Invalid, match="DELAY: NOTE"):
        pipeline.edit_stage(session, demo, on_enter="chase soon")
    with pytest.raises(NotFound, match="no stage 'Nope'"):
        pipeline.resolve_stage(session, sales, "Nope")


def test_remove_stage_needs_a_target_for_its_deals(session) -> None:
    sales = pipeline.get_pipeline(session)
    deal = deals.add_deal(session, title="Sitting", amount="100", stage="Proposal")
    proposal = pipeline.resolve_stage(session, sales, "Proposal")
    with pytest.raises(Conflict, match="1 deal sit in Proposal"):
        pipeline.remove_stage(session, proposal)
    with pytest.raises(Conflict, match="1 deal sit in Proposal"):
        deals.remove_stage(session, proposal)  # the deals must go somewhere
    assert deals.remove_stage(session, proposal, move_deals_to="Negotiation", by="ana") == 1
    assert "Proposal" not in names(session)
    history = deals.history(session, deal)
    assert [(h["from"], h["to"]) for h in history] == [(None, "Proposal"), ("Proposal", "Negotiation")]
    with pytest.raises(Conflict, match="only won stage"):
        pipeline.remove_stage(session, pipeline.resolve_stage(session, sales, "Won"))


def test_more_pipelines(session) -> None:
    sales = pipeline.get_pipeline(session)
    pipeline.edit_stage(session, pipeline.resolve_stage(session, sales, "Proposal"), require=["amount"])
    renewals = pipeline.add_pipeline(session, name="Renewals", copy_from="Sales")
    partners = pipeline.add_pipeline(session, name="Partners")
    assert names(session, renewals) == names(session, sales)
    assert pipeline.resolve_stage(session, renewals, "Proposal").required == ["amount"]
    assert names(session, partners) == ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    assert [p["name"] for p in pipeline.list_pipelines(session)] == ["Sales", "Renewals", "Partners"]
    with pytest.raises(Conflict):
        pipeline.add_pipeline(session, name="renewals")
    deal = deals.add_deal(session, title="Renew Acme", pipeline="Renewals", amount="10")
    assert deals.list_deals(session, pipeline="Renewals")[0]["id"] == deal.id
    assert deals.list_deals(session, pipeline="Sales") == []
