"""Companies, deals, activities and follow-ups: fewer rows than contacts, so each goes through
the domain functions (the same rules as `crm companies add`, `crm deals add`, `crm log`,
`crm followups add`), in batches.

As for contacts, a value that cannot be used is left out of the record and reported, and a row
is rejected only when nothing of it can be stored: a company needs a name (or a domain or phone
to be named after), a deal a title, an activity its text, date and someone to be logged on, a
follow-up its due time and subject. Reference columns (Salesforce ACCOUNTID, crm's own
company_id …) link a record to the one imported earlier with that id (find_refs).
"""

from __future__ import annotations

from datetime import datetime, time
from functools import partial
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from crmcli.domain import activities, companies, deals, indexing, lookup, pipeline, rules
from crmcli.errors import CrmError, Invalid
from crmcli.importer import values
from crmcli.importer.cleaning import ADDRESS, custom_pairs, first_ref
from crmcli.importer.options import Options
from crmcli.models import Activity, Company, Contact, ContactEmail, Deal, FollowUp, ImportChange, ImportRun
from crmcli.values import clock, fieldtypes
from crmcli.values.normalize import clean_text, company_key, name_key, normalize_tag

_WON = {"won", "closedwon", "gewonnen", "signed", "gagne", "ganado", "赢单", "成交"}
_LOST = {"lost", "closedlost", "verloren", "perdu", "perdido", "输单", "丢单"}
_TRUE = {"true", "yes", "y", "1", "x", "ja", "oui", "si", "sí", "是"}
# Standard stages of other CRMs, by the name of the default pipeline's stage they mean.
_STAGE_SYNONYMS = {
    "lead": {"appointmentscheduled", "prospecting", "new", "newlead", "lead"},
    "qualified": {"qualifiedtobuy", "qualification", "needsanalysis", "qualified", "contactmade"},
    "proposal": {
        "presentationscheduled",
        "valueproposition",
        "proposalpricequote",
        "proposal",
        "proposalmade",
        "iddecisionmakers",
        "perceptionanalysis",
    },
    "negotiation": {"decisionmakerboughtin", "contractsent", "negotiationreview", "negotiation", "negotiationsstarted"},
}
_TYPES = {
    "call": "call",
    "phone": "call",
    "phonecall": "call",
    "anruf": "call",
    "电话": "call",
    "email": "email",
    "mail": "email",
    "e-mail": "email",
    "邮件": "email",
    "meeting": "meeting",
    "meet": "meeting",
    "termin": "meeting",
    "会议": "meeting",
    "note": "note",
    "notiz": "note",
    "task": "note",
    "备注": "note",
}
MODELS = {"contact": Contact, "company": Company, "deal": Deal}


def find_refs(
    session: Session, entity: str, refs: list[str], *, own_export: bool, imported_only: bool = False
) -> dict[str, int]:
    """The records that REFS (ids in a source system) name: a record imported from a row with
    that id (ImportChange.source_id, newest import first, undone ones left out), or a record
    whose external id it is. For crm's own exports the ids are crm ids, so the rows imported
    earlier come first; for other systems' files the external id does."""
    model = MODELS[entity]
    imported: dict[str, int] = {}
    external: dict[str, int] = {}
    for chunk in (refs[i : i + 500] for i in range(0, len(refs), 500)):
        query = (
            select(ImportChange.source_id, ImportChange.record_id)
            .join(ImportRun, ImportRun.id == ImportChange.import_id)
            .join(model, model.id == ImportChange.record_id)
            .where(ImportChange.entity == entity, ImportChange.source_id.in_(chunk), ImportRun.status != "undone")
            .order_by(ImportChange.id.desc())
        )
        for ref, rid in session.execute(query):
            imported.setdefault(ref, rid)
        if imported_only:
            continue
        for ref, rid in session.execute(
            select(model.external_id, model.id).where(model.external_id.in_(chunk)).order_by(model.id)
        ):
            external.setdefault(ref, rid)
    first, second = (imported, external) if own_export else (external, imported)
    return {**second, **first}


def truthy(text: str) -> bool:
    return text.strip().casefold() in _TRUE


class _Base(Options):
    @staticmethod
    def one(cells: dict[str, list[Any]], key: str) -> str:
        return " ".join(t for t in (values.text(v) for v in cells.get(key, [])) if t)

    def attempt(self, dropped: list[Any], key: str, raw: Any, convert: Any) -> Any:
        """CONVERT(RAW), or None with the value noted as dropped."""
        try:
            return convert(raw)
        except Invalid as exc:
            dropped.append((key, values.text(raw), str(exc)))
            return None

    def custom(self, cells: dict[str, list[Any]], dropped: list[Any]) -> dict[str, Any]:
        """Custom-field values as their declared types store them; a value its type refuses is dropped."""
        out: dict[str, Any] = {}
        for key, kind, choices, raw in custom_pairs(cells.get("custom_pairs", [])):
            definition = self.defs.get(key)
            if definition is None and kind:
                from types import SimpleNamespace

                definition = SimpleNamespace(type=kind, choices=choices)
            value = self.attempt(dropped, f"custom.{key}", raw, partial(fieldtypes.coerce, definition, key))
            if value is not None:
                out[key] = value
        for key in cells:
            if key.startswith("custom."):
                name = key[7:]
                definition = self.defs.get(name)
                cell = cells[key]
                if definition is not None and definition.type == "date" and len(cell) == 1:
                    raw = values.text(values.as_date(cell[0]))
                else:
                    raw = self.one(cells, key)
                if raw:
                    value = self.attempt(dropped, key, raw, partial(fieldtypes.coerce, definition, name))
                    if value is not None:
                        out[name] = value
        return out

    def moment(self, cells: dict[str, list[Any]], key: str, dropped: list[Any]) -> datetime | None:
        if not self.one(cells, key):
            return None
        return self.attempt(dropped, key, cells[key][0], lambda v: values.moment(v, order=self.date_order))

    def finish(self, row: dict[str, Any]) -> dict[str, Any]:
        """--strict: a row that would lose a value is rejected instead."""
        if row["dropped"] and self.strict:
            raise Invalid("; ".join(reason for _, _, reason in row["dropped"]))
        return row

    def record(
        self, record_id: int, action: str, row: int, before: dict[str, Any] | None = None, source_id: Any = None
    ) -> None:
        if self.run_id is None:
            return
        self.session.flush()
        self.session.execute(
            insert(ImportChange.__table__),
            [
                {
                    "import_id": self.run_id,
                    "entity": self.entity,
                    "record_id": record_id,
                    "action": action,
                    "row": row,
                    "before": before,
                    "after_updated_at": self.now,
                    "source_id": source_id,
                }
            ],
        )

    def process(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "merged": 0, "skipped": 0}
        for row in rows:
            for key, value, reason in row.get("dropped", ()):
                self.event(row["row"], "value dropped", None, key, value, reason)
            counts[self.one_row(row)] += 1
        return counts

    def one_row(self, row: dict[str, Any]) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def outcome(self, row: dict[str, Any], action: str, record: Any, differing: list[tuple[str, Any, Any]]) -> str:
        """Report what became of a row that matched RECORD."""
        label = {"updated": "updated", "merged": "merged into", "skipped": "skipped"}[action]
        self.event(row["row"], label, record, "", "", "identical to what is stored" if action == "skipped" else "")
        for key, value, stored in differing:
            self.event(row["row"], "value not taken", record, key, values.text(value), f"the record keeps '{stored}'")
        return action


def _custom_changes(
    stored: dict[str, Any] | None, incoming: dict[str, Any], overwrite: bool, differing: list[Any]
) -> dict[str, Any]:
    """The custom values a row sets (empty ones, or all when OVERWRITE); the others it would change
    go to DIFFERING as (custom.KEY, the row's value, the stored one)."""
    out: dict[str, Any] = {}
    for key, value in incoming.items():
        current = (stored or {}).get(key)
        if current == value:
            continue
        if overwrite or current in (None, ""):
            out[key] = value
        else:
            differing.append((f"custom.{key}", value, current))
    return out


def _address(row: dict[str, Any]) -> dict[str, Any]:
    """The row's address as the domain functions take it (region is `state` there: `region` is
    the country phones are read for)."""
    return {"street": row["street"], "city": row["city"], "state": row["region"], "postcode": row["postcode"],
            "country": row["country"]}  # fmt: skip


def _snapshot(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = getattr(obj, key)
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _differences(
    record: Any, row: dict[str, Any], keys: tuple[str, ...], overwrite: bool
) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """The changes ROW makes to RECORD (empty fields filled; all of them when OVERWRITE), and the
    row's values that differ from what the record keeps."""
    changes: dict[str, Any] = {}
    differing = []
    for key in keys:
        value, stored = row.get(key), getattr(record, key)
        if value in (None, "") or value == stored:
            continue
        if overwrite or stored in (None, ""):
            changes[key] = value
        else:
            differing.append((key, value, stored))
    return changes, differing


def _company_facts(row: dict[str, Any], needs: frozenset[str]) -> rules.Facts:
    """What the companies' assignment rules look at in ROW's new company."""
    return rules.Facts(country=row["country"], phones=[row["phone"]] if row["phone"] else [],
                       industry=row["industry"], source=row["source"], tags=row["tags"])  # fmt: skip


def _nothing_known(needs: frozenset[str]) -> rules.Facts:
    """A company made of a name alone (a deal's): only a catch-all rule can match it."""
    return rules.Facts()


class CompanyImport(_Base):
    entity = "company"
    entity_fields = "companies"
    FIELDS = ("domain", "website", "phone", "owner", "source", "notes", *ADDRESS, "industry")
    KEYS = ("name", *FIELDS, "external_id", "custom", "updated_at")

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(session, **kw)
        self.by_ext: dict[str, list[int]] = {}
        self.by_domain: dict[str, list[int]] = {}
        self.by_key: dict[str, list[int]] = {}
        self.by_source: dict[str, int] = {}
        self.last_id: int | None = None
        for cid, name, domain, ext in session.execute(
            select(Company.id, Company.name, Company.domain, Company.external_id).order_by(Company.id)
        ):
            self._index(cid, name, domain, ext)

    def _index(self, cid: int, name: str, domain: str | None, ext: str | None) -> None:
        for index, key in ((self.by_key, company_key(name)), (self.by_domain, domain), (self.by_ext, ext)):
            if key:
                found = index.setdefault(key, [])
                if cid not in found:
                    found.append(cid)

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        dropped: list[Any] = []
        domain = self.attempt(dropped, "domain", self.one(cells, "domain"), lookup.normalize_domain)
        website = (
            self.attempt(dropped, "website", self.one(cells, "website"), values.website)
            if self.one(cells, "website")
            else None
        )
        phone = None
        for cell in cells.get("phone", []):
            parts = [cell] if isinstance(cell, (int, float)) and not isinstance(cell, bool) else values.split(cell)
            for part in parts:
                found = self.attempt(dropped, "phone", part, lambda p: values.phone(p, self.region))
                if found and phone is None:
                    phone = found
                elif found and found != phone:
                    dropped.append(("phone", found, "a company keeps one phone"))
        name = clean_text(self.one(cells, "name"))
        filled = []
        if not name:
            if not (domain or website or phone):
                reasons = [r for _, _, r in dropped]
                raise Invalid("; ".join(["nothing identifies a company: no name, domain or phone", *reasons]))
            name = domain or (website or "").split("://", 1)[-1].split("/", 1)[0] or phone or ""
            filled.append(("name", name, "no name in the row: named after its domain or phone"))
        address = {key: clean_text(", ".join(values.text(c) for c in cells.get(key, ()))) or None for key in ADDRESS}
        if not address["street"] and self.one(cells, "address"):
            address["street"] = values.multiline(" ".join(values.text(c) for c in cells["address"]))
        row = {
            "row": number,
            "name": name,
            "domain": domain or (lookup.normalize_domain(website) if website else None),
            "website": website,
            "phone": phone,
            "tags": [*[normalize_tag(t) for c in cells.get("tags", []) for t in values.split(c)], *self.extra_tags],
            "owner": clean_text(self.one(cells, "owner")) or self.owner,
            "source": clean_text(self.one(cells, "source")) or self.source,
            "notes": "\n".join(values.text_lines(c) for c in cells.get("notes", [])) or None,
            "created_at": self.moment(cells, "created_at", dropped),
            "external_id": clean_text(self.one(cells, "external_id")) or None,
            "source_id": clean_text(self.one(cells, "source_id")) or None,
            "industry": clean_text(self.one(cells, "industry")) or None,
            **address,
            "custom": self.custom(cells, dropped),
            "dropped": dropped,
        }
        for key, value, reason in filled:
            self.event(number, "value filled", None, key, value, reason)
        return self.finish(row)

    def decide(self, row: dict[str, Any]) -> tuple[Company | None, list[tuple[Company, str]]]:
        from crmcli.values.matching import CompanyIdentity, company_verdict

        candidates: list[int] = []
        if row.get("source_id") and row["source_id"] in self.by_source:
            candidates.append(self.by_source[row["source_id"]])
        for index, key in (
            (self.by_ext, row["external_id"]),
            (self.by_domain, row["domain"]),
            (self.by_key, company_key(row["name"])),
        ):
            candidates.extend(c for c in index.get(key or "", []) if c not in candidates)
        mine = CompanyIdentity(
            name=row["name"], domain=row["domain"], phone=row["phone"], external_id=row["external_id"],
            source=row["source"],
        )  # fmt: skip
        possible: list[tuple[Company, str]] = []
        for cid in candidates:
            company = self.session.get(Company, cid)
            if company is None:
                continue
            theirs = CompanyIdentity(
                name=company.name, domain=company.domain, phone=company.phone, external_id=company.external_id,
                source=company.source,
            )  # fmt: skip
            found = company_verdict(mine, theirs)
            if found.kind == "different":
                continue
            claimed = self.claimed.get(cid)
            if row.get("source_id") and claimed and row["source_id"] not in claimed:
                possible.append((company, f"{found.reason}; another record in the file"))
                continue
            if found.kind == "same":
                return company, possible
            possible.append((company, found.reason))
        return None, possible

    @property
    def claimed(self) -> dict[int, set[str]]:
        """The file's row ids (crm's own exports) that became each company."""
        if not hasattr(self, "_claimed"):
            self._claimed: dict[int, set[str]] = {}
        return self._claimed

    def _claim(self, cid: int, row: dict[str, Any]) -> None:
        if row.get("source_id"):
            self.claimed.setdefault(cid, set()).add(row["source_id"])
            self.by_source.setdefault(row["source_id"], cid)

    def one_row(self, row: dict[str, Any]) -> str:
        found, possible = self.decide(row)
        if found is not None and self.on_duplicate == "create":
            possible.insert(0, (found, "the same company by this file's evidence; created anyway"))
            found = None
        if found is not None:
            self.last_id = found.id
            self._claim(found.id, row)  # type: ignore[arg-type]
            for other, why in possible:
                self.event(row["row"], "possible duplicate", found, "", "", f"of {{other}}: {why}", other)
            if self.on_duplicate == "skip":
                self.event(row["row"], "skipped", found, "", "", "matches it; left as it is (duplicates skipped)")
                return "skipped"
            return self._update(found, row)
        company = companies.add_company(
            self.session,
            name=row["name"],
            domain=row["domain"],
            phone=row["phone"],
            website=row["website"],
            tags=row["tags"],
            owner=self.owner_of_new(row["owner"], facts=partial(_company_facts, row)) or "",  # "": no rules again
            source=row["source"],
            notes=None,
            custom=None,
            region=self.region,
            **_address(row),
            industry=row["industry"],
        )
        company.notes = row["notes"]  # as written, line breaks and all
        company.custom = dict(sorted(row["custom"].items()))
        company.external_id = row["external_id"]
        if row["created_at"]:
            company.created_at = row["created_at"]
        company.updated_at = self.now
        assert company.id is not None
        indexing.reindex_company(self.session, company)
        self._index(company.id, company.name, company.domain, company.external_id)
        self._claim(company.id, row)
        self.last_id = company.id
        for other, why in possible:
            self.event(row["row"], "possible duplicate", company, "", "", f"of {{other}}: {why}", other)
        self.record(company.id, "created", row["row"], source_id=row.get("source_id"))
        return "created"

    def _update(self, company: Company, row: dict[str, Any]) -> str:
        from crmcli.domain.tags import tags_of
        from crmcli.models import CompanyTag

        overwrite = self.on_duplicate == "update"
        before = _snapshot(company, self.KEYS)
        changes, differing = _differences(company, row, self.FIELDS, overwrite)
        if row["name"] != company.name and company_key(row["name"]) != company_key(company.name):
            if overwrite:
                changes["name"] = row["name"]
            else:
                differing.append(("name", row["name"], company.name))
        custom = _custom_changes(company.custom, row["custom"], overwrite, differing)
        assert company.id is not None
        current = tags_of(self.session, CompanyTag, "company_id", [company.id]).get(company.id, [])
        new_tags = [t for t in row["tags"] if t not in current]
        new_ext = bool(row["external_id"] and not company.external_id)
        if not changes and not custom and not new_tags and not new_ext:
            return self.outcome(row, "merged" if differing else "skipped", company, differing)
        before["tags"] = current
        notes = changes.pop("notes", None)
        if "region" in changes:
            changes["state"] = changes.pop("region")  # the domain's name for the address's region
        companies.edit_company(self.session, company, **changes, add_tags=new_tags, region=self.region)
        if notes is not None:
            company.notes = notes
        if custom:
            company.custom = dict(sorted({**(company.custom or {}), **custom}.items()))
        if new_ext:
            company.external_id = row["external_id"]
        company.updated_at = self.now
        indexing.reindex_company(self.session, company)
        self._index(company.id, company.name, company.domain, company.external_id)
        action = "updated" if overwrite else "merged"
        self.record(company.id, action, row["row"], before, source_id=row.get("source_id"))
        return self.outcome(row, action, company, differing)


class DealImport(_Base):
    entity = "deal"
    entity_fields = "deals"
    KEYS = (
        "title",
        "amount_minor",
        "currency",
        "close_date",
        "contact_id",
        "company_id",
        "owner",
        "source",
        "notes",
        "external_id",
        "custom",
        "updated_at",
    )

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(session, **kw)
        self.by_ext: dict[str, int] = {}
        self.by_title: dict[tuple[str, int | None], list[int]] = {}
        self.by_source: dict[str, int] = {}
        self.claimed: dict[int, set[str]] = {}
        for did, title_key, company_id, ext in session.execute(
            select(Deal.id, Deal.title_key, Deal.company_id, Deal.external_id).order_by(Deal.id)
        ):
            self.by_title.setdefault((title_key, company_id), []).append(did)
            if ext:
                self.by_ext.setdefault(ext, did)
        from crmcli.domain import settings

        self.default_currency = settings.get(session, "currency") or "EUR"

    def _stage(self, pipeline_ref: str, stage: str, status: str, dropped: list[Any]) -> tuple[str, str]:
        """(pipeline name, stage name) for the file's stage or status; a won/lost status or stage
        name ('Closed Won', 'closedlost') lands in the pipeline's won/lost stage. An unknown
        pipeline or stage is reported and the deal lands in the first pipeline / first stage."""
        from crmcli.importer.headers import header_key

        try:
            p = pipeline.get_pipeline(self.session, pipeline_ref or None)
        except CrmError as exc:
            dropped.append(("pipeline", pipeline_ref, f"{exc}; the deal goes to the first pipeline"))
            p = pipeline.get_pipeline(self.session, None)
        stages = pipeline.stages(self.session, p)
        for key in (header_key(stage), header_key(status)):
            if not key:
                continue
            for s in stages:
                if header_key(s.name) == key:
                    return p.name, s.name
            for ours, theirs in _STAGE_SYNONYMS.items():
                if key in theirs:
                    for s in stages:
                        if header_key(s.name) == ours:
                            return p.name, s.name
            if key in _WON or key.endswith("won"):
                return p.name, pipeline.stage_of_kind(self.session, p, "won").name
            if key in _LOST or key.endswith("lost"):
                return p.name, pipeline.stage_of_kind(self.session, p, "lost").name
        if stage or status:
            names = ", ".join(s.name for s in stages)
            why = f"no stage '{stage or status}' in {p.name} ({names}): the deal starts in {stages[0].name}"
            dropped.append(("stage", stage or status, why))
        return p.name, stages[0].name

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        dropped: list[Any] = []
        title = clean_text(self.one(cells, "title"))
        if not title:
            raise Invalid("nothing identifies a deal: no title")
        currency = None
        if self.one(cells, "currency"):
            from crmcli.values.money import currency_code

            currency = self.attempt(dropped, "currency", self.one(cells, "currency"), currency_code)
        amount = None
        if self.one(cells, "amount"):
            amount = self.attempt(dropped, "amount", cells["amount"][0], values.decimal)
            if amount is not None:
                from crmcli.values.money import parse_amount

                in_currency = currency or self.default_currency
                if self.attempt(dropped, "amount", amount, lambda a: parse_amount(a, in_currency)) is None:
                    amount = None
        status = self.one(cells, "status")
        if self.one(cells, "is_closed") or self.one(cells, "is_won"):
            if truthy(self.one(cells, "is_won")):
                status = "won"
            elif truthy(self.one(cells, "is_closed")):
                status = "lost"
        pipeline_name, stage = self._stage(self.one(cells, "pipeline"), self.one(cells, "stage"), status, dropped)
        if status in ("won", "lost"):  # Salesforce's ISWON/ISCLOSED say it even where the stage name does not
            closing = pipeline.stage_of_kind(self.session, pipeline.get_pipeline(self.session, pipeline_name), status)
            stage = closing.name
        close_date = None
        if self.one(cells, "close_date"):
            close_date = self.attempt(
                dropped, "close_date", cells["close_date"][0], lambda v: values.day(v, order=self.date_order)
            )
        contact_id = self._contact(cells, dropped)
        company_id, company_name = self._company(cells, dropped)
        row = {
            "row": number,
            "title": title,
            "amount": amount,
            "currency": currency,
            "pipeline": pipeline_name,
            "stage": stage,
            "close_date": close_date,
            "closed_at": self.moment(cells, "closed_at", dropped),
            "contact_id": contact_id,
            "company_id": company_id,
            "company": company_name,
            "owner": clean_text(self.one(cells, "owner")) or self.owner,
            "source": clean_text(self.one(cells, "source")) or self.source,
            "notes": "\n".join(values.text_lines(c) for c in cells.get("notes", [])) or None,
            "lost_reason": clean_text(self.one(cells, "lost_reason")) or None,
            "created_at": self.moment(cells, "created_at", dropped),
            "external_id": clean_text(self.one(cells, "external_id")) or None,
            "source_id": clean_text(self.one(cells, "source_id")) or None,
            "custom": self.custom(cells, dropped),
            "dropped": dropped,
        }
        return self.finish(row)

    def _contact(self, cells: dict[str, list[Any]], dropped: list[Any]) -> int | None:
        """The deal's contact: by the source system's id, else by email, else by an unambiguous name."""
        ref = first_ref(self.one(cells, "contact_ref")) or ""
        if ref:
            found = find_refs(self.session, "contact", [ref], own_export=self.own_export).get(ref)
            if found:
                return found
            if not self.one(cells, "contact"):
                dropped.append(("contact_ref", ref, f"no contact with id {ref} was imported"))
        text = self.one(cells, "contact")
        if not text:
            return None
        return self.attempt(dropped, "contact", text, lambda t: contact_by(self.session, t))

    def _company(self, cells: dict[str, list[Any]], dropped: list[Any]) -> tuple[int | None, str | None]:
        ref = first_ref(self.one(cells, "company_ref")) or ""
        name = clean_text(self.one(cells, "company")) or None
        if ref:
            found = find_refs(self.session, "company", [ref], own_export=self.own_export).get(ref)
            if found:
                return found, None
            if not name:
                dropped.append(("company_ref", ref, f"no company with id {ref} was imported"))
        return None, name

    def _company_id(self, row: dict[str, Any]) -> int | None:
        if row["company_id"]:
            return row["company_id"]
        if not row["company"]:
            return None
        key = name_key(row["company"])
        found = self.session.execute(select(Company.id).where(Company.name_key == key).order_by(Company.id)).first()
        if found:
            return int(found[0])
        owner = self.owner_of_new(row["owner"], facts=_nothing_known, entity="companies") or ""  # "": decided here
        company = companies.add_company(self.session, name=row["company"], owner=owner)
        return company.id

    def _facts(self, row: dict[str, Any], company_id: int | None, needs: frozenset[str]) -> rules.Facts:
        """What the deals' assignment rules look at in ROW's new deal: its contact and company, linked
        as add_deal links them."""
        contact = self.session.get(Contact, row["contact_id"]) if row["contact_id"] else None
        company_id = company_id or (contact.company_id if contact is not None else None)
        company = self.session.get(Company, company_id) if company_id else None
        return rules.deal_facts(self.session, contact, company, row["source"], needs)

    def decide(self, row: dict[str, Any], company_id: int | None) -> tuple[int | None, list[Deal]]:
        """The deal ROW is, and those it only might be: by the row's id in this file (crm's own
        exports) or an earlier import of the same export, its external id, else its title at its
        company. A deal with another external id, or another row's of this file, is another deal."""
        candidates: list[int] = []
        source = row["source_id"]
        if source and source in self.by_source:
            candidates.append(self.by_source[source])
        if source and self.own_export:
            earlier = find_refs(self.session, "deal", [source], own_export=True, imported_only=True).get(source)
            if earlier is not None:
                candidates.append(earlier)
        if row["external_id"] and row["external_id"] in self.by_ext:
            candidates.append(self.by_ext[row["external_id"]])
        candidates += self.by_title.get((name_key(row["title"]), company_id), [])
        possible: list[Deal] = []
        for did in dict.fromkeys(candidates):
            deal = self.session.get(Deal, did)
            if deal is None:
                continue
            claimed = self.claimed.get(did)
            if row["external_id"] and deal.external_id and deal.external_id != row["external_id"]:
                continue  # different ids from one source: different deals
            if source and claimed and source not in claimed:
                possible.append(deal)  # another row of this file is that deal
                continue
            return did, possible
        return None, possible

    def one_row(self, row: dict[str, Any]) -> str:
        company_id = self._company_id(row)
        found, possible = self.decide(row, company_id)
        if found and self.on_duplicate != "create":
            if row["source_id"]:
                self.claimed.setdefault(found, set()).add(row["source_id"])
                self.by_source.setdefault(row["source_id"], found)
            if self.on_duplicate == "skip":
                self.event(row["row"], "skipped", found, "", "", "matches it; left as it is (duplicates skipped)")
                return "skipped"
            return self._update(found, row, company_id)
        for deal in possible:
            self.event(row["row"], "possible duplicate", "{new}", "", "", f"of #{deal.id} {deal.title}: same title")
        deal = deals.add_deal(
            self.session,
            title=row["title"],
            contact=str(row["contact_id"]) if row["contact_id"] else None,
            company=str(company_id) if company_id else None,
            amount=str(row["amount"]) if row["amount"] is not None else None,
            currency=row["currency"],
            stage=row["stage"],
            pipeline=row["pipeline"],
            close_date=row["close_date"],
            owner=self.owner_of_new(row["owner"], facts=partial(self._facts, row, company_id)) or "",  # decided here
            source=row["source"],
            notes=None,
            custom=None,
            created_at=row["created_at"],
            rules=False,
        )
        deal.notes = row["notes"]
        deal.custom = dict(sorted(row["custom"].items()))
        if deal.status != "open":
            closed = row["closed_at"]
            if closed is None and row["close_date"]:
                closed = clock.as_utc(datetime.combine(row["close_date"], time()))
            deal.closed_at = closed or deal.created_at
            deal.lost_reason = row["lost_reason"] if deal.status == "lost" else None
        deal.external_id = row["external_id"]
        deal.updated_at = self.now
        assert deal.id is not None
        indexing.reindex_deal(self.session, deal)  # with its notes and fields as stored
        self.by_title.setdefault((deal.title_key, deal.company_id), []).append(deal.id)
        if deal.external_id:
            self.by_ext.setdefault(deal.external_id, deal.id)
        if row["source_id"]:
            self.by_source.setdefault(row["source_id"], deal.id)
            self.claimed.setdefault(deal.id, set()).add(row["source_id"])
        for i, event in enumerate(self.events):
            if event[2] == "{new}":
                self.events[i] = (event[0], event[1], deal, *event[3:])
        self.record(deal.id, "created", row["row"], source_id=row["source_id"])
        return "created"

    def _update(self, deal_id: int, row: dict[str, Any], company_id: int | None) -> str:
        deal = self.session.get(Deal, deal_id)
        assert deal is not None
        overwrite = self.on_duplicate == "update"
        before = _snapshot(deal, self.KEYS)
        before["stage_id"] = deal.stage_id
        changes: dict[str, Any] = {}
        differing: list[tuple[str, Any, Any]] = []

        def offer(key: str, value: Any, stored: Any, change: Any = None) -> None:
            if value in (None, "") or value == stored:
                return
            if overwrite or stored in (None, ""):
                changes[key] = value if change is None else change
            else:
                differing.append((key, value, stored))

        if row["amount"] is not None:
            from crmcli.values.money import parse_amount, to_decimal

            minor = parse_amount(str(row["amount"]), deal.currency)
            offer("amount", minor, deal.amount_minor, str(row["amount"]))
            if "amount" not in changes and differing and differing[-1][0] == "amount":
                differing[-1] = ("amount", row["amount"], to_decimal(deal.amount_minor, deal.currency))
        offer(
            "close_date",
            row["close_date"],
            deal.close_date,
            row["close_date"].isoformat() if row["close_date"] else None,
        )
        offer("contact", row["contact_id"], deal.contact_id, str(row["contact_id"]) if row["contact_id"] else None)
        offer("company", company_id, deal.company_id, str(company_id) if company_id else None)
        for key in ("owner", "source", "notes"):
            offer(key, row[key], getattr(deal, key))
        custom = _custom_changes(deal.custom, row["custom"], overwrite, differing)
        stage_obj = pipeline.resolve_stage(
            self.session, pipeline.get_pipeline(self.session, row["pipeline"]), row["stage"]
        )
        move = stage_obj.id != deal.stage_id and stage_obj.pipeline_id == deal.pipeline_id
        if move and not overwrite:
            differing.append(("stage", row["stage"], deal_stage_name(self.session, deal)))
            move = False
        if not changes and not custom and not move:
            return self.outcome(row, "merged" if differing else "skipped", deal, differing)
        notes = changes.pop("notes", None)
        deals.edit_deal(self.session, deal, custom=custom or None, **changes)
        if notes is not None:
            deal.notes = notes
        if move:
            deals.move_deal(self.session, deal, stage_obj, check_rules=False, lost_reason=row["lost_reason"])
        deal.updated_at = self.now
        action = "updated" if overwrite else "merged"
        self.record(deal_id, action, row["row"], before, source_id=row["source_id"])
        return self.outcome(row, action, deal, differing)


def deal_stage_name(session: Session, deal: Deal) -> str:
    from crmcli.models import Stage

    stage = session.get(Stage, deal.stage_id)
    return stage.name if stage else ""


def contact_by(session: Session, text: str) -> int:
    """A contact named in a cell: an email (the first that is known), else an unambiguous name."""
    parts = values.split(text) if "@" in text else [text]
    for part in parts:
        if "@" in part:
            found = session.execute(
                select(ContactEmail.contact_id)
                .where(ContactEmail.email == part.strip().lower())
                .order_by(ContactEmail.id)
            ).first()
            if found:
                return int(found[0])
            continue
        ids = session.execute(select(Contact.id).where(Contact.name_key == name_key(part)).limit(2)).scalars().all()
        if len(ids) == 1:
            return int(ids[0])
        if len(ids) > 1:
            raise Invalid(f"several contacts are named '{part}': not linked (give their email)")
    raise Invalid(f"no contact '{text}'")


def _named(session: Session, model: Any, key: Any, text: str, one: str, several: str) -> int:
    """The one MODEL whose KEY column is TEXT's name key; none or several is a reason not to link."""
    ids = session.execute(select(model.id).where(key == name_key(text)).order_by(model.id).limit(2)).scalars().all()
    if len(ids) > 1:
        raise Invalid(f"{several} '{text}': not linked")
    if not ids:
        raise Invalid(f"no {one} '{text}'")
    return int(ids[0])


def company_by(session: Session, text: str) -> int:
    return _named(session, Company, Company.name_key, text, "company", "several companies are named")


def deal_by(session: Session, text: str) -> int:
    return _named(session, Deal, Deal.title_key, text, "deal", "several deals are titled")


class _Subjects(_Base):
    """Activities and follow-ups: logged on a contact, a company and/or a deal, named by the
    source system's ids (contact_ref …) or by email, name and title."""

    def subjects(self, cells: dict[str, list[Any]], dropped: list[Any]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for entity, finder in (("contact", contact_by), ("company", company_by), ("deal", deal_by)):
            ref = first_ref(self.one(cells, f"{entity}_ref")) or ""
            text = self.one(cells, entity)
            found = None
            if ref:
                found = find_refs(self.session, entity, [ref], own_export=self.own_export).get(ref)
                if found is None and entity == "deal" and not out.get("company"):
                    # Salesforce's WHATID names an opportunity or an account
                    found_company = find_refs(self.session, "company", [ref], own_export=self.own_export).get(ref)
                    if found_company is not None:
                        out["company"], out["deal"] = found_company, None
                        continue
                if found is None and not text:
                    dropped.append((f"{entity}_ref", ref, f"no {entity} with id {ref} was imported"))
            if found is None and text:
                found = self.attempt(dropped, entity, text, lambda t, f=finder: f(self.session, t))  # type: ignore[misc]
            out[entity] = found
        return out


class ActivityImport(_Subjects):
    entity = "activity"

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        dropped: list[Any] = []
        text = "\n".join(t for t in (values.text_lines(c) for c in cells.get("text", [])) if t)
        if not text:
            raise Invalid("nothing to log: no text")
        raw_type = clean_text(self.one(cells, "type")).lower()
        kind = _TYPES.get(raw_type.replace(" ", ""), None) if raw_type else "note"
        if kind is None:
            dropped.append(("type", raw_type, f"unknown activity type '{raw_type}': logged as a note"))
            kind = "note"
        if not self.one(cells, "at"):
            raise Invalid("an activity needs its date: no date")
        at = values.moment(cells["at"][0], order=self.date_order)
        linked = self.subjects(cells, dropped)
        if not any(linked.values()):
            reasons = [r for _, _, r in dropped if r]
            raise Invalid("; ".join(["no contact, company or deal to log it on", *reasons]))
        return self.finish(
            {
                "row": number,
                "type": kind,
                "text": text,
                "at": at,
                **linked,
                "by": clean_text(self.one(cells, "by")) or self.owner,
                "source_id": clean_text(self.one(cells, "source_id")) or None,
                "dropped": dropped,
            }
        )

    def one_row(self, row: dict[str, Any]) -> str:
        query = select(Activity.id).where(
            Activity.type == row["type"], Activity.text == row["text"], Activity.at == row["at"]
        )
        for key, column in (
            ("contact", Activity.contact_id),
            ("company", Activity.company_id),
            ("deal", Activity.deal_id),
        ):
            query = query.where(column == row[key]) if row[key] else query.where(column.is_(None))
        existing = self.session.execute(query).first()
        if self.on_duplicate != "create" and existing:
            self.event(row["row"], "skipped", int(existing[0]), "", "", "identical to what is stored")
            return "skipped"  # the same interaction logged before (a re-run)
        activity = activities.log_activity(
            self.session,
            type=row["type"],
            text=row["text"],
            contact=self.session.get(Contact, row["contact"]) if row["contact"] else None,
            company=self.session.get(Company, row["company"]) if row["company"] else None,
            deal=self.session.get(Deal, row["deal"]) if row["deal"] else None,
            at=row["at"],
            by=self.owner_of_new(row["by"]),
        )
        assert activity.id is not None
        self.record(activity.id, "created", row["row"], source_id=row["source_id"])
        return "created"


class FollowUpImport(_Subjects):
    """Follow-ups as crm exports them (and as other tools' task lists look): the due time and the
    subject are needed; a uid already known is the same follow-up. Cadence rows of an export are
    not stored: they follow from the contact's cadence, which the contacts file carries."""

    entity = "followup"

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        from crmcli.domain import followups

        dropped: list[Any] = []
        kind = self.one(cells, "kind").casefold()
        if kind == "cadence":
            return {"row": number, "cadence": True, "dropped": []}
        if not self.one(cells, "due_at"):
            raise Invalid("a follow-up needs its due time: none given")
        due = values.moment(cells["due_at"][0], order=self.date_order, lean="future")
        linked = self.subjects(cells, dropped)
        if not any(linked.values()):
            subject_kind, subject = self.one(cells, "subject_kind").casefold(), self.one(cells, "subject")
            finders = {"contact": contact_by, "company": company_by, "deal": deal_by}
            if subject and subject_kind in finders:
                finder = finders[subject_kind]
                linked[subject_kind] = self.attempt(dropped, "subject", subject, lambda t: finder(self.session, t))
            elif subject:  # no kind given: the one contact, company or deal the text names
                found = []
                for kind, finder in finders.items():
                    try:
                        found.append((kind, finder(self.session, subject)))
                    except Invalid:
                        continue
                if len(found) == 1:
                    linked[found[0][0]] = found[0][1]
                else:
                    why = "names a contact, a company or a deal alike" if found else "names no contact, company or deal"
                    dropped.append(("subject", subject, f"'{subject}' {why}"))
        if not any(linked.values()):
            reasons = [r for _, _, r in dropped if r]
            raise Invalid("; ".join(["no contact, company or deal to follow up", *reasons]))
        every = None
        if self.one(cells, "every"):
            every = self.attempt(dropped, "every", self.one(cells, "every"), followups.parse_every)
        origin = self.one(cells, "origin").casefold() or "manual"
        if origin not in followups.ORIGINS:
            dropped.append(("origin", origin, f"unknown origin '{origin}': taken as manual"))
            origin = "manual"
        return self.finish(
            {
                "row": number,
                "cadence": False,
                "due_at": due,
                **linked,
                "note": "\n".join(values.text_lines(c) for c in cells.get("note", [])) or None,
                "owner": clean_text(self.one(cells, "owner")) or self.owner,
                "every": every,
                "from_done": bool(every) and truthy(self.one(cells, "from_done")),
                "origin": origin,
                "uid": clean_text(self.one(cells, "uid")) or None,
                "done_at": self.moment(cells, "done_at", dropped),
                "created_at": self.moment(cells, "created_at", dropped),
                "source_id": clean_text(self.one(cells, "source_id")) or None,
                "dropped": dropped,
            }
        )

    def one_row(self, row: dict[str, Any]) -> str:
        from crmcli.domain import followups

        if row["cadence"]:
            self.event(row["row"], "skipped", None, "", "", "a cadence follow-up: it comes from the contact's cadence")
            return "skipped"
        if row["uid"]:
            existing = self.session.execute(select(FollowUp).where(FollowUp.uid == row["uid"])).scalars().first()
            if existing is not None and self.on_duplicate != "create":
                self.event(row["row"], "skipped", f"#{existing.id}", "", "", "the same follow-up (uid) is stored")
                return "skipped"
        followup = followups.add_followup(
            self.session,
            due_at=row["due_at"],
            note=None,
            owner=self.owner_of_new(row["owner"]),
            contact=self.session.get(Contact, row["contact"]) if row["contact"] else None,
            company=self.session.get(Company, row["company"]) if row["company"] else None,
            deal=self.session.get(Deal, row["deal"]) if row["deal"] else None,
            every=row["every"],
            from_done=row["from_done"],
            origin=row["origin"],
        )
        followup.note = row["note"]
        if row["uid"] and self.on_duplicate != "create":
            followup.uid = row["uid"]  # a calendar that subscribed keeps seeing the same event
        followup.done_at = row["done_at"]
        if row["created_at"]:
            followup.created_at = row["created_at"]
        followup.updated_at = self.now
        self.session.flush()
        assert followup.id is not None
        self.record(followup.id, "created", row["row"], source_id=row["source_id"])
        return "created"
