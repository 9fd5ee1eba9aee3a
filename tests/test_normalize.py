"""Normalisers: property tests with Hypothesis, plus the cases people actually type."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmcli.errors import Invalid
from crmcli.values.normalize import (
    clean_text,
    field_key,
    fold_accents,
    format_phone,
    name_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_tag,
    split_multi,
)

REGIONS = ["DE", "US", "GB", "FR", "CN", "JP", "ES", "IN", "BR"]


@given(st.text())
def test_clean_text_is_idempotent_trimmed_and_nfc(value: str) -> None:
    once = clean_text(value)
    assert clean_text(once) == once
    assert once == once.strip()
    assert unicodedata.is_normalized("NFC", once)
    assert "  " not in once and "\u00a0" not in once


@given(st.text(min_size=1))
def test_name_key_is_case_blind_and_stable(value: str) -> None:
    assert name_key(value) == name_key(value.upper().lower()) or name_key(value) == name_key(name_key(value))
    assert name_key(name_key(value)) == name_key(value)


@given(st.text(alphabet=st.characters(categories=["Zs"]), max_size=5))
def test_blank_names_are_refused(blank: str) -> None:
    with pytest.raises(Invalid):
        normalize_name(blank)


def test_names_are_trimmed_and_nfc() -> None:
    decomposed = "Jo\u0308rg\u00a0 Mu\u0308ller "
    assert normalize_name(decomposed) == "Jörg Müller"
    assert normalize_name(" 张伟明 ") == "张伟明"


local_parts = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._+-]{0,20}[a-zA-Z0-9]", fullmatch=True)
domains = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,10}(-[a-zA-Z0-9]{1,5})?\.(com|de|io|org|cn)", fullmatch=True)


@given(local_parts, domains)
def test_valid_emails_normalise_to_lower_case_idempotently(local: str, domain: str) -> None:
    assume(".." not in local)
    email = normalize_email(f"  {local}@{domain} ")
    assert email == email.lower()
    assert normalize_email(email) == email


@pytest.mark.parametrize("bad", ["anna", "anna@", "@example.com", "anna@@example.com", "anna@exa mple.com", ""])
def test_invalid_emails_are_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(Invalid, match="invalid email"):
        normalize_email(bad)


@given(st.sampled_from(REGIONS), st.data())
def test_valid_phones_round_trip_through_e164(region: str, data: st.DataObject) -> None:
    example = phonenumbers.example_number(region)
    national = phonenumbers.national_significant_number(example)
    # vary the last digits of a valid example number; keep only numbers phonenumbers accepts
    tail = data.draw(st.text(alphabet="0123456789", min_size=2, max_size=2))
    candidate = national[:-2] + tail
    number = phonenumbers.parse(f"+{example.country_code}{candidate}", None)
    assume(phonenumbers.is_valid_number(number))
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    national_text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    assert normalize_phone(national_text, region) == e164
    assert normalize_phone(format_phone(e164), None) == e164
    assert normalize_phone(e164, "US") == e164


def test_phones_people_type() -> None:
    assert normalize_phone("0151 12345678", "DE") == "+4915112345678"
    assert normalize_phone("(212) 555-0123", "US") == "+12125550123"
    assert normalize_phone("＋４９ １５１ １２３４５６７８") == "+4915112345678"  # full-width
    assert normalize_phone("\u00a0+86 138 0013 8000 ") == "+8613800138000"
    assert format_phone("+4915112345678") == "+49 1511 2345678"


@pytest.mark.parametrize("bad", ["12", "abc", "+49 1", "555"])
def test_invalid_phones_are_refused_naming_the_value(bad: str) -> None:
    with pytest.raises(Invalid, match=re.escape(f"invalid phone '{bad}'")):
        normalize_phone(bad, "DE")


def test_tags_keys_and_lists() -> None:
    assert normalize_tag(" Key Account ") == "key-account"
    assert field_key("Annual Revenue") == "annual_revenue"
    with pytest.raises(Invalid):
        field_key("a=b")
    assert split_multi(["a, b;c", "d\ne", ""]) == ["a", "b", "c", "d", "e"]
    assert fold_accents("Müller Lefèvre 张伟") == "Muller Lefevre 张伟"
