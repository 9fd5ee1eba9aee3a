"""The one definition of the same record (crmcli.values.matching): the issue's cases as tables, and
Hypothesis properties (symmetric; a record is the same as itself; different external ids from
one source are never the same). Pure: no database."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmcli.values import matching
from crmcli.values.matching import CompanyIdentity, Identity, Verdict, company_verdict, names_compatible, verdict

# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("a", "b", "compatible"),
    [
        ("Anna Müller", "Anna Müller", True),
        ("Anna Müller", "anna muller", True),
        ("Anna Müller", "Anna Mueller", True),
        ("Anna Müller", "Müller, Anna", True),
        ("Anna Müller", "A. Mueller", True),
        ("Anna Müller", "A. Müller", True),
        ("Anna Müller", "Anna", True),
        ("Jon Smith", "John Smith", True),
        ("Katrin Becker", "Kathrin Becker", True),
        ("黄伟明", "黄伟明", True),
        ("Anna Müller", "", True),
        ("Anna Müller", None, True),
        ("Anna Müller", "info@acme-gmbh.de", True),  # the importer names a nameless person after the email
        ("Anna Müller", "<info@acme-gmbh.de>", True),
        ("Anna Müller", "+49 151 1234 5678", True),  # … or the phone
        ("Anna Müller", "(030) 123-456", True),
        ("Anna Müller", "Hans Müller", False),
        ("Anna Müller", "Hans Meier", False),
        ("Sales Team", "John Smith", False),
        ("黄伟明", "张伟", False),
        ("Anna Anna", "Anna Hans", False),  # as many words on each side: every word must agree, both ways
        ("Y", "Anna Müller", False),
    ],
)
def test_names_compatible(a: str | None, b: str | None, compatible: bool) -> None:
    assert names_compatible(a, b) is compatible
    assert names_compatible(b, a) is compatible


@pytest.mark.parametrize(
    ("name", "placeholder"),
    [
        ("info@acme.de", True),
        ("mailto:info@acme.de", True),
        ("+49 151 12345678", True),
        ("", True),
        ("  ", True),
        (None, True),
        ("Anna", False),
        ("Anna (info@acme.de)", False),
        ("黄伟明", False),
        ("R2D2", False),
    ],
)
def test_placeholder_names(name: str | None, placeholder: bool) -> None:
    assert matching.is_placeholder(name) is placeholder
    assert (matching.name_words(name) == []) is placeholder


def test_sorted_name() -> None:
    assert matching.sorted_name("Müller, Anna") == matching.sorted_name("anna MÜLLER") == "anna muller"
    assert matching.sorted_name("anna@acme.de") == ""


@pytest.mark.parametrize(
    ("a", "b", "compatible"),
    [
        ("Acme GmbH", "ACME, Inc.", True),
        ("Acme GmbH", "Acme Robotics GmbH & Co. KG", True),
        ("深圳云图科技有限公司", "深圳云图科技股份有限公司", True),
        ("Acme", "", True),
        ("Anna's Bakery", "Bob's Plumbing", False),
    ],
)
def test_company_names_compatible(a: str, b: str, compatible: bool) -> None:
    assert matching.company_names_compatible(a, b) is compatible


# ---------------------------------------------------------------- people


def person(name: str | None = None, emails=(), phones=(), ext=None, source=None, company=None) -> Identity:
    return Identity(name, list(emails), list(phones), ext, source, company)


INFO = "info@acme-gmbh.de"
PHONE = "+4915112345678"

PEOPLE = [
    # an email or a phone with compatible names: the same person
    ("same email", person("Jon Smith", [INFO]), person("John Smith", [INFO]), "same", f"same email {INFO}"),
    (
        "email case",
        person("Anna", ["Anna@Acme.de"]),
        person("Anna", ["anna@acme.de"]),
        "same",
        "same email anna@acme.de",
    ),
    (
        "same phone",
        person("Anna Müller", [], [PHONE]),
        person("A. Mueller", [], [PHONE]),
        "same",
        f"same phone {PHONE}",
    ),
    ("name order", person("Anna Müller", [INFO]), person("Müller, Anna", [INFO]), "same", f"same email {INFO}"),
    ("first name", person("Anna", [INFO]), person("Anna Müller", [INFO]), "same", f"same email {INFO}"),
    # a role mailbox or switchboard shared by other people: possible, never the same
    (
        "shared info@",
        person("Anna Müller", [INFO], company="acme"),
        person("Hans Meier", [INFO], company="acme"),
        "possible",
        f"same email {INFO}, other name",
    ),
    (
        "shared phone",
        person("Anna Müller", [], [PHONE]),
        person("Hans Müller", [], [PHONE]),
        "possible",
        f"same phone {PHONE}, other name",
    ),
    # placeholder names (the importer names a nameless person after the email or phone) count as empty
    ("email as name", person(INFO, [INFO]), person("Hans Meier", [INFO]), "same", f"same email {INFO}"),
    (
        "phone as name",
        person("+49 151 12345678", [], [PHONE]),
        person("Hans", [], [PHONE]),
        "same",
        f"same phone {PHONE}",
    ),
    ("no name", person(None, [INFO]), person("Hans", [INFO]), "same", f"same email {INFO}"),
    # external ids from one source (equal, or either empty)
    (
        "other uid",
        person("Anna", [INFO], ext="uid-1"),
        person("Anna", [INFO], ext="uid-2"),
        "different",
        "different external ids uid-1 and uid-2",
    ),
    (
        "other id, one source",
        person("Anna", [INFO], ext="1", source="HubSpot"),
        person("Anna", [INFO], ext="2", source="hubspot "),
        "different",
        "different external ids 1 and 2",
    ),
    (
        "other id, no source",
        person("Anna", ext="1", source="HubSpot"),
        person("Anna", ext="2"),
        "different",
        "different external ids 1 and 2",
    ),
    (
        "ids of two systems",
        person("Anna", [INFO], ext="1", source="HubSpot"),
        person("Anna", [INFO], ext="003A", source="Salesforce"),
        "same",
        f"same email {INFO}",
    ),
    ("same id, renamed", person("Anna Müller", ext="7"), person("Anna Schmidt", ext="7"), "same", "same external id 7"),
    # name + company: the same when no identifier conflicts
    (
        "name and company",
        person("Anna Müller", [INFO], company="acme"),
        person("anna muller", company="acme"),
        "same",
        "same name and company",
    ),
    (
        "no company either",
        person("Anna Müller", [INFO]),
        person("Anna Müller", [], [PHONE]),
        "same",
        "same name and no company",
    ),
    (
        "other emails",
        person("Anna Müller", ["anna@acme.de"], company="acme"),
        person("Anna Müller", ["a.mueller@acme.de"], company="acme"),
        "possible",
        "same name and company, other emails",
    ),
    (
        "other phones",
        person("Anna Müller", [], [PHONE], company="acme"),
        person("Anna Müller", [INFO], ["+4930123456"], company="acme"),
        "possible",
        "same name and company, other phones",
    ),
    (
        "other both",
        person("Anna Müller", ["a@x.de"], [PHONE]),
        person("Anna Müller", ["b@x.de"], ["+4930123456"]),
        "possible",
        "same name and no company, other emails and phones",
    ),
    (
        "similar name",
        person("Jon Smith", company="globex"),
        person("John Smith", company="globex"),
        "possible",
        "similar name and same company",
    ),
    (
        "other company",
        person("Anna Müller", company="acme"),
        person("Anna Müller", company="globex"),
        "different",
        "nothing in common",
    ),
    ("company vs none", person("Anna Müller", company="acme"), person("Anna Müller"), "different", "nothing in common"),
    (
        "other names",
        person("Anna Müller", company="acme"),
        person("Hans Müller", company="acme"),
        "different",
        "nothing in common",
    ),
    ("placeholders only", person(INFO, company="acme"), person(INFO, company="acme"), "different", "nothing in common"),
]


@pytest.mark.parametrize(("a", "b", "kind", "reason"), [p[1:] for p in PEOPLE], ids=[p[0] for p in PEOPLE])
def test_verdict(a: Identity, b: Identity, kind: str, reason: str) -> None:
    found = verdict(a, b)
    assert (found.kind, found.reason) == (kind, reason)
    assert found == kind  # a Verdict is its kind, as a str
    back = verdict(b, a)
    assert (back.kind, back.reason) == (kind, reason)


def test_twenty_uids_with_one_email_are_twenty_records() -> None:
    cards = [person("Support", [INFO], ext=f"urn:uuid:{n:04d}", source="vcard") for n in range(20)]
    for i, a in enumerate(cards):
        for b in cards[i + 1 :]:
            assert verdict(a, b) == "different"
            assert matching.different_records(a, b)
    assert verdict(cards[0], person("Support", [INFO])) == "same"  # one without a uid is still that person


def test_verdict_tells_what_it_rests_on_and_what_conflicts() -> None:
    found = verdict(person("Anna", ["a@x.de"], company="acme"), person("Anna", ["b@x.de"], company="acme"))
    assert (found.on, found.conflict) == ("name", "other emails")
    assert verdict(person("A", [INFO]), person("B", [INFO])).on == "email"
    assert verdict(person(ext="1"), person(ext="2")).conflict == "other external id"
    assert repr(found) == "Verdict('possible', 'same name and company, other emails')"
    copy = pickle.loads(pickle.dumps(found))  # the importer's worker processes may carry one
    assert (copy, copy.reason, copy.on, copy.conflict) == ("possible", found.reason, "name", "other emails")
    assert isinstance(copy, Verdict)


# ---------------------------------------------------------------- companies


def firm(name: str | None, domain=None, phone=None, ext=None, source=None) -> CompanyIdentity:
    return CompanyIdentity(name, domain, phone, ext, source)


COMPANIES = [
    ("same domain", firm("Acme GmbH", "acme.de"), firm("Acme Robotics", "ACME.de"), "same", "same domain acme.de"),
    (
        "free-mail domain",
        firm("Anna's Bakery", "gmail.com"),
        firm("Bob's Plumbing", "gmail.com"),
        "possible",
        "same domain gmail.com, other name",
    ),
    (
        "same phone",
        firm("Acme GmbH", phone="+4930123456"),
        firm("ACME", phone="+4930123456"),
        "same",
        "same phone +4930123456",
    ),
    (
        "shared switchboard",
        firm("Acme GmbH", phone="+4930123456"),
        firm("Globex", phone="+4930123456"),
        "possible",
        "same phone +4930123456, other name",
    ),
    (
        "legal form",
        firm("Acme GmbH", "acme.de"),
        firm("ACME, Inc."),
        "same",
        "same name once the legal form is ignored",
    ),
    (
        "legal form, cjk",
        firm("深圳云图科技有限公司"),
        firm("深圳云图科技股份有限公司"),
        "same",
        "same name once the legal form is ignored",
    ),
    (
        "other domains",
        firm("Acme GmbH", "acme.de"),
        firm("ACME Inc.", "acme.com"),
        "possible",
        "same name once the legal form is ignored, other domains",
    ),
    (
        "other ids",
        firm("Acme", "acme.de", ext="001A", source="salesforce"),
        firm("Acme", "acme.de", ext="001B"),
        "different",
        "different external ids 001A and 001B",
    ),
    ("same id", firm("Acme", ext="001A"), firm("Globex", ext="001A"), "same", "same external id 001A"),
    ("similar name", firm("Acme"), firm("Acme Robotics"), "possible", "similar name"),
    ("nothing", firm("Acme"), firm("Globex"), "different", "nothing in common"),
]


@pytest.mark.parametrize(("a", "b", "kind", "reason"), [c[1:] for c in COMPANIES], ids=[c[0] for c in COMPANIES])
def test_company_verdict(a: CompanyIdentity, b: CompanyIdentity, kind: str, reason: str) -> None:
    found = company_verdict(a, b)
    assert (found.kind, found.reason) == (kind, reason)
    back = company_verdict(b, a)
    assert (back.kind, back.reason) == (kind, reason)


# ---------------------------------------------------------------- properties

NAMES = ["Anna Müller", "anna mueller", "Müller, Anna", "A. Müller", "Anna", "Hans Müller", "Jon Smith", "John Smith",
         "黄伟明", "info@acme.de", "+49 151 12345678", "", None]  # fmt: skip
SOURCES = [None, "", "hubspot", "HubSpot", "salesforce"]
people = st.builds(
    Identity,
    name=st.sampled_from(NAMES),
    emails=st.lists(st.sampled_from(["info@acme.de", "anna@acme.de", "Anna@Acme.de", "hans@acme.de"]), max_size=3),
    phones=st.lists(st.sampled_from(["+4915112345678", "+4930123456"]), max_size=2),
    external_id=st.sampled_from([None, "", "1", "2"]),
    source=st.sampled_from(SOURCES),
    company_key=st.sampled_from([None, "", "acme", "globex"]),
)
firms = st.builds(
    CompanyIdentity,
    name=st.sampled_from(["Acme GmbH", "ACME, Inc.", "Acme Robotics", "Globex", "Bob's Plumbing", "", None]),
    domain=st.sampled_from([None, "acme.de", "ACME.DE", "gmail.com"]),
    phone=st.sampled_from([None, "+4930123456", "+4940123456"]),
    external_id=st.sampled_from([None, "1", "2"]),
    source=st.sampled_from(SOURCES),
)


@given(people, people)
def test_verdict_is_symmetric(a: Identity, b: Identity) -> None:
    there, back = verdict(a, b), verdict(b, a)
    assert (there.kind, there.reason, there.on, there.conflict) == (back.kind, back.reason, back.on, back.conflict)


@given(firms, firms)
def test_company_verdict_is_symmetric(a: CompanyIdentity, b: CompanyIdentity) -> None:
    there, back = company_verdict(a, b), company_verdict(b, a)
    assert (there.kind, there.reason) == (back.kind, back.reason)


@given(people)
def test_a_record_is_the_same_as_itself(a: Identity) -> None:
    # a record is what has a usable name, email or phone (or an external id)
    assume(a.external_id or a.emails or a.phones or matching.name_words(a.name))
    assert verdict(a, a) == "same"
    twin = Identity(a.name, list(a.emails), list(a.phones), a.external_id, a.source, a.company_key)
    assert verdict(a, twin) == "same"


@given(firms)
def test_a_company_is_the_same_as_itself(a: CompanyIdentity) -> None:
    assume(a.external_id or a.domain or a.phone or matching._company_key(a.name))
    assert company_verdict(a, a) == "same"


@given(people, people, st.sampled_from(SOURCES))
def test_different_external_ids_from_one_source_are_never_the_same(a: Identity, b: Identity, source) -> None:
    a.external_id, b.external_id = "1", "2"
    b.source = source
    assume(not a.source or not b.source or a.source.casefold() == b.source.casefold())
    found = verdict(a, b)
    assert found == "different" and found.on == "external_id"
    copy = Identity(a.name, list(a.emails), list(a.phones), "2", a.source, a.company_key)
    assert verdict(a, copy) == "different"  # even with everything else equal


@given(firms, firms)
def test_different_company_ids_from_one_source_are_never_the_same(a: CompanyIdentity, b: CompanyIdentity) -> None:
    a.external_id, b.external_id = "1", "2"
    assume(not a.source or not b.source or a.source.casefold() == b.source.casefold())
    assert company_verdict(a, b) == "different"


@given(st.sampled_from(NAMES), st.sampled_from(NAMES))
def test_names_compatible_is_symmetric(a: str | None, b: str | None) -> None:
    assert names_compatible(a, b) is names_compatible(b, a)


def test_verdict_is_cheap() -> None:
    """The importer asks for every matched row: well under 100 µs each (a few µs on these machines)."""
    import time

    pairs = [
        (person("Anna Müller", [INFO], [PHONE], company="acme"), person("Hans Meier", [INFO], company="acme")),
        (person("Anna Müller", ["a@x.de"], company="acme"), person("Anna Mueller", ["b@x.de"], company="acme")),
        (person("Anna Müller", [INFO], ext="1"), person("Anna Müller", [INFO], ext="1")),
    ]
    start = time.perf_counter()
    for _ in range(2000):
        for a, b in pairs:
            verdict(a, b)
    assert (time.perf_counter() - start) / 6000 < 100e-6
