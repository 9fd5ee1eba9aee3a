"""vCard 2.1, 3.0 and 4.0 files as import rows: one row per card, every card accounted for.

A tolerant reader of its own over RFC 2425/2426/6350 and the vCard 2.1 spec, not vobject (kept for
writing in crmcli/exporter/records.py). vobject 0.9.9 read only 123 of 133 real files from other projects'
test suites (Android, iPhone, macOS, Outlook, Lotus Notes, Evolution, BlackBerry, Gmail, The Bat!):
one `PROFILE:VCARD` line, a base64 photo folded the 2.1 way, QP bytes in a legacy charset or a
CHARSET it cannot look up fails the whole file; 2.1 QUOTED-PRINTABLE continuation lines are logged
to stderr ("Failed to parse line"; 586 lines for one iPhone card) and dropped, so names and notes
come out empty or cut; a per-property CHARSET on raw bytes is ignored (Shift_JIS names come out as
mojibake). The other readers on PyPI are a strict validator (vcard) or unmaintained since 2015-2020
(vcardreader, strudel, jk-vcard). What these files need is small: unfolding, parameters, QP,
base64 and charsets, done here line by line.

- The file: UTF-8 (BOM or not), UTF-16/32 with a BOM, UTF-16 without one (Apple), or a legacy
  charset. Lines end in CRLF, LF, CR or CRCRLF (iOS 6). Lines are read in pieces of at most
  LINE_LIMIT bytes and a property's value is held to that much, so a 30 MB photo is skipped
  without building a 30 MB string; one card's properties are held at a time.
- Values: folded lines (a leading space or tab), QUOTED-PRINTABLE with soft line breaks (even
  before a blank line, as Android and Outlook write them), base64 folded the 2.1 way (lines
  without a leading space, ended by a blank line), a value's bytes decoded as UTF-8 when they are
  UTF-8 (legacy text practically never is), else in the property's CHARSET, else in a charset
  another property of the card or file declares (Outlook's raw Windows-1252), else cp1252.
- What 2.1 writers do beside the spec: bare parameters (`TEL;HOME;VOICE`, `PHOTO;JPEG;B`, a bare
  `utf-8`), lines of a multi-line ADR without a property name (joined), `#` comment lines, a
  nested AGENT card (skipped), a card without END:VCARD (read, noted).
- One card that cannot be read yields table.Unreadable(reason) with its line number; so does
  a contact group (KIND:group), which is no person or company.

Nothing here imports SQLAlchemy: the importer's worker process imports the readers.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from crmcli.errors import Invalid
from crmcli.importer.table import MAX_CELL, Table, Unreadable

# Import field names a vCard row carries: N's parts, ADR's parts, BDAY, URL, KIND ("person" |
# "org"), and crm's own X-CRM-OWNER/SOURCE/CREATED/FIELD.
VCARD_HEADERS = [
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "prefix",
    "suffix",
    "emails",
    "phones",
    "company",
    "title",
    "notes",
    "tags",
    "external_id",
    "owner",
    "source",
    "created_at",
    "custom_pairs",
    "street",
    "city",
    "region",
    "postcode",
    "country",
    "birthday",
    "website",
    "kind",
    "cadence",  # crm's own X-CRM-CADENCE: keep in touch every N days
    "source_id",  # crm's own X-CRM-ID: the record's id where it was exported from
]
HEADERS = VCARD_HEADERS
LINE_LIMIT = 1024 * 1024  # bytes of one line (or one property's value) kept; the rest is skipped
CHUNK = 1024 * 1024
# Properties read into a row; every other name seen is reported as ignored (Table.ignored).
TAKEN = frozenset(
    "FN N EMAIL TEL ORG TITLE NOTE CATEGORIES UID ADR BDAY URL NICKNAME ROLE KIND X-ABSHOWAS "
    "X-ADDRESSBOOKSERVER-KIND X-CRM-OWNER X-CRM-SOURCE X-CRM-CREATED X-CRM-FIELD X-CRM-CADENCE X-CRM-ID".split()
)
STRUCTURE = frozenset({"BEGIN", "END", "VERSION", "PROFILE"})  # the card's frame, not data
_ENCODINGS = {"QUOTED-PRINTABLE": "qp", "QP": "qp", "BASE64": "b64", "B": "b64", "7BIT": "", "8BIT": ""}
_NOT_TEXT = {"base64", "hex", "quopri", "uu", "zlib", "bz2", "rot-13", "rot13"}  # codecs that are no charset
_NAME = re.compile(rb"(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)")
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "N": "\n", "\\": "\\", ";": ";", ",": ",", ":": ":", '"': '"'}
_EXT = re.compile(r"\s*;\s*ext=([0-9#*]+)", re.I)
_DATE = re.compile(r"(\d{4}|--)-?(\d\d)-?(\d\d)(?:T.*)?")


@dataclass(slots=True)
class _Prop:
    name: str  # upper case, without its group
    spelling: str  # as the file writes it, for the report of ignored properties
    params: dict[str, list[str]]  # upper-case keys; TYPE values lower case
    encoding: str  # "qp", "b64" or ""
    keep: bool  # a property the row takes: its value is collected
    pieces: list[bytes] = field(default_factory=list)
    size: int = 0
    soft: bool = False  # QP: the last piece ended with a soft line break ("=")
    gap: bool = False  # QP: a soft line break was followed by a blank line
    cut: bool = False  # the value was longer than LINE_LIMIT and is cut

    def add(self, piece: bytes, cut: bool = False) -> None:
        if self.encoding == "qp":
            self.soft = piece.rstrip(b" \t").endswith(b"=")
        if not self.keep:
            return
        room = LINE_LIMIT - self.size
        if len(piece) > room:
            piece, cut = piece[: max(room, 0)], True
        self.cut = self.cut or cut
        self.pieces.append(piece)
        self.size += len(piece)


@dataclass(slots=True)
class _Card:
    line: int
    props: list[_Prop] = field(default_factory=list)
    charsets: list[str] = field(default_factory=list)  # legacy charsets its properties declare
    junk: int = 0  # lines that are no property and continue none
    closed: bool = True


class _Source:
    """A vCard file's lines as bytes: UTF-16/32 text transcoded to UTF-8, line ends of any kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            head = fh.read(4096)
        self.skip, self.encoding = _file_encoding(head)

    def describe(self) -> str:
        return {
            "": "encoding UTF-8 or legacy, per card and property",
            "utf-8-bom": "encoding UTF-8 with BOM",
        }.get(self.encoding, f"encoding {self.encoding}")

    def chunks(self, fh: BinaryIO) -> Iterator[bytes]:
        fh.read(self.skip)
        if self.encoding in ("", "utf-8-bom"):
            while chunk := fh.read(CHUNK):
                yield chunk
            return
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="replace")
        while chunk := fh.read(CHUNK):
            yield decoder.decode(chunk).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")

    def lines(self) -> Iterator[tuple[bytes, bool]]:
        """(line, cut): each line without its end, at most LINE_LIMIT bytes of it (cut says so)."""
        with self.path.open("rb") as fh:
            chunks = self.chunks(fh)
            first = next(chunks, b"")
            sep = b"\n" if b"\n" in first or b"\r" not in first else b"\r"
            strip = b"\r" if sep == b"\n" else b""  # CRLF, and iOS 6's CRCRLF
            carry: list[bytes] = []  # the start of a line that goes on in the next chunk
            size, cut = 0, False
            for chunk in _chain(first, chunks):
                parts = chunk.split(sep)
                if len(parts) == 1:  # no line ends in this chunk: a long line goes on
                    if size < LINE_LIMIT:
                        carry.append(chunk[: LINE_LIMIT - size])
                    cut = cut or size + len(chunk) > LINE_LIMIT
                    size += len(chunk)
                    continue
                head = parts[0]
                if carry:
                    if size < LINE_LIMIT:
                        carry.append(head[: LINE_LIMIT - size])
                    cut = cut or size + len(head) > LINE_LIMIT
                    head = b"".join(carry)
                yield head.rstrip(strip), cut
                for i in range(1, len(parts) - 1):  # CHUNK == LINE_LIMIT: these are never cut
                    yield parts[i].rstrip(strip), False
                last = parts[-1]
                carry, size, cut = ([last[:LINE_LIMIT]] if last else []), len(last), len(last) > LINE_LIMIT
            if carry:
                yield b"".join(carry).rstrip(strip), cut


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _file_encoding(head: bytes) -> tuple[int, str]:
    """(bytes of BOM to skip, codec) of a vCard file; "" when its values are decoded one by one."""
    for bom, name in (
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF8, "utf-8-bom"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return len(bom), name
    # UTF-16 without a BOM (Apple): every other byte of the ASCII property names is a NUL
    sample = head[:512]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) >= 8 and max(even, odd) > len(sample) // 4:
        return 0, "utf-16-be" if even > odd else "utf-16-le"
    return 0, ""


# ---------------------------------------------------------------- lines → cards


def _marker(line: bytes) -> bytes:
    """b"BEGIN" or b"END" for the lines that open and close a card (any case and spacing), else b""."""
    if len(line) > 16 or line[:1] not in b"BbEe \t":
        return b""
    word = line.replace(b" ", b"").replace(b"\t", b"").upper()
    return word[:-6] if word in (b"BEGIN:VCARD", b"END:VCARD") else b""


def _cards(source: _Source, keep: bool = True) -> Iterator[_Card]:
    """The cards of the file, each with its properties; KEEP=False collects names only (a scan)."""
    card: _Card | None = None
    prop: _Prop | None = None
    nested = 0  # depth inside an AGENT's card, which is skipped
    agent = False  # the last property is an AGENT without a value: a card of its own follows
    for number, (line, cut) in enumerate(source.lines(), start=1):
        marker = _marker(line)
        if card is None:
            if marker == b"BEGIN":
                card = _Card(number)
            continue
        if nested:
            nested += (marker == b"BEGIN") - (marker == b"END")
            continue
        if marker == b"END":
            yield card
            card = prop = None
            continue
        if marker == b"BEGIN":
            if agent:
                nested, agent = 1, False  # vCard 2.1: AGENT's value is a card on the following lines
                continue
            card.closed = False  # no END:VCARD: the card ends where the next one begins
            yield card
            card, prop = _Card(number), None
            continue
        if prop is not None:
            if prop.soft:  # QP soft line break: the next line goes on, whatever it holds
                if line:
                    prop.add(line, cut)
                else:
                    prop.soft, prop.gap = False, True
                continue
            if line[:1] in (b" ", b"\t"):  # folded
                prop.add(line[1:] if prop.encoding != "b64" else line.strip(), cut)
                continue
            if prop.encoding == "b64":
                if not line.strip():  # 2.1: a blank line ends the base64 data
                    prop = None
                    continue
                if b":" not in line:  # 2.1: base64 lines without a leading space
                    prop.add(line.strip(), cut)
                    continue
        if not line.strip() or line[:1] == b"#":  # blank lines; Android's tests skip '#' comment lines
            continue
        head = _parse_head(line, keep)
        if head is None:  # no property: a line of the one before (Outlook's multi-line ADR), or junk
            if prop is None or b"\x00" in line:
                card.junk += 1
            elif prop.gap:  # QP after a soft break and a blank line (Android, Outlook)
                prop.add(line, cut)
            elif prop.pieces and prop.pieces[-1].endswith(b"\\"):  # an escaped line end
                prop.pieces[-1] = prop.pieces[-1][:-1]
                prop.add(b"\\n" + line, cut)
            else:
                prop.add(b" " + line, cut)
            continue
        name, spelling, params, encoding, value = head
        agent = name == "AGENT" and not value.strip()
        prop = _Prop(name, spelling, params, encoding, keep and name in TAKEN)
        for charset in params.get("CHARSET", ()):
            if charset not in card.charsets:
                card.charsets.append(charset)
        prop.add(value, cut)
        card.props.append(prop)
    if card is not None:
        card.closed = False
        yield card


_NAMES: dict[bytes, tuple[str, str]] = {}  # a file repeats a few dozen property names


def _parse_head(line: bytes, keep: bool = True) -> tuple[str, str, dict[str, list[str]], str, bytes] | None:
    """(NAME, name as written, parameters, encoding, value) of a property line, or None if it is
    none. Parameters are parsed only when KEEP (or a CHARSET is named: a card's charset hint);
    the encoding always is, since QP and base64 decide which lines belong to the value."""
    m = _NAME.match(line)
    if m is None:
        return None
    at = m.end()
    if at >= len(line):
        return None
    spelled = m.group(2)
    known = _NAMES.get(spelled)
    if known is None:
        text = spelled.decode("ascii")
        known = _NAMES.setdefault(spelled, (text.upper(), text)) if len(_NAMES) < 4096 else (text.upper(), text)
    name, spelling = known
    if line[at] == 58:  # ":" - no parameters, the common case
        return name, spelling, {}, "", line[at + 1 :]
    if line[at] != 59:  # ";"
        return None
    colon = _colon(line, at)
    if colon is None:
        return None
    raw = line[at + 1 : colon]
    upper = raw.upper()
    if not (keep and name in TAKEN) and b"CHARSET" not in upper:
        coded = b"QUOTED" in upper or b"BASE64" in upper or b"ENCODING" in upper or b"B" in upper.split(b";")
        if not coded:
            return name, spelling, {}, "", line[colon + 1 :]
    params = _params(raw)
    return name, spelling, params, _encoding(params), line[colon + 1 :]


def _params(raw: bytes) -> dict[str, list[str]]:
    """Parameters by upper-case name; TYPE values lower case; 2.1's bare values where they belong."""
    params: dict[str, list[str]] = {}
    for item in _split_quoted(raw, b";"):
        key, eq, val = item.partition(b"=")
        key_text = key.strip().decode("ascii", "replace").upper()
        if not key_text:
            continue
        if not eq:  # vCard 2.1's bare parameters: TEL;HOME;VOICE, PHOTO;JPEG;B, NOTE;QUOTED-PRINTABLE
            key_text, values = _bare(key_text), [key.strip().decode("ascii", "replace")]
        else:
            values = [v.strip().strip(b'"').decode("utf-8", "replace") for v in _split_quoted(val, b",")]
        if key_text == "TYPE":
            values = [v.lower() for v in values]
        params.setdefault(key_text, []).extend(v for v in values if v)
    return params


def _colon(line: bytes, start: int) -> int | None:
    """Where the value starts: the first ':' outside double quotes (vCard 3.0/4.0 quote parameter
    values: TYPE="a:b"); a 2.1 line with a stray quote falls back to the first ':'."""
    found = line.find(b":", start)
    if found < 0:
        return None
    if b'"' not in line[start:found]:
        return found
    quoted = False
    for i in range(start, len(line)):
        ch = line[i]
        if ch == 34:  # '"'
            quoted = not quoted
        elif ch == 58 and not quoted:  # ':'
            return i
    return found


def _split_quoted(raw: bytes, sep: bytes) -> list[bytes]:
    if b'"' not in raw:
        return raw.split(sep)
    parts, quoted, start = [], False, 0
    for i, ch in enumerate(raw):
        if ch == 34:
            quoted = not quoted
        elif ch == sep[0] and not quoted:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return parts


def _bare(value: str) -> str:
    """The parameter a 2.1 bare value belongs to: ENCODING, CHARSET (a bare 'utf-8') or TYPE."""
    if value in _ENCODINGS:
        return "ENCODING"
    if len(value) >= 4 and _charset(value):
        return "CHARSET"
    return "TYPE"


def _charset(name: str) -> str | None:
    """Python's codec for a CHARSET parameter, or None for an unknown one ('blabla')."""
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    return None if codec in _NOT_TEXT or codec.startswith(tuple(_NOT_TEXT)) else codec


def _encoding(params: dict[str, list[str]]) -> str:
    for value in params.get("ENCODING", ()):
        found = _ENCODINGS.get(value.upper())
        if found:
            return found
    return ""


# ---------------------------------------------------------------- values


class _Decoder:
    """Bytes to text for one card: UTF-8 when the bytes are UTF-8, else the declared charset, else
    the legacy charset the card (or an earlier card of the file) declares anywhere, else cp1252."""

    def __init__(self, card: _Card, file_default: str) -> None:
        self.fallback = file_default
        for name in card.charsets:
            codec = _charset(name)
            if codec and codec not in ("utf-8", "ascii") and not codec.startswith(("utf-16", "utf-32")):
                self.fallback = codec
                break

    def text(self, data: bytes, declared: str | None) -> str:
        if data.isascii():
            return data.decode("ascii")
        codec = _charset(declared) if declared else None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if codec == "utf-8" and exc.start >= len(data) - 3:  # declared UTF-8, a character cut at the end
                return data.decode("utf-8", errors="replace")
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass
        return data.decode(self.fallback, errors="replace")


def _split_escaped(raw: bytes, sep: int) -> list[bytes]:
    """RAW split at SEP bytes that no backslash escapes (escapes stay for _unescape)."""
    if b"\\" not in raw:
        return raw.split(bytes([sep]))
    parts, start, i, n = [], 0, 0, len(raw)
    while i < n:
        ch = raw[i]
        if ch == 92:  # backslash: the next byte is escaped
            i += 2
            continue
        if ch == sep:
            parts.append(raw[start:i])
            start = i + 1
        i += 1
    parts.append(raw[start:])
    return parts


def _split_text(text: str, sep: str) -> list[str]:
    if "\\" not in text:
        return text.split(sep)
    parts, start, i, n = [], 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)


def _lines_of(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _Values:
    """The text of a card's properties, decoded and unescaped."""

    def __init__(self, decoder: _Decoder) -> None:
        self.decoder = decoder

    def _raw(self, prop: _Prop) -> bytes:
        if prop.encoding == "qp":  # soft line breaks: the '=' at a piece's end joins it to the next
            pieces = [p.rstrip(b" \t") for p in prop.pieces]
            return b"".join(p[:-1] if p.endswith(b"=") else p for p in pieces)
        return b"".join(prop.pieces)

    def _decode(self, prop: _Prop, raw: bytes) -> str:
        declared = (prop.params.get("CHARSET") or [None])[0]
        if prop.encoding == "qp":
            raw = binascii.a2b_qp(raw)
        elif prop.encoding == "b64":
            try:
                raw = base64.b64decode(raw + b"=" * (-len(raw) % 4))
            except (binascii.Error, ValueError):
                return ""
        return self.decoder.text(raw, declared)

    def escaped(self, prop: _Prop) -> str:
        """The value decoded, its backslash escapes kept (for lists split at ',')."""
        return self._decode(prop, self._raw(prop))

    def text(self, prop: _Prop) -> str:
        """A single value: EMAIL, TEL, NOTE, FN, ... (';' and ',' are text)."""
        return _unescape(self.escaped(prop))

    def parts(self, prop: _Prop) -> list[str]:
        """The components of a structured value (N, ADR, ORG), split at unescaped ';', escapes kept.
        QP is split before it is decoded, as Android does: a decoded byte never splits a value."""
        raw = self._raw(prop)
        if prop.encoding == "qp":
            return [self._decode(prop, part) for part in _split_escaped(raw, 59)]
        return _split_text(self._decode(prop, raw), ";")


# ---------------------------------------------------------------- cards → rows


def _clean(text: str) -> str:
    return " ".join(text.split())


def _pref_order(props: list[_Prop]) -> list[_Prop]:
    """PREF first (vCard 4's PREF=1 before PREF=2), then as written."""

    def key(item: tuple[int, _Prop]) -> tuple[int, int]:
        index, prop = item
        rank = 101
        for value in prop.params.get("PREF", ()):
            rank = int(value) if value.isdigit() else 1
        if "pref" in prop.params.get("TYPE", ()):
            rank = min(rank, 1)
        return rank, index

    return [p for _, p in sorted(enumerate(props), key=key)]


def phone_text(value: str) -> str:
    """A TEL value as phonenumbers reads it: a tel: URI's visual separators become spaces and its
    extension ';ext=102' becomes ' ext. 102'; other URI parameters go."""
    value = value.strip()
    uri = value[:4].lower() == "tel:"
    if uri:
        value = value[4:]
    ext = _EXT.search(value)
    number = value[: ext.start()] if ext else value
    if uri:
        number = number.split(";", 1)[0].replace("-", " ").replace(".", " ")
    number = _clean(number)
    return f"{number} ext. {ext.group(1)}" if ext and number else number


def birthday_text(value: str, params: dict[str, list[str]]) -> str:
    """BDAY as 'YYYY-MM-DD', or '--MM-DD' when the year is unknown (vCard 4's --0415, Apple's year
    1604 or X-APPLE-OMIT-YEAR); the time is dropped. Other text is kept for the importer to judge."""
    text = value.strip()
    m = _DATE.fullmatch(text)
    if m is None:
        return text
    year, month, day = m.group(1), int(m.group(2)), int(m.group(3))
    omit = params.get("X-APPLE-OMIT-YEAR", [])
    if year == "--" or year == "1604" or year in omit:
        try:
            date(2000, month, day)  # a leap year: --02-29 is a date
        except ValueError:
            return text
        return f"--{month:02d}-{day:02d}"
    try:
        return date(int(year), month, day).isoformat()
    except ValueError:
        return text


def _address(values: _Values, props: list[_Prop]) -> list[str]:
    """street, city, region, postcode, country of the first ADR, a work one before others and a
    preferred one first; PO box and extended address join the street."""
    if not props:
        return [""] * 5

    def key(item: tuple[int, _Prop]) -> tuple[bool, bool, int]:
        index, prop = item
        types = prop.params.get("TYPE", ())
        pref = "pref" in types or bool(prop.params.get("PREF"))
        return "work" not in types, not pref, index

    chosen = min(enumerate(props), key=key)[1]
    parts = [_unescape(p) for p in values.parts(chosen)] + [""] * 7
    pobox, extended, street, city, region, postcode, country = (_lines_of(p).strip() for p in parts[:7])
    lines = [line.strip() for part in (street, extended, pobox) for line in part.split("\n")]
    return [", ".join(line for line in lines if line), _clean(city), _clean(region), _clean(postcode), _clean(country)]


def _kind(props: dict[str, list[_Prop]], values: _Values, name: str, family_given: str, company: str) -> str:
    for key in ("KIND", "X-ADDRESSBOOKSERVER-KIND"):
        for prop in props.get(key, ()):
            kind = values.text(prop).strip().lower()
            if kind in ("org", "organization", "organisation"):
                return "org"
            if kind == "group":
                return "group"
            if kind == "individual":
                return "person"
    for prop in props.get("X-ABSHOWAS", ()):
        if values.text(prop).strip().upper() == "COMPANY":
            return "org"
    # 2.1/3.0 company cards (Outlook, Android): no personal name, the ORG is the only name
    if company and not family_given and (not name or name.casefold() == company.casefold()):
        return "org"
    return "person"


def card_cells(card: _Card, decoder: _Decoder) -> list[str] | Unreadable:
    """One card as cells aligned with HEADERS, or why it cannot be a row."""
    values = _Values(decoder)
    props: dict[str, list[_Prop]] = {}
    for prop in card.props:
        if prop.keep:
            props.setdefault(prop.name, []).append(prop)
    if not any(p.name not in STRUCTURE for p in card.props):
        if card.junk:
            return Unreadable(f"no vCard property in the card ({card.junk} lines that are none)")
        return Unreadable("an empty card")

    def first(key: str) -> str:
        return next((t for t in (values.text(p).strip() for p in _pref_order(props.get(key, []))) if t), "")

    def every(key: str) -> list[str]:
        return [t for t in (values.text(p).strip() for p in _pref_order(props.get(key, []))) if t]

    name = _clean(first("FN"))
    n_parts: list[str] = []
    if "N" in props:
        # several values in one component (N:Doe,Smith;John,Paul;;;) join with spaces
        n_parts = [
            " ".join(_clean(_unescape(v)) for v in _split_text(p, ",")).strip() for p in values.parts(props["N"][0])
        ]
    family, given, middle, prefix, suffix = (n_parts + [""] * 5)[:5]
    company, departments = "", []
    if "ORG" in props:
        org = [_clean(_unescape(p)) for p in values.parts(_pref_order(props["ORG"])[0])]
        company, departments = (org[0] if org else ""), [d for d in org[1:] if d]
    kind = _kind(props, values, name, family + given, company)
    if kind == "group":
        return Unreadable("a contact group (KIND:group), not a person or company")
    if kind == "org":
        name = name or company
        family = given = middle = prefix = suffix = ""

    pairs: list[str] = []
    if departments:
        pairs.append("department=" + ", ".join(departments))
    for key, label in (("NICKNAME", "nickname"), ("ROLE", "role")):
        found = [_clean(_unescape(v)) for p in props.get(key, []) for v in _split_text(values.escaped(p), ",")]
        found = [v for v in found if v]
        if found:
            pairs.append(f"{label}=" + ", ".join(dict.fromkeys(found)))
    pairs.extend(_clean(v) for v in every("X-CRM-FIELD"))

    tags: list[str] = []
    for prop in props.get("CATEGORIES", []):
        for part in _split_text(values.escaped(prop), ","):
            tags.extend(_clean(_unescape(t)) for t in _split_text(part, ";") if t.strip())

    notes = "\n".join(_lines_of(values.text(p)).strip("\n") for p in props.get("NOTE", []))
    bday = props.get("BDAY", [])
    external_id = first("UID")
    if external_id.lower().startswith("urn:uuid:"):
        external_id = external_id[9:]
    cells = [
        name,
        given,
        middle,
        family,
        prefix,
        suffix,
        "\n".join(_clean(e.removeprefix("mailto:").removeprefix("MAILTO:")) for e in every("EMAIL")),
        "\n".join(filter(None, (phone_text(t) for t in every("TEL")))),
        company,
        _clean(first("TITLE")),
        notes.strip(),
        "\n".join(dict.fromkeys(t for t in tags if t)),
        external_id,
        _clean(first("X-CRM-OWNER")),
        _clean(first("X-CRM-SOURCE")),
        _clean(first("X-CRM-CREATED")),
        "\n".join(pairs),
        *_address(values, props.get("ADR", [])),
        birthday_text(values.text(bday[0]), bday[0].params) if bday else "",
        _clean(first("URL")),
        kind,
        _clean(first("X-CRM-CADENCE")),
        _clean(first("X-CRM-ID")),
    ]
    return cells


# ---------------------------------------------------------------- the table


def open_vcards(path: Path) -> Table:
    """The file's cards as a Table. A first pass over the file (no values kept) finds the cards and
    the properties the rows leave out, so `ignored` and `estimate` are known before rows are read."""
    source = _Source(path)
    seen: dict[str, str] = {}
    count = 0
    for card in _cards(source, keep=False):
        count += 1
        for prop in card.props:
            if prop.name not in TAKEN and prop.name not in STRUCTURE:
                seen.setdefault(prop.name, prop.spelling)
    if not count:
        raise Invalid(f"cannot import {path.name}: no vCard in it")
    notes = [source.describe()]
    return Table(list(HEADERS), _rows(source, notes), "vcard", estimate=count, notes=notes, ignored=list(seen.values()))


def _rows(source: _Source, notes: list[str]) -> Iterator[tuple[int, list[str] | Unreadable]]:
    file_default = "cp1252"
    for card in _cards(source):
        decoder = _Decoder(card, file_default)
        file_default = decoder.fallback  # a charset one card declares is the likeliest for the next
        try:
            cells = card_cells(card, decoder)
        except Exception as exc:  # noqa: BLE001 - one card's surprise must not end the file
            cells = Unreadable(f"cannot read the card: {type(exc).__name__}: {exc}")
        if not card.closed:
            notes.append(f"line {card.line}: the card has no END:VCARD; read up to where the next begins")
        if any(p.cut for p in card.props if p.keep):
            notes.append(f"line {card.line}: a value longer than {LINE_LIMIT:,} bytes was cut")
        if isinstance(cells, list) and any(len(c) > MAX_CELL for c in cells):
            # the importer refuses a file with a cell past MAX_CELL: cut the value, not the card
            long = [HEADERS[i] for i, c in enumerate(cells) if len(c) > MAX_CELL]
            notes.append(f"line {card.line}: {', '.join(long)} cut to {MAX_CELL:,} characters")
            cells = [c[:MAX_CELL] for c in cells]
        yield card.line, cells
