"""The one definition of "the same record", for the importer, `crm contacts add`, `crm contacts
dedupe` / `crm companies dedupe` and their merge suggestions alike.

verdict(a, b) compares two people, company_verdict(a, b) two companies. Each answers

- "same": one record. The importer merges a row into it, `contacts add` refuses a second one,
  `dedupe --auto` merges them;
- "possible": perhaps one record, perhaps not (a role mailbox such as info@ or a switchboard
  shared by two people). Kept apart, reported, listed by `dedupe`, never merged by `--auto`;
- "different": never merged, never a match, never suggested as duplicates (nothing in common,
  or external ids that say so),

with a reason for people ("same email info@acme.de, other name").

People, in this order:

1. External ids from the same source (both `source` values equal, or either empty): different
   ids are different records, always, whatever else they share; the same id is the same record.
2. A shared email, else a shared phone: the same person when the names are compatible, else a
   possible duplicate. Names are compatible when they are equal once case and accents are
   folded; when one side is empty (a name that is only an email address or a phone number, as
   the importer names a person who has no name, counts as empty); or when they are a close
   fuzzy match: "Jon Smith" ~ "John Smith", "Anna Müller" ~ "A. Mueller" ~ "Müller, Anna" ~
   "Anna"; but "Anna Müller" is not "Hans Müller".
3. The same name (words folded and sorted: "Müller, Anna" is "Anna Müller") at the same company
   (normalize.company_key: "Acme GmbH" is "ACME, Inc."; two people without a company count as
   at the same company, as the importer has always matched them): the same person unless an
   identifier conflicts (both have emails and share none, or both have phones and share none),
   then a possible duplicate. Compatible but not equal names at the same company (a non-empty
   one) are a possible duplicate.
4. Anything else: different.

Companies, in this order: external ids as for people; a shared domain, else a shared phone:
the same company when the names are compatible ("Acme GmbH" ~ "ACME Robotics"), else possible;
the same name once legal forms are ignored: the same company unless both have domains and
they differ (then possible); compatible names: possible; anything else: different.

Pure: no database, no typer or rich; rapidfuzz is imported on first use. Cheap: folded names
are remembered, so the importer can ask thousands of times a second. Emails are compared
lower-cased, phones as given (E.164), domains case-blind.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Literal

from crmcli.values.normalize import company_key as _company_key
from crmcli.values.normalize import fold_accents

Kind = Literal["same", "possible", "different"]


@dataclass(slots=True)
class Identity:
    """What tells one person from another. COMPANY_KEY is normalize.company_key of the company's
    name ("" or None: no company); SOURCE is the system EXTERNAL_ID comes from."""

    name: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    external_id: str | None = None
    source: str | None = None
    company_key: str | None = None


@dataclass(slots=True)
class CompanyIdentity:
    """What tells one company from another."""

    name: str | None = None
    domain: str | None = None
    phone: str | None = None
    external_id: str | None = None
    source: str | None = None


class Verdict(str):
    """One of "same", "possible" or "different" (a str, so `verdict(a, b) == "same"` reads as it
    should; .kind is the same text), with why. REASON is for people ("same email info@acme.de,
    other name"); ON is what it rests on ("external_id", "email", "phone", "domain", "name", or ""
    for nothing in common); CONFLICT names identifiers that disagree ("other emails", "other
    domains", "other external id"), or ""."""

    reason: str
    on: str
    conflict: str
    _kind: Kind

    def __new__(cls, kind: Kind = "different", reason: str = "", on: str = "", conflict: str = "") -> Verdict:
        self = super().__new__(cls, kind)
        self._kind, self.reason, self.on, self.conflict = kind, reason, on, conflict
        return self

    @property
    def kind(self) -> Kind:
        return self._kind

    def __repr__(self) -> str:
        return f"Verdict({self.kind!r}, {self.reason!r})"


# ---------------------------------------------------------------- names

_EMAIL_LIKE = re.compile(r"<?(?:mailto:)?[^\s@<>]+@[^\s@<>]+>?")


def is_placeholder(name: str | None) -> bool:
    """True for no name at all, or a name that is only an email address or a phone number (no letters)."""
    text = (name or "").strip()
    return not text or _EMAIL_LIKE.fullmatch(text) is not None or not any(ch.isalpha() for ch in text)


@functools.lru_cache(maxsize=65536)
def _words(name: str) -> tuple[str, ...]:
    if is_placeholder(name):
        return ()
    return tuple(re.findall(r"\w+", fold_accents(name).casefold()))


def name_words(name: str | None) -> list[str]:
    """'Müller, Anna' → ['muller', 'anna']: accents and case folded, punctuation dropped;
    [] for an empty or placeholder name (an email address or phone number)."""
    return list(_words(name or ""))


@functools.lru_cache(maxsize=65536)
def _sorted(name: str) -> str:
    return " ".join(sorted(_words(name)))


def sorted_name(name: str | None) -> str:
    """The form names are equal in: folded words in order, 'Müller, Anna' → 'anna muller'; '' for a placeholder."""
    return _sorted(name or "")


def _word_agrees(short: str, words: tuple[str, ...]) -> bool:
    from rapidfuzz import fuzz

    for word in words:
        if short == word or (len(short) == 1 and word.startswith(short)) or (len(word) == 1 and short.startswith(word)):
            return True
        if min(len(short), len(word)) >= 4 and fuzz.ratio(short, word) >= 80:
            return True
    return False


def names_compatible(a: str | None, b: str | None) -> bool:
    """Could A and B name the same person? Equal once folded, one side empty or a placeholder
    (only an email address or phone number), or a close match: 'Anna Müller' ~ 'A. Mueller' ~
    'Anna' ~ 'Müller, Anna', 'Jon Smith' ~ 'John Smith'; 'Anna Müller' is not 'Hans Müller'."""
    wa, wb = _words(a or ""), _words(b or "")
    if not wa or not wb or wa == wb or "".join(wa) == "".join(wb) or _sorted(a or "") == _sorted(b or ""):
        return True
    from rapidfuzz import fuzz

    if fuzz.token_sort_ratio(" ".join(wa), " ".join(wb)) >= 90:
        return True
    if len(wa) == len(wb):  # each word of either agrees with a word of the other, whichever is asked first
        return all(_word_agrees(w, wb) for w in wa) and all(_word_agrees(w, wa) for w in wb)
    shorter, longer = (wa, wb) if len(wa) < len(wb) else (wb, wa)
    return all(_word_agrees(w, longer) for w in shorter)


def company_names_compatible(a: str | None, b: str | None) -> bool:
    """Could A and B name the same company? 'Acme GmbH' ~ 'ACME Robotics'; 'Anna's Bakery' is not 'Bob's Plumbing'."""
    ka, kb = _company_key(a), _company_key(b)
    if not ka or not kb or ka == kb or ka in kb or kb in ka:
        return True
    from rapidfuzz import fuzz

    return fuzz.ratio(ka, kb) >= 85


NEAR_COMPANY = 90  # rapidfuzz ratio of company keys: 'Mueller & Soehne' ~ 'Müller & Söhne GmbH', 'Siemens' ≁ 'Siemans'


def closest_company(name: str, companies: dict[int, str]) -> int | None:
    """The id of the company in COMPANIES ({id: name}) that NAME most likely means although it is
    not written the same: the oldest whose name is NAME once legal forms, "&"/"and"/"und",
    punctuation, case and accents are ignored (normalize.company_key), else the closest by a
    fuzzy ratio of those keys of at least NEAR_COMPANY; None when no name is that close."""
    key = _company_key(name)
    if not key:
        return None
    keys = {cid: _company_key(other) for cid, other in companies.items()}
    same = [cid for cid, other in keys.items() if other == key]
    if same:
        return min(same)
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, keys, scorer=fuzz.ratio, score_cutoff=NEAR_COMPANY)
    return None if best is None else int(best[2])


# ---------------------------------------------------------------- verdicts


def _same_source(a: str | None, b: str | None) -> bool:
    return not a or not b or a.strip().casefold() == b.strip().casefold()


def different_records(a: Identity | CompanyIdentity, b: Identity | CompanyIdentity) -> bool:
    """Do external ids say A and B are different records (different ids from the same source)?"""
    return bool(a.external_id and b.external_id and a.external_id != b.external_id and _same_source(a.source, b.source))


def _by_external_id(a: Identity | CompanyIdentity, b: Identity | CompanyIdentity) -> Verdict | None:
    if not (a.external_id and b.external_id and _same_source(a.source, b.source)):
        return None
    if a.external_id != b.external_id:
        x, y = sorted((a.external_id, b.external_id))
        return Verdict("different", f"different external ids {x} and {y}", "external_id", "other external id")
    return Verdict("same", f"same external id {a.external_id}", "external_id")


def _shared(a: list[str], b: list[str], fold: bool) -> str | None:
    """The first (in sorting order, so that either side asks alike) value A and B both have."""
    if not a or not b:
        return None
    if fold:
        common = {v.lower() for v in a} & {v.lower() for v in b}
    else:
        common = set(a) & set(b)
    return min(common) if common else None


def _conflict(a: Identity, b: Identity) -> str:
    """Identifiers both have and share none of (asked once no email or phone is shared)."""
    emails, phones = bool(a.emails and b.emails), bool(a.phones and b.phones)
    if emails and phones:
        return "other emails and phones"
    return "other emails" if emails else "other phones" if phones else ""


def verdict(a: Identity, b: Identity) -> Verdict:
    """Are people A and B the same record? See the module docstring."""
    found = _by_external_id(a, b)
    if found is not None:
        return found
    what, value = "email", _shared(a.emails, b.emails, True)
    if value is None:
        what, value = "phone", _shared(a.phones, b.phones, False)
    if value is not None:
        if names_compatible(a.name, b.name):
            return Verdict("same", f"same {what} {value}", what)
        return Verdict("possible", f"same {what} {value}, other name", what)
    company = a.company_key or ""
    if company != (b.company_key or ""):
        return Verdict("different", "nothing in common")
    name_a, name_b = _sorted(a.name or ""), _sorted(b.name or "")
    if not name_a or not name_b:
        return Verdict("different", "nothing in common")
    conflict = _conflict(a, b)
    where = "and company" if company else "and no company"
    if name_a == name_b:
        if conflict:
            return Verdict("possible", f"same name {where}, {conflict}", "name", conflict)
        return Verdict("same", f"same name {where}", "name")
    if company and names_compatible(a.name, b.name):
        return Verdict(
            "possible", "similar name and same company" + (f", {conflict}" if conflict else ""), "name", conflict
        )
    return Verdict("different", "nothing in common")


def company_verdict(a: CompanyIdentity, b: CompanyIdentity) -> Verdict:
    """Are companies A and B the same record? See the module docstring."""
    found = _by_external_id(a, b)
    if found is not None:
        return found
    what, value = "domain", _shared([a.domain] if a.domain else [], [b.domain] if b.domain else [], True)
    if value is None and a.phone and a.phone == b.phone:
        what, value = "phone", a.phone
    if value is not None:
        if company_names_compatible(a.name, b.name):
            return Verdict("same", f"same {what} {value}", what)
        return Verdict("possible", f"same {what} {value}, other name", what)
    key_a, key_b = _company_key(a.name), _company_key(b.name)
    if not key_a or not key_b:
        return Verdict("different", "nothing in common")
    if key_a == key_b:
        if a.domain and b.domain:  # both have one and, as asked above, not the same
            return Verdict(
                "possible", "same name once the legal form is ignored, other domains", "name", "other domains"
            )
        return Verdict("same", "same name once the legal form is ignored", "name")
    if company_names_compatible(a.name, b.name):
        return Verdict("possible", "similar name", "name")
    return Verdict("different", "nothing in common")
