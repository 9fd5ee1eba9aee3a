"""Clean data on every write: names, emails, phones, tags, keys.

email-validator checks email syntax (no DNS); phonenumbers parses phones against a default
region and yields E.164. Both are imported on first use, not at start-up.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING

from crmcli.errors import Invalid

if TYPE_CHECKING:  # imported on first use at run time
    from email_validator import EmailNotValidError, ValidatedEmail

# Limits on what is stored, in characters. Generous for any real record, small enough that
# nothing a person or a file gives can make a row, a search document or a screen unbounded.
NAME_MAX = 500  # names, titles, tags: the longest registered company names are about 250
LINE_MAX = 2_000  # other one-line fields (addresses, owner, source, ids): a long URL is 2,000
NOTES_MAX = 100_000  # notes and activity text: some 40 pages; a pasted e-mail thread fits

# Never stored in a one-line field: C0 and C1 controls (the whitespace among them, tab, CR,
# NEL …, become a space through str.split), DEL, bidi embeddings, overrides, isolates and marks
# (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F: text that reads other than it is stored) and
# zero-width characters (U+200B–U+200D, U+2060, U+FEFF: names that look equal and are not).
_UNSAFE_LINE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
# Never stored in a multi-line field (notes): controls other than newline and tab. Bidi and
# zero-width characters stay (right-to-left text, emoji sequences); output neutralises them.
_UNSAFE_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INNER_SPACE = re.compile("[^\\S\t\n]+")  # runs of spaces other than tab and newline


def clean_text(value: str | None) -> str:
    """One line: controls, bidi and zero-width characters removed, NFC, tabs, newlines and odd
    spaces folded to one space, trimmed. Fast for plain ASCII (the importer calls it per cell)."""
    if not value:
        return ""
    if value.isprintable():  # no control, format (bidi, zero-width) or space other than ' '
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
        elif value[0] != " " and value[-1] != " " and "  " not in value:
            return value  # most values: nothing to do
        return " ".join(value.split())
    text = " ".join(value.split())  # str.split() knows every Unicode space: tab, newline, NBSP, NEL …
    if not text.isprintable():  # a control, bidi or zero-width character is left
        text = " ".join(_UNSAFE_LINE.sub("", text).split())
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def clean_multiline(value: str | None) -> str:
    """Text that keeps its lines (notes, activity text): CR LF and CR read as a newline, controls
    other than newline and tab removed, NFC, each line's runs of spaces folded to one and its
    ends trimmed, blank lines at either end dropped."""
    if not value:
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if not (value.isascii() and value.isprintable()):
        value = _UNSAFE_LINES.sub("", value)
        if not value.isascii() and not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
    lines = [_INNER_SPACE.sub(" ", line).strip() for line in value.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def brief(value: str, width: int = 60) -> str:
    """VALUE shortened for a message: its first WIDTH characters and an ellipsis."""
    return value if len(value) <= width else value[: width - 1] + "…"


def check_length(value: str, what: str, limit: int) -> str:
    """VALUE, or a one-line Invalid when it is longer than LIMIT characters."""
    if len(value) > limit:
        raise Invalid(f"{what} too long: {len(value):,} characters, at most {limit:,} ('{brief(value, 40)}')")
    return value


def optional_text(value: str | None, what: str = "a one-line field") -> str | None:
    cleaned = clean_text(value)
    return check_length(cleaned, what, LINE_MAX) if cleaned else None


def optional_notes(value: str | None, what: str = "notes") -> str | None:
    """Multi-line text (notes), cleaned and checked against NOTES_MAX; None when empty."""
    cleaned = clean_multiline(value)
    return check_length(cleaned, what, NOTES_MAX) if cleaned else None


def normalize_name(value: str | None, what: str = "name") -> str:
    cleaned = clean_text(value)
    if not cleaned:
        raise Invalid(f"{what} must not be empty")
    return check_length(cleaned, what, NAME_MAX)


def name_key(value: str) -> str:
    """The form names are looked up and matched by: cleaned, accent-folded and case-folded, so
    'anna muller' finds 'Anna Müller'."""
    return " ".join(fold_accents(clean_text(value)).casefold().split())


# Combining marks (the diacritics NFKD splits off Latin, Greek and Cyrillic letters); CJK has none.
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


# Latin letters that are not a base letter and a mark, so NFKD leaves them whole: read as people
# type them without the key for it ("Søren Ødegård" is "Soren Odegard", "Łódź" is "Lodz").
_LETTERS = str.maketrans({
    "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "ħ": "h", "Ħ": "H",
    "ŧ": "t", "Ŧ": "T", "ı": "i", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH",
})  # fmt: skip


def fold_accents(value: str) -> str:
    """Müller → Muller, Søren → Soren, for accent-blind search. CJK is left as it is."""
    if value.isascii():
        return value
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", value)).translate(_LETTERS)
    return unicodedata.normalize("NFC", folded)


@functools.cache
def _email_validator() -> tuple[Callable[..., ValidatedEmail], type[EmailNotValidError]]:
    """email-validator's validate_email, with its check of the part after the @ remembered per
    domain: an import validates 100,000 addresses at a few dozen domains, and the IDNA checks
    of a domain were half of the cost. The check is a pure function of its arguments, and the
    library calls it through its module's global, so the remembered results are exactly its own."""
    import importlib

    from email_validator import EmailNotValidError, validate_email

    module = importlib.import_module("email_validator.validate_email")
    namespace = vars(module)  # the module's globals, where the library looks the check up
    check = namespace.get("validate_email_domain_name")
    if check is not None and not hasattr(check, "cache_info"):
        namespace["validate_email_domain_name"] = functools.lru_cache(maxsize=4096)(check)
    return validate_email, EmailNotValidError


def normalize_email(value: str) -> str:
    """Syntax-checked (no network) and lower-cased."""
    validate_email, EmailNotValidError = _email_validator()
    raw = clean_text(value)
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"invalid email '{brief(raw)}': {exc}") from None
    return result.normalized.lower()


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164, parsed against REGION for numbers written without a country code; an extension
    (tel:+1-418-656-9254;ext=102, '… ext. 102', '… x102') follows as ' ext. 102'."""
    import phonenumbers

    raw = clean_text(value)
    text = unicodedata.normalize("NFKC", raw)  # full-width digits and signs
    try:
        number = phonenumbers.parse(text, (region or "US").upper())
    except phonenumbers.NumberParseException as exc:
        reason = re.sub(r"^\(\d+\)\s*", "", str(exc)).rstrip(".").lower()
        raise Invalid(f"invalid phone '{brief(raw)}': {reason}") from None
    if not phonenumbers.is_valid_number(number):
        hint = "" if text.startswith("+") else f" for region {(region or 'US').upper()}"
        raise Invalid(f"invalid phone '{brief(raw)}': not a valid number{hint}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # an extension (a desk behind a switchboard) is part of the number: kept after it, as people write it
    return f"{e164} ext. {number.extension}" if number.extension else e164


def format_phone(e164: str) -> str:
    """+4915112345678 → +49 151 12345678, for people."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def valid_region(region: str) -> str:
    import phonenumbers

    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid(f"unknown region '{region}': use a two-letter country code such as DE, US, CN")
    return code


def normalize_tag(value: str) -> str:
    """Tags are lower case with single dashes for spaces: 'Key Account' → 'key-account'."""
    tag = clean_text(value).lower().replace(" ", "-")
    if not tag:
        raise Invalid("a tag must not be empty")
    return check_length(tag, "a tag", NAME_MAX)


def field_key(value: str) -> str:
    """Custom-field names: lower case, spaces and dashes become underscores."""
    key = re.sub(r"[\s\-]+", "_", clean_text(value).lower())
    if not key or not re.fullmatch(r"\w+", key):
        raise Invalid(f"invalid field name '{value}': use letters, digits and underscores")
    return key


def split_multi(values: list[str] | tuple[str, ...] | None) -> list[str]:
    """Options given several times or as 'a, b; c' become one list, empty parts dropped."""
    out: list[str] = []
    for value in values or ():
        out.extend(part for part in (p.strip() for p in re.split(r"[;,\n]", value)) if part)
    return out


# Legal forms that say nothing about which company it is: "Acme GmbH" and "ACME Inc." match.
_LEGAL = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "lp", "ltd", "limited", "plc",
    "gmbh", "mbh", "ag", "kg", "ohg", "ug", "ev", "se", "sa", "sas", "sarl", "sasu", "sl", "slu", "srl", "spa",
    "bv", "nv", "pty", "kk", "oy", "ab", "as", "aps", "pte", "pvt", "cokg", "gmbhcokg",
}  # fmt: skip
_AND = {"and", "und", "et"}
_LEGAL_CJK = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "有限会社", "合同会社", "集团", "公司")


@functools.lru_cache(maxsize=65536)  # imports ask for the same few thousand companies again and again
def company_key(name: str | None) -> str:
    """The form company names are matched by: case, accents, punctuation and legal suffixes
    (Inc., GmbH, Ltd, S.A., 有限公司 …) and "&"/"and"/"und" ignored. 'Acme GmbH' and 'ACME, Inc.' both
    give 'acme'; 'Müller und Söhne' and 'Müller & Söhne GmbH' both give 'mullersohne'."""
    text = fold_accents(clean_text(name)).casefold()
    for suffix in _LEGAL_CJK:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    words = [w for w in re.split(r"[\s,.&()/+-]+", text) if w]
    while len(words) > 1:
        letters = 0  # "S.A.S." and "S.L." arrive as single letters: read them as one word
        while letters < len(words) - 1 and len(words[-1 - letters]) == 1:
            letters += 1
        if letters > 1 and "".join(words[-letters:]) in _LEGAL:
            del words[-letters:]
        elif words[-1] in _LEGAL:
            words.pop()
        else:
            break
    # "and", "und", "et" after the first word are the "&" people write out: "Müller und Söhne" is "Müller & Söhne"
    words = words[:1] + [w for w in words[1:] if w not in _AND]
    return "".join(words)


def person_key(name: str | None) -> str:
    """The form person names are matched by: case, accents, spaces and punctuation ignored."""
    return re.sub(r"[\W_]+", "", fold_accents(clean_text(name)).casefold())
