"""Read spreadsheets and contact files as (header, rows), streaming where the format allows.

- .xlsx/.xlsm: python-calamine (fast, holds the sheet in memory); sheets whose XML would
  unpack past a size limit go through openpyxl's read-only streaming mode instead. Both
  refuse zip bombs before unpacking; openpyxl parses through defusedxml, and calamine does
  not expand DTD entities, so XML attacks fail safely.
- .csv/.tsv/.txt: encoding from the BOM (UTF-8, UTF-16 as Excel's "Unicode text"), else
  UTF-8, else cp1252; the delimiter sniffed among , ; tab | (and Excel's "sep=;" line).
- .vcf/.vcard: vCard 2.1, 3.0 and 4.0 through importer.vcard, one row per card; a card that
  cannot be read is an Unreadable row, so one broken card never fails the file.

- .json/.jsonl/.ndjson: through importer.jsonfile.

Every reader returns an importer.table.Table and holds the file to the limits there (MAX_LINE,
MAX_COLUMNS, MAX_CELL), each refused in one line before anything is stored.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmcli.errors import Invalid
from crmcli.importer.table import MAX_CELL, MAX_COLUMNS, MAX_LINE, Table

MAX_UNPACKED = 2 * 1024**3  # no sheet may unpack to more than 2 GiB
MAX_RATIO = 200  # nor compress better than this (zip bombs do 1000x and more)
# python-calamine holds the whole sheet (about 1.7x its XML; 1.2 GB for a million rows of a dozen
# columns, Excel's whole sheet), but reads 10-15x faster than openpyxl: it takes sheets up to this
# much XML when free memory is at least twice that; bigger (wider) sheets are streamed by openpyxl.
CALAMINE_LIMIT = 800 * 1024**2
SNIFF_BYTES = 64 * 1024


def open_table(path: Path, *, sheet: str | None = None, header_row: int | None = None) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise Invalid(f"cannot read {path}: no such file")
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx(path, sheet, header_row)
    if suffix in (".vcf", ".vcard"):
        return _vcf(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        from crmcli.importer.jsonfile import read_json

        return read_json(path)
    if suffix in (".csv", ".tsv", ".txt", ""):
        return _csv(path, header_row)
    raise Invalid(f"cannot import {path.name}: use .csv, .tsv, .txt, .xlsx, .xlsm, .json, .jsonl or .vcf")


# ---------------------------------------------------------------- CSV


def decode_bytes(head: bytes) -> str:
    """The codec for a file starting with HEAD: BOM first, then UTF-8, then cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the sample
            return "utf-8"
        return "cp1252"


def _looks_binary(head: bytes, encoding: str) -> bool:
    if encoding == "utf-16":
        return False
    sample = head[:4096]
    return b"\x00" in sample or sum(b < 9 or 13 < b < 32 for b in sample) > len(sample) // 20


def _csv(path: Path, header_row: int | None) -> Table:
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    encoding = decode_bytes(head)
    if _looks_binary(head, encoding):
        raise Invalid(f"cannot import {path.name}: it is not a text file (binary content)")
    try:
        text_head = head.decode(encoding, errors="replace")
    except LookupError:  # pragma: no cover - all codecs above exist
        text_head = head.decode("latin-1")
    lines = text_head.splitlines()
    skip = 0
    delimiter = None
    if lines and lines[0].lower().startswith("sep=") and len(lines[0]) == 5:
        delimiter, skip = lines[0][4], 1  # Excel's "sep=;" line
    if delimiter is None:
        delimiter = _sniff(text_head, path.suffix.lower())
    notes = [f"encoding {encoding.replace('-sig', ' with BOM')}, delimiter {delimiter!r}"]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        csv.field_size_limit(MAX_CELL * 4)
        with path.open(
            "r", encoding=encoding, errors="strict" if encoding != "cp1252" else "replace", newline=""
        ) as fh:
            lines = _CappedLines(fh, path.name)
            reader = csv.reader(lines, delimiter=delimiter)
            try:
                for _ in range(skip):
                    next(reader, None)
                    lines.used = 0
                for values in reader:
                    lines.used = 0  # the limit is per record
                    if len(values) > MAX_COLUMNS:
                        raise Invalid(_too_wide(path.name, reader.line_num, len(values)))
                    yield reader.line_num, values
            except csv.Error as exc:
                why = str(exc)
                if "field larger than field limit" in why:
                    why = f"a cell longer than {MAX_CELL * 4:,} characters; not a table to import"
                raise Invalid(f"cannot read {path.name} near line {reader.line_num:,}: {why}") from None
            except UnicodeDecodeError:
                raise Invalid(f"cannot read {path.name}: not valid {encoding} text") from None

    headers, body = _split_header(rows(), header_row, path.name)
    size = path.stat().st_size
    estimate = (
        int(size / max(1, len(text_head.encode(encoding, errors="replace")) / max(1, len(lines)))) if lines else None
    )
    return Table(headers, body, "csv", estimate=estimate, notes=notes)


class _CappedLines:
    """The lines of a text file for the csv module, which holds a whole line in memory: each read
    stops at the limit, so a file of one 200 MB line is refused after reading MAX_LINE characters.
    USED counts the characters of the record being read (its cells may span lines)."""

    def __init__(self, fh: Any, name: str) -> None:
        self.fh, self.name, self.used, self.number = fh, name, 0, 0

    def __iter__(self) -> _CappedLines:
        return self

    def __next__(self) -> str:
        line = self.fh.readline(MAX_LINE - self.used + 1)
        if not line:
            raise StopIteration
        self.number += 1
        self.used += len(line)
        if self.used > MAX_LINE:
            raise Invalid(
                f"cannot import {self.name}: line {self.number:,} is longer than {MAX_LINE:,} characters "
                "(a row of a table is far shorter; is it a table?)"
            )
        return line


def _too_wide(name: str, number: int, width: int) -> str:
    return f"cannot import {name}: row {number:,} has {width:,} columns; at most {MAX_COLUMNS:,} are read"


def _sniff(sample: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        # the delimiter that splits the header into the most fields, and as often on later lines
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        return max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","


def _split_header(
    rows: Iterator[tuple[int, list[Any]]], header_row: int | None, name: str
) -> tuple[list[str], Iterator[tuple[int, list[Any]]]]:
    """Headers from row HEADER_ROW (1-based), or the first row with two or more filled cells
    (titles and blank lines above the table are skipped), or, for a one-column file, its first
    filled row. Readers that trim empty cells (openpyxl's streaming mode) give a title row one
    value, so a lone value is the header only when no row within the next 50 has two."""

    def header(values: list[Any]) -> list[str]:
        return [str(v).replace("\ufeff", "").strip() for v in values]

    if header_row is not None:
        for number, values in rows:
            if number >= header_row:
                return header(values), rows
        raise Invalid(f"{name} has no header row at row {header_row}")
    seen: list[tuple[int, list[Any]]] = []
    for number, values in rows:
        seen.append((number, values))
        if sum(1 for v in values if str(v).strip()) >= 2:
            return header(values), rows
        if len(seen) > 50:
            break
    for i, (_, values) in enumerate(seen):
        if any(str(v).strip() for v in values):
            return header(values), itertools.chain(seen[i + 1 :], rows)
    raise Invalid(f"{name} has no header row")


# ---------------------------------------------------------------- XLSX


def _check_zip(path: Path) -> dict[str, int]:
    """Member sizes of a spreadsheet, after refusing corrupt archives and zip bombs."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise Invalid(f"cannot read {path.name}: not an Excel workbook ({exc})") from None
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNPACKED or (total > 10 * 1024**2 and total / packed > MAX_RATIO):
        raise Invalid(f"refusing {path.name}: it would unpack to {total:,} bytes from {packed:,} (a zip bomb?)")
    # Office files never declare a DTD; one that does is an entity-expansion attack (billion laughs).
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                with zf.open(info) as member:
                    head = member.read(8192)
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    raise Invalid(f"refusing {path.name}: {info.filename} declares XML entities (an XML bomb?)")
    return {i.filename: i.file_size for i in infos}


def _xlsx(path: Path, sheet: str | None, header_row: int | None) -> Table:
    members = _check_zip(path)
    biggest = max((size for name, size in members.items() if name.startswith("xl/worksheets/")), default=0)
    if not _calamine_fits(biggest):
        return _xlsx_openpyxl(path, sheet, header_row, biggest)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
        chosen = _choose_sheet(names, sheet, path.name)
        data = workbook.get_sheet_by_name(chosen)
        height = data.height
        iterator = data.iter_rows()
    except Invalid:
        raise
    except Exception as exc:  # calamine raises its own error types for broken files
        raise Invalid(
            f"cannot read {path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, values in enumerate(iterator, start=1):
            if len(values) > MAX_COLUMNS:
                raise Invalid(_too_wide(path.name, number, len(values)))
            yield number, list(values)

    headers, body = _split_header(rows(), header_row, path.name)
    return Table(headers, body, "xlsx", sheet=chosen, estimate=height, notes=[f"sheet {chosen!r} ({height:,} rows)"])


def _calamine_fits(xml_bytes: int) -> bool:
    if xml_bytes > CALAMINE_LIMIT:
        return False
    try:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not every platform says
        return True
    return xml_bytes * 2 <= free or xml_bytes < 64 * 1024**2


def _choose_sheet(names: list[str], sheet: str | None, file: str) -> str:
    if not names:
        raise Invalid(f"{file} has no sheets")
    if sheet is None:
        return names[0]
    for name in names:
        if name.casefold() == sheet.casefold():
            return name
    raise Invalid(f"{file} has no sheet {sheet!r} (sheets: {', '.join(names)})")


def _xlsx_openpyxl(path: Path, sheet: str | None, header_row: int | None, size: int = 0) -> Table:
    import openpyxl  # parses with defusedxml when it is installed

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - broken or hostile files: one line, nothing imported
        raise Invalid(
            f"cannot read {path.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    chosen = _choose_sheet(workbook.sheetnames, sheet, path.name)
    ws = workbook[chosen]
    # The stored dimension may lie (phantom 1,048,576 rows): read what is there. For the progress
    # bar and the choice of a cleaning worker, the rows are estimated from the sheet's XML size.
    ws.reset_dimensions()
    estimate = size // 600 if size else None  # a row of a dozen filled cells is ~500-800 bytes of XML

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if len(values) > MAX_COLUMNS:
                    raise Invalid(_too_wide(path.name, number, len(values)))
                yield number, ["" if v is None else v for v in values]
        finally:
            workbook.close()

    headers, body = _split_header(rows(), header_row, path.name)
    return Table(
        headers, body, "xlsx (streamed)", sheet=chosen, estimate=estimate, notes=[f"sheet {chosen!r}, streamed"]
    )


# ---------------------------------------------------------------- vCard


def _vcf(path: Path) -> Table:
    """One row per card, or an Unreadable for a card that cannot be read; see importer.vcard."""
    from crmcli.importer import vcard

    return vcard.open_vcards(path)
