"""What every importer is given: the run's options and where it writes, and the events it reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crmcli.domain import fields, rules
from crmcli.values.normalize import normalize_tag

Facts = Callable[[frozenset[str]], rules.Facts]  # what the assignment rules look at, given the fields they need


class Options:
    entity = ""  # contact | company | deal | activity | followup
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
        date_order: str | None = None,
        now: datetime,
        strict: bool = False,
        own_export: bool = False,
        lines: bool = False,
        default_owner: str | None = None,
        allow_suppressed: bool = False,
    ) -> None:
        self.session = session
        self.options = {
            "region": region,
            "on_duplicate": on_duplicate,
            "tags": tags,
            "owner": owner,
            "source": source,
            "dayfirst": dayfirst,
            "date_order": date_order,
            "run_id": run_id,
            "now": now,
            "strict": strict,
            "own_export": own_export,
            "lines": lines,
            "default_owner": default_owner,
            "allow_suppressed": allow_suppressed,
        }
        self.region = region
        self.on_duplicate = on_duplicate
        self.extra_tags = [normalize_tag(t) for t in tags]
        self.owner = owner
        self.source = source
        self.dayfirst = dayfirst
        self.date_order = date_order or ("dmy" if dayfirst else "mdy")  # how 1/2/2027 reads
        self.run_id = run_id
        self.now = now
        self.strict = strict
        self.own_export = own_export  # the file is crm's own export: its ids are crm ids
        self.lines = lines  # several values of a cell are one a line (vCard), never split at ; or ,
        self.allow_suppressed = allow_suppressed  # take emails and phones of people erased on request
        self.default_owner = default_owner  # for new records that name no owner: owner_of_new
        self.defs = fields.field_defs(session, self.entity_fields) if self.entity_fields else {}
        self.events: list[tuple[Any, ...]] = []
        self._assigners: dict[str, rules.Assigner] = {}

    def owner_of_new(
        self,
        owner: str | None,
        source_id: str | None = None,
        facts: Facts | None = None,
        entity: str | None = None,
    ) -> str | None:
        """The owner a record this import creates gets: its own, else the import's default (the
        user importing, when neither the file nor --owner names one). Records that exist keep
        theirs, and a record of crm's own export (SOURCE_ID) comes back as it was exported. Where
        the default would apply, the first assignment rule of ENTITY (default: this import's kind)
        that the record matches (FACTS builds what the rules look at) gives the owner instead."""
        return self.owners_of_new([(owner, source_id, facts)], entity)[0]

    def owners_of_new(
        self,
        items: Sequence[tuple[str | None, str | None, Facts | None]],
        entity: str | None = None,
        default: bool = True,
    ) -> list[str | None]:
        """owner_of_new of each of ITEMS (owner, source_id, facts) at once: the rules are read once
        per import and a round robin takes the batch's turns in one UPDATE. DEFAULT false: a record
        no rule matches gets no owner (instead of the import's default)."""
        out: list[str | None] = []
        ruled: list[tuple[int, Facts]] = []
        for i, (owner, source_id, facts) in enumerate(items):
            if owner or source_id or self.default_owner is None:
                out.append(owner or None)  # the file or --owner decides (an empty cell too)
                continue
            out.append(self.default_owner if default else None)
            if facts is not None:
                ruled.append((i, facts))
        assigner = self.assigner(entity or self.entity_fields) if ruled else None
        if assigner:
            found = assigner.deal_out([facts(assigner.needs) for _, facts in ruled])
            for (i, _), owner in zip(ruled, found, strict=True):
                if owner:
                    out[i] = owner
        return out

    def assigner(self, entity: str) -> rules.Assigner:
        """ENTITY's assignment rules, read once per import."""
        if entity not in self._assigners:
            self._assigners[entity] = rules.Assigner(self.session, entity)
        return self._assigners[entity]

    def event(
        self,
        row: int | None,
        what: str,
        record: Any,
        field: str = "",
        value: Any = "",
        reason: str = "",
        other: Any = None,
    ) -> None:
        """A line of the import report. RECORD and OTHER are records (or import states) whose ids
        may be known only once the batch is written: they are read when the events are drained.
        REASON may name OTHER as '{other}'."""
        self.events.append((row, what, record, field, value, reason, other, self.entity))

    def drain(self) -> list[dict[str, Any]]:
        """The events so far, with record ids as written, and forget them."""
        out = []
        for row, what, record, field, value, reason, other, entity in self.events:
            if other is not None:
                reason = reason.replace("{other}", label(other, entity))
            out.append(
                {
                    "row": row,
                    "event": what,
                    "record": label(record, entity) if record is not None else "",
                    "field": field,
                    "value": value,
                    "reason": reason,
                }
            )
        self.events.clear()
        return out


def label(record: Any, entity: str) -> str:
    """'#12 Anna Müller' for a record, an import state or an id."""
    if isinstance(record, str):
        return record
    if isinstance(record, int):
        return f"#{record}"
    rid = getattr(record, "id", None)
    values = getattr(record, "values", None)
    name = (
        values.get("name")
        if isinstance(values, dict)
        else getattr(record, "name", None) or getattr(record, "title", None)
    )
    return f"#{rid} {name}" if name else f"#{rid}"
