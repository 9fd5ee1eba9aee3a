"""Mail in: messages from and to contacts become email activities (`crm mail import`).

Sources: an mbox file, a Maildir, a folder of .eml files (or one .eml file), or an IMAP mailbox
(imaps://user@host[:port]/MAILBOX; imap:// takes STARTTLS when the server offers it). Everything is
read-only: files are only read, an IMAP mailbox is opened with EXAMINE and fetched with
BODY.PEEK[], so nothing is marked seen, moved or deleted.

Each message is matched by its From, To and Cc addresses (the user's own, the `my_emails`
setting, never count): an address is the contacts that have it (exact, lower-cased), else the
companies whose domain it is at, unless a contact of the same message already works there. It is
logged as an `email` activity on each contact matched (and on the contact's deal when the contact
has exactly one open deal) or company matched, at the message's date (UTC), with its direction
(`out` when it is from one of the user's addresses, else `in`) and its text: the subject, " — "
and a snippet of the plain-text body with quoted replies and the signature left out (the whole
text with `full_body`). Attachments are ignored.

Importing again adds nothing: each message logged is recorded in mail_message by its Message-ID
(or "sha256:" of its Date, From, To and Subject when it has none). Messages that matched no one
are not recorded, so that they are logged once the person is added and the mailbox imported
again. An IMAP mailbox's UIDVALIDITY and last UID are kept in mail_source: the next run fetches
only newer messages, and starts over (still idempotent) when UIDVALIDITY changed.

A message that cannot be read (no headers, no sender, no date) is a line of the report and never
fails the run. Writes go in batches, one transaction each (a change set of kind "mail").
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage, Message
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import unquote, urlsplit

from crmcli import changelog
from crmcli.errors import CrmError, Invalid, NotFound, UsageError
from crmcli.values import clock

if TYPE_CHECKING:
    from sqlmodel import Session

SNIPPET = 300  # characters of body text an activity keeps (full_body: all of it)
TEXT_MAX = 100_000  # activity text's limit (crmcli.values.normalize.NOTES_MAX)
BATCH = 2000  # messages a transaction
FETCH = 200  # messages an IMAP FETCH asks for
COUNTS = ("read", "logged", "already", "unmatched", "bad")  # read = logged + already + unmatched + bad
EXTRA_COUNTS = ("activities", "suppressed", "created")


class Interrupted(CrmError):
    """Ctrl-C during a mail import: the batches already committed stay; run it again."""

    exit_code = 130


class BadMessage(Exception):
    """A message that cannot be logged: REASON, and the header (and its value) at fault."""

    def __init__(self, reason: str, header: str = "", value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.header, self.value = reason, header, value


class MailResult(TypedDict):
    """What import_mail did. counts: read = logged + already + unmatched + bad; activities
    (written), suppressed (messages with a correspondent erased on request, skipped), created
    (contacts) apart."""

    source: str
    kind: str  # mbox | maildir | eml | imap
    counts: dict[str, int]
    unknown: list[dict[str, Any]]  # correspondents of unmatched messages: address, name, messages
    created: list[dict[str, Any]]  # contacts created: id, name, email
    report_file: str | None
    report_lines: int
    report: list[dict[str, Any]]  # the report's first lines: row, event, record, column, value, reason
    my_emails: list[str]
    uidvalidity: int | None  # IMAP: the mailbox's, and whether the run started over
    started_over: bool


# ---------------------------------------------------------------- parsing


@dataclass
class Parsed:
    """A message as the import uses it."""

    key: str  # the normalised Message-ID, or sha256:… of its headers
    at: datetime  # UTC
    sender: tuple[str, str]  # (address, display name), the address lower-cased
    recipients: list[tuple[str, str]]  # To and Cc
    subject: str
    text: str  # the activity's text: subject — snippet (or the whole body)


_SURROGATES = re.compile("[\udc80-\udcff]")
_BREAKS = re.compile(r"\r?\n")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"]+@(?:localhost|[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+)")


def _policy() -> Any:
    import email.policy

    return email.policy.default


def _repaired(value: str) -> str:
    """A raw header value with 8-bit bytes (read as surrogates) decoded as UTF-8, else Windows-1252."""
    if value.isascii() or not _SURROGATES.search(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


class _Headers:
    """A message's headers, raw (8-bit bytes repaired), parsed on demand by the default policy."""

    def __init__(self, msg: Message) -> None:
        self.raw: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            text = value if isinstance(value, str) else str(value)
            self.raw.setdefault(name.lower(), []).append(_BREAKS.sub("", _repaired(text)))

    def first(self, name: str) -> str:
        values = self.raw.get(name.lower())
        return values[0] if values else ""

    def parsed(self, name: str) -> list[Any]:
        policy = _policy()
        out = []
        for value in self.raw.get(name.lower(), []):
            try:
                out.append(policy.header_factory(name, value))
            except Exception:  # noqa: BLE001 - the standard library's header parser on hostile input
                continue
        return out

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(address lower-cased, display name) of every readable address in header NAME."""
        from crmcli.values.normalize import clean_text

        found: list[tuple[str, str]] = []
        for value in self.raw.get(name.lower(), []):
            if value.isascii():  # most headers: the utilities' quick parser will do
                from email.utils import getaddresses

                pairs = [(_words(display), spec) for display, spec in getaddresses([value]) if spec]
            else:  # encoded words, 8-bit text: the default policy's parser
                pairs = []
                try:
                    items: tuple[Address, ...] = _policy().header_factory(name, value).addresses
                except Exception:  # noqa: BLE001 - the standard library's header parser on hostile input
                    items = ()
                for item in items:
                    if item.username and item.domain:
                        pairs.append((item.display_name or "", f"{item.username}@{item.domain}"))
            for display, spec in pairs:
                address = clean_text(spec).lower()
                if not _ADDRESS.fullmatch(address):
                    continue
                found.append((address, clean_text(_repaired(display))))
        return found

    def text(self, name: str) -> str:
        """Header NAME as text, encoded words decoded (the first of several)."""
        from crmcli.values.normalize import clean_text

        value = self.first(name)
        if not value or value.isascii():
            return clean_text(_words(value))
        for header in self.parsed(name):
            return clean_text(_repaired(str(header)))
        return clean_text(value)


def _words(value: str) -> str:
    """VALUE with its RFC 2047 encoded words (=?utf-8?q?…?=) decoded; as written when they cannot be."""
    if "=?" not in value:
        return value
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError, TypeError):
        pass
    try:  # an unknown charset: the default policy decodes what it can
        return str(_policy().header_factory("subject", value))
    except Exception:  # noqa: BLE001
        return value


def _date(headers: _Headers) -> datetime | None:
    """The message's Date in UTC; else the date the topmost readable Received header gives."""
    from email.utils import parsedate_to_datetime

    for raw in headers.raw.get("date", []):  # what the default policy's Date header does, without its objects
        try:
            value = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError):
            continue
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    for received in headers.raw.get("received", []):
        _, sep, when = received.rpartition(";")
        if not sep:
            continue
        try:
            value = parsedate_to_datetime(when.strip())
        except (TypeError, ValueError, IndexError):
            continue
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return None


def normalize_message_id(value: str) -> str:
    """'  <abc@host> ' → 'abc@host'; the first <…> when there are several; '' for none."""
    text = value.strip()
    m = re.search(r"<([^<>]*)>", text)
    if m:
        text = m.group(1)
    return "".join(text.split()).strip("<>")


def message_key(message_id: str, date: str, sender: str, to: str, subject: str) -> str:
    """The normalised Message-ID, else "sha256:" of the Date, From, To and Subject headers."""
    key = normalize_message_id(message_id)
    if key and len(key) <= 900:
        return key
    digest = hashlib.sha256("\x00".join(" ".join(v.split()) for v in (date, sender, to, subject)).encode())
    return "sha256:" + digest.hexdigest()


def _decode(payload: bytes, charset: str | None) -> str:
    """PAYLOAD in its declared CHARSET; else UTF-8; else Windows-1252 (what 'us-ascii' and unknown
    charsets hide most often)."""
    for name in (charset, "utf-8"):
        if not name:
            continue
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", "replace")


def _raw(part: Message, name: str) -> str:
    """Header NAME of PART as written (no header object: the default policy would parse it anew on
    every access, and a message's MIME headers are read several times)."""
    wanted = name.lower()
    for key, value in part.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return ""


_CHARSET = re.compile(r"""charset\*?\s*=\s*"?(?:[^'"]*'[^'"]*')?([^";\s]+)""", re.I)


def _content_type(part: Message, default: str = "text/plain") -> str:
    value = _raw(part, "Content-Type").split(";", 1)[0].strip().lower()
    return value if "/" in value else default


def _attachment(part: Message) -> bool:
    return _raw(part, "Content-Disposition").strip().lower().startswith("attachment")


def _part_text(part: Message) -> str:
    """A text part's payload decoded: its transfer encoding (the email package), then its charset."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    m = _CHARSET.search(_raw(part, "Content-Type"))
    text = _decode(data, m.group(1).strip("'\"") if m else None)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _text_part(msg: Message) -> Message | None:
    """The part holding the message's text: its first text/plain part that is no attachment, else
    its first text/html one (as EmailMessage.get_body(("plain", "html")) picks, without parsing the
    MIME headers again at every look); attached messages are not looked into."""
    html: Message | None = None
    todo = [msg]
    while todo:
        part = todo.pop(0)
        payload = part.get_payload()
        if isinstance(payload, list):  # multipart
            if part is msg or not _attachment(part):
                kind = _content_type(part)
                if kind == "message/rfc822" and part is not msg:
                    continue
                todo = [p for p in payload if isinstance(p, Message)] + todo
            continue
        if part is not msg and _attachment(part):
            continue
        kind = _content_type(part)
        if kind == "text/plain":
            return part
        if kind == "text/html" and html is None:
            html = part
    return html


def body_text(msg: Message, *, keep_quotes: bool = False) -> str:
    """The message's text: its text/plain part, else its HTML as text (quoted parts left out unless
    KEEP_QUOTES); attachments ignored."""
    try:
        part = _text_part(msg)
    except Exception:  # noqa: BLE001 - a broken MIME tree: no text, the subject still counts
        return ""
    if part is None:
        inner = msg.get_payload() if _content_type(msg) == "message/rfc822" else None
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return body_text(inner[0], keep_quotes=keep_quotes)  # a forward sent as the message itself
        return ""
    text = _part_text(part)
    if _content_type(part) == "text/html":
        text = html_to_text(text, keep_quotes=keep_quotes)
    return text


class _HtmlText(HTMLParser):
    BLOCK = frozenset(
        "p div br li ul ol tr table h1 h2 h3 h4 h5 h6 hr pre section article header footer blockquote dl dt dd".split()
    )
    SKIP = frozenset({"style", "script", "head", "title", "template", "noscript", "xml"})
    VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source"})
    QUOTE_CLASSES = frozenset({"gmail_quote", "yahoo_quoted", "moz-cite-prefix", "outlookmessageheader"})
    QUOTE_IDS = frozenset(
        {"divrplyfwdmsg", "appendonsend", "x_divrplyfwdmsg", "mail-editor-reference-message-container"}
    )

    def __init__(self, keep_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.keep_quotes = keep_quotes
        self.parts: list[str] = []
        self.skip_tag: str | None = None
        self.skip_depth = 0
        self.pre = 0

    def _quoted(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if self.keep_quotes:
            return False
        if tag == "blockquote":
            return True
        values = dict(attrs)
        classes = set((values.get("class") or "").lower().split())
        return bool(classes & self.QUOTE_CLASSES) or (values.get("id") or "").lower() in self.QUOTE_IDS

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth += 1
            return
        if tag not in self.VOID and (tag in self.SKIP or self._quoted(tag, attrs)):
            self.skip_tag, self.skip_depth = tag, 1
            return
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip_depth and tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skip_depth:
            if tag == self.skip_tag:
                self.skip_depth -= 1
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in self.BLOCK and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str, *, keep_quotes: bool = False) -> str:
    """HTML as plain text (the standard library's html.parser): paragraphs and line breaks kept,
    styles and scripts dropped, quoted parts (blockquote, Gmail's and others' quote blocks) left
    out unless KEEP_QUOTES."""
    parser = _HtmlText(keep_quotes)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser on hostile input: what was read so far
        pass
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_ORIGINAL = re.compile(
    r"^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale)"
    r"\s*-{2,}$",
    re.I,
)
_ON_WROTE = re.compile(r"^(on|am|le|el|il|op)\s.*\b(wrote|schrieb|a écrit|escribió|ha scritto|schreef)\b.*:$", re.I)
_ON = re.compile(r"^(on|am|le|el|il|op)\s", re.I)
_WROTE_END = re.compile(r"\b(wrote|schrieb|a écrit|escribió|ha scritto|schreef)\s*:$", re.I)
_HEADER_FROM = re.compile(r"^\*?(from|von|de|da|van)\s*:\*?\s", re.I)
_HEADER_NEXT = re.compile(
    r"^\*?(sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden|to|an|à|para|a|aan)\s*:", re.I
)
_MOBILE = re.compile(
    r"^(sent from my \S.{0,40}|get outlook for \S.{0,20}|von meinem \S.{0,40} gesendet|envoyé de mon \S.{0,40})$", re.I
)


def strip_reply(text: str) -> str:
    """TEXT without what was quoted from earlier messages: "> " lines wherever they are (so a reply
    written below the quote is kept), the attribution line above a quote ("On … wrote:", in any
    language when a quote follows it), and everything from "-----Original Message-----" or
    Outlook's From:/Sent: block on; without the signature (a "-- " line and below) and without
    "Sent from my iPhone" lines."""
    lines = text.split("\n")
    out: list[str] = []
    skip_next = False
    for i, line in enumerate(lines):
        s = line.strip()
        if skip_next:  # the second line of an attribution
            skip_next = False
            continue
        if line.rstrip() == "--" or line == "-- ":
            break
        if _ORIGINAL.match(s) or (len(s) >= 10 and set(s) == {"_"}):
            break
        if _HEADER_FROM.match(s) and any(_HEADER_NEXT.match(n.strip()) for n in lines[i + 1 : i + 5]):
            break
        if s.startswith(">") or _ON_WROTE.match(s) or _MOBILE.match(s):
            continue
        if _ON.match(s) and i + 1 < len(lines) and _WROTE_END.search(lines[i + 1].strip()):
            skip_next = True
            continue
        if s.endswith(":") and _quote_follows(lines, i + 1):  # an attribution in another language
            last = out[-1].strip() if out else ""
            if last and not last.endswith((".", "!", "?")) and ("@" in last or any(c.isdigit() for c in last)):
                out.pop()  # its first line: "02.04.2012 14:20 user <" / "bob@example.com> wrote:"
            continue
        out.append(line)
    text = "\n".join(out).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _quote_follows(lines: list[str], start: int) -> bool:
    """The next line with text after START is quoted ("> ")."""
    for line in lines[start : start + 3]:
        if line.strip():
            return line.lstrip().startswith(">")
    return False


def snippet(text: str, limit: int = SNIPPET) -> str:
    """TEXT as one line of about LIMIT characters, cut at a word."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 2 // 3 else cut).rstrip(" ,;:-—") + "…"


def activity_text(subject: str, body: str, *, full_body: bool = False) -> str:
    """subject — snippet (or the whole body): what the activity says."""
    from crmcli.values.normalize import clean_multiline

    if full_body:
        rest = clean_multiline(body)
    else:
        rest = snippet(strip_reply(body))
    head = subject or "(no subject)"
    text = f"{head} — {rest}" if rest else head
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    return text


def parse(raw: bytes, *, full_body: bool = False) -> Parsed:
    """One message (its bytes) as the import uses it; BadMessage when it cannot be logged."""
    from email.parser import BytesParser

    try:
        msg = BytesParser(policy=_policy()).parsebytes(raw)
    except Exception as exc:  # noqa: BLE001
        raise BadMessage(f"unreadable: {exc}") from None
    assert isinstance(msg, EmailMessage)
    headers = _Headers(msg)
    if not headers.raw:
        raise BadMessage("not an email message: no headers")
    senders = headers.addresses("From")
    if not senders:
        why = "no From header" if "from" not in headers.raw else "the From header holds no address that can be read"
        raise BadMessage(f"no sender: {why}", "From", headers.first("From"))
    at = _date(headers)
    if at is None:
        why = "no Date header" if "date" not in headers.raw else "the Date header cannot be read"
        raise BadMessage(f"no date: {why}, nor a Received header's", "Date", headers.first("Date"))
    subject = headers.text("Subject")
    key = message_key(
        headers.first("Message-ID"), headers.first("Date"), headers.first("From"), headers.first("To"), subject
    )
    body = body_text(msg, keep_quotes=full_body)
    return Parsed(
        key=key,
        at=at,
        sender=senders[0],
        recipients=headers.addresses("To") + headers.addresses("Cc"),
        subject=subject,
        text=activity_text(subject, body, full_body=full_body),
    )


# ---------------------------------------------------------------- sources


@dataclass
class Item:
    """One message of a source: where it is (for the report), its bytes, its IMAP UID."""

    where: str
    raw: bytes
    uid: int | None = None


@dataclass
class ImapUrl:
    secure: bool
    user: str
    host: str
    port: int
    mailbox: str

    @property
    def key(self) -> str:
        """The mailbox's name in mail_source (never a password)."""
        return f"{'imaps' if self.secure else 'imap'}://{self.user}@{self.host}:{self.port}/{self.mailbox}"


def is_imap(source: str) -> bool:
    return source.lower().startswith(("imap://", "imaps://"))


def parse_imap_url(source: str) -> ImapUrl:
    """imaps://user@host[:port]/MAILBOX (default INBOX); user and mailbox may be %-encoded."""
    parts = urlsplit(source)
    if parts.password is not None:
        raise UsageError(
            "the mailbox URL holds a password: it would be kept in the history and in the shell's; "
            "give it in CRM_IMAP_PASSWORD instead"
        )
    if not parts.hostname or not parts.username:
        raise UsageError(f"'{source}' is no IMAP mailbox: use imaps://user@host[:port]/INBOX")
    secure = parts.scheme.lower() == "imaps"
    try:
        port = parts.port or (993 if secure else 143)
    except ValueError:
        raise UsageError(f"'{source}' has no valid port") from None
    mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
    return ImapUrl(secure, unquote(parts.username), parts.hostname, port, mailbox)


class Source:
    kind = ""
    label = ""
    report_default: Path | None = None

    def items(self) -> Iterator[Item]:
        raise NotImplementedError

    def close(self) -> None:
        return None


class MboxSource(Source):
    kind = "mbox"

    def __init__(self, path: Path) -> None:
        self.path, self.label = path, str(path)
        self.report_default = path.with_name(f"{path.stem}.import-report.csv")

    def items(self) -> Iterator[Item]:
        import mailbox

        box = mailbox.mbox(self.path, create=False)
        try:
            for number, key in enumerate(box.iterkeys(), 1):
                yield Item(f"message {number}", box.get_bytes(key))
        finally:
            box.close()


class MaildirSource(Source):
    kind = "maildir"

    def __init__(self, path: Path) -> None:
        self.path, self.label = path, str(path)
        self.report_default = path.with_name(f"{path.name}.import-report.csv")

    def items(self) -> Iterator[Item]:
        import mailbox

        box = mailbox.Maildir(self.path, factory=None, create=False)
        # delivery order: a Maildir name starts with the time it was delivered
        for key in sorted(box.iterkeys(), key=lambda k: (_leading_number(k), k)):
            try:
                raw = box.get_bytes(key)
            except (KeyError, OSError):  # moved or removed by a mail client meanwhile
                continue
            yield Item(key, raw)


def _leading_number(name: str) -> float:
    m = re.match(r"\d+(\.\d+)?", name)
    return float(m.group()) if m else 0.0


class EmlSource(Source):
    kind = "eml"

    def __init__(self, path: Path) -> None:
        self.path, self.label = path, str(path)
        if path.is_dir():
            self.files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".eml")
            self.report_default = path.with_name(f"{path.name}.import-report.csv")
        else:
            self.files = [path]
            self.report_default = path.with_name(f"{path.stem}.import-report.csv")

    def items(self) -> Iterator[Item]:
        for file in self.files:
            try:
                raw = file.read_bytes()
            except OSError as exc:
                raise Invalid(f"cannot read {file}: {exc.strerror or exc}") from None
            where = str(file.relative_to(self.path)) if self.path.is_dir() else file.name
            yield Item(where, raw)


def open_source(source: str, password: str | None = None) -> Source:
    """The messages SOURCE names: an mbox file, a Maildir, a folder of .eml files, one .eml file, or
    an IMAP mailbox URL (which needs PASSWORD)."""
    if is_imap(source):
        return ImapSource(parse_imap_url(source), password)
    path = Path(source).expanduser()
    if not path.exists():
        raise NotFound(f"no mailbox at {source}: no such file or folder")
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            return MaildirSource(path)
        return EmlSource(path)
    try:
        with path.open("rb") as fh:
            start = fh.read(4096)
    except OSError as exc:
        raise Invalid(f"cannot read {source}: {exc.strerror or exc}") from None
    if start.lstrip(b"\r\n").startswith(b"From "):
        return MboxSource(path)
    return EmlSource(path)


# ---------------------------------------------------------------- IMAP


def _imap_utf7(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 5.1.3)."""
    import base64

    out, pending = [], ""

    def flush() -> None:
        nonlocal pending
        if pending:
            encoded = base64.b64encode(pending.encode("utf-16-be")).decode().rstrip("=").replace("/", ",")
            out.append(f"&{encoded}-")
            pending = ""

    for ch in name:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending += ch
    flush()
    return "".join(out)


def _quoted(name: str) -> str:
    return '"' + _imap_utf7(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ranges(uids: list[int]) -> str:
    """[1, 2, 3, 7] → '1:3,7'."""
    parts: list[str] = []
    start = prev = uids[0]
    for uid in uids[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


class ImapSource(Source):
    """An IMAP mailbox, examined (read-only) and fetched with BODY.PEEK[] (never marks a message
    seen). Only UIDs above AFTER are fetched (set by import_mail from mail_source)."""

    kind = "imap"

    def __init__(self, url: ImapUrl, password: str | None) -> None:
        self.url, self.password = url, password
        self.label = url.key
        safe = re.sub(r"[^A-Za-z0-9._@-]+", "-", f"{url.host}-{url.mailbox}")
        self.report_default = Path.cwd() / f"{safe}.import-report.csv"
        self.conn: Any = None
        self.uidvalidity: int | None = None
        self.after = 0

    def _fail(self, what: str, exc: BaseException) -> CrmError:
        said = exc.args[0] if exc.args else exc
        if isinstance(said, bytes):
            said = said.decode("utf-8", "replace")
        return CrmError(f"IMAP {what} {self.url.host}:{self.url.port}: {said}")

    def connect(self) -> int:
        """Log in, EXAMINE the mailbox; its UIDVALIDITY."""
        import imaplib
        import ssl

        if self.password is None:
            raise Invalid(f"no password for {self.url.user} at {self.url.host}")
        context = ssl.create_default_context()
        try:
            if self.url.secure:
                self.conn = imaplib.IMAP4_SSL(self.url.host, self.url.port, ssl_context=context, timeout=60)
            else:
                self.conn = imaplib.IMAP4(self.url.host, self.url.port, timeout=60)
                if "STARTTLS" in self.conn.capabilities:
                    self.conn.starttls(ssl_context=context)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("cannot reach", exc) from None
        try:
            if self.password.isascii():
                self.conn.login(self.url.user, self.password)
            else:
                secret = f"\0{self.url.user}\0{self.password}".encode()
                self.conn.authenticate("PLAIN", lambda _challenge: secret)
        except imaplib.IMAP4.error as exc:
            self.close()
            raise CrmError(f"IMAP login as {self.url.user} at {self.url.host} refused: {_said(exc)}") from None
        try:
            typ, data = self.conn.select(_quoted(self.url.mailbox), readonly=True)  # EXAMINE
            if typ != "OK":
                raise imaplib.IMAP4.error(data[0] if data else typ)
            _, values = self.conn.response("UIDVALIDITY")
        except (OSError, imaplib.IMAP4.error) as exc:
            self.close()
            raise CrmError(f"IMAP mailbox {self.url.mailbox} at {self.url.host}: {_said(exc)}") from None
        value = values[0] if values and values[0] else b"0"
        self.uidvalidity = int(value.decode() if isinstance(value, bytes) else value)
        return self.uidvalidity

    def new_uids(self) -> list[int]:
        """The UIDs above AFTER (UID SEARCH UID n:*, which also answers the highest UID)."""
        import imaplib

        try:
            typ, data = self.conn.uid("SEARCH", f"UID {self.after + 1}:*")
        except (OSError, imaplib.IMAP4.error) as exc:
            raise self._fail("search failed at", exc) from None
        if typ != "OK":
            raise CrmError(f"IMAP search failed at {self.url.host}: {data}")
        found = [int(x) for chunk in data if chunk for x in chunk.split()]
        return sorted(uid for uid in set(found) if uid > self.after)

    def items(self) -> Iterator[Item]:
        import imaplib

        uids = self.new_uids()
        for start in range(0, len(uids), FETCH):
            chunk = uids[start : start + FETCH]
            try:
                typ, data = self.conn.uid("FETCH", _ranges(chunk), "(BODY.PEEK[])")
            except (OSError, imaplib.IMAP4.error) as exc:
                raise self._fail("fetch failed at", exc) from None
            if typ != "OK":
                raise CrmError(f"IMAP fetch failed at {self.url.host}: {data}")
            got: dict[int, bytes] = {}
            for part in data:
                if not isinstance(part, tuple) or len(part) < 2:
                    continue
                m = re.search(rb"UID (\d+)", part[0])
                if m and b"BODY[" in part[0]:
                    got[int(m.group(1))] = part[1]
            for uid in chunk:
                if uid in got:  # gone since the search (expunged): nothing to read
                    yield Item(f"UID {uid}", got[uid], uid)

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.logout()
            except Exception:  # noqa: BLE001 - a connection already gone
                pass


def _said(exc: BaseException) -> str:
    said = exc.args[0] if exc.args else exc
    if isinstance(said, list) and said:
        said = said[0]
    if isinstance(said, bytes):
        said = said.decode("utf-8", "replace")
    return str(said)


# ---------------------------------------------------------------- matching and writing


@dataclass
class _Run:
    """A run's state between batches."""

    session: Session
    mine: set[str]
    by: str | None
    allow_suppressed: bool
    create_contacts: bool
    report: Any
    counts: dict[str, int]
    seen: set[str] = field(default_factory=set)  # keys read in this run
    unknown: Counter[str] = field(default_factory=Counter)
    names: dict[str, Counter[str]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)  # addresses a contact was (or could not be) created for


_AUTOMATED = re.compile(
    r"^(no-?reply|do-?not-?reply|donotreply|mailer-daemon|postmaster|bounces?|notifications?)([+._-].*)?$", re.I
)


def _name_for(address: str, display: str) -> str:
    """A new contact's name: the display name, else the address's local part (anna.weber → Anna Weber)."""
    if display and "@" not in display:
        name = display.strip().strip("'\"").strip()
        if "," in name and name.count(",") == 1:  # "Weber, Anna"
            last, first = (p.strip() for p in name.split(","))
            name = f"{first} {last}".strip()
        if name:
            return name
    local = address.split("@", 1)[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._-]+", local) if w]
    if words and all(w.isalpha() for w in words):
        return " ".join(w.capitalize() if w.islower() else w for w in words)
    return local


def _chunks(values: list[Any], size: int = 5000) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Lookups:
    """What a batch's addresses point to, read in bulk."""

    def __init__(self, session: Session, addresses: set[str], allow_suppressed: bool) -> None:
        from sqlmodel import col, select

        from crmcli.domain import suppression
        from crmcli.models import Company, Contact, ContactEmail, Deal

        wanted = sorted(addresses)
        self.suppressed: set[str] = set() if allow_suppressed else set(suppression.suppressed(session, wanted))
        self.contacts: dict[str, list[tuple[int, str, int | None]]] = {}
        for part in _chunks(wanted):
            query = (
                select(ContactEmail.email, Contact.id, Contact.name, Contact.company_id)
                .join(Contact, col(Contact.id) == col(ContactEmail.contact_id))
                .where(col(ContactEmail.email).in_(part))
                .order_by(col(Contact.id))
            )
            for email, contact_id, name, company_id in session.exec(query):
                entry = (int(contact_id or 0), name, company_id)
                if entry not in self.contacts.setdefault(email, []):
                    self.contacts[email].append(entry)
        domains = sorted({a.rsplit("@", 1)[1] for a in wanted if a not in self.contacts})
        self.companies: dict[str, list[tuple[int, str]]] = {}
        for part in _chunks(domains):
            query2 = (
                select(Company.domain, Company.id, Company.name)
                .where(col(Company.domain).in_(part))
                .order_by(col(Company.id))
            )
            for domain, company_id, name in session.exec(query2):
                if domain:
                    self.companies.setdefault(domain.lower(), []).append((int(company_id), name))  # type: ignore[arg-type]
        contact_ids = sorted({c[0] for found in self.contacts.values() for c in found})
        deals: dict[int, list[int]] = {}
        for part in _chunks(contact_ids):
            query3 = select(Deal.contact_id, Deal.id).where(col(Deal.contact_id).in_(part), col(Deal.status) == "open")
            for contact_id, deal_id in session.exec(query3):
                deals.setdefault(int(contact_id), []).append(int(deal_id))  # type: ignore[arg-type]
        self.deal = {contact_id: ids[0] for contact_id, ids in deals.items() if len(ids) == 1}


def _match(
    parsed: Parsed, run: _Run, found: _Lookups
) -> tuple[list[tuple[int | None, int | None, int | None, str]], list[tuple[str, str]], bool]:
    """(activities to write: (contact, company, deal, subject name)), the unknown correspondents,
    whether a correspondent erased on request was skipped."""
    outgoing = parsed.sender[0] in run.mine
    people = parsed.recipients if outgoing else [parsed.sender, *parsed.recipients]
    correspondents: dict[str, str] = {}
    for address, name in people:
        if address not in run.mine and address not in correspondents:
            correspondents[address] = name
    skipped = False
    contacts: dict[int, tuple[str, int | None]] = {}
    rest: list[str] = []
    for address in correspondents:
        if address in found.suppressed:
            skipped = True
            continue
        hits = found.contacts.get(address)
        if hits:
            for contact_id, name, company_id in hits:
                contacts.setdefault(contact_id, (name, company_id))
        else:
            rest.append(address)
    their_companies = {company_id for _, company_id in contacts.values() if company_id}
    companies: dict[int, str] = {}
    unknown: list[tuple[str, str]] = []
    for address in rest:
        hits2 = found.companies.get(address.rsplit("@", 1)[1], [])
        for company_id, name in hits2:
            if company_id not in their_companies:
                companies.setdefault(company_id, name)
        if not hits2:
            unknown.append((address, correspondents[address]))
    targets: list[tuple[int | None, int | None, int | None, str]] = [
        (contact_id, None, found.deal.get(contact_id), name) for contact_id, (name, _) in contacts.items()
    ]
    targets += [(None, company_id, None, name) for company_id, name in companies.items()]
    return targets, unknown if not targets else [], skipped


def _create(run: _Run, unknown: list[tuple[str, str]], where: str, key: str) -> None:
    """Contacts for UNKNOWN correspondents (not erased on request, not automated senders)."""
    from crmcli.domain import contacts, settings

    for address, display in unknown:
        if address in run.tried:
            continue
        run.tried.add(address)
        if _AUTOMATED.match(address.split("@", 1)[0]):
            run.report.add(
                {
                    "row": where,
                    "event": "not created",
                    "record": key,
                    "column": "address",
                    "value": address,
                    "reason": "an automated sender (no-reply, bounces …)",
                }
            )
            continue
        try:
            contact = contacts.add_contact(
                run.session,
                name=_name_for(address, display),
                emails=[address],
                default_owner=run.by or settings.current_user(),  # unless an assignment rule gives one
                source="mail",
                allow_suppressed=run.allow_suppressed,
            )
        except CrmError as exc:
            run.report.add(
                {
                    "row": where,
                    "event": "not created",
                    "record": key,
                    "column": "address",
                    "value": address,
                    "reason": exc.message,
                }
            )
            continue
        run.counts["created"] += 1
        run.created.append({"id": contact.id, "name": contact.name, "email": address})


def _write_batch(run: _Run, batch: list[tuple[Item, Parsed]]) -> None:
    """Match BATCH and write its activities, search documents and mail_message rows (no commit)."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from crmcli.domain import search
    from crmcli.models import Activity, MailMessage
    from crmcli.values.documents import compose
    from crmcli.values.normalize import clean_multiline, clean_text

    session = run.session
    keys = sorted({p.key for _, p in batch})
    stored: set[str] = set()
    for part in _chunks(keys):
        stored |= set(session.exec(select(MailMessage.message_id).where(col(MailMessage.message_id).in_(part))))
    fresh: list[tuple[Item, Parsed]] = []
    for item, parsed in batch:
        if parsed.key in stored or parsed.key in run.seen:  # a copy earlier in this run counts too
            run.counts["already"] += 1
        else:
            run.seen.add(parsed.key)
            fresh.append((item, parsed))
    if not fresh:
        return
    addresses = {a for _, p in fresh for a, _ in [p.sender, *p.recipients] if a not in run.mine}
    found = _Lookups(session, addresses, run.allow_suppressed)
    matched: list[tuple[Parsed, list[tuple[int | None, int | None, int | None, str]]]] = []
    waiting: list[tuple[Item, Parsed, list[tuple[str, str]]]] = []
    for item, parsed in fresh:
        targets, unknown, skipped = _match(parsed, run, found)
        if skipped:
            run.counts["suppressed"] += 1
        if targets:
            matched.append((parsed, targets))
        else:
            waiting.append((item, parsed, unknown))
    if run.create_contacts and waiting:
        for item, parsed, unknown in waiting:
            _create(run, unknown, item.where, parsed.key)
        again = {a for _, p, _ in waiting for a, _ in [p.sender, *p.recipients] if a not in run.mine}
        found = _Lookups(session, again, run.allow_suppressed)
    for _item, parsed, unknown in waiting:
        targets = _match(parsed, run, found)[0] if run.create_contacts else []
        if targets:
            matched.append((parsed, targets))
            continue
        run.counts["unmatched"] += 1
        for address, name in unknown:
            run.unknown[address] += 1
            if name:
                run.names.setdefault(address, Counter())[name] += 1
    if not matched:
        return
    now = clock.now()
    by = clean_text(run.by) or None
    rows: list[dict[str, Any]] = []
    titles: list[str] = []
    for parsed, targets in matched:
        text = clean_multiline(parsed.text) or "(no subject)"
        direction = "out" if parsed.sender[0] in run.mine else "in"
        for contact_id, company_id, deal_id, name in targets:
            rows.append(
                {
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "deal_id": deal_id,
                    "type": "email",
                    "text": text,
                    "at": parsed.at,
                    "by": by,
                    "created_at": now,
                    "direction": direction,
                }
            )
            titles.append(clean_text(f"email · {name}"))
    table = Activity.__table__  # type: ignore[attr-defined]  # SQLModel does not declare __table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = list(session.execute(statement, rows).scalars())
    search.insert_many(
        session,
        [
            {"kind": "activity", "ref_id": activity_id, "title": title, "body": compose(row["text"])}
            for activity_id, title, row in zip(ids, titles, rows, strict=True)
        ],
    )
    messages = [
        {"message_id": parsed.key, "at": parsed.at, "logged": len(targets), "imported_at": now}
        for parsed, targets in matched
    ]
    session.execute(insert(MailMessage.__table__), messages)  # type: ignore[attr-defined]
    run.counts["logged"] += len(matched)
    run.counts["activities"] += len(rows)


def _unknown_rows(run: _Run) -> list[dict[str, Any]]:
    rows = []
    for address, count in sorted(run.unknown.items(), key=lambda kv: (-kv[1], kv[0])):
        names = run.names.get(address)
        rows.append({"address": address, "name": names.most_common(1)[0][0] if names else "", "messages": count})
    return rows


def import_mail(
    session: Session,
    source: str,
    *,
    password: str | None = None,
    full_body: bool = False,
    create_contacts: bool = False,
    allow_suppressed: bool = False,
    report: Path | str | None = None,
    force: bool = False,
    by: str | None = None,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> MailResult:
    """Log the messages of SOURCE (an mbox file, a Maildir, a folder of .eml files, one .eml file,
    or imaps://user@host[:port]/MAILBOX with PASSWORD) as email activities; commits SESSION after
    every batch. See the module's docstring for the rules.

    FULL_BODY: the activity keeps the whole text, not a snippet. CREATE_CONTACTS: a message that
    matches no one makes contacts of its correspondents (named from the display name, else the
    address), except addresses of people erased on request, unless ALLOW_SUPPRESSED (which also
    lets such addresses match). REPORT: where the report of bad messages goes (default: beside the
    source, replaced by the next import; for IMAP in the current folder); FORCE: REPORT may replace
    a file. BY: who logs (default: CRM_USER, else the login name)."""
    with changelog.acting(kind="mail"):
        return _import_mail(
            session,
            source,
            password=password,
            full_body=full_body,
            create_contacts=create_contacts,
            allow_suppressed=allow_suppressed,
            report=report,
            force=force,
            by=by,
            batch_size=batch_size,
            progress=progress,
        )


def _import_mail(
    session: Session,
    source: str,
    *,
    password: str | None,
    full_body: bool,
    create_contacts: bool,
    allow_suppressed: bool,
    report: Path | str | None,
    force: bool,
    by: str | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> MailResult:
    from crmcli.domain import settings
    from crmcli.importer.report import Report, check_writable, is_report
    from crmcli.models import MailSource

    session.commit()  # a transaction begun before is not the import's: its change sets are of kind "mail"
    reader = open_source(source, password)
    report_to = Path(report) if report else reader.report_default
    assert report_to is not None
    replace = force or (not report and is_report(report_to) and not report_to.is_symlink())
    check_writable(report_to, "report", force=replace)
    mine = {a for a in (settings.get(session, "my_emails") or "").split(",") if a}
    counts = dict.fromkeys(COUNTS + EXTRA_COUNTS, 0)
    lines = Report(report_to, keep=50, force=replace)
    run = _Run(session, mine, by or settings.current_user(), allow_suppressed, create_contacts, lines, counts)
    state: MailSource | None = None
    started_over = False
    if isinstance(reader, ImapSource):
        from sqlmodel import select

        state = session.exec(select(MailSource).where(MailSource.key == reader.url.key)).first()
        session.commit()  # no write lock while the server answers
        uidvalidity = reader.connect()
        if state is not None and state.uidvalidity == uidvalidity:
            reader.after = state.last_uid
        else:
            started_over = state is not None
            reader.after = 0
    batch: list[tuple[Item, Parsed]] = []
    last_uid = [reader.after if isinstance(reader, ImapSource) else 0]

    def flush() -> None:
        _write_batch(run, batch)
        batch.clear()
        if isinstance(reader, ImapSource):
            _remember(session, reader, state_key=reader.url.key, last_uid=last_uid[0])
        session.commit()
        if progress:
            progress(counts["read"])

    pending = False  # an IMAP position to remember without a message to log (bad ones, or a new UIDVALIDITY)
    try:
        for item in reader.items():
            counts["read"] += 1
            if item.uid is not None:
                last_uid[0] = max(last_uid[0], item.uid)
                pending = True
            try:
                parsed = parse(item.raw, full_body=full_body)
            except BadMessage as bad:
                counts["bad"] += 1
                lines.add(
                    {
                        "row": item.where,
                        "event": "bad message",
                        "record": "",
                        "column": bad.header,
                        "value": bad.value[:200],
                        "reason": bad.reason,
                    }
                )
                continue
            batch.append((item, parsed))
            if len(batch) >= batch_size:
                flush()
                pending = False
        if batch or pending or started_over or (isinstance(reader, ImapSource) and state is None):
            flush()
    except KeyboardInterrupt:
        reader.close()
        lines.close()
        try:
            session.rollback()
        except Exception:  # noqa: BLE001 - Ctrl-C cut a commit short: start afresh
            session.close()
        raise Interrupted(
            f"interrupted after {counts['read']:,} messages; what was committed stays. "
            "Run the same import again to complete it (messages already logged are not logged twice)"
        ) from None
    except BaseException:
        reader.close()
        lines.discard()
        session.rollback()
        raise
    reader.close()
    path = lines.close()
    return {
        "source": reader.label,
        "kind": reader.kind,
        "counts": counts,
        "unknown": _unknown_rows(run),
        "created": run.created,
        "report_file": str(path) if path else None,
        "report_lines": lines.lines,
        "report": lines.first,
        "my_emails": sorted(mine),
        "uidvalidity": reader.uidvalidity if isinstance(reader, ImapSource) else None,
        "started_over": started_over,
    }


def _remember(session: Session, reader: ImapSource, *, state_key: str, last_uid: int) -> None:
    """The mailbox's UIDVALIDITY and last UID taken, in the batch's transaction."""
    from sqlmodel import select

    from crmcli.models import MailSource

    row = session.exec(select(MailSource).where(MailSource.key == state_key)).first()
    now = clock.now()
    if row is None:
        row = MailSource(key=state_key, uidvalidity=reader.uidvalidity, last_uid=last_uid, updated_at=now)
    else:
        row.uidvalidity, row.last_uid, row.updated_at = reader.uidvalidity, last_uid, now
    session.add(row)
    session.flush()
