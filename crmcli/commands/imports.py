"""crm import FILE, and crm imports list / undo."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of, session

app = typer.Typer(no_args_is_help=True, help="Imports done so far: list them, undo one.")


class Kind(str, Enum):
    contacts = "contacts"
    companies = "companies"
    deals = "deals"
    activities = "activities"


class OnDuplicate(str, Enum):
    skip = "skip"
    update = "update"
    merge = "merge"
    create = "create"


class Unknown(str, Enum):
    field = "field"
    ignore = "ignore"


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help=".xlsx, .xlsm, .csv, .tsv, .txt or .vcf")],
    kind: Annotated[
        Optional[Kind], typer.Option("--kind", "-k", help="What the rows are (default: guessed from the columns).")
    ] = None,
    sheet: Annotated[Optional[str], typer.Option("--sheet", help="Sheet name (default: the first).")] = None,
    header_row: Annotated[
        Optional[int],
        typer.Option("--header-row", min=1, help="Row of the headers (default: the first with two filled cells)."),
    ] = None,
    map_: Annotated[
        Optional[list[str]], typer.Option("--map", "-m", help="'Header=field' (or custom.KEY, or ignore); repeatable.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show the mapping, the first rows and the counts; write nothing.")
    ] = False,
    on_duplicate: Annotated[
        OnDuplicate,
        typer.Option("--on-duplicate", help="skip, update (overwrite), merge (fill empty fields) or create."),
    ] = OnDuplicate.merge,
    rejects: Annotated[
        Optional[Path], typer.Option("--rejects", help="Where rejected rows go (default: FILE's name + .rejects.csv).")
    ] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="Tag every imported record; repeatable.")
    ] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Owner where the file names none.")] = None,
    source: Annotated[
        Optional[str], typer.Option("--source", help="Source where the file names none, e.g. 'trade fair 2026'.")
    ] = None,
    unknown: Annotated[
        Unknown, typer.Option("--unknown", help="Unknown columns: field (custom fields) or ignore.")
    ] = Unknown.field,
    region: Annotated[
        Optional[str], typer.Option("--region", help="Country for phones without +code (default: config).")
    ] = None,
    dayfirst: Annotated[
        bool, typer.Option("--dayfirst", help="Read 03/04/2026 as 3 April (default: March 4, as US exports).")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Import contacts, companies, deals or activities from a spreadsheet, CSV or vCard file.

    Example: crm import hubspot-contacts.csv --dry-run    ·    crm import leads.xlsx --tag fair-2026 --owner ana
    """
    from crmcli import importer, settings
    from crmcli.normalize import split_multi
    from crmcli.output import message

    overrides = {}
    for item in map_ or []:
        header, sep, field = item.rpartition("=")
        if not sep or not header.strip():
            from crmcli.errors import UsageError

            raise UsageError(f"--map takes 'Header=field', not '{item}'")
        overrides[header.strip()] = field.strip()
    chosen = fmt_of(fmt)
    show_progress = chosen == "table" and sys.stdout.isatty()
    with session(ctx, write=True) as s, _progress(show_progress, file.name) as tick:
        result = importer.import_file(
            s,
            file,
            kind=kind.value if kind else None,
            sheet=sheet,
            header_row=header_row,
            mapping=overrides,
            dry_run=dry_run,
            on_duplicate=on_duplicate.value,
            rejects=rejects,
            tags=split_multi(tag),
            owner=owner,
            source=source,
            unknown=unknown.value,
            region=region,
            dayfirst=dayfirst,
            by=settings.current_user(),
            progress=tick,
            workers=None,  # a worker process cleans rows for big files on several cores
        )
    _report(result, chosen)
    if result["counts"]["rejected"] and chosen in ("table", "plain"):
        where = result["rejects_file"] or "(not written: dry run)"
        message(f"{result['counts']['rejected']} rejected rows, with a reason each: {where}")


class _progress:
    """A Rich progress bar (rows, rows/s, time left) on a terminal; nothing in a pipe."""

    def __init__(self, enabled: bool, name: str) -> None:
        self.enabled = enabled
        self.name = name
        self.bar = None

    def __enter__(self):  # noqa: ANN204
        if not self.enabled:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task):  # noqa: ANN001, ANN202
                return Text(f"{task.speed:,.0f} rows/s" if task.speed else "")

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            Rate(),
            TimeRemainingColumn(),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task(f"importing {self.name}", total=None)

        def tick(done: int, total: int | None = None) -> None:
            self.bar.update(task, completed=done, total=total if total and total >= done else None)

        return tick

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _report(result: dict, fmt: str) -> None:
    from crmcli.output import Col, emit_json, emit_list, message

    counts = result["counts"]
    line = (
        f"read {counts['read']:,} = created {counts['created']:,} + updated {counts['updated']:,} + "
        f"merged {counts['merged']:,} + skipped {counts['skipped']:,} + rejected {counts['rejected']:,}"
    )
    if fmt == "json":
        emit_json(result)
        return
    if fmt in ("csv", "ids", "plain"):
        rows = [{"id": k, "count": v} for k, v in counts.items()]
        emit_list(rows, [Col("id", "What"), Col("count", "Rows")], "csv" if fmt == "csv" else "plain")
        return
    from rich.console import Console

    console = Console(highlight=False)
    label = "Dry run: nothing written. " if result["dry_run"] else ""
    console.print(
        f"{label}{result['file']} ({', '.join([result['format'], *result['notes'][:1]])}) as {result['kind']}"
    )
    if result["dry_run"]:
        emit_list(
            [{"id": i, **m} for i, m in enumerate(result["mapping"])],
            [Col("column", "Column"), Col("field", "Field")],
            "table",
        )
        if result["preview"]:
            rows = [
                {
                    "id": i,
                    **{k: v for k, v in r.items() if k != "custom"},
                    **{f"custom.{k}": v for k, v in (r.get("custom") or {}).items()},
                }
                for i, r in enumerate(result["preview"])
            ]
            keys = [
                k
                for k in rows[0]
                if k not in ("id", "number", "row") and any(r.get(k) not in (None, "", []) for r in rows)
            ]
            cols = [
                Col(k, k, kind="phones" if k == "phones" else "text", drop=0 if i < 2 else i)
                for i, k in enumerate(keys)
            ]
            emit_list(rows, cols, "table", title="First rows as they would be stored")
    if result["unknown"]:
        what = "custom fields" if any(m["field"].startswith("custom.") for m in result["mapping"]) else "ignored"
        message(f"Columns nobody recognised ({what}): {', '.join(result['unknown'])}")
    console.print(("would be: " if result["dry_run"] else "") + line)
    if result["run_id"]:
        message(f"Import #{result['run_id']}; undo with: crm imports undo {result['run_id']}")


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[Optional[int], typer.Option("--limit", "-n", min=0, help="Show at most N (0: all).")] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List imports: file, time, user and figures, newest first.

    Example: crm imports list --limit 5
    """
    from crmcli.importer.runs import list_imports
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = list_imports(s, limit=limit or None)
    cols = [
        Col("id", "ID", justify="right"),
        Col("started_at", "When", kind="time"),
        Col("file", "File", drop=2),
        Col("kind", "Kind"),
        Col("status", "Status"),
        Col("read", "Read", justify="right"),
        Col("created", "Created", justify="right"),
        Col("updated", "Updated", justify="right", drop=3),
        Col("merged", "Merged", justify="right", drop=3),
        Col("skipped", "Skipped", justify="right", drop=4),
        Col("rejected", "Rejected", justify="right"),
        Col("by", "By", drop=1),
    ]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="imports")


@app.command("undo")
def undo(
    ctx: typer.Context,
    import_id: Annotated[int, typer.Argument(help="The import's id (crm imports list).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Undo an import: remove what it created, restore what it changed (unless edited since).

    Example: crm imports undo 3
    """
    from crmcli.importer.runs import get_run, undo_import
    from crmcli.output import emit_json, message
    from crmcli.prompts import Cancelled, confirm

    with session(ctx, write=True) as s:
        run = get_run(s, import_id)
        if not confirm(f"Undo import #{run.id} of {Path(run.file).name}?", assume_yes=yes):
            raise Cancelled("nothing undone")
        report = undo_import(s, import_id)
    if fmt_of(fmt) == "json":
        emit_json(report)
        return
    message(f"Undid import #{import_id}: removed {report['removed']}, restored {report['restored']}")
    for kept in report["kept"]:
        message(f"  {kept['entity']} #{kept['id']}: {kept['reason']}")
