"""Assignment rules: who a new contact, company or deal goes to when it is made without an owner.

A rule belongs to one kind of record (contacts, companies or deals) and matches by one field:

- country: where the record is: its address's country, else its first phone's country;
- region: its first phone's country (phonenumbers' region code, as the phones' region elsewhere);
- industry: a company's own; a contact's or a deal's company's;
- source: the record's source;
- tag: one of its tags (a deal's: its contact's and its company's);
- any: every record (a catch-all).

Countries are read from names in several languages and ISO codes (Germany, deutschland, DE, DEU);
text is compared case- and accent-blind. A rule names one owner, or several that the records it
matches are dealt out to in turn (round robin): each record takes the rule's next turn with one
atomic UPDATE … RETURNING in the writer's transaction, so concurrent writers take turns too (on
PostgreSQL the row's lock orders them; SQLite writers are serialised anyway). The first rule that
matches, by position, decides; when none does, the caller's default stays. Rules apply only to
records created without an explicit owner (crmcli.domain.contacts.add_contact, companies.add_company,
deals.add_deal with owner None, and the importer where the file names none)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any, TypedDict

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from crmcli.domain.tags import tags_of
from crmcli.errors import Hint, Invalid, NotFound, UsageError, literal
from crmcli.models import AssignmentRule, Company, CompanyTag, Contact, ContactPhone, ContactTag
from crmcli.values import clock
from crmcli.values.normalize import NAME_MAX, check_length, clean_text, fold_accents, name_key, normalize_tag

ENTITIES = ("contacts", "companies", "deals")
FIELDS = ("country", "region", "industry", "source", "tag", "any")
KIND = {"contacts": "contact", "companies": "company", "deals": "deal"}

# the languages the importer reads headers in: country names in them are understood
_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "pl", "zh", "ja", "ko", "vi")
_ALIASES = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "usa": "US", "us": "US", "america": "US", "united states of america": "US",
    "holland": "NL", "the netherlands": "NL", "russia": "RU", "south korea": "KR", "korea": "KR",
    "czech republic": "CZ", "turkey": "TR", "vatican": "VA", "ivory coast": "CI", "uae": "AE",
}  # fmt: skip


class RuleRecord(TypedDict):
    """A rule as lists show it."""

    id: int
    entity: str
    position: int
    field: str
    value: str | None
    matches: str  # "country DE", "industry SaaS", "any"
    owners: list[str]
    round_robin: bool
    owner: str  # "ana", or "round robin: ana, ben, mei"
    next: str  # the owner of the next record it matches
    turn: int  # round robin: how many records it has given out
    created_at: Any


# ---------------------------------------------------------------- countries


def _fold(text: str) -> str:
    """Country names as they are compared: accents, case, dots and punctuation set aside."""
    text = name_key(text).replace("&", " and ").replace(".", "")
    for mark in ",;:()'’-_/":
        text = text.replace(mark, " ")
    return " ".join(text.split())


@functools.cache
def _country_names() -> dict[str, str]:
    """Folded country names (in _LANGUAGES), ISO alpha-3 codes and common aliases → alpha-2 code."""
    from babel import Locale
    from babel.core import get_global

    names: dict[str, str] = {}
    for language in _LANGUAGES:
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha():
                names.setdefault(_fold(name), code)
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and len(targets) == 1:
            names.setdefault(alias.casefold(), targets[0])
    for alias, code in _ALIASES.items():
        names.setdefault(alias, code)
    return names


@functools.cache
def _codes() -> frozenset[str]:
    from babel import Locale

    return frozenset(str(c) for c in Locale("en").territories if len(str(c)) == 2 and str(c).isalpha())


@functools.lru_cache(maxsize=4096)
def country_code(value: str | None) -> str | None:
    """The ISO 3166 alpha-2 code VALUE names (Germany, Deutschland, allemagne, DE, DEU → DE), or None."""
    text = clean_text(value)
    if not text:
        return None
    key = _fold(text)
    if key in _ALIASES:
        return _ALIASES[key]
    if len(key) == 2 and key.isalpha() and key.isascii():
        return key.upper()
    return _country_names().get(key)


def phone_country(phone: str | None) -> str | None:
    """The country of an E.164 phone (+4915112345678 → DE; an extension is ignored), or None."""
    if not phone:
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(phone.split(" ext.")[0], None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return region if region and region != "001" else None


# ---------------------------------------------------------------- what a record is


class Facts:
    """What rules look at in a record: where it is, its industry, source and tags. Built from plain
    values (COUNTRY: the address's country as written; PHONES: E.164, the first is the one that
    counts; REGION: a phone country given directly, instead of PHONES)."""

    def __init__(
        self,
        *,
        country: str | None = None,
        phones: Sequence[str] = (),
        region: str | None = None,
        industry: str | None = None,
        source: str | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        self.written_country = clean_text(country) or None
        self.phones = [p for p in phones if p]
        self.given_region = region
        self.industry = clean_text(industry) or None
        self.source = clean_text(source) or None
        self.tags = [t for t in tags if clean_text(t)]
        self._keys: dict[str, set[str]] = {}

    @cached_property
    def region(self) -> str | None:
        """The first phone's country code."""
        if self.given_region:
            return country_code(self.given_region)
        return phone_country(self.phones[0]) if self.phones else None

    @cached_property
    def country(self) -> str | None:
        """The address's country code (its folded text when no country has that name); without an
        address country, the phone's."""
        if self.written_country:
            return country_code(self.written_country) or _fold(self.written_country)
        return self.region

    def keys(self, field: str) -> set[str]:
        """FIELD's values as rules compare them (worked out once, when a rule asks)."""
        if field not in self._keys:
            if field == "tag":
                found = {_tag_key(t) for t in self.tags}
            elif field in ("industry", "source"):
                value = getattr(self, field)
                found = {name_key(value)} if value else set()
            else:
                code = self.country if field == "country" else self.region
                found = {code} if code else set()
            self._keys[field] = found
        return self._keys[field]

    def as_dict(self) -> dict[str, Any]:
        """The values rules see, for people (crm rules test)."""
        return {
            "country": self.country,
            "region": self.region,
            "industry": self.industry,
            "source": self.source,
            "tags": sorted({normalize_tag(t) for t in self.tags}),
        }


def _tag_key(tag: str) -> str:
    return fold_accents(normalize_tag(tag))


def _phones_of(session: Session, contact_id: int | None) -> list[str]:
    if contact_id is None:
        return []
    query = (
        select(ContactPhone.phone)
        .where(ContactPhone.contact_id == contact_id)
        .order_by(col(ContactPhone.is_primary).desc(), col(ContactPhone.id))
    )
    return list(session.exec(query))


def contact_facts(session: Session, contact: Contact, needs: Iterable[str] = FIELDS) -> Facts:
    """What rules see in a stored CONTACT (only the NEEDS fields are read from the database)."""
    needs = set(needs)
    company = session.get(Company, contact.company_id) if contact.company_id and "industry" in needs else None
    where = needs & {"country", "region"}
    return Facts(
        country=contact.country,
        phones=_phones_of(session, contact.id) if where else (),
        industry=company.industry if company else None,
        source=contact.source,
        tags=tags_of(session, ContactTag, "contact_id", [contact.id]).get(contact.id, [])
        if "tag" in needs and contact.id
        else (),
    )


def company_facts(session: Session, company: Company, needs: Iterable[str] = FIELDS) -> Facts:
    """What rules see in a stored COMPANY."""
    return Facts(
        country=company.country,
        phones=[company.phone] if company.phone else (),
        industry=company.industry,
        source=company.source,
        tags=tags_of(session, CompanyTag, "company_id", [company.id]).get(company.id, [])
        if "tag" in set(needs) and company.id
        else (),
    )


def deal_facts(
    session: Session,
    contact: Contact | None,
    company: Company | None,
    source: str | None,
    needs: Iterable[str] = FIELDS,
) -> Facts:
    """What rules see in a deal of CONTACT and COMPANY: it is where its contact is (else its
    company), has its company's industry, its own SOURCE, and its contact's and company's tags."""
    needs = set(needs)
    country = region = None
    if needs & {"country", "region"}:
        places = []
        if contact is not None:
            places.append(Facts(country=contact.country, phones=_phones_of(session, contact.id)))
        if company is not None:
            places.append(Facts(country=company.country, phones=[company.phone] if company.phone else ()))
        country = next((p.country for p in places if p.country), None)
        region = next((p.region for p in places if p.region), None)
    tags: list[str] = []
    if "tag" in needs:
        if contact is not None and contact.id:
            tags += tags_of(session, ContactTag, "contact_id", [contact.id]).get(contact.id, [])
        if company is not None and company.id:
            tags += tags_of(session, CompanyTag, "company_id", [company.id]).get(company.id, [])
    return Facts(
        country=country,
        region=region,
        industry=company.industry if company is not None else None,
        source=source,
        tags=tags,
    )


def record_facts(session: Session, record: Contact | Company | Any, needs: Iterable[str] = FIELDS) -> Facts:
    """What rules see in a stored contact, company or deal."""
    if isinstance(record, Contact):
        return contact_facts(session, record, needs)
    if isinstance(record, Company):
        return company_facts(session, record, needs)
    contact = session.get(Contact, record.contact_id) if record.contact_id else None
    company = session.get(Company, record.company_id) if record.company_id else None
    return deal_facts(session, contact, company, record.source, needs)


def entity_of(record: Any) -> str:
    """contacts, companies or deals: the kind of RECORD."""
    if isinstance(record, Contact):
        return "contacts"
    if isinstance(record, Company):
        return "companies"
    return "deals"


# ---------------------------------------------------------------- the rules


def _entity(entity: str) -> str:
    if entity not in ENTITIES:
        said = ", ".join(ENTITIES)
        raise UsageError(
            f"'{entity}' is no kind of record rules are for: {said}",
            hint=Hint(f"{{entity}} takes {said}, not '{literal(entity)}'", form="{hint}"),
        )
    return entity


def _value_of(field: str, value: str | None) -> str | None:
    """VALUE as a rule on FIELD keeps it: a country code, a tag as tags are stored, text cleaned."""
    if field not in FIELDS:
        said = ", ".join(FIELDS)
        raise UsageError(
            f"'{field}' is no field a rule matches by: {said}",
            hint=Hint(f"{{field}} takes {said}, not '{literal(field)}'", form="{hint}"),
        )
    text = clean_text(value)
    if field == "any":
        if text:
            raise UsageError("a catch-all rule matches every record: it takes no value")
        return None
    if not text:
        raise UsageError(f"a rule on {field} needs the {field} to match")
    if field in ("country", "region"):
        code = country_code(text)
        if code is None or code not in _codes():
            raise Invalid(f"unknown country '{text}': use a name (Germany) or a two-letter code (DE)")
        return code
    if field == "tag":
        return normalize_tag(text)
    return check_length(text, field, NAME_MAX)


def _owners_of(owner: str | None, round_robin: Iterable[str] | None) -> list[str]:
    """The owners a rule names: OWNER, or ROUND_ROBIN's names (a name twice gets two turns)."""
    if owner is not None and round_robin is not None:
        raise UsageError(
            "a rule names one owner or a round robin, not both", hint=Hint("give {owner} or {round_robin}")
        )
    names = [clean_text(owner)] if owner is not None else [clean_text(n) for n in round_robin or ()]
    names = [check_length(n, "an owner", NAME_MAX) for n in names if n]
    if not names:
        raise UsageError(
            "a rule must name who gets the records it matches",
            hint=Hint("{owner} names one user, {round_robin} several to take turns", form="{message}: {hint}"),
        )
    return names


def describe(rule: AssignmentRule) -> str:
    """'country DE', 'industry SaaS', 'tag vip', 'any'."""
    return "any" if rule.field == "any" else f"{rule.field} {rule.value}"


def _owner_text(rule: AssignmentRule) -> str:
    return rule.owners[0] if len(rule.owners) == 1 else "round robin: " + ", ".join(rule.owners)


def next_owner(rule: AssignmentRule) -> str:
    """Who the next record RULE matches would go to (nothing is changed)."""
    return rule.owners[rule.turn % len(rule.owners)]


def rule_record(rule: AssignmentRule) -> RuleRecord:
    assert rule.id is not None
    return {
        "id": rule.id,
        "entity": rule.entity,
        "position": rule.position,
        "field": rule.field,
        "value": rule.value,
        "matches": describe(rule),
        "owners": list(rule.owners),
        "round_robin": len(rule.owners) > 1,
        "owner": _owner_text(rule),
        "next": next_owner(rule),
        "turn": rule.turn,
        "created_at": rule.created_at,
    }


def add_rule(
    session: Session,
    *,
    entity: str,
    field: str,
    value: str | None = None,
    owner: str | None = None,
    round_robin: Iterable[str] | None = None,
    position: int | None = None,
) -> AssignmentRule:
    """A new rule for ENTITY's new records: those whose FIELD is VALUE (field 'any': every record)
    go to OWNER, or in turn to the names of ROUND_ROBIN. It is tried last, or at POSITION (1 is
    first; the rules from there on move down one)."""
    entity = _entity(entity)
    kept = _value_of(field, value)
    owners = _owners_of(owner, round_robin)
    last = session.exec(select(func.max(AssignmentRule.position)).where(AssignmentRule.entity == entity)).one()
    end = (last or 0) + 1
    if position is not None and position < 1:
        raise UsageError(
            f"a rule's position is 1 or more, not {position}", hint=Hint("{position} 1 makes it the first")
        )
    at = end if position is None else min(position, end)
    if at < end:
        session.execute(
            update(AssignmentRule)
            .where(col(AssignmentRule.entity) == entity, col(AssignmentRule.position) >= at)
            .values(position=col(AssignmentRule.position) + 1)
            .execution_options(synchronize_session="fetch")
        )
    rule = AssignmentRule(entity=entity, position=at, field=field, value=kept, owners=owners, turn=0,
                          created_at=clock.now())  # fmt: skip
    session.add(rule)
    session.flush()
    return rule


def list_rules(session: Session, *, entity: str | None = None) -> list[RuleRecord]:
    """The rules in the order they are tried: contacts', companies', then deals', by position."""
    query = select(AssignmentRule)
    if entity is not None:
        query = query.where(AssignmentRule.entity == _entity(entity))
    rules = list(session.exec(query))
    rules.sort(key=lambda r: (ENTITIES.index(r.entity) if r.entity in ENTITIES else 9, r.position, r.id or 0))
    return [rule_record(r) for r in rules]


def get_rule(session: Session, ref: str | int) -> AssignmentRule:
    text = str(ref).strip().lstrip("#")
    rule = session.get(AssignmentRule, int(text)) if text.isdigit() else None
    if rule is None:
        raise NotFound(f"no assignment rule with id {ref}")
    return rule


def remove_rule(session: Session, ref: str | int) -> RuleRecord:
    """Remove rule REF; the rules after it move up one."""
    rule = get_rule(session, ref)
    record = rule_record(rule)
    session.delete(rule)
    session.flush()
    session.execute(
        update(AssignmentRule)
        .where(col(AssignmentRule.entity) == rule.entity, col(AssignmentRule.position) > rule.position)
        .values(position=col(AssignmentRule.position) - 1)
        .execution_options(synchronize_session="fetch")
    )
    return record


# ---------------------------------------------------------------- applying them


class Assigner:
    """The rules of one kind of record, read once (an import reads them once for the whole file):
    which rule a new record matches, and the owner it gets."""

    def __init__(self, session: Session, entity: str) -> None:
        self.session = session
        self.entity = _entity(entity)
        query = (
            select(AssignmentRule)
            .where(AssignmentRule.entity == entity)
            .order_by(col(AssignmentRule.position), col(AssignmentRule.id))
        )
        self.rules = list(session.exec(query))
        self.needs = frozenset(r.field for r in self.rules)
        self._keys = [(r, _rule_key(r)) for r in self.rules]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def match(self, facts: Facts) -> AssignmentRule | None:
        """The first rule FACTS match, or None."""
        for rule, key in self._keys:
            if rule.field == "any" or key in facts.keys(rule.field):
                return rule
        return None

    def preview(self, facts: Facts) -> tuple[AssignmentRule | None, str | None]:
        """(the rule, the owner it would give now), changing nothing."""
        rule = self.match(facts)
        return rule, next_owner(rule) if rule is not None else None

    def owner(self, facts: Facts) -> str | None:
        """The owner a new record of FACTS gets, its turn taken; None when no rule matches."""
        return self.deal_out([facts])[0]

    def deal_out(self, many: Sequence[Facts | None]) -> list[str | None]:
        """The owners of new records (None: no rule, or no facts: the record is not the rules' to
        give). A round robin gives its records consecutive turns, taken in one UPDATE."""
        matched = [self.match(f) if f is not None else None for f in many]
        wanted: dict[int, int] = {}
        for rule in matched:
            if rule is not None and rule.id is not None and len(rule.owners) > 1:
                wanted[rule.id] = wanted.get(rule.id, 0) + 1
        turns = {rid: self._take(rid, n) for rid, n in wanted.items()}
        out: list[str | None] = []
        for rule in matched:
            if rule is None or rule.id is None:
                out.append(None)
            elif len(rule.owners) == 1:
                out.append(rule.owners[0])
            else:
                taken = turns[rule.id]
                turn = taken.pop(0) if taken else None
                out.append(rule.owners[(turn - 1) % len(rule.owners)] if turn is not None else None)
        return out

    def _take(self, rule_id: int, count: int) -> list[int]:
        """COUNT turns of rule RULE_ID, in one atomic UPDATE … RETURNING (the row stays locked
        until the transaction ends, so concurrent writers take turns); [] when it is gone."""
        table = AssignmentRule.__table__  # type: ignore[attr-defined]
        taking = update(table).where(table.c.id == rule_id).values(turn=table.c.turn + count).returning(table.c.turn)
        last = self.session.connection().execute(taking).scalar()
        if last is None:
            return []
        for rule in self.rules:
            if rule.id == rule_id:
                set_committed_value(rule, "turn", int(last))  # what the database now holds
        return list(range(int(last) - count + 1, int(last) + 1))


def _rule_key(rule: AssignmentRule) -> str | None:
    if rule.field == "any" or rule.value is None:
        return None
    if rule.field in ("country", "region"):
        return rule.value
    if rule.field == "tag":
        return _tag_key(rule.value)
    return name_key(rule.value)


def assign(session: Session, entity: str, facts: Callable[[frozenset[str]], Facts]) -> str | None:
    """The owner ENTITY's rules give a new record (FACTS builds what they look at, given the fields
    they need), its turn taken; None when no rule matches (or there are none: nothing is built)."""
    assigner = Assigner(session, entity)
    if not assigner:
        return None
    return assigner.owner(facts(assigner.needs))


def explain(session: Session, entity: str, facts: Facts) -> dict[str, Any]:
    """Which rule would give a new ENTITY record of FACTS its owner, and who, without changing
    anything: {entity, facts, rule (a RuleRecord or None), owner (None: no rule matches)}."""
    rule, owner = Assigner(session, entity).preview(facts)
    return {
        "entity": entity,
        "facts": facts.as_dict(),
        "rule": rule_record(rule) if rule is not None else None,
        "owner": owner,
    }
