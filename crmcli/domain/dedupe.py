"""Duplicates already in the database: find them, merge them, and keep a record of each merge.

Finding reads the few columns it needs once (ids, names, companies, external ids, sources,
emails, phones, domains) and matches in memory: records sharing an exact value are found
through dictionaries, similar names with rapidfuzz only inside blocks (people of the same
company, companies with the same first letter), people without a company by their exact name,
so 100k contacts cost a handful of queries, never one per contact.

Each pair found is judged by crmcli.values.matching, the one definition of "the same record" that the
importer and `crm contacts add` use too, and becomes an edge with a score (0-100) and a reason:

- same (a shared email or phone, for companies domain or phone, with compatible names; the same
  name at the same company with no conflicting identifier; the same external id): 100, exact:
  --auto may merge it;
- possible: a shared email (domain) with other names 80, a shared phone with other names 75
  (an info@ address or a switchboard shared by two people); similar names at one company:
  rapidfuzz's token_sort_ratio on case- and accent-folded names, 10 less when both have emails
  (or phones) and share none;
- different (different external ids from one source, or nothing in common): no edge at all.

Edges at or above the threshold (default 75: possible duplicates from a shared address are
listed) join records into clusters (union-find, strongest edges first), never two records that
external ids call different; a cluster's score is its weakest joining edge. A cluster is exact,
and scores 100, only when no two of its records are a possible duplicate or different (see
_clusters); `--auto` merges only those.

Merging keeps KEEP's values, fills its empty fields from the others (oldest first), unions
emails, phones and tags (KEEP's primary stays primary), re-points activities, deals and
follow-ups, writes one MergeRecord per removed record with a snapshot of what it held, and
removes the others. The caller's session is the one transaction.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select, update
from sqlmodel import Session, col

from crmcli.domain import search
from crmcli.domain.indexing import reindex_company, reindex_contacts, reindex_deals
from crmcli.domain.records import (
    AutoMergeResult,
    DuplicateCluster,
    DuplicateMember,
    MergedAway,
    MergeHistoryRow,
    MergeResult,
)
from crmcli.domain.tags import set_tags, tags_of
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
from crmcli.values import clock
from crmcli.values.addressbook import ADDRESS, address_line
from crmcli.values.matching import (
    CompanyIdentity,
    Identity,
    Verdict,
    company_names_compatible,
    company_verdict,
    different_records,
    names_compatible,
    sorted_name,
    verdict,
)
from crmcli.values.normalize import company_key

companies_agree, names_agree = company_names_compatible, names_compatible  # the names callers knew
DEFAULT_THRESHOLD = 75  # commands/dedupe.py repeats it (start-up does not import this module)
BLOCK = 400  # a block bigger than this is split by the first letter of its names before fuzzy scoring
GROUP = 200  # records sharing one value are compared pairwise up to this many
WINDOW = 50  # in a bigger group, each with this many neighbours in the order of their names
EXACT = 100
EMAIL_OTHER_NAME = 80
PHONE_OTHER_NAME = 75
CONFLICT = 10  # similar names, but both have emails (phones, domains) and share none
NAME_ONLY = 20  # the same name, no company, other emails or phones: only the name says so (70: not by default)
CHECK = 40_000  # pairs checked before two clusters are called one exact cluster
ENTITIES = ("contact", "company")


# ---------------------------------------------------------------- finding


@dataclass
class Edge:
    a: int
    b: int
    score: int
    reason: str
    exact: bool  # matching says "same": --auto may merge it


class _Cluster(TypedDict):
    ids: list[int]
    links: list[Edge]  # the edges that joined it
    reasons: list[str]  # of every edge within it, strongest first
    score: int
    exact: bool


@dataclass
class _Forest:
    """Union-find over record ids, remembering per cluster its members, the edges that joined it
    (links), every edge seen within it (reasons), and whether every two of its members are the
    same record (exact: see _clusters). Two clusters are never joined when external ids say that
    a member of one is another record than a member of the other; in EXACT_ONLY mode (what --auto
    merges) only when every member of one fits every member of the other."""

    identity: dict[int, Any]
    fits: Callable[[int, int], bool]
    exact_only: bool
    parent: dict[int, int] = field(default_factory=dict)
    members: dict[int, list[int]] = field(default_factory=dict)
    with_ids: dict[int, list[Any]] = field(default_factory=dict)  # members' identities with an external id
    exact: dict[int, bool] = field(default_factory=dict)
    links: dict[int, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[int, list[Edge]] = field(default_factory=lambda: defaultdict(list))

    def find(self, x: int) -> int:
        if x not in self.parent:
            self.parent[x] = x
            self.members[x] = [x]
            me = self.identity[x]
            self.with_ids[x] = [me] if me.external_id else []
            self.exact[x] = True
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def _all_fit(self, ra: int, rb: int) -> bool:
        a, b = self.members[ra], self.members[rb]
        if len(a) * len(b) > CHECK:  # a cluster this big is for people to look at, not for --auto
            return False
        return all(self.fits(x, y) for x in a for y in b)

    def union(self, edge: Edge) -> None:
        ra, rb = self.find(edge.a), self.find(edge.b)
        if ra != rb:
            if any(different_records(x, y) for x in self.with_ids[ra] for y in self.with_ids[rb]):
                return
            exact = edge.exact and self.exact[ra] and self.exact[rb] and self._all_fit(ra, rb)
            if self.exact_only and not exact:
                return
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra
            self.members[ra] += self.members.pop(rb)
            self.with_ids[ra] += self.with_ids.pop(rb)
            self.exact[ra] = exact
            self.links[ra].extend(self.links.pop(rb, []))
            self.seen[ra].extend(self.seen.pop(rb, []))
            self.links[ra].append(edge)
        self.seen[ra].append(edge)

    def clusters(self) -> dict[int, list[int]]:
        return {root: sorted(ids) for root, ids in self.members.items() if len(ids) > 1}


def _pairs(ids: Iterable[int], order: Callable[[int], str]) -> Iterable[tuple[int, int]]:
    """Every pair of IDS (lower id first). In a group bigger than GROUP (a role address on hundreds
    of records) each record is paired with its WINDOW neighbours in ORDER (their folded names), so
    the cost stays linear; records with similar names sit next to each other there."""
    ids = sorted(set(ids))
    if len(ids) <= GROUP:
        yield from itertools.combinations(ids, 2)
        return
    ranked = sorted(ids, key=lambda i: (order(i), i))
    for pos, i in enumerate(ranked):
        for j in ranked[pos + 1 : pos + 1 + WINDOW]:
            yield (i, j) if i < j else (j, i)


def _similar_names(
    blocks: dict[Any, list[int]], texts: dict[int, str], cutoff: int
) -> Iterable[tuple[int, int, int, Any]]:
    """(i, j, score, block key) for records whose names score CUTOFF or more, compared only within a block."""
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
                    texts[i], choices[pos + 1 :], scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, limit=None
                ):
                    j = members[pos + 1 + offset]
                    yield min(i, j), max(i, j), round(score), block_key


def _same_texts(blocks: dict[Any, list[int]], texts: dict[int, str]) -> list[tuple[list[int], Any]]:
    """(ids, block key) for the records of a block whose names are equal: what --auto needs of names."""
    groups: dict[tuple[Any, str], list[int]] = defaultdict(list)
    for key, ids in blocks.items():
        for i in ids:
            if texts[i]:
                groups[(key, texts[i])].append(i)
    return [(ids, key) for (key, _text), ids in groups.items() if len(ids) > 1]


def _edge(i: int, j: int, found: Verdict, ratio: int | None = None, where: str = "", weak: int = 0) -> Edge | None:
    """The edge matching's verdict FOUND makes of records I and J (None for different). RATIO: how
    alike their names are, when they were found by name; WHERE: ' at Acme GmbH' for those; WEAK:
    taken off a possible duplicate's score when the name is all the evidence (no company)."""
    if found == "different":
        return None
    same = found == "same"
    if found.on != "name":
        score = EXACT if same else PHONE_OTHER_NAME if found.on == "phone" else EMAIL_OTHER_NAME
        return Edge(i, j, score, found.reason, same)
    ratio = EXACT if ratio is None else ratio
    label = "same name" if ratio == EXACT else f"similar name ({ratio})"
    reason = label + where + (f", {found.conflict}" if found.conflict else "")
    if same:
        return Edge(i, j, EXACT, reason, True)
    return Edge(i, j, (ratio - CONFLICT if found.conflict else min(ratio, EXACT - 1)) - weak, reason, False)


def _clusters(
    edges: Iterable[Edge], identity: dict[int, Any], fits: Callable[[Any, Any], bool], threshold: int, exact_only: bool
) -> list[_Cluster]:
    """{ids, links, reasons, score, exact} per cluster. Strongest edges join first (exact ones before
    others of the same score), so the score, the weakest link that joined it, is as high as it can be.
    A cluster is exact (what --auto merges) when its links are exact and every two of its records
    FIT (_people_fit): the same, or nothing against it. Exact links whose ends do not all fit (Lena
    with one email, Lena with another, a Lena with none that is the same as each) make a cluster
    that is listed at 99 at most and left to people."""
    judged: dict[tuple[int, int], bool] = {}

    def fit(x: int, y: int) -> bool:
        pair = (x, y) if x < y else (y, x)
        found = judged.get(pair)
        if found is None:
            found = judged[pair] = fits(identity[pair[0]], identity[pair[1]])
        return found

    forest = _Forest(identity, fit, exact_only)
    kept = [e for e in edges if e.score >= threshold and (e.exact or not exact_only)]
    for edge in sorted(kept, key=lambda e: (-e.score, not e.exact, e.a, e.b)):
        forest.union(edge)
    out: list[_Cluster] = []
    for root, ids in forest.clusters().items():
        links = forest.links[root]
        score = min(e.score for e in links)
        exact = forest.exact[root]
        out.append(
            {
                "ids": ids,
                "links": links,
                "reasons": _reasons(forest.seen[root]),
                "score": score if exact else min(score, EXACT - 1),
                "exact": exact,
            }
        )
    out.sort(key=lambda c: (-c["score"], c["ids"][0]))
    return out


def _people_fit(a: Identity, b: Identity) -> bool:
    """May A and B end up in one record, through a third that is the same as both? When they are
    the same, or nothing is against it: no external id, shared email or phone with another name,
    or emails (phones) on both sides that differ; and names that could be one person's."""
    found = verdict(a, b)
    if found == "same":
        return True
    if found.on in ("external_id", "email", "phone") or found.conflict:
        return False
    return not (a.emails and b.emails) and not (a.phones and b.phones) and names_compatible(a.name, b.name)


def _companies_fit(a: CompanyIdentity, b: CompanyIdentity) -> bool:
    found = company_verdict(a, b)
    if found == "same":
        return True
    if found.on in ("external_id", "domain", "phone") or found.conflict:
        return False
    return not (a.domain and b.domain) and company_names_compatible(a.name, b.name)


def _reasons(edges: list[Edge]) -> list[str]:
    return list(dict.fromkeys(e.reason for e in sorted(edges, key=lambda e: -e.score)))


def _check(threshold: int) -> None:
    if not 0 <= threshold <= 100:
        raise Invalid(f"the threshold is a score from 0 to 100, not {threshold}")


def contact_clusters(
    session: Session, *, threshold: int = DEFAULT_THRESHOLD, exact_only: bool = False
) -> list[DuplicateCluster]:
    """Likely duplicate contacts, best first: {id (KEEP: the oldest), ids, score, exact, reasons,
    members: [{id, name, company, email, phone}], command}. EXACT_ONLY: only what --auto merges."""
    _check(threshold)
    company_names = dict(session.execute(select(col(Company.id), col(Company.name))).all())
    keys = {company_id: company_key(name) for company_id, name in company_names.items()}
    people: dict[int, Identity] = {}
    company_of: dict[int, int | None] = {}
    for cid, name, company_id, external_id, source in session.execute(
        select(
            col(Contact.id), col(Contact.name), col(Contact.company_id), col(Contact.external_id), col(Contact.source)
        )
    ):
        people[cid] = Identity(name, [], [], external_id, source, keys.get(company_id, "") if company_id else "")
        company_of[cid] = company_id
    emails: dict[str, list[int]] = defaultdict(list)
    for cid, email in session.execute(
        select(col(ContactEmail.contact_id), col(ContactEmail.email)).order_by(
            col(ContactEmail.is_primary).desc(), col(ContactEmail.id)
        )
    ):
        person = people.get(cid)
        if person is not None:  # an orphan row (crm doctor reports those) is no one's
            emails[email].append(cid)
            person.emails.append(email)
    phones: dict[str, list[int]] = defaultdict(list)
    for cid, phone in session.execute(
        select(col(ContactPhone.contact_id), col(ContactPhone.phone)).order_by(
            col(ContactPhone.is_primary).desc(), col(ContactPhone.id)
        )
    ):
        person = people.get(cid)
        if person is not None:  # an orphan row (crm doctor reports those) is no one's
            phones[phone].append(cid)
            person.phones.append(phone)

    texts = {cid: sorted_name(person.name) for cid, person in people.items()}
    found: dict[tuple[int, int], tuple[int, str, int] | None] = {}  # pairs to judge: _edge's (ratio, where, weak)
    for groups in (emails, phones):
        for ids in groups.values():
            if len(ids) > 1:
                for pair in _pairs(ids, texts.__getitem__):
                    found.setdefault(pair, None)
    # people are compared by name within a company (companies that differ only by legal form count
    # as one); people without a company only by their exact name
    shown: dict[str, str] = {}
    blocks: dict[str, list[int]] = defaultdict(list)
    alone: dict[str, list[int]] = defaultdict(list)
    for cid, person in people.items():
        if person.company_key:
            blocks[person.company_key].append(cid)
            shown.setdefault(person.company_key, company_names[company_of[cid]])
        elif texts[cid]:
            alone[texts[cid]].append(cid)
    if exact_only:  # only equal names can be the same: grouped, not scored
        for ids, company in _same_texts(blocks, texts):
            for pair in _pairs(ids, texts.__getitem__):
                found[pair] = (EXACT, f" at {shown[company]}", 0)
    else:
        for i, j, score, company in _similar_names(blocks, texts, threshold):
            found[(i, j)] = (score, f" at {shown[company]}", 0)
    for ids in alone.values():
        for pair in _pairs(ids, texts.__getitem__):
            found[pair] = (EXACT, ", no company", NAME_ONLY)

    edges = []
    for (i, j), by_name in found.items():
        edge = _edge(i, j, verdict(people[i], people[j]), *(by_name or ()))
        if edge is not None:
            edges.append(edge)
    out = []
    for n, cluster in enumerate(_clusters(edges, people, _people_fit, threshold, exact_only), start=1):
        members: list[DuplicateMember] = [
            {
                "id": i,
                "name": people[i].name or "",  # stored names are never empty (NOT NULL)
                "company": company_names.get(company_of[i]) if company_of[i] else None,
                "email": people[i].emails[0] if people[i].emails else None,
                "phone": people[i].phones[0] if people[i].phones else None,
            }
            for i in cluster["ids"]
        ]
        out.append(_cluster_record(n, "contacts", cluster, members))
    return out


def company_clusters(
    session: Session, *, threshold: int = DEFAULT_THRESHOLD, exact_only: bool = False
) -> list[DuplicateCluster]:
    """Likely duplicate companies: the same domain or phone, or names alike once legal forms
    (GmbH, Inc., 有限公司 …) are ignored. Same shape as contact_clusters."""
    _check(threshold)
    firms: dict[int, CompanyIdentity] = {}
    domains: dict[str, list[int]] = defaultdict(list)
    phones: dict[str, list[int]] = defaultdict(list)
    for cid, name, domain, phone, external_id, source in session.execute(
        select(
            col(Company.id),
            col(Company.name),
            col(Company.domain),
            col(Company.phone),
            col(Company.external_id),
            col(Company.source),
        )
    ):
        firms[cid] = CompanyIdentity(name, domain, phone, external_id, source)
        if domain:
            domains[domain].append(cid)
        if phone:
            phones[phone].append(cid)
    texts = {cid: company_key(firm.name) for cid, firm in firms.items()}
    found: dict[tuple[int, int], tuple[int, str, int] | None] = {}  # as contact_clusters
    for groups in (domains, phones):
        for ids in groups.values():
            if len(ids) > 1:
                for pair in _pairs(ids, texts.__getitem__):
                    found.setdefault(pair, None)
    blocks: dict[str, list[int]] = defaultdict(list)
    for cid, key in texts.items():
        if key:
            blocks[key[:1]].append(cid)
    if exact_only:
        for ids, _key in _same_texts(blocks, texts):
            for pair in _pairs(ids, texts.__getitem__):
                found[pair] = (EXACT, "", 0)
    else:
        for i, j, score, _key in _similar_names(blocks, texts, threshold):
            found[(i, j)] = (score, "", 0)
    edges = []
    for (i, j), by_name in found.items():
        judged = company_verdict(firms[i], firms[j])
        edge = _edge(i, j, judged, *(by_name or ()))
        if edge is not None and judged.on == "name" and by_name and by_name[0] == EXACT:
            edge.reason = judged.reason  # "same name once the legal form is ignored[, other domains]"
        if edge is not None:
            edges.append(edge)
    out = []
    for n, cluster in enumerate(_clusters(edges, firms, _companies_fit, threshold, exact_only), start=1):
        members: list[DuplicateMember] = [
            {"id": i, "name": firms[i].name or "", "domain": firms[i].domain, "phone": firms[i].phone}
            for i in cluster["ids"]
        ]
        out.append(_cluster_record(n, "companies", cluster, members))
    return out


def _cluster_record(n: int, group: str, found: _Cluster, members: list[DuplicateMember]) -> DuplicateCluster:
    ids = found["ids"]
    return {
        "id": ids[0],  # the one a merge keeps: the oldest
        "cluster": n,
        "ids": ids,
        "score": found["score"],
        "exact": found["exact"],
        "reasons": found["reasons"],
        "names": [f"#{m['id']} {m['name']}" for m in members],
        "members": members,
        "command": f"crm {group} merge " + " ".join(str(i) for i in ids),
    }


def clusters(
    session: Session, entity: str, *, threshold: int = DEFAULT_THRESHOLD, exact_only: bool = False
) -> list[DuplicateCluster]:
    if entity == "contact":
        return contact_clusters(session, threshold=threshold, exact_only=exact_only)
    if entity == "company":
        return company_clusters(session, threshold=threshold, exact_only=exact_only)
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
                else f"cannot merge {what} #{keep.id} into itself: nothing left to merge (merged already?)"
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


def _fill_address(keep: Any, other: Any, filled: list[str], not_taken: dict[str, Any]) -> None:
    """An address is taken whole: KEEP without one takes OTHER's; a different one is noted, not mixed in."""
    mine = {k: getattr(keep, k) for k in ADDRESS}
    theirs = {k: getattr(other, k) for k in ADDRESS}
    if not any(theirs.values()) or mine == theirs:
        return
    if not any(mine.values()):
        for key, value in theirs.items():
            setattr(keep, key, value)
        filled.append("address")
    else:
        not_taken["address"] = address_line(theirs)


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
    query = select(col(Activity.id), col(Activity.type), col(Activity.text), col(Activity.contact_id)).where(
        col(Activity.id).in_(activity_ids)
    )
    for activity_id, kind, text, contact_id in session.execute(query):
        if only_without_contact and contact_id is not None:
            continue
        search.upsert(session, "activity", activity_id, f"{kind} · {subject}", text)


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
) -> MergeResult:
    """Merge OTHERS into KEEP (see the module docstring); returns what moved and what was filled.
    Values of the others that differ from KEEP's are not taken: they are in the merge record's
    snapshot and in the result's not_taken."""
    _lock_all(session, keep, others, "contact")
    assert keep.id is not None
    company_names = dict(
        session.execute(
            select(col(Company.id), col(Company.name)).where(
                col(Company.id).in_([c.company_id for c in others if c.company_id])
            )
        ).all()
    )
    moved: dict[str, list[Any]] = defaultdict(list)
    filled: list[str] = []
    not_taken: dict[int, dict[str, Any]] = {}
    for other in sorted(others, key=lambda c: c.id or 0):
        assert other.id is not None
        emails = list(
            session.scalars(
                select(col(ContactEmail.email))
                .where(col(ContactEmail.contact_id) == other.id)
                .order_by(col(ContactEmail.is_primary).desc(), col(ContactEmail.id))
            )
        )
        phones = list(
            session.scalars(
                select(col(ContactPhone.phone))
                .where(col(ContactPhone.contact_id) == other.id)
                .order_by(col(ContactPhone.is_primary).desc(), col(ContactPhone.id))
            )
        )
        tags = tags_of(session, ContactTag, "contact_id", [other.id]).get(other.id, [])
        differs: dict[str, Any] = {}
        _fill(
            keep,
            other,
            ("title", "company_id", "owner", "source", "notes", "external_id", "cadence_days", "birthday", "website"),
            filled,
            differs,
        )
        _fill_address(keep, other, filled, differs)
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
            **{k: getattr(other, k) for k in (*ADDRESS, "birthday", "website")},
            "created_at": _iso(other.created_at),
            "updated_at": _iso(other.updated_at),
            "moved": {"activities": activity_ids, "deals": deal_ids, "followups": followup_ids},
            "not_taken": differs,
        }
        _record_merge(session, "contact", keep.id, other, snapshot, reason, by)
    for model in (ContactEmail, ContactPhone):
        _one_primary(session, model, keep.id)
    gone: list[MergedAway] = [{"id": c.id, "name": c.name} for c in others if c.id is not None]
    search.remove(session, "contact", [c["id"] for c in gone])
    for other in others:
        session.delete(other)
    keep.updated_at = clock.now()
    session.add(keep)
    session.flush()
    session.expire_all()  # the bulk updates above bypassed the identity map
    reindex_contacts(session, [keep.id])
    kept = session.get(Contact, keep.id)
    assert kept is not None
    _retitle_activities(session, moved["activities"], kept.name, only_without_contact=False)
    reindex_deals(session, moved["deals"])
    session.flush()
    return _result(kept, gone, moved, filled, not_taken)


def merge_companies(
    session: Session, keep: Company, others: list[Company], *, by: str | None = None, reason: str | None = None
) -> MergeResult:
    """Merge OTHERS into KEEP: their people, activities, deals and follow-ups move to KEEP;
    KEEP's empty fields are filled, tags unioned; one merge record per removed company."""
    _lock_all(session, keep, others, "company")
    assert keep.id is not None
    moved: dict[str, list[Any]] = defaultdict(list)
    filled: list[str] = []
    not_taken: dict[int, dict[str, Any]] = {}
    for other in sorted(others, key=lambda c: c.id or 0):
        assert other.id is not None
        tags = tags_of(session, CompanyTag, "company_id", [other.id]).get(other.id, [])
        differs: dict[str, Any] = {}
        _fill(
            keep, other, ("domain", "phone", "website", "owner", "source", "notes", "external_id", "industry"),
            filled, differs,
        )  # fmt: skip
        _fill_address(keep, other, filled, differs)
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
            **{k: getattr(other, k) for k in (*ADDRESS, "industry")},
            "created_at": _iso(other.created_at),
            "updated_at": _iso(other.updated_at),
            "moved": {"contacts": people, "activities": activity_ids, "deals": deal_ids, "followups": followup_ids},
            "not_taken": differs,
        }
        _record_merge(session, "company", keep.id, other, snapshot, reason, by)
    gone: list[MergedAway] = [{"id": c.id, "name": c.name} for c in others if c.id is not None]
    search.remove(session, "company", [c["id"] for c in gone])
    for other in others:
        session.delete(other)
    keep.updated_at = clock.now()
    session.add(keep)
    session.flush()
    session.expire_all()
    kept = session.get(Company, keep.id)
    assert kept is not None
    reindex_company(session, kept)
    reindex_contacts(session, moved["contacts"])
    _retitle_activities(session, moved["activities"], kept.name, only_without_contact=True)
    reindex_deals(session, moved["deals"])
    session.flush()
    return _result(kept, gone, moved, filled, not_taken)


def _result(
    kept: Contact | Company,
    gone: list[MergedAway],
    moved: dict[str, list[Any]],
    filled: list[str],
    not_taken: dict[int, dict[str, Any]],
) -> MergeResult:
    counts = {k: len(v) for k, v in moved.items() if k != "tags"}
    assert kept.id is not None
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
) -> MergeResult:
    if entity == "contact":
        return merge_contacts(session, keep, others, by=by, reason=reason)
    if entity == "company":
        return merge_companies(session, keep, others, by=by, reason=reason)
    raise Invalid(f"unknown record type '{entity}': use contact or company")


def auto_merge(session: Session, entity: str, *, by: str | None = None) -> list[AutoMergeResult]:
    """Merge every cluster joined only by exact email/phone (domain/phone) matches whose names
    agree, each into its oldest record. Returns one merge result per cluster, with its reasons."""
    model = Contact if entity == "contact" else Company
    results: list[AutoMergeResult] = []
    for cluster in clusters(session, entity, threshold=EXACT, exact_only=True):
        keep = session.get(model, cluster["ids"][0])
        others = [session.get(model, i) for i in cluster["ids"][1:]]
        if keep is None or any(o is None for o in others):  # pragma: no cover - read in this transaction
            raise NotFound(f"{entity} of cluster {cluster['ids']} vanished")
        result = merge(session, entity, keep, others, by=by, reason="auto: " + "; ".join(cluster["reasons"]))
        results.append({**result, "reasons": cluster["reasons"], "ids": cluster["ids"]})
    return results


# ---------------------------------------------------------------- history


def merge_history(session: Session, entity: str, record_id: int) -> list[MergeHistoryRow]:
    """The records merged into RECORD_ID, newest first, including those merged earlier into
    records that were merged into it later: {id (of the merge), merged_id, merged_name, into, at, by, reason}."""
    rows: list[MergeRecord] = []
    targets = [record_id]
    seen = {record_id}
    while targets:
        found = list(
            session.scalars(
                select(MergeRecord).where(col(MergeRecord.entity) == entity, col(MergeRecord.kept_id).in_(targets))
            )
        )
        rows += found
        targets = [r.merged_id for r in found if r.merged_id not in seen]
        seen.update(targets)
    rows.sort(key=lambda r: (r.at, r.id or 0), reverse=True)
    out: list[MergeHistoryRow] = []
    for r in rows:
        assert r.id is not None
        out.append(
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
        )
    return out


def merged_into(session: Session, entity: str, record_id: int) -> str | None:
    """'merged into #12 on 2026-11-23' when RECORD_ID was merged away (following later merges), else None."""
    current, at = record_id, None
    for _ in range(100):
        row = session.scalars(
            select(MergeRecord)
            .where(col(MergeRecord.entity) == entity, col(MergeRecord.merged_id) == current)
            .order_by(col(MergeRecord.id).desc())
        ).first()
        if row is None:
            break
        current, at = row.kept_id, at or row.at
    if current == record_id or at is None:
        return None
    return f"merged into #{current} on {clock.show_local(at)[:10]}"
