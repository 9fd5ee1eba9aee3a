"""The contact import: rows cleaned like `crm contacts add`, matched through in-memory indexes,
written in batches through SQLAlchemy Core (no ORM object per row).

Candidates are found by external id, email, phone and normalised name + company, against the
database and against earlier rows of the same file; crmcli.values.matching decides which candidate,
if any, is the same person. A candidate that only might be (an info@ address shared by two
names) stays a separate contact and the row's report line names it as a possible duplicate.
Rows of crm's own export carry the record's id there (source_id): two rows with different ids
are two records, whatever else they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlmodel import Session

from crmcli.domain import rules, search
from crmcli.importer import bulk
from crmcli.importer.cleaning import ADDRESS, ContactCleaner, Row
from crmcli.importer.options import Facts, Options
from crmcli.models import Company, Contact, ContactEmail, ContactPhone, ContactTag, ImportChange, SearchDoc
from crmcli.values.documents import compose, contact_document
from crmcli.values.normalize import company_key, name_key, normalize_name

SCALARS = (
    "name",
    "title",
    "owner",
    "source",
    "notes",
    "external_id",
    "cadence_days",
    *ADDRESS,
    "birthday",
    "website",
)


@dataclass
class State:
    """A contact as the batch sees it: loaded from the database or made by an earlier row."""

    id: int  # negative until inserted
    values: dict[str, Any]  # SCALARS + company, company_id + custom
    emails: list[str]
    phones: list[str]
    tags: list[str]
    new: bool
    before: dict[str, Any] | None = None  # snapshot for undo, for records that existed
    action: str | None = None  # created | updated | merged
    row: int | None = None
    added_emails: list[str] = field(default_factory=list)
    added_phones: list[str] = field(default_factory=list)
    added_tags: list[str] = field(default_factory=list)
    doc: str | None = None  # the row's search document, while no other row changed the record
    key: str | None = None  # the row's name key, for records it creates
    source_ids: set[str] = field(default_factory=set)  # ids of this file's rows that are this record
    source_id: str | None = None  # the id of the row that made or first changed it, for ImportChange


def _chunks(values: list[Any], size: int = 900) -> list[list[Any]]:
    """IN lists small enough for any SQLite build's variable limit."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def pairs_sql(dialect: Any, count: int) -> str:
    """The contacts with any of COUNT (name key, company id) pairs: an OR of pairs, each a search of
    ix_contact_name_key_company. A row-value IN ((?, ?), …) reads the same, but SQLite 3.40 scans
    the whole index for it, which made each batch of a big import slower than the one before."""
    mark = bulk.placeholder(dialect)
    where = " OR ".join([f"(name_key = {mark} AND company_id = {mark})"] * count)
    return f"SELECT id, name_key, company_id FROM contact WHERE {where}"


def _nothing_known(needs: frozenset[str]) -> rules.Facts:
    return rules.Facts()


def _add(index: dict[Any, list[int]], key: Any, cid: int) -> None:
    found = index.get(key)
    if found is None:
        index[key] = [cid]
    elif cid not in found:
        found.append(cid)


class ContactImport(Options):
    entity = "contact"
    entity_fields = "contacts"

    def __init__(self, session: Session, **options: Any) -> None:
        super().__init__(session, **options)
        self.cleaner = ContactCleaner(
            region=self.region,
            dayfirst=self.dayfirst,
            date_order=self.date_order,
            defs=self.defs,
            owner=self.owner,
            source=self.source,
            extra_tags=self.extra_tags,
            strict=self.strict,
            lines=self.lines,
        )
        self._next_temp = -1
        self._orgs: Any = None  # the company import that takes organisation cards, made when one comes
        self._load_indexes()

    # ------------------------------------------------------------ indexes

    def _load_indexes(self) -> None:
        """Companies are few: all of them, by normalised name. Contacts are looked up batch by batch
        (_lookup), so memory stays flat however big the database or the file."""
        self.company_ids: dict[str, list[int]] = {}  # every company of a key ("Acme GmbH", "ACME Inc."), oldest first
        self.company_names: dict[int, str] = {}
        for cid, name in self.session.connection().execute(select(Company.id, Company.name).order_by(Company.id)):
            self._know_company(cid, name)
        self.by_source: dict[str, int] = {}  # this file's row ids (crm's own exports) → the record they became
        self._reset()

    def _know_company(self, cid: int, name: str) -> None:
        self.company_ids.setdefault(company_key(name), []).append(cid)
        self.company_names[cid] = name

    def _reset(self) -> None:
        self.by_email: dict[str, list[int]] = {}
        self.by_phone: dict[str, list[int]] = {}
        self.by_ext: dict[str, list[int]] = {}
        self.by_name: dict[tuple[str, str], list[int]] = {}
        self.company_refs: dict[str, int] = {}
        self.by_prior: dict[str, int] = {}  # crm export row ids → the record an earlier import made of them

    def _lookup(self, rows: list[Row]) -> None:
        """The contacts a batch could match, found through the indexes on email, phone, external
        id and name key: a few queries per batch, never one per row. Rows earlier in the file are in
        the database by now (committed, or flushed in a dry run)."""
        self._reset()
        conn = self.session.connection()
        wanted = {
            "emails": {e for r in rows for e in r.emails},
            "phones": {p for r in rows for p in r.phones},
            "ext": {r.external_id for r in rows if r.external_id},
            # name + company: (name key, id) for every company of the row's company key; the
            # name alone for rows without a company. A common name never pulls out every namesake.
            "pairs": {(r.key, cid) for r in rows if r.company for cid in self.company_ids.get(r.company_key, ())},
            "names": {r.key for r in rows if not r.company},
        }
        for key in wanted:
            wanted[key] = sorted(wanted[key])  # type: ignore[assignment]
        mark = bulk.placeholder(conn.dialect)
        for key, sql, index in (
            ("emails", "SELECT email, contact_id FROM contact_email WHERE email IN ({}) ORDER BY id", self.by_email),
            ("phones", "SELECT phone, contact_id FROM contact_phone WHERE phone IN ({}) ORDER BY id", self.by_phone),
            ("ext", "SELECT external_id, id FROM contact WHERE external_id IN ({}) ORDER BY id", self.by_ext),
        ):
            # plain SQL: an expanding IN of SQLAlchemy is compiled anew for every execution
            for chunk in _chunks(wanted[key]):
                for found_value, cid in conn.exec_driver_sql(sql.format(", ".join([mark] * len(chunk))), tuple(chunk)):
                    _add(index, found_value, cid)
        found: list[Any] = []
        for chunk in _chunks(wanted["pairs"], 400):
            found.extend(conn.exec_driver_sql(pairs_sql(conn.dialect, len(chunk)), tuple(v for p in chunk for v in p)))
        for chunk in _chunks(wanted["names"]):
            found.extend(
                conn.execute(
                    select(Contact.id, Contact.name_key, Contact.company_id).where(
                        Contact.name_key.in_(chunk), Contact.company_id.is_(None)
                    )
                )
            )
        for cid, key, company_id in sorted(found):  # the oldest contact first
            company = self.company_names.get(company_id) if company_id else None
            _add(self.by_name, (key, company_key(company)), cid)
        if self.own_export:  # a row imported before from the same export (a re-run) is that record again
            from crmcli.importer.generic import find_refs

            sources = sorted({r.source_id for r in rows if r.source_id})
            for source, cid in find_refs(self.session, "contact", sources, own_export=True, imported_only=True).items():
                self.by_prior[source] = cid
        refs = sorted({r.company_ref for r in rows if r.company_ref})
        if refs:
            from crmcli.importer.generic import find_refs

            self.company_refs = find_refs(self.session, "company", refs, own_export=self.own_export)

    # ------------------------------------------------------------ matching and merging

    def candidates(self, row: Row) -> list[int]:
        """Records the row could be, in the order of the evidence: external id, email, phone, name."""
        out: list[int] = []
        source = row.source_id
        if source:
            for index in (self.by_source, self.by_prior):
                if source in index and index[source] not in out:
                    out.append(index[source])
        found = self.by_ext.get(row.external_id) if row.external_id else None
        if found:
            out.extend(c for c in found if c not in out)
        for index, keys in ((self.by_email, row.emails), (self.by_phone, row.phones)):
            for key in keys:
                found = index.get(key)
                if found:
                    out.extend(c for c in found if c not in out)
        found = self.by_name.get((row.key, row.company_key))
        if found:
            out.extend(c for c in found if c not in out)
        return out

    def decide(self, row: Row, states: dict[int, State]) -> tuple[State | None, list[tuple[State, str]]]:
        """The record ROW is (or None: a new one), and the records it only might be, with why."""
        from crmcli.values.matching import Identity, verdict

        mine = Identity(
            name=row.name,
            emails=row.emails,
            phones=row.phones,
            external_id=row.external_id,
            source=row.source,
            company_key=row.company_key,
        )
        possible: list[tuple[State, str]] = []
        for cid in self.candidates(row):
            state = states.get(cid)
            if state is None:
                continue
            theirs = Identity(
                name=state.values["name"],
                emails=state.emails,
                phones=state.phones,
                external_id=state.values.get("external_id"),
                source=state.values.get("source"),
                company_key=company_key(state.values.get("company")),
            )
            found = verdict(mine, theirs)
            if found.kind == "different":
                continue
            if row.source_id and state.source_ids and row.source_id not in state.source_ids:
                # two rows of one crm export with different ids are two records
                possible.append((state, f"{found.reason}; another record in the file ({', '.join(state.source_ids)})"))
                continue
            if found.kind == "same":
                return state, possible
            possible.append((state, found.reason))
        return None, possible

    def _index(self, state: State, row: Row) -> None:
        if row.external_id:
            _add(self.by_ext, row.external_id, state.id)
        for email in state.emails:
            _add(self.by_email, email, state.id)
        for phone in state.phones:
            _add(self.by_phone, phone, state.id)
        _add(self.by_name, (row.key, row.company_key), state.id)
        if row.source_id:
            state.source_ids.add(row.source_id)
            self.by_source.setdefault(row.source_id, state.id)

    def process(self, rows: list[Row]) -> dict[str, int]:
        """Decide every row of a batch and write the batch. Returns the batch's counts; what each
        row became is in self.events until drained."""
        counts = {"created": 0, "updated": 0, "merged": 0, "skipped": 0}
        self._declare(rows)
        orgs = [r for r in rows if r.is_org]
        if orgs:
            for key, value in self._organisations(orgs).items():
                counts[key] += value
            rows = [r for r in rows if not r.is_org]
        states: dict[int, State] = {}
        # PostgreSQL: the same locks `crm contacts add` takes, so a concurrent add cannot slip between
        # this batch's lookups and its inserts (SQLite's writers go one at a time anyway)
        from crmcli.domain.contacts import lock_values

        lock_values(self.session, {e for r in rows for e in r.emails}, {p for r in rows for p in r.phones})
        if not self.allow_suppressed:
            rows = self._without_suppressed(rows, counts)
        self._lookup(rows)
        # every record the batch's lookups found (the indexes hold nothing else yet), loaded at once
        wanted = {
            c for index in (self.by_email, self.by_phone, self.by_ext, self.by_name) for f in index.values() for c in f
        }
        wanted.update(self.by_prior.values())
        wanted.update(self.by_source[r.source_id] for r in rows if r.source_id in self.by_source)
        states.update(self._load(sorted(wanted)))
        for row in rows:
            self._note_row(row)
            self._link_company(row)
            found, possible = self.decide(row, states)
            if found is not None and self.on_duplicate == "create":
                possible.insert(0, (found, "the same person by this file's evidence; created anyway"))
                found = None
            if found is None:
                state = self._new(row)
                states[state.id] = state
                self._index(state, row)
                counts["created"] += 1
                for other, why in possible:
                    self.event(row.number, "possible duplicate", state, "", "", f"of {{other}}: {why}", other)
                continue
            if self.on_duplicate == "skip":
                counts["skipped"] += 1
                self.event(row.number, "skipped", found, "", "", "matches it; left as it is (duplicates skipped)")
                continue
            overwrite = self.on_duplicate == "update"
            changed, differing = self._apply(found, row, overwrite=overwrite)
            self._index(found, row)
            if changed:
                if found.action is None:
                    found.action = "updated" if overwrite else "merged"
                    found.row = row.number
                    found.source_id = row.source_id
                outcome = "updated" if overwrite else "merged"
            elif differing:
                outcome = "merged"  # matched, nothing new to add; its other values are reported
            else:
                outcome = "skipped"
            counts[outcome] += 1
            label = {"updated": "updated", "merged": "merged into", "skipped": "skipped"}[outcome]
            self.event(row.number, label, found, "", "", "identical to what is stored" if outcome == "skipped" else "")
            for key, value, stored in differing:
                self.event(row.number, "value not taken", found, key, value, f"the record keeps '{stored}'")
            for other, why in possible:
                if other is not found:
                    self.event(row.number, "possible duplicate", found, "", "", f"of {{other}}: {why}", other)
        self._write([s for s in states.values() if s.new or s.action])
        return counts

    def _without_suppressed(self, rows: list[Row], counts: dict[str, int]) -> list[Row]:
        """ROWS but those with an email or phone of a person erased on request: skipped, reported."""
        from crmcli.domain import suppression

        hit = set(
            suppression.suppressed(
                self.session, {e for r in rows for e in r.emails}, {p for r in rows for p in r.phones}
            )
        )
        if not hit:
            return rows
        kept = []
        for row in rows:
            found = [v for v in (*row.emails, *row.phones) if v in hit]
            if not found:
                kept.append(row)
                continue
            counts["skipped"] += 1
            self.event(
                row.number, "skipped", None, "", found[0],
                "belongs to a person erased on request (the suppression list); not imported",
            )  # fmt: skip
        return kept

    def _declare(self, rows: list[Row]) -> None:
        """Custom fields whose type the file carries (crm's vCards: X-CRM-FIELD:key:type=value) and
        that nobody declared yet are declared with it, as typed columns of a spreadsheet are."""
        from crmcli.domain.fields import TYPES
        from crmcli.models import FieldDef

        for row in rows:
            for name in row.custom:
                if name not in self.defs and name not in row.types:  # as a spreadsheet's unknown column
                    row.types[name] = ("text", [])
            for name, (kind, choices) in row.types.items():
                if name in self.defs or kind not in TYPES or (kind == "choice" and not choices):
                    continue
                definition = FieldDef(entity=self.entity_fields, name=name, type=kind, choices=list(choices))
                self.session.add(definition)
                self.session.flush()
                self.defs[name] = definition

    def _note_row(self, row: Row) -> None:
        """What cleaning left out of the row or filled in, for the report."""
        for key, value, reason in row.dropped:
            self.event(row.number, "value dropped", None, key, value, reason)
        for key, value, reason in row.filled:
            self.event(row.number, "value filled", None, key, value, reason)

    def _link_company(self, row: Row) -> None:
        """A row that names its company by the source system's id is linked to the company imported
        with that id; its name, when the row has one too, is then the company's."""
        if not row.company_ref:
            return
        cid = self.company_refs.get(row.company_ref)
        if cid is not None and cid in self.company_names:
            row.company = self.company_names[cid]
            row.company_key = company_key(row.company)
            return
        reason = f"no company with id {row.company_ref} was imported"
        self.event(row.number, "value dropped", None, "company_ref", row.company_ref,
                   reason + ("; linked by the company's name" if row.company else ""))  # fmt: skip

    def _new(self, row: Row) -> State:
        state = State(
            id=self._next_temp,
            values={
                **{k: getattr(row, k) for k in SCALARS},
                "company": row.company,
                "custom": dict(sorted(row.custom.items())),
                "created_at": row.created_at or self.now,
            },
            emails=list(row.emails),
            phones=list(row.phones),
            tags=list(row.tags),
            new=True,
            action="created",
            row=row.number,
            doc=row.doc,
            key=row.key,
            source_id=row.source_id,
        )
        self._next_temp -= 1
        return state

    def _apply(self, state: State, row: Row, *, overwrite: bool) -> tuple[bool, list[tuple[str, Any, Any]]]:
        """Fold ROW into STATE: fill empty fields (merge) or replace them (update); add new emails,
        phones and tags. Returns (anything changed, the row's values the record keeps its own for)."""
        changed = False
        differing: list[tuple[str, Any, Any]] = []
        incoming = {k: getattr(row, k) for k in SCALARS}
        incoming["company"] = row.company
        for key, value in incoming.items():
            stored = state.values.get(key)
            if value in (None, "") or stored == value:
                continue
            if key == "company" and company_key(value) == company_key(stored):
                continue
            if key == "name" and name_key(value) == name_key(stored):
                continue
            if overwrite or stored in (None, ""):
                state.values[key] = value
                changed = True
            else:
                differing.append((key, value, stored))
        custom = dict(state.values["custom"])
        for key, value in row.custom.items():
            if custom.get(key) == value:
                continue
            if overwrite or key not in custom:
                custom[key] = value
                changed = True
            else:
                differing.append((f"custom.{key}", value, custom[key]))
        state.values["custom"] = dict(sorted(custom.items()))
        for mine, theirs, added in (
            (state.emails, row.emails, state.added_emails),
            (state.phones, row.phones, state.added_phones),
            (state.tags, row.tags, state.added_tags),
        ):
            for value in theirs:
                if value not in mine:
                    mine.append(value)
                    added.append(value)
                    changed = True
        if changed:
            state.doc = None  # the row's own document no longer describes the record
        return changed, differing

    def _load(self, ids: list[int]) -> dict[int, State]:
        """The current state of existing contacts, with the snapshot an undo restores."""
        if not ids:
            return {}
        conn = self.session.connection()
        out: dict[int, State] = {}
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            emails: dict[int, list[str]] = {}
            phones: dict[int, list[str]] = {}
            tags: dict[int, list[str]] = {}
            for table, column, target in (
                (ContactEmail, ContactEmail.email, emails),
                (ContactPhone, ContactPhone.phone, phones),
            ):
                for cid, value in conn.execute(
                    select(table.contact_id, column)
                    .where(table.contact_id.in_(chunk))
                    .order_by(table.is_primary.desc(), table.id)
                ):
                    target.setdefault(cid, []).append(value)
            for cid, tag in conn.execute(
                select(ContactTag.contact_id, ContactTag.tag).where(ContactTag.contact_id.in_(chunk))
            ):
                tags.setdefault(cid, []).append(tag)
            columns = [
                Contact.id,
                Contact.company_id,
                Contact.custom,
                Contact.updated_at,
                *(getattr(Contact, k) for k in SCALARS),
            ]
            for record in conn.execute(select(*columns).where(Contact.id.in_(chunk))):
                data = record._mapping
                scalars = {k: data[k] for k in SCALARS}
                company = self.company_names.get(data["company_id"]) if data["company_id"] else None
                snapshot = {
                    **scalars,
                    "company_id": data["company_id"],
                    "custom": dict(data["custom"] or {}),
                    "emails": emails.get(data["id"], []),
                    "phones": phones.get(data["id"], []),
                    "tags": sorted(tags.get(data["id"], [])),
                    "updated_at": data["updated_at"].isoformat(),
                }
                out[data["id"]] = State(
                    id=data["id"],
                    values={**scalars, "company": company, "custom": dict(data["custom"] or {})},
                    emails=list(snapshot["emails"]),
                    phones=list(snapshot["phones"]),
                    tags=list(snapshot["tags"]),
                    new=False,
                    before=snapshot,
                )
        return out

    # ------------------------------------------------------------ organisation cards

    def _organisations(self, rows: list[Row]) -> dict[str, int]:
        """vCards of companies (KIND:org, Apple's company cards) become companies, through the
        company import, before the batch's people, who are then linked to them by name."""
        from crmcli.importer.generic import CompanyImport

        if self._orgs is None:
            self._orgs = CompanyImport(self.session, **self.options)
        counts = {"created": 0, "updated": 0, "merged": 0, "skipped": 0}
        for row in rows:
            self._note_row(row)
            name = row.company or row.name
            company = {
                "row": row.number,
                "name": name,
                "domain": None,
                "website": row.website,
                "phone": row.phones[0] if row.phones else None,
                "tags": row.tags,
                "owner": row.owner,
                "source": row.source,
                "notes": row.notes,
                "created_at": row.created_at,
                "external_id": row.external_id,
                "source_id": row.source_id,
                "custom": row.custom,
                "industry": None,
                **{k: getattr(row, k) for k in ADDRESS},
            }
            for phone in row.phones[1:]:
                self.event(row.number, "value not taken", None, "phones", phone, "a company keeps one phone")
            for email in row.emails:
                self.event(row.number, "value not taken", None, "emails", email, "companies have no email address")
            counts[self._orgs.one_row(company)] += 1
            self.events.extend(self._orgs.drain())
            cid = self._orgs.last_id
            if cid is not None and cid not in self.company_names:
                self._know_company(cid, self.session.get(Company, cid).name)  # type: ignore[union-attr]
        return counts

    # ------------------------------------------------------------ writing

    def _company_of(self, name: str, exact_only: bool) -> int | None:
        """The company NAME means: the oldest with its normalised name ("ACME Inc." is "Acme GmbH").
        crm's own exports (EXACT_ONLY) write names exactly as stored: there two names are two companies."""
        ids = self.company_ids.get(company_key(name), [])
        exact = [i for i in ids if self.company_names[i] == name]
        if exact_only:
            return exact[0] if exact else None
        return (exact or ids or [None])[0]

    def _company_ids(self, states: list[State]) -> None:
        """Companies named by the batch, found by their normalised name or created."""
        wanted: dict[str, str] = {}
        for state in states:
            name, exact = state.values.get("company"), self.own_export or bool(state.source_id)
            if name and self._company_of(name, exact) is None:
                wanted.setdefault(name if exact else company_key(name), normalize_name(name, "company name"))
        if wanted:
            # no owner, unless the companies' assignment rules give one (only a catch-all can: a name is all there is)
            owners = self.owners_of_new([(None, None, _nothing_known)] * len(wanted), "companies", default=False)
            rows = [
                {"name": n, "name_key": name_key(n), "custom": {}, "created_at": self.now, "updated_at": self.now,
                 "owner": owner}
                for n, owner in zip(wanted.values(), owners, strict=True)
            ]  # fmt: skip
            ids = self._insert_with_ids(Company.__table__, rows)
            for new_id, row in zip(ids, rows, strict=True):
                self._know_company(new_id, row["name"])
            search.insert_many(
                self.session,
                [
                    {"kind": "company", "ref_id": i, "title": r["name"], "body": compose(r["name"])}
                    for i, r in zip(ids, rows, strict=True)
                ],
            )
            self._changes([("company", i, "created", None, None, None) for i in ids])
        for state in states:
            name, exact = state.values.get("company"), self.own_export or bool(state.source_id)
            state.values["company_id"] = self._company_of(name, exact) if name else None

    def _facts(self, state: State) -> Facts:
        """What the assignment rules look at in a new contact (its company's industry read once per import)."""

        def facts(needs: frozenset[str]) -> rules.Facts:
            company_id = state.values.get("company_id")
            industry = self._industries().get(company_id) if company_id and "industry" in needs else None
            return rules.Facts(country=state.values.get("country"), phones=state.phones, industry=industry,
                               source=state.values.get("source"), tags=state.tags)  # fmt: skip

        return facts

    def _industries(self) -> dict[int, str]:
        """Each company's industry, read once per import (the assignment rules of contacts may need them)."""
        if not hasattr(self, "_industry_of"):
            query = select(Company.id, Company.industry).where(Company.industry.is_not(None))
            self._industry_of: dict[int, str] = dict(self.session.connection().execute(query).tuples().all())
        return self._industry_of

    def _insert_with_ids(self, table: Any, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ROWS under ids reserved first, in one executemany (RETURNING would go row by row).
        SQLite: the import holds the write lock (BEGIN IMMEDIATE), so max(id) is ours to extend;
        PostgreSQL: ids come from the table's own sequence."""
        conn = self.session.connection()
        if conn.dialect.name == "postgresql":
            ids = [
                int(i)
                for i in conn.exec_driver_sql(
                    f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, {len(rows)})"
                ).scalars()
            ]
        else:
            # above every id ever given (sqlite_sequence: AUTOINCREMENT), not only those in use, so
            # that the id of a contact removed or forgotten is never given to another
            given = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)).scalar()
            start = max(conn.execute(select(func.max(table.c.id))).scalar() or 0, given or 0) + 1
            ids = list(range(start, start + len(rows)))
        for row, i in zip(rows, ids, strict=True):
            row["id"] = i  # the rows are made for this insert
        bulk.insert_rows(conn, table, rows)
        return ids

    def _write(self, states: list[State]) -> None:
        if not states:
            return
        table = Contact.__table__
        self._company_ids(states)
        new = [s for s in states if s.new]
        if new:
            owners = self.owners_of_new([(s.values["owner"], s.source_id, self._facts(s)) for s in new])
            rows = [
                {
                    **{k: s.values[k] for k in SCALARS},
                    "owner": owner,
                    "name_key": s.key or name_key(s.values["name"]),
                    "company_id": s.values["company_id"],
                    "custom": s.values["custom"],
                    "created_at": s.values["created_at"],
                    "updated_at": self.now,
                }
                for s, owner in zip(new, owners, strict=True)
            ]
            ids = self._insert_with_ids(table, rows)
            remap = {}
            for state, real in zip(new, ids, strict=True):
                remap[state.id] = real
                state.id = real
                state.added_emails, state.added_phones, state.added_tags = state.emails, state.phones, state.tags
            for index in (self.by_email, self.by_phone, self.by_ext, self.by_name):
                for key, value in index.items():
                    if any(v < 0 for v in value):
                        index[key] = [remap.get(v, v) for v in value]  # type: ignore[index]
            for key, value in self.by_source.items():
                if value < 0:
                    self.by_source[key] = remap.get(value, value)
        changed = [s for s in states if not s.new]
        if changed:
            self.session.execute(
                table.update().where(table.c.id == bindparam("b_id")),
                [
                    {
                        "b_id": s.id,
                        **{k: s.values[k] for k in SCALARS},
                        "name_key": name_key(s.values["name"]),
                        "company_id": s.values["company_id"],
                        "custom": s.values["custom"],
                        "updated_at": self.now,
                    }
                    for s in changed
                ],
            )
            self.session.execute(
                delete(SearchDoc).where(SearchDoc.kind == "contact", SearchDoc.ref_id.in_([s.id for s in changed]))
            )

        def primary(state: State, kind: str, i: int) -> bool:  # the first value of a contact that had none
            return i == 0 and not (state.before or {}).get(kind)

        emails = [
            {"contact_id": s.id, "email": e, "is_primary": primary(s, "emails", i)}
            for s in states
            for i, e in enumerate(s.added_emails)
        ]
        phones = [
            {"contact_id": s.id, "phone": p, "is_primary": primary(s, "phones", i)}
            for s in states
            for i, p in enumerate(s.added_phones)
        ]
        tags = [{"contact_id": s.id, "tag": t} for s in states for t in s.added_tags]
        for model, rows in ((ContactEmail, emails), (ContactPhone, phones), (ContactTag, tags)):
            bulk.insert_rows(self.session.connection(), model.__table__, rows)
        search.insert_many(
            self.session,
            [
                {
                    "kind": "contact",
                    "ref_id": s.id,
                    "title": s.values["name"],
                    "body": s.doc
                    or contact_document(
                        s.values["name"],
                        s.values["title"],
                        s.values.get("company"),
                        s.emails,
                        s.phones,
                        s.tags,
                        s.values["notes"],
                        s.values["custom"],
                    ),
                }
                for s in states
            ],
        )
        self._changes([("contact", s.id, s.action or "updated", s.row, s.before, s.source_id) for s in states])

    def _changes(self, items: list[tuple[str, int, str, int | None, dict[str, Any] | None, str | None]]) -> None:
        if self.run_id is None or not items:
            return
        bulk.insert_rows(
            self.session.connection(),
            ImportChange.__table__,
            [
                {
                    "import_id": self.run_id,
                    "entity": entity,
                    "record_id": rid,
                    "action": action,
                    "row": row,
                    "before": before,
                    "after_updated_at": self.now,
                    "source_id": source_id,
                }
                for entity, rid, action, row, before, source_id in items
            ],
        )
