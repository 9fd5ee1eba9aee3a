"""The hand-built KPI fixture: sixteen deals, seven contacts, ten activities and nine follow-ups
with known dates, moves and amounts. "Now" is Friday 2026-11-20 12:00 UTC (TZ=UTC): the period
is November 2026 (65 % elapsed), the previous one October.

Every deal moves at 10:00 UTC unless said otherwise. Stages of Sales: Lead 10 %, Qualified 25 %,
Proposal 50 % (rot 14 days), Negotiation 75 %, Won, Lost; open stages rot after 30 days.

 #  deal     pipeline  owner  amount        company   created  moves
 1  Alpha    Sales     ana    10,000 EUR    Acme      Oct 1    Qualified Oct 5, Proposal Oct 10, Won Nov 3
 2  Beta     Sales     ben    20,000 EUR    Globex    Oct 20   Qualified Nov 2, Proposal Nov 4, Negotiation Nov 6,
                                                               Won Nov 10
 3  Gamma    Sales     ana     5,000 EUR    Acme      Nov 1    Won Nov 11 (straight from Lead)
 4  Delta    Sales     ben     8,000 USD    Globex    Sep 1    Qualified Sep 10, Won Oct 15
 5  Epsilon  Sales     ana     7,000 EUR    -         Oct 2    Lost Oct 20 (price)
 6  Zeta     Sales     ben     3,000 EUR    -         Oct 15   Qualified Oct 25, Lost Nov 5 (price)
 7  Eta      Sales     ana     4,000 EUR    -         Oct 10   Proposal Oct 12, Lost Nov 7 (timing), reopened Nov 12
                                                               (back to Proposal; open); close Dec 15
 8  Theta    Sales     ben    12,000 EUR    -         Nov 5    Qualified Nov 6, Proposal Nov 8, back to Qualified
                                                               Nov 9 (moved backwards; open, no close date)
 9  Iota     Sales     ana    50,000 EUR    -         Aug 1    Qualified Aug 5 (open, stalled); close Nov 25
10  Kappa    Sales     ben    30,000 EUR    -         Nov 12   (open in Lead); close Nov 28
11  Lambda   Sales     ana    no amount     -         Nov 14   Lost Nov 15 (no reason)
12  Mu       Sales     ana     6,000 EUR    Initech   Oct 3    Demo Oct 8, Proposal Oct 20, Won Nov 15; the stage
                                                               Demo (after Qualified) is removed after Oct 20
13  Nu       Sales     ben     9,000.50 USD Globex    Oct 25   Won Nov 18
14  Xi       Renewals  mei     1,000 EUR    -         Nov 2    Won Nov 16
15  Omicron  Sales     ana     2,000 EUR    Old Co    2025-01-10  Won 2025-02-01
16  Pi       Sales     ben     1,500 EUR    Umbrella  2026-04-01  Won 2026-05-01
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

NOW = "2026-11-20T12:00:00+00:00"


def at(text: str) -> datetime:
    """'2026-11-03' (10:00 UTC) or '2026-11-03 17:00' as aware UTC."""
    if len(text) == 10:
        text += " 10:00"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def build(session: Any, monkeypatch: Any) -> dict[str, int]:
    """Write the fixture through the domain API; returns deal ids by name."""
    from crmcli.domain import activities, companies, contacts, deals, followups, pipeline

    sales = pipeline.get_pipeline(session)
    for name in ("Lead", "Qualified", "Negotiation"):
        pipeline.edit_stage(session, pipeline.resolve_stage(session, sales, name), rot_days=30)
    pipeline.edit_stage(session, pipeline.resolve_stage(session, sales, "Proposal"), rot_days=14)
    pipeline.add_pipeline(session, name="Renewals")

    firms = {}
    for name, created in (
        ("Acme", "2026-11-05"),
        ("Globex", "2026-10-20"),
        ("Initech", "2026-09-01"),
        ("Old Co", "2025-01-01"),
        ("Umbrella", "2026-03-01"),
    ):
        firms[name] = companies.add_company(session, name=name)
        firms[name].created_at = at(created)
        session.add(firms[name])

    ids: dict[str, int] = {}

    def deal(
        title: str,
        owner: str,
        amount: str | None,
        created: str,
        currency: str = "EUR",
        company: str | None = None,
        close: str | None = None,
        pipe: str | None = None,
    ):
        d = deals.add_deal(
            session,
            title=title,
            owner=owner,
            amount=amount,
            currency=currency,
            created_at=at(created),
            by=owner,
            company=str(firms[company].id) if company else None,
            close_date=close,
            pipeline=pipe,
        )
        ids[title] = d.id
        return d

    def move(d, stage: str, when: str) -> None:
        deals.move_deal(session, d, stage, by=d.owner, at=at(when), check_rules=False)

    a = deal("Alpha", "ana", "10000", "2026-10-01", company="Acme")
    move(a, "Qualified", "2026-10-05")
    move(a, "Proposal", "2026-10-10")
    deals.win(session, a, at=at("2026-11-03"))
    b = deal("Beta", "ben", "20000", "2026-10-20", company="Globex")
    for stage, when in (("Qualified", "2026-11-02"), ("Proposal", "2026-11-04"), ("Negotiation", "2026-11-06")):
        move(b, stage, when)
    deals.win(session, b, at=at("2026-11-10"))
    activities.log_activity(session, type="meeting", text="Kick-off", deal=b, at=at("2026-11-08"), by="ben")
    g = deal("Gamma", "ana", "5000", "2026-11-01", company="Acme")
    deals.win(session, g, at=at("2026-11-11"))
    d = deal("Delta", "ben", "8000", "2026-09-01", currency="USD", company="Globex")
    move(d, "Qualified", "2026-09-10")
    deals.win(session, d, at=at("2026-10-15"))
    e = deal("Epsilon", "ana", "7000", "2026-10-02")
    deals.lose(session, e, reason="price", at=at("2026-10-20"))
    z = deal("Zeta", "ben", "3000", "2026-10-15")
    move(z, "Qualified", "2026-10-25")
    deals.lose(session, z, reason="price", at=at("2026-11-05"))
    eta = deal("Eta", "ana", "4000", "2026-10-10", close="2026-12-15")
    move(eta, "Proposal", "2026-10-12")
    deals.lose(session, eta, reason="timing", at=at("2026-11-07"))
    monkeypatch.setenv("CRM_NOW", "2026-11-12T10:00:00+00:00")
    deals.reopen(session, eta, by="ana")  # back to Proposal, the stage it left
    monkeypatch.setenv("CRM_NOW", NOW)
    th = deal("Theta", "ben", "12000", "2026-11-05")
    move(th, "Qualified", "2026-11-06")
    move(th, "Proposal", "2026-11-08")
    move(th, "Qualified", "2026-11-09")
    i = deal("Iota", "ana", "50000", "2026-08-01", close="2026-11-25")
    move(i, "Qualified", "2026-08-05")
    deal("Kappa", "ben", "30000", "2026-11-12", close="2026-11-28")
    lam = deal("Lambda", "ana", None, "2026-11-14")
    deals.lose(session, lam, at=at("2026-11-15"))
    mu = deal("Mu", "ana", "6000", "2026-10-03", company="Initech")
    demo = pipeline.add_stage(session, sales, name="Demo", probability=40, after="Qualified")
    move(mu, "Demo", "2026-10-08")
    move(mu, "Proposal", "2026-10-20")
    pipeline.remove_stage(session, demo)
    deals.win(session, mu, at=at("2026-11-15"))
    nu = deal("Nu", "ben", "9000.50", "2026-10-25", currency="USD", company="Globex")
    deals.win(session, nu, at=at("2026-11-18"))
    xi = deal("Xi", "mei", "1000", "2026-11-02", pipe="Renewals")
    deals.win(session, xi, at=at("2026-11-16"))
    om = deal("Omicron", "ana", "2000", "2025-01-10", company="Old Co")
    deals.win(session, om, at=at("2025-02-01"))
    pi = deal("Pi", "ben", "1500", "2026-04-01", company="Umbrella")
    deals.win(session, pi, at=at("2026-05-01"))

    people = {}
    for name, owner, created in (
        ("Anna", "ana", "2026-11-02 09:00"),
        ("Bert", "ben", "2026-11-03 08:00"),
        ("Cleo", "ana", "2026-11-10 12:00"),
        ("Dan", "ben", "2026-11-12 00:00"),
        ("Eve", "ana", "2026-10-05 10:00"),
        ("Finn", "ben", "2026-10-10 10:00"),
        ("Gus", "mei", "2026-09-01 10:00"),
    ):
        c = contacts.add_contact(session, name=name, owner=owner)
        c.created_at = c.updated_at = at(created)
        session.add(c)
        people[name] = c
    session.flush()
    for who, when, by in (
        ("Anna", "2026-11-01 10:00", "ana"),  # logged before Anna was created: not her first
        ("Anna", "2026-11-02 11:00", "ana"),
        ("Anna", "2026-11-10 09:00", "ana"),
        ("Bert", "2026-11-04 08:00", "ben"),
        ("Cleo", "2026-11-10 18:00", "ana"),
        ("Eve", "2026-10-06 10:00", "ana"),
        ("Eve", "2026-10-20 10:00", "ben"),
        ("Finn", "2026-10-12 10:00", "ben"),
        ("Gus", "2026-11-15 10:00", "mei"),
    ):
        activities.log_activity(session, type="call", text="Talked", contact=people[who], at=at(when), by=by)

    for due, done, owner in (
        ("2026-11-03 09:00", "2026-11-03 17:00", "ana"),  # on time
        ("2026-11-05 09:00", "2026-11-06 08:00", "ben"),  # late: the next day
        ("2026-11-10 09:00", None, "ana"),  # overdue
        ("2026-11-20 09:00", None, "ben"),  # due today: not overdue yet
        ("2026-11-25 09:00", None, "ana"),  # upcoming
        ("2026-11-19 23:30", "2026-11-19 23:59", "ana"),  # on time, just
        ("2026-10-20 09:00", "2026-10-22 09:00", "ben"),  # October: late
        ("2026-10-28 09:00", "2026-10-28 10:00", "ana"),  # October: on time
        ("2026-10-30 09:00", None, "ben"),
    ):
        f = followups.add_followup(session, due_at=at(due), note="Call back", owner=owner, contact=people["Anna"])
        if done:
            f.done_at = at(done)
            session.add(f)
    session.flush()
    return ids
