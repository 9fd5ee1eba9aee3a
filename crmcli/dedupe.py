"""Duplicates already in the database: find them, merge them, and keep a record of each merge.

Finding reads the few columns it needs once (ids, names, companies, emails, phones, domains)
and matches in memory: exact values through dictionaries, similar names with rapidfuzz only
inside blocks (people of the same company, companies with the same first letter), so 100k
contacts cost a handful of queries, never one per contact.

Each pair of records that look alike is an edge with a score (0-100) and a reason:

- the same email or phone (for companies: domain or phone) and names that agree: 100;
  the same email or domain but names that do not agree: 80; the same phone but different
  names: 75 (a shared switchboard or an info@ address is not one person, so by default these
  are not listed: --threshold 75 shows them);
- names alike (rapidfuzz token_sort_ratio on case- and accent-folded names) among the people
  of one company, companies counted the same when their names differ only by legal form
  (normalize.company_key): the ratio itself (100 when equal).

Edges at or above the threshold join records into clusters (union-find, strongest edges
first); a cluster's score is its weakest joining edge. `--auto` merges only clusters joined
entirely by exact email or phone (domain or phone) matches whose names agree.

Merging keeps KEEP's values, fills its empty fields from the others (oldest first), unions
emails, phones and tags (KEEP's primary stays primary), re-points activities, deals and
follow-ups, writes one MergeRecord per removed record with a snapshot of what it held, and
removes the others. The caller's session is the one transaction.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from crmcli import clock, search
from crmcli.errors import Invalid, NotFound
from crmcli.models import (
    Activity,
    Company,
    CompanyTag,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    Deal,
    FollowUp,
    MergeRecord,
)
from crmcli.normalize import company_key, fold_accents, person_key

DEFAULT_THRESHOLD = 85
BLOCK = 400  # a block bigger than this is split by the first letter of its names before fuzzy scoring
EXACT = 100
EMAIL_OTHER_NAME = 80
PHONE_OTHER_NAME = 75
ENTITIES = ("contact", "company")


# ---------------------------------------------------------------- names


def name_words(name: str | None) -> list[str]:
    """'Müller, Anna' → ['muller', 'anna']: accents and case folded, punctuation dropped."""
    return re.findall(r"\w+", fold_accents(name or "").casefold())


def _sorted_name(name: str | None) -> str:
    return " ".join(sorted(name_words(name)))


def _word_agrees(short: str, words: list[str]) -> bool:
    from rapidfuzz import fuzz

    for word in words:
        if short == word or (len(short) == 1 and word.startswith(short)) or (len(word) == 1 and short.startswith(word)):
            return True
        if min(len(short), len(word)) >= 4 and fuzz.ratio(short, word) >= 80:
            return True
    return False


def names_agree(a: str | None, b: str | None) -> bool:
    """Could A and B name the same person? 'Anna Müller' ~ 'A. Mueller' ~ 'Anna' ~ 'Müller, Anna';
    'Anna Müller' is not 'Hans Müller'."""
    from rapidfuzz import fuzz

    wa, wb = name_words(a), name_words(b)
    if not wa or not wb:
        return True
    if person_key(a) == person_key(b) or fuzz.token_sort_ratio(" ".join(wa), " ".join(wb)) >= 90:
        return True
    shorter, longer = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return all(_word_agrees(w, longer) for w in shorter)


def companies_agree(a: str | None, b: str | None) -> bool:
    """Could A and B name the same company? 'Acme GmbH' ~ 'ACME Robotics'; 'Anna's Bakery' is not 'Bob's Plumbing'."""
    from rapidfuzz import fuzz

    ka, kb = company_key(a), company_key(b)
    if not ka or not kb:
        return True
    return ka == kb or ka in kb or kb in ka or fuzz.ratio(ka, kb) >= 85


# ---------------------------------------------------------------- finding


@dataclass
class Edge:
    a: int
    b: int
    score: int
    reason: str
    exact: bool  # an exact email/phone/domain match whose names agree: --auto may merge it


@dataclass
class _Forest:
    """Union-find over record ids, remembering the edges that joined each cluster (links) and
    every edge seen within it (reasons)."""

    parent: dict[int, int] = field(default_factory=dict)
    links: dict[int, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[int, list[Edge]] = field(default_factory=lambda: defaultdict(list))

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, edge: Edge) -> None:
        ra, rb = self.find(edge.a), self.find(edge.b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra
            self.links[ra].extend(self.links.pop(rb, []))
            self.seen[ra].extend(self.seen.pop(rb, []))
            self.links[ra].append(edge)
        self.seen[ra].append(edge)

    def clusters(self) -> dict[int, list[int]]:
        members: dict[int, list[int]] = defaultdict(list)
        for x in self.parent:
            members[self.find(x)].append(x)
        return {root: sorted(ids) for root, ids in members.items() if len(ids) > 1}


def _exact_edges(
    groups: dict[str, list[int]], names: dict[int, str], agree: Any, what: str, strong: int, weak: int
) -> Iterable[Edge]:
    """Edges between the records sharing one value (an email, a phone, a domain)."""
    for value, ids in groups.items():
        ids = sorted(set(ids))
        if len(ids) < 2:
            continue
        first = ids[0]
        for other in ids[1:]:
            same = agree(names[first], names[other])
            yield Edge(first, other, strong if same else weak, f"same {what} {value}", same)


def _name_edges(blocks: dict[Any, list[int]], texts: dict[int, str], threshold: int, where: Any) -> Iterable[Edge]:
    """Edges between records whose names score THRESHOLD or more, compared only within a block."""
    from rapidfuzz import fuzz, process

    for block_key, ids in blocks.items():
        if len(ids) < 2:
            continue
        sub_blocks: dict[str, list[int]] = {"": ids}
        if len(ids) > BLOCK:
            sub_blocks = defaultdict(list)
            for i in ids:
                sub_blocks[texts[i][:1]].append(i)
        for members in sub_blocks.values():
            choices = [texts[i] for i in members]
            for pos, i in enumerate(members[:-1]):
                if not texts[i]:
                    continue
                for _text, score, offset in process.extract(
                    texts[i], choices[pos + 1 :], scorer=fuzz.token_sort_ratio, score_cutoff=threshold, limit=None
                ):
                    j = members[pos + 1 + offset]
                    score = round(score)
                    label = "same name" if score == 100 else f"similar name ({score})"
                    yield Edge(min(i, j), max(i, j), score, f"{label}{where(block_key)}", False)


def _clusters(edges: Iterable[Edge], threshold: int, exact_only: bool) -> list[dict[str, Any]]:
    """{ids, links, reasons, score} per cluster. Strongest edges join first (exact ones before
    names of the same score), so the score, the weakest link that joined it, is as high as it can be."""
    forest = _Forest()
    kept = [e for e in edges if e.score >= threshold and (e.exact or not exact_only)]
    for edge in sorted(kept, key=lambda e: (-e.score, not e.exact)):
        forest.union(edge)
    out = []
    for root, ids in forest.clusters().items():
        links = forest.links[root]
        out.append(
            {"ids": ids, "links": links, "reasons": _reasons(forest.seen[root]), "score": min(e.score for e in links)}
        )
    out.sort(key=lambda c: (-c["score"], c["ids"][0]))
    return out


def _reasons(edges: list[Edge]) -> list[str]:
    return list(dict.fromkeys(e.reason for e in sorted(edges, key=lambda e: -e.score)))


def contact_clusters(
    session: Session, *, threshold: int = DEFAULT_THRESHOLD, exact_only: bool = False
) -> list[dict[str, Any]]:
    """Likely duplicate contacts, best first: {id (KEEP: the oldest), ids, score, exact, reasons,
    members: [{id, name, company, email, phone}], command}. EXACT_ONLY: only what --auto merges."""
    if not 0 <= threshold <= 100:
        raise Invalid(f"the threshold is a score from 0 to 100, not {threshold}")
    names: dict[int, str] = {}
    company_of: dict[int, int | None] = {}
    for cid, name, company_id in session.execute(select(Contact.id, Contact.name, Contact.company_id)):
        names[cid] = name
        company_of[cid] = company_id
    company_names = dict(session.execute(select(Company.id, Company.name)).all())
    emails: dict[str, list[int]] = defaultdict(list)
    first_email: dict[int, str] = {}
    for cid, email in session.execute(
        select(ContactEmail.contact_id, ContactEmail.email).order_by(ContactEmail.is_primary.desc(), ContactEmail.id)
    ):
        emails[email].append(cid)
        first_email.setdefault(cid, email)
    phones: dict[str, list[int]] = defaultdict(list)
    first_phone: dict[int, str] = {}
    for cid, phone in session.execute(
        select(ContactPhone.contact_id, ContactPhone.phone).order_by(ContactPhone.is_primary.desc(), ContactPhone.id)
    ):
        phones[phone].append(cid)
        first_phone.setdefault(cid, phone)

    edges: list[Edge] = []
    edges += _exact_edges(emails, names, names_agree, "email", EXACT, EMAIL_OTHER_NAME)
    edges += _exact_edges(phones, names, names_agree, "phone", EXACT, PHONE_OTHER_NAME)
    if not exact_only:
        # people are compared by name only within a company; companies that differ only by legal form count as one
        keys = {company_id: company_key(name) for company_id, name in company_names.items()}
        shown = {}
        blocks: dict[str, list[int]] = defaultdict(list)
        for cid, company_id in company_of.items():
            if company_id is not None and keys.get(company_id):
                blocks[keys[company_id]].append(cid)
                shown.setdefault(keys[company_id], company_names[company_id])
        folded: dict[str, str] = {}  # names repeat: fold each once
        texts = {}
        for ids in blocks.values():
            for cid in ids:
                name = names[cid]
                texts[cid] = folded.get(name) or folded.setdefault(name, _sorted_name(name))
        edges += _name_edges(blocks, texts, threshold, lambda key: f" at {shown[key]}")

    out = []
    for n, found in enumerate(_clusters(edges, threshold, exact_only), start=1):
        ids = found["ids"]
        members = [
            {
                "id": i,
                "name": names[i],
                "company": company_names.get(company_of[i]) if company_of[i] else None,
                "email": first_email.get(i),
                "phone": first_phone.get(i),
            }
            for i in ids
        ]
        out.append(_cluster_record(n, "contacts", found, members))
    return out


def company_clusters(
    session: Session, *, threshold: int = DEFAULT_THRESHOLD, exact_only: bool = False
) -> list[dict[str, Any]]:
    """Likely duplicate companies: the same domain or phone, or names alike once legal forms
    (GmbH, Inc., 有限公司 …) are ignored. Same shape as contact_clusters."""
    if not 0 <= threshold <= 100:
        raise Invalid(f"the threshold is a score from 0 to 100, not {threshold}")
    names: dict[int, str] = {}
    domain_of: dict[int, str | None] = {}
    phone_of: dict[int, str | None] = {}
    domains: dict[str, list[int]] = defaultdict(list)
    phones: dict[str, list[int]] = defaultdict(list)
    for cid, name, domain, phone in session.execute(select(Company.id, Company.name, Company.domain, Company.phone)):
        names[cid], domain_of[cid], phone_of[cid] = name, domain, phone
        if domain:
            domains[domain].append(cid)
        if phone:
            phones[phone].append(cid)
    edges: list[Edge] = []
    edges += _exact_edges(domains, names, companies_agree, "domain", EXACT, EMAIL_OTHER_NAME)
    edges += _exact_edges(phones, names, companies_agree, "phone", EXACT, PHONE_OTHER_NAME)
    if not exact_only:
        texts = {cid: company_key(name) for cid, name in names.items()}
        blocks: dict[str, list[int]] = defaultdict(list)
        for cid, key in texts.items():
            if key:
                blocks[key[:1]].append(cid)
        for edge in _name_edges(blocks, texts, threshold, lambda _key: ""):
            if edge.score == 100:
                edge.reason = "same name once the legal form is ignored"
            edges.append(edge)
    out = []
    for n, found in enumerate(_clusters(edges, threshold, exact_only), start=1):
        ids = found["ids"]
        members = [{"id": i, "name": names[i], "domain": domain_of[i], "phone": phone_of[i]} for i in ids]
        out.append(_cluster_record(n, "companies", found, members))
    return out


def _cluster_record(n: int, group: str, found: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    ids = found["ids"]
    return {
        "id": ids[0],  # the one a merge keeps: the oldest
        "cluster": n,
        "ids": ids,
        "score": found["score"],
        "exact": all(e.exact for e in found["links"]),
        "reasons": found["reasons"],
        "names": [f"#{m['id']} {m['name']}" for m in members],
        "members": members,
        "command": f"crm {group} merge " + " ".join(str(i) for i in ids),
    }


def clusters(session: Session, entity: str, **options: Any) -> list[dict[str, Any]]:
    if entity == "contact":
        return contact_clusters(session, **options)
    if entity == "company":
        return company_clusters(session, **options)
    raise Invalid(f"unknown record type '{entity}': use contact or company")


# ---------------------------------------------------------------- merging


def _iso(value: datetime | None) -> str | None:
    return clock.iso_utc(value) if value is not None else None


def _lock_all(session: Session, keep: Any, others: list[Any], what: str) -> None:
    """Refuse nonsense, then lock every row (in id order, so two merges cannot deadlock)."""
    if not others:
        raise Invalid(f"name at least one other {what} to merge into #{keep.id}")
    seen = {keep.id}
    for other in others:
        if other.id in seen:
            raise Invalid(
                f"{what} #{other.id} is named twice"
                if other.id != keep.id
                else f"cannot merge {what} #{keep.id} into itself"
            )
        seen.add(other.id)
    for record in sorted([keep, *others], key=lambda r: r.id):
        session.refresh(record, with_for_update=True)


def _fill(keep: Any, other: Any, attrs: Iterable[str], filled: list[str], not_taken: dict[str, Any]) -> None:
    """Empty attributes of KEEP take OTHER's value; a different value of OTHER is noted, not taken."""
    for attr in attrs:
        mine, theirs = getattr(keep, attr), getattr(other, attr)
        if theirs in (None, ""):
            continue
        if mine in (None, ""):
            setattr(keep, attr, theirs)
            filled.append(attr)
        elif mine != theirs:
            not_taken[attr] = theirs


def _fill_custom(keep: Any, other: Any, filled: list[str], not_taken: dict[str, Any]) -> None:
    merged = dict(keep.custom or {})
    for key, value in (other.custom or {}).items():
        if merged.get(key) in (None, ""):
            merged[key] = value
            filled.append(f"custom.{key}")
        elif merged[key] != value:
            not_taken[f"custom.{key}"] = value
    keep.custom = dict(sorted(merged.items()))


def _repoint(session: Session, model: Any, column: str, old: int, new: int) -> list[int]:
    """Point every MODEL row of OLD at NEW; the ids moved."""
    col = getattr(model, column)
    ids = list(session.scalars(select(model.id).where(col == old).order_by(model.id)))
    if ids:
        session.execute(
            update(model).where(model.id.in_(ids)).values({column: new}).execution_options(synchronize_session=False)
        )
    return ids


def _move_values(session: Session, model: Any, attr: str, keep_id: int, other_id: int) -> list[str]:
    """Move OTHER's emails or phones that KEEP lacks to KEEP; returns the values moved.
    KEEP's primary stays primary; a KEEP without any takes OTHER's primary."""
    column = getattr(model, attr)
    mine = set(session.scalars(select(column).where(model.contact_id == keep_id)))
    rows = list(session.execute(select(model.id, column).where(model.contact_id == other_id).order_by(model.id)))
    moving = [(row_id, value) for row_id, value in rows if value not in mine]
    if moving:
        values: dict[str, Any] = {"contact_id": keep_id}
        if mine:
            values["is_primary"] = False
        session.execute(
            update(model)
            .where(model.id.in_([row_id for row_id, _ in moving]))
            .values(values)
            .execution_options(synchronize_session=False)
        )
    return [value for _, value in moving]


def _one_primary(session: Session, model: Any, keep_id: int) -> None:
    rows = list(
        session.execute(
            select(model.id, model.is_primary)
            .where(model.contact_id == keep_id)
            .order_by(model.is_primary.desc(), model.id)
        )
    )
    for n, (row_id, is_primary) in enumerate(rows):
        if bool(is_primary) != (n == 0):
            session.execute(
                update(model)
                .where(model.id == row_id)
                .values(is_primary=n == 0)
                .execution_options(synchronize_session=False)
            )


def _retitle_activities(session: Session, activity_ids: list[int], subject: str, *, only_without_contact: bool) -> None:
    """Activity search documents carry their subject's name: give moved ones the kept name."""
    if not activity_ids:
        return
    query = select(Activity.id, Activity.type, Activity.text, Activity.contact_id).where(Activity.id.in_(activity_ids))
    for activity_id, kind, text, contact_id in session.execute(query):
        if only_without_contact and contact_id is not None:
            continue
        search.upsert(session, "activity", activity_id, f"{kind} · {subject}", text)


def _reindex_deals(session: Session, deal_ids: list[int]) -> None:
    from crmcli.deals import reindex

    for deal_id in deal_ids:
        deal = session.get(Deal, deal_id)
        if deal is not None:
            reindex(session, deal)


def _record_merge(
    session: Session,
    entity: str,
    keep_id: int,
    other: Any,
    snapshot: dict[str, Any],
    reason: str | None,
    by: str | None,
) -> MergeRecord:
    row = MergeRecord(
        entity=entity,
        kept_id=keep_id,
        merged_id=other.id,
        merged_name=other.name,
        snapshot=snapshot,
        reason=reason,
        at=clock.now(),
        by=by,
    )
    session.add(row)
    return row


def merge_contacts(
    session: Session, keep: Contact, others: list[Contact], *, by: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """Merge OTHERS into KEEP (see the module docstring); returns what moved and what was filled.
    Values of the others that differ from KEEP's are not taken: they are in the merge record's
    snapshot and in the result's not_taken."""
    from crmcli.contacts import reindex_many
    from crmcli.tags import set_tags, tags_of

    _lock_all(session, keep, others, "contact")
    assert keep.id is not None
    company_names = dict(
        session.execute(
            select(Company.id, Company.name).where(Company.id.in_([c.company_id for c in others if c.company_id]))
        ).all()
    )
    moved: dict[str, list[Any]] = defaultdict(list)
    filled: list[str] = []
    not_taken: dict[int, dict[str, Any]] = {}
    for other in sorted(others, key=lambda c: c.id or 0):
        assert other.id is not None
        emails = list(
            session.scalars(
                select(ContactEmail.email)
                .where(ContactEmail.contact_id == other.id)
                .order_by(ContactEmail.is_primary.desc(), ContactEmail.id)
            )
        )
        phones = list(
            session.scalars(
                select(ContactPhone.phone)
                .where(ContactPhone.contact_id == other.id)
                .order_by(ContactPhone.is_primary.desc(), ContactPhone.id)
            )
        )
        tags = tags_of(session, ContactTag, "contact_id", [other.id]).get(other.id, [])
        differs: dict[str, Any] = {}
        _fill(
            keep,
            other,
            ("title", "company_id", "owner", "source", "notes", "external_id", "cadence_days"),
            filled,
            differs,
        )
        _fill_custom(keep, other, filled, differs)
        moved["emails"] += _move_values(session, ContactEmail, "email", keep.id, other.id)
        moved["phones"] += _move_values(session, ContactPhone, "phone", keep.id, other.id)
        set_tags(session, ContactTag, "contact_id", keep.id, tags)
        activity_ids = _repoint(session, Activity, "contact_id", other.id, keep.id)
        deal_ids = _repoint(session, Deal, "contact_id", other.id, keep.id)
        followup_ids = _repoint(session, FollowUp, "contact_id", other.id, keep.id)
        moved["activities"] += activity_ids
        moved["deals"] += deal_ids
        moved["followups"] += followup_ids
        moved["tags"] += tags
        if "company_id" in differs:
            differs["company"] = company_names.get(differs["company_id"])
        if differs:
            not_taken[other.id] = differs
        snapshot = {
            "name": other.name,
            "title": other.title,
            "company": company_names.get(other.company_id) if other.company_id else None,
            "company_id": other.company_id,
            "emails": emails,
            "phones": phones,
            "tags": tags,
            "owner": other.owner,
            "source": other.source,
            "notes": other.notes,
            "custom": dict(other.custom or {}),
            "external_id": other.external_id,
            "cadence_days": other.cadence_days,
            "created_at": _iso(other.created_at),
            "updated_at": _iso(other.updated_at),
            "moved": {"activities": activity_ids, "deals": deal_ids, "followups": followup_ids},
            "not_taken": differs,
        }
        _record_merge(session, "contact", keep.id, other, snapshot, reason, by)
    for model in (ContactEmail, ContactPhone):
        _one_primary(session, model, keep.id)
    gone = [{"id": c.id, "name": c.name} for c in others]
    search.remove(session, "contact", [c["id"] for c in gone])
    for other in others:
        session.delete(other)
    keep.updated_at = clock.now()
    session.add(keep)
    session.flush()
    session.expire_all()  # the bulk updates above bypassed the identity map
    reindex_many(session, [keep.id])
    kept = session.get(Contact, keep.id)
    assert kept is not None
    _retitle_activities(session, moved["activities"], kept.name, only_without_contact=False)
    _reindex_deals(session, moved["deals"])
    session.flush()
    return _result(kept, gone, moved, filled, not_taken)


def merge_companies(
    session: Session, keep: Company, others: list[Company], *, by: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """Merge OTHERS into KEEP: their people, activities, deals and follow-ups move to KEEP;
    KEEP's empty fields are filled, tags unioned; one merge record per removed company."""
    from crmcli.companies import reindex
    from crmcli.contacts import reindex_many
    from crmcli.tags import set_tags, tags_of

    _lock_all(session, keep, others, "company")
    assert keep.id is not None
    moved: dict[str, list[Any]] = defaultdict(list)
    filled: list[str] = []
    not_taken: dict[int, dict[str, Any]] = {}
    for other in sorted(others, key=lambda c: c.id or 0):
        assert other.id is not None
        tags = tags_of(session, CompanyTag, "company_id", [other.id]).get(other.id, [])
        differs: dict[str, Any] = {}
        _fill(keep, other, ("domain", "phone", "website", "owner", "source", "notes", "external_id"), filled, differs)
        _fill_custom(keep, other, filled, differs)
        set_tags(session, CompanyTag, "company_id", keep.id, tags)
        people = _repoint(session, Contact, "company_id", other.id, keep.id)
        activity_ids = _repoint(session, Activity, "company_id", other.id, keep.id)
        deal_ids = _repoint(session, Deal, "company_id", other.id, keep.id)
        followup_ids = _repoint(session, FollowUp, "company_id", other.id, keep.id)
        moved["contacts"] += people
        moved["activities"] += activity_ids
        moved["deals"] += deal_ids
        moved["followups"] += followup_ids
        moved["tags"] += tags
        if differs:
            not_taken[other.id] = differs
        snapshot = {
            "name": other.name,
            "domain": other.domain,
            "phone": other.phone,
            "website": other.website,
            "tags": tags,
            "owner": other.owner,
            "source": other.source,
            "notes": other.notes,
            "custom": dict(other.custom or {}),
            "external_id": other.external_id,
            "created_at": _iso(other.created_at),
            "updated_at": _iso(other.updated_at),
            "moved": {"contacts": people, "activities": activity_ids, "deals": deal_ids, "followups": followup_ids},
            "not_taken": differs,
        }
        _record_merge(session, "company", keep.id, other, snapshot, reason, by)
    gone = [{"id": c.id, "name": c.name} for c in others]
    search.remove(session, "company", [c["id"] for c in gone])
    for other in others:
        session.delete(other)
    keep.updated_at = clock.now()
    session.add(keep)
    session.flush()
    session.expire_all()
    kept = session.get(Company, keep.id)
    assert kept is not None
    reindex(session, kept)
    reindex_many(session, moved["contacts"])
    _retitle_activities(session, moved["activities"], kept.name, only_without_contact=True)
    _reindex_deals(session, moved["deals"])
    session.flush()
    return _result(kept, gone, moved, filled, not_taken)


def _result(
    kept: Any,
    gone: list[dict[str, Any]],
    moved: dict[str, list[Any]],
    filled: list[str],
    not_taken: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    counts = {k: len(v) for k, v in moved.items() if k != "tags"}
    return {
        "id": kept.id,
        "name": kept.name,
        "merged": gone,
        "moved": counts,
        "tags_added": sorted(set(moved.get("tags", []))),
        "filled": list(dict.fromkeys(filled)),
        "not_taken": not_taken,
    }


def merge(
    session: Session, entity: str, keep: Any, others: list[Any], *, by: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    if entity == "contact":
        return merge_contacts(session, keep, others, by=by, reason=reason)
    if entity == "company":
        return merge_companies(session, keep, others, by=by, reason=reason)
    raise Invalid(f"unknown record type '{entity}': use contact or company")


def auto_merge(session: Session, entity: str, *, by: str | None = None) -> list[dict[str, Any]]:
    """Merge every cluster joined only by exact email/phone (domain/phone) matches whose names
    agree, each into its oldest record. Returns one merge result per cluster, with its reasons."""
    model = Contact if entity == "contact" else Company
    results = []
    for cluster in clusters(session, entity, threshold=EXACT, exact_only=True):
        keep = session.get(model, cluster["ids"][0])
        others = [session.get(model, i) for i in cluster["ids"][1:]]
        if keep is None or any(o is None for o in others):  # pragma: no cover - read in this transaction
            raise NotFound(f"{entity} of cluster {cluster['ids']} vanished")
        result = merge(session, entity, keep, others, by=by, reason="auto: " + "; ".join(cluster["reasons"]))
        results.append({**result, "reasons": cluster["reasons"], "ids": cluster["ids"]})
    return results


# ---------------------------------------------------------------- history


def merge_history(session: Session, entity: str, record_id: int) -> list[dict[str, Any]]:
    """The records merged into RECORD_ID, newest first, including those merged earlier into
    records that were merged into it later: {id (of the merge), merged_id, merged_name, into, at, by, reason}."""
    rows: list[MergeRecord] = []
    targets = [record_id]
    seen = {record_id}
    while targets:
        found = list(
            session.scalars(select(MergeRecord).where(MergeRecord.entity == entity, MergeRecord.kept_id.in_(targets)))
        )
        rows += found
        targets = [r.merged_id for r in found if r.merged_id not in seen]
        seen.update(targets)
    rows.sort(key=lambda r: (r.at, r.id or 0), reverse=True)
    return [
        {
            "id": r.id,
            "merged_id": r.merged_id,
            "merged_name": r.merged_name,
            "into": r.kept_id,
            "at": r.at,
            "by": r.by,
            "reason": r.reason,
            "what": f"#{r.merged_id} {r.merged_name}" + (f" (into #{r.kept_id})" if r.kept_id != record_id else ""),
        }
        for r in rows
    ]


def merged_into(session: Session, entity: str, record_id: int) -> str | None:
    """'merged into #12 on 2026-11-23' when RECORD_ID was merged away (following later merges), else None."""
    current, at = record_id, None
    for _ in range(100):
        row = session.scalars(
            select(MergeRecord)
            .where(MergeRecord.entity == entity, MergeRecord.merged_id == current)
            .order_by(MergeRecord.id.desc())
        ).first()
        if row is None:
            break
        current, at = row.kept_id, at or row.at
    if current == record_id or at is None:
        return None
    return f"merged into #{current} on {clock.show_local(at)[:10]}"
