"""Companies, deals and activities: fewer rows than contacts, so each goes through the domain
functions (the same rules as `crm companies add`, `crm deals add`, `crm log`), in batches."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import insert, select
from sqlmodel import Session

from crmcli import activities, clock, companies, deals, fields, pipeline
from crmcli.errors import Invalid, NotFound
from crmcli.importer import values
from crmcli.importer.options import Options
from crmcli.models import Activity, Company, Contact, ContactEmail, Deal, ImportChange
from crmcli.normalize import clean_text, company_key, name_key, normalize_tag

_WON = {"won", "closedwon", "gewonnen", "signed", "gagne", "ganado", "赢单", "成交"}
_LOST = {"lost", "closedlost", "verloren", "perdu", "perdido", "输单", "丢单"}
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


class _Base(Options):
    @staticmethod
    def one(cells: dict[str, list[Any]], key: str) -> str:
        return " ".join(values.text(v) for v in cells.get(key, []) if values.text(v))

    def custom(self, cells: dict[str, list[Any]]) -> dict[str, str]:
        out = {}
        for key in cells:
            if key.startswith("custom."):
                raw = self.one(cells, key)
                if raw:
                    fields.coerce(self.defs.get(key[7:]), key[7:], raw)  # refuse bad values now, as a reject
                    out[key[7:]] = raw
        return out

    def record(self, record_id: int, action: str, row: int, before: dict[str, Any] | None = None) -> None:
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
                }
            ],
        )

    def process(self, rows: list[dict[str, Any]]) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "merged": 0, "skipped": 0}
        for row in rows:
            counts[self.one_row(row)] += 1
        return counts

    def one_row(self, row: dict[str, Any]) -> str:  # pragma: no cover - overridden
        raise NotImplementedError


def _snapshot(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    out = {}
    for key in keys:
        value = getattr(obj, key)
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class CompanyImport(_Base):
    entity = "company"
    entity_fields = "companies"
    KEYS = ("name", "domain", "website", "phone", "owner", "source", "notes", "external_id", "custom", "updated_at")

    def __init__(self, session: Session, **kw: Any) -> None:
        super().__init__(session, **kw)
        self.by_ext: dict[str, int] = {}
        self.by_domain: dict[str, int] = {}
        self.by_key: dict[str, int] = {}
        for cid, name, domain, ext in session.execute(
            select(Company.id, Company.name, Company.domain, Company.external_id)
        ):
            self.by_key.setdefault(company_key(name), cid)
            if domain:
                self.by_domain.setdefault(domain, cid)
            if ext:
                self.by_ext.setdefault(ext, cid)

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        name = clean_text(self.one(cells, "name"))
        if not name:
            raise Invalid("missing company name")
        phone_cells = cells.get("phone", [])
        return {
            "row": number,
            "name": name,
            "domain": companies.normalize_domain(self.one(cells, "domain") or None),
            "website": clean_text(self.one(cells, "website")) or None,
            "phone": values.phones(phone_cells[0], self.region)[0]
            if phone_cells and values.text(phone_cells[0])
            else None,
            "tags": [*[normalize_tag(t) for c in cells.get("tags", []) for t in values.split(c)], *self.extra_tags],
            "owner": clean_text(self.one(cells, "owner")) or self.owner,
            "source": clean_text(self.one(cells, "source")) or self.source,
            "notes": clean_text(self.one(cells, "notes")) or None,
            "created_at": values.moment(cells["created_at"][0], dayfirst=self.dayfirst)
            if cells.get("created_at")
            else None,
            "external_id": clean_text(self.one(cells, "external_id")) or None,
            "custom": self.custom(cells),
        }

    def one_row(self, row: dict[str, Any]) -> str:
        found = (
            self.by_ext.get(row["external_id"] or "")
            or self.by_domain.get(row["domain"] or "")
            or self.by_key.get(company_key(row["name"]))
        )
        if found and self.on_duplicate != "create":
            if self.on_duplicate == "skip":
                return "skipped"
            company = self.session.get(Company, found)
            assert company is not None
            overwrite = self.on_duplicate == "update"
            before = _snapshot(company, self.KEYS)
            changes = {
                k: row[k]
                for k in ("domain", "website", "phone", "owner", "source", "notes")
                if row[k] and (overwrite or not getattr(company, k)) and getattr(company, k) != row[k]
            }
            custom = {k: v for k, v in row["custom"].items() if overwrite or k not in company.custom}
            custom = {k: v for k, v in custom.items() if company.custom.get(k) != v}
            from crmcli.models import CompanyTag
            from crmcli.tags import tags_of

            current = tags_of(self.session, CompanyTag, "company_id", [found]).get(found, [])
            new_tags = [t for t in row["tags"] if t not in current]
            if not changes and not custom and not new_tags and not (row["external_id"] and not company.external_id):
                return "skipped"
            before["tags"] = current
            companies.edit_company(self.session, company, **changes, add_tags=new_tags, custom=custom or None)
            if row["external_id"] and not company.external_id:
                company.external_id = row["external_id"]
            company.updated_at = self.now
            self.record(found, "updated" if overwrite else "merged", row["row"], before)
            return "updated" if overwrite else "merged"
        company = companies.add_company(
            self.session,
            name=row["name"],
            domain=row["domain"],
            phone=row["phone"],
            website=row["website"],
            tags=row["tags"],
            owner=row["owner"],
            source=row["source"],
            notes=row["notes"],
            custom=row["custom"],
            region=self.region,
        )
        company.external_id = row["external_id"]
        if row["created_at"]:
            company.created_at = row["created_at"]
        company.updated_at = self.now
        assert company.id is not None
        self.by_key.setdefault(company_key(company.name), company.id)
        if company.domain:
            self.by_domain.setdefault(company.domain, company.id)
        if company.external_id:
            self.by_ext.setdefault(company.external_id, company.id)
        self.record(company.id, "created", row["row"])
        return "created"


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
        self.by_title: dict[tuple[str, int | None], int] = {}
        for did, title_key, company_id, ext in session.execute(
            select(Deal.id, Deal.title_key, Deal.company_id, Deal.external_id)
        ):
            self.by_title.setdefault((title_key, company_id), did)
            if ext:
                self.by_ext.setdefault(ext, did)

    def _stage(self, pipeline_ref: str | None, stage: str, status: str) -> tuple[str, str]:
        """(pipeline name, stage name) for the file's stage or status; a won/lost status or stage
        name ('Closed Won', 'closedlost') lands in the pipeline's won/lost stage."""
        p = pipeline.get_pipeline(self.session, pipeline_ref or None)
        stages = pipeline.stages(self.session, p)
        from crmcli.importer.headers import header_key

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
            raise Invalid(
                f"unknown stage '{stage or status}' (stages of {p.name}: {', '.join(s.name for s in stages)})"
            )
        return p.name, stages[0].name

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        title = clean_text(self.one(cells, "title"))
        if not title:
            raise Invalid("missing deal title")
        currency = clean_text(self.one(cells, "currency")) or None
        amount = values.decimal(cells["amount"][0]) if cells.get("amount") else None
        pipeline_name, stage = self._stage(
            self.one(cells, "pipeline"), self.one(cells, "stage"), self.one(cells, "status")
        )
        contact_ref = self.one(cells, "contact")
        contact_id = self._contact(contact_ref) if contact_ref else None
        return {
            "row": number,
            "title": title,
            "amount": amount,
            "currency": currency,
            "pipeline": pipeline_name,
            "stage": stage,
            "close_date": values.day(cells["close_date"][0], dayfirst=self.dayfirst)
            if cells.get("close_date")
            else None,
            "contact_id": contact_id,
            "company": clean_text(self.one(cells, "company")) or None,
            "owner": clean_text(self.one(cells, "owner")) or self.owner,
            "source": clean_text(self.one(cells, "source")) or self.source,
            "notes": clean_text(self.one(cells, "notes")) or None,
            "lost_reason": clean_text(self.one(cells, "lost_reason")) or None,
            "created_at": values.moment(cells["created_at"][0], dayfirst=self.dayfirst)
            if cells.get("created_at")
            else None,
            "external_id": clean_text(self.one(cells, "external_id")) or None,
            "custom": self.custom(cells),
        }

    def _contact(self, ref: str) -> int | None:
        """A contact by email or exact name; a deal whose contact is unknown is imported unlinked."""
        for part in values.split(ref):
            if "@" in part:
                found = self.session.execute(
                    select(ContactEmail.contact_id).where(ContactEmail.email == part.lower())
                ).first()
            else:
                found = self.session.execute(select(Contact.id).where(Contact.name_key == name_key(part))).first()
            if found:
                return int(found[0])
        return None

    def one_row(self, row: dict[str, Any]) -> str:
        company_id = None
        if row["company"]:
            company_id = companies.find_or_create(self.session, row["company"], owner=row["owner"]).id
        found = self.by_ext.get(row["external_id"] or "") or self.by_title.get((name_key(row["title"]), company_id))
        if found and self.on_duplicate != "create":
            if self.on_duplicate == "skip":
                return "skipped"
            return self._update(found, row, company_id)
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
            owner=row["owner"],
            source=row["source"],
            notes=row["notes"],
            custom=row["custom"],
            created_at=row["created_at"],
            rules=False,
        )
        if deal.status != "open":
            closed = datetime.combine(row["close_date"], time()) if row["close_date"] else None
            deal.closed_at = clock.as_utc(closed) if closed else deal.created_at
            deal.lost_reason = row["lost_reason"] if deal.status == "lost" else None
        deal.external_id = row["external_id"]
        deal.updated_at = self.now
        assert deal.id is not None
        self.by_title.setdefault((deal.title_key, deal.company_id), deal.id)
        if deal.external_id:
            self.by_ext.setdefault(deal.external_id, deal.id)
        self.record(deal.id, "created", row["row"])
        return "created"

    def _update(self, deal_id: int, row: dict[str, Any], company_id: int | None) -> str:
        deal = self.session.get(Deal, deal_id)
        assert deal is not None
        overwrite = self.on_duplicate == "update"
        before = _snapshot(deal, self.KEYS)
        before["stage_id"] = deal.stage_id
        changes: dict[str, Any] = {}
        if row["amount"] is not None and (overwrite or deal.amount_minor is None):
            changes["amount"] = str(row["amount"])
        if row["close_date"] and (overwrite or deal.close_date is None) and row["close_date"] != deal.close_date:
            changes["close_date"] = row["close_date"].isoformat()
        if row["contact_id"] and (overwrite or not deal.contact_id) and row["contact_id"] != deal.contact_id:
            changes["contact"] = str(row["contact_id"])
        if company_id and (overwrite or not deal.company_id) and company_id != deal.company_id:
            changes["company"] = str(company_id)
        for key in ("owner", "source", "notes"):
            if row[key] and (overwrite or not getattr(deal, key)) and getattr(deal, key) != row[key]:
                changes[key] = row[key]
        custom = {
            k: v for k, v in row["custom"].items() if (overwrite or k not in deal.custom) and deal.custom.get(k) != v
        }
        stage_obj = pipeline.resolve_stage(
            self.session, pipeline.get_pipeline(self.session, row["pipeline"]), row["stage"]
        )
        move = overwrite and stage_obj.id != deal.stage_id and stage_obj.pipeline_id == deal.pipeline_id
        if "amount" in changes and deal.amount_minor is not None:
            from crmcli.money import parse_amount

            if parse_amount(changes["amount"], deal.currency) == deal.amount_minor:
                del changes["amount"]
        if not changes and not custom and not move:
            return "skipped"
        deals.edit_deal(self.session, deal, custom=custom or None, **changes)
        if move:
            deals.move_deal(self.session, deal, stage_obj, check_rules=False, lost_reason=row["lost_reason"])
        deal.updated_at = self.now
        self.record(deal_id, "updated" if overwrite else "merged", row["row"], before)
        return "updated" if overwrite else "merged"


class ActivityImport(_Base):
    entity = "activity"

    def clean(self, number: int, cells: dict[str, list[Any]]) -> dict[str, Any]:
        text = self.one(cells, "text")
        if not text:
            raise Invalid("missing activity text")
        raw_type = clean_text(self.one(cells, "type")).lower() or "note"
        kind = _TYPES.get(raw_type.replace(" ", ""), None)
        if kind is None:
            raise Invalid(f"unknown activity type '{raw_type}': use call, email, meeting or note")
        at = values.moment(cells["at"][0], dayfirst=self.dayfirst) if cells.get("at") else None
        if at is None:
            raise Invalid("missing date")
        contact = company = deal = None
        try:
            if self.one(cells, "contact"):
                ref = (
                    values.split(cells["contact"][0])[0]
                    if "@" in self.one(cells, "contact")
                    else self.one(cells, "contact")
                )
                from crmcli.contacts import resolve_contact

                contact = resolve_contact(self.session, ref)
            if self.one(cells, "company"):
                company = companies.resolve_company(self.session, self.one(cells, "company"))
            if self.one(cells, "deal"):
                deal = deals.resolve_deal(self.session, self.one(cells, "deal"))
        except NotFound as exc:
            raise Invalid(str(exc)) from None
        if contact is None and company is None and deal is None:
            raise Invalid("no contact, company or deal named")
        return {
            "row": number,
            "type": kind,
            "text": text,
            "at": at,
            "contact": contact,
            "company": company,
            "deal": deal,
            "by": clean_text(self.one(cells, "by")) or self.owner,
        }

    def one_row(self, row: dict[str, Any]) -> str:
        query = select(Activity.id).where(
            Activity.type == row["type"], Activity.text == row["text"], Activity.at == row["at"]
        )
        for key, model_col in (
            ("contact", Activity.contact_id),
            ("company", Activity.company_id),
            ("deal", Activity.deal_id),
        ):
            query = (
                query.where(model_col == (row[key].id if row[key] else None))
                if row[key]
                else query.where(model_col.is_(None))
            )
        if self.on_duplicate != "create" and self.session.execute(query).first():
            return "skipped"  # the same interaction logged before (a re-run)
        activity = activities.log_activity(
            self.session,
            type=row["type"],
            text=row["text"],
            contact=row["contact"],
            company=row["company"],
            deal=row["deal"],
            at=row["at"],
            by=row["by"],
        )
        assert activity.id is not None
        self.record(activity.id, "created", row["row"])
        return "created"
