"""Follow-up reminders on contacts, companies and deals.

(Core of the follow-up issue; the pipeline's stage rules call add_followup.)
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from crmcli import clock
from crmcli.errors import Invalid
from crmcli.models import Company, Contact, Deal, FollowUp
from crmcli.normalize import optional_text


def add_followup(
    session: Session,
    *,
    due_at: datetime,
    note: str | None = None,
    owner: str | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
    every: str | None = None,
    from_done: bool = False,
    origin: str = "manual",
) -> FollowUp:
    """A reminder due at DUE_AT (aware) on a contact, company or deal."""
    if contact is None and company is None and deal is None:
        raise Invalid("a follow-up needs a contact, a company or a deal")
    now = clock.now()
    followup = FollowUp(
        uid=f"{uuid.uuid4()}@crmcli",
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        deal_id=deal.id if deal else None,
        due_at=clock.as_utc(due_at),
        note=optional_text(note),
        owner=optional_text(owner),
        every=every,
        from_done=from_done,
        origin=origin,
        created_at=now,
        updated_at=now,
    )
    session.add(followup)
    session.flush()
    return followup
