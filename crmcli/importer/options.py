"""What every importer is given: the run's options and where it writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from crmcli import fields
from crmcli.normalize import normalize_tag


class Options:
    entity = ""  # contact | company | deal | activity
    entity_fields = ""  # contacts | companies | deals: whose declared custom fields apply
    model: Any = None

    def __init__(
        self,
        session: Session,
        *,
        region: str,
        on_duplicate: str,
        tags: list[str],
        owner: str | None,
        source: str | None,
        dayfirst: bool,
        run_id: int | None,
        now: datetime,
    ) -> None:
        self.session = session
        self.region = region
        self.on_duplicate = on_duplicate
        self.extra_tags = [normalize_tag(t) for t in tags]
        self.owner = owner
        self.source = source
        self.dayfirst = dayfirst
        self.run_id = run_id
        self.now = now
        self.defs = fields.field_defs(session, self.entity_fields) if self.entity_fields else {}
