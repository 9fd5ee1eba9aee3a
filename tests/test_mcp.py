"""`crm mcp` (issue 17 items 6–8): the CRM as a Model Context Protocol server, driven here as an
assistant drives it, through the SDK's own stdio client and a `crm mcp` process of its own, on
SQLite and PostgreSQL. Read tools give exactly the JSON `--format json` prints; the tools that
write are there only with --allow-write, each write is a change set of kind "mcp" that `crm undo`
takes back; errors are one line, never a traceback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from test_cli import ok
from test_history import newest_set, snapshot
from test_lazy_imports import loaded

from crmcli import storage

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T09:00:00Z"
TIMEOUT = 300  # seconds for a whole conversation: generous, a loaded machine starts Python slowly

READ_TOOLS = {
    "search",
    "show_contact",
    "show_company",
    "show_deal",
    "list_contacts",
    "list_companies",
    "list_deals",
    "followups",
    "kpi",
    "report",
    "pipeline_board",
}
WRITE_TOOLS = {
    "log_activity",
    "add_followup",
    "complete_followup",
    "add_contact",
    "edit_contact",
    "add_company",
    "edit_company",
    "add_deal",
    "edit_deal",
    "move_deal",
    "import_preview",
}


class Assistant:
    """One conversation with a `crm mcp` process: the tools it lists and calls to them."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def tools(self) -> dict[str, Any]:
        return {tool.name: tool for tool in (await self.session.list_tools()).tools}

    async def call(self, tool: str, /, **arguments: Any) -> Any:
        return await self.session.call_tool(tool, arguments)

    async def text(self, tool: str, /, **arguments: Any) -> str:
        """The result's first text block: the JSON."""
        result = await self.call(tool, **arguments)
        assert not result.is_error, (tool, arguments, [c.text for c in result.content])
        return result.content[0].text

    async def json(self, tool: str, /, **arguments: Any) -> Any:
        return json.loads(await self.text(tool, **arguments))

    async def said(self, tool: str, /, **arguments: Any) -> tuple[Any, list[str]]:
        """The JSON and the text blocks after it (what the command says on stderr)."""
        result = await self.call(tool, **arguments)
        assert not result.is_error, (tool, arguments, [c.text for c in result.content])
        return json.loads(result.content[0].text), [c.text for c in result.content[1:]]

    async def error(self, tool: str, /, **arguments: Any) -> str:
        """A tool error: one line, no traceback."""
        result = await self.call(tool, **arguments)
        texts = [c.text for c in result.content]
        assert result.is_error, (tool, arguments, texts)
        assert len(texts) == 1 and "\n" not in texts[0] and "Traceback" not in texts[0], texts
        return texts[0]


def converse(
    db_url: str, tmp_path: Path, talk: Callable[[Assistant], Awaitable[Any]], *, allow_write: bool = False
) -> Any:
    """Start `python -m crmcli mcp` on DB_URL (as an assistant would, env CRM_DB, CRM_SERVER=0),
    run TALK with it, and return what TALK returns. Nothing of the server's may reach its log as a
    traceback."""
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = {
        "CRM_DB": db_url,
        "CRM_SERVER": "0",
        "CRM_NOW": NOW,
        "CRM_USER": os.environ.get("CRM_USER", "tester"),
        "TZ": "UTC",
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    for name in ("HOME", "XDG_DATA_HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "crmcli", "mcp", *(["--allow-write"] if allow_write else [])],
        env=env,
        cwd=str(tmp_path),
    )
    log_path = tmp_path / "mcp-server.log"

    async def run() -> Any:
        with log_path.open("w") as log, anyio.fail_after(TIMEOUT):
            async with (
                stdio_client(params, errlog=log) as (read, write),
                ClientSession(read, write, read_timeout_seconds=TIMEOUT) as session,
            ):
                await session.initialize()
                return await talk(Assistant(session))

    try:
        return anyio.run(run)
    finally:
        storage.dispose_all()  # the test's own engines: the next CLI call opens the database afresh
        log = log_path.read_text() if log_path.exists() else ""
        assert "Traceback" not in log, log


def same_json(cli_result: Any, mcp_text: str) -> None:
    """The tool's JSON is, character for character, what the command printed with --format json."""
    ok(cli_result)
    assert mcp_text + "\n" == cli_result.stdout


# ---------------------------------------------------------------- reading


def test_read_tools_give_what_the_cli_gives(cli, db_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CRM_NOW", NOW)
    ok(cli("init", "--demo"))
    # the same questions to the command line, one per read tool (some twice, with options)
    asked: list[tuple[list[str], str, dict[str, Any]]] = [
        (
            ["contacts", "show", "felix.becker@acme-robotics.de"],
            "show_contact",
            {"ref": "felix.becker@acme-robotics.de"},
        ),
        (["contacts", "show", "97", "--timeline", "0"], "show_contact", {"ref": "#97", "timeline": 0}),
        (["companies", "show", "acme-robotics.de"], "show_company", {"ref": "acme-robotics.de"}),
        (["deals", "show", "12"], "show_deal", {"ref": "12"}),
        (["deals", "list"], "list_deals", {"limit": 0}),
        (["deals", "list", "--open", "--owner", "ana"], "list_deals", {"status": "open", "owner": "ana", "limit": 0}),
        (["deals", "list", "--sort", "-amount", "-n", "5"], "list_deals", {"sort": "-amount", "limit": 5}),
        (["deals", "list", "--company", "acme-robotics.de"], "list_deals", {"company": "acme-robotics.de"}),
        (
            ["contacts", "list", "--tag", "vip", "--sort", "-created", "-n", "50"],
            "list_contacts",
            {"tag": "vip", "sort": "-created"},
        ),
        (["contacts", "list", "-n", "50"], "list_contacts", {}),
        (["companies", "list"], "list_companies", {"limit": 0}),
        (["search", "muller", "nordlicht"], "search", {"text": "muller nordlicht"}),
        (["search", "Acme", "--kind", "deal", "-n", "3"], "search", {"text": "Acme", "kinds": ["deal"], "limit": 3}),
        (["followups", "list", "--owner", "mei"], "followups", {"owner": "mei"}),
        (
            ["followups", "list", "--upcoming", "7d", "--owner", "ana"],
            "followups",
            {"window": "upcoming", "owner": "ana"},
        ),
        (["followups", "list", "--overdue", "-n", "5"], "followups", {"window": "overdue", "limit": 5}),
        (["kpi"], "kpi", {}),
        (["kpi", "--period", "quarter", "--owner", "ana"], "kpi", {"period": "quarter", "owner": "ana"}),
        (["pipeline", "board"], "pipeline_board", {}),
        (["report", "forecast", "--months", "3"], "report", {"name": "forecast", "months": 3}),
        (["report", "stalled", "-n", "4"], "report", {"name": "stalled", "limit": 4}),
    ]
    asked += [
        (["report", name], "report", {"name": name}) for name in ("funnel", "owners", "customers", "lost-reasons")
    ]
    asked += [(["report", "trend", "--period", "2026-10"], "report", {"name": "trend", "period": "2026-10"})]
    said = {
        "ambiguous": cli("contacts", "show", "Anna"),
        "not found": cli("deals", "show", "no such deal"),
        "bad period": cli("kpi", "--period", "fortnight"),
    }

    async def talk(assistant: Assistant) -> dict[str, Any]:
        out: dict[str, Any] = {"tools": await assistant.tools(), "texts": []}
        for _args, tool, arguments in asked:
            out["texts"].append(await assistant.text(tool, **arguments))
        out["ambiguous"] = await assistant.error("show_contact", ref="Anna")
        out["not found"] = await assistant.error("show_deal", ref="no such deal")
        out["bad period"] = await assistant.error("kpi", period="fortnight")
        out["both"] = await assistant.error("kpi", period="month", since="2026-11-01")
        out["refused"] = await assistant.error("add_contact", name="Nobody Here")
        out["unknown report"] = await assistant.error("report", name="pipeline")
        out["no ref"] = await assistant.error("show_contact")
        return out

    got = converse(db_url, tmp_path, talk)
    tools = got["tools"]
    assert set(tools) == READ_TOOLS  # read-only: the writes are not even listed
    for name, tool in tools.items():
        assert len(tool.description) > 60, name
        assert tool.annotations.read_only_hint is True, name
        for prop, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), (name, prop)
    assert tools["show_contact"].input_schema["required"] == ["ref"]
    assert tools["report"].input_schema["required"] == ["name"]
    assert tools["report"].input_schema["properties"]["name"]["enum"] == [
        "funnel", "forecast", "owners", "customers", "stalled", "lost-reasons", "trend",
    ]  # fmt: skip
    status = tools["list_deals"].input_schema["properties"]["status"]
    assert {"enum": ["open", "won", "lost"], "type": "string"} in status["anyOf"]
    assert tools["search"].input_schema["properties"]["limit"] == {
        "default": 20, "description": "At most this many matches.", "minimum": 1, "title": "Limit", "type": "integer",
    }  # fmt: skip

    for (args, _tool, _arguments), text in zip(asked, got["texts"], strict=True):
        same_json(cli(*args, "--format", "json"), text)
    for case, ran in said.items():  # the command's own line, without its "Error: "
        assert ran.exit_code != 0 and ran.stderr.strip() == f"Error: {got[case]}", (case, ran.stderr, got[case])
    assert got["ambiguous"].startswith("'Anna' matches ") and "contact #" in got["ambiguous"]
    assert got["both"] == "give either period or since/until, not both"  # the hint names the tool's arguments
    assert "--allow-write" in got["refused"]
    assert got["unknown report"] == "report: name: Input should be " + ", ".join(
        f"'{name}'" for name in ("funnel", "forecast", "owners", "customers", "stalled", "lost-reasons")
    ) + " or 'trend'"  # fmt: skip
    assert got["no ref"] == "show_contact: ref is required"
    assert cli("contacts", "show", "Nobody Here").exit_code == 1  # refused: nothing was written


# ---------------------------------------------------------------- writing


def test_writes_need_allow_write_are_traced_as_mcp_and_undone(cli, db_url: str, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CRM_NOW", NOW)
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH"))
    ok(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "--amount", "12000"))
    # who acts: CRM_USER on SQLite, the database role on PostgreSQL; the server acts as the CLI does
    user = json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json")).stdout)["owner"]
    sheet = tmp_path / "leads.csv"
    sheet.write_text("Name,Email,Firma\nJana Roth,jana.roth@nordwind-mb.de,Nordwind GmbH\nBo Berg,not-an-email,\n")
    preview = cli("import", str(sheet), "--dry-run", "--format", "json")
    first_write = newest_set(db_url)["id"]
    sets: list[dict[str, Any]] = []

    async def write(assistant: Assistant, tool: str, **arguments: Any) -> tuple[Any, list[str]]:
        done = await assistant.said(tool, **arguments)
        sets.append(newest_set(db_url))
        return done

    async def talk(assistant: Assistant) -> dict[str, Any]:
        out: dict[str, Any] = {"tools": await assistant.tools()}
        out["activity"] = await write(assistant, "log_activity", ref="anna@acme.de", text="Called", type="call")
        out["followup"] = await write(
            assistant, "add_followup", ref="deal:Acme renewal", due="tomorrow 9am", note="Send pricing"
        )
        out["done"] = await write(
            assistant, "complete_followup", ids=[str(out["followup"][0]["id"])], log="Sent", type="email"
        )
        out["company"] = await write(assistant, "add_company", name="Globex Corp", domain="globex.com", tags=["x"])
        out["company edit"] = await write(assistant, "edit_company", ref="globex.com", industry="Logistics")
        out["contact"] = await write(
            assistant, "add_contact", name="Jo Park", emails=["jo@globex.com"], company="Globex Corporation"
        )
        out["deal"] = await write(
            assistant, "add_deal", title="Globex pilot", company="Globex Corp", amount="5000.50", currency="USD",
            close="2026-12-31",
        )  # fmt: skip
        out["deal edit"] = await write(assistant, "edit_deal", ref="Globex pilot", amount="6000")
        out["moved"] = await write(assistant, "move_deal", ref="Globex pilot", stage="Lost", lost_reason="price")
        out["duplicate"] = await assistant.error("add_contact", name="Anna Müller", emails=["anna@acme.de"])
        out["past"] = await assistant.error("add_followup", ref="anna@acme.de", due="yesterday")
        out["preview"] = await assistant.text("import_preview", path=str(sheet))
        out["before edit"] = snapshot(db_url)
        out["edited"] = await write(assistant, "edit_contact", ref="anna@acme.de", title="CTO", add_tags=["vip"])
        out["undone"] = cli("undo", "--yes")  # from the command line, while the server runs
        out["after undo"] = snapshot(db_url)
        out["seen"] = await assistant.json("show_contact", ref="anna@acme.de")
        return out

    got = converse(db_url, tmp_path, talk, allow_write=True)
    tools = got["tools"]
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    assert tools["add_contact"].annotations.destructive_hint is False
    assert tools["edit_contact"].annotations.destructive_hint is True
    assert tools["import_preview"].annotations.read_only_hint is True
    assert tools["add_deal"].input_schema["required"] == ["title"]
    assert tools["log_activity"].input_schema["properties"]["type"]["enum"] == ["call", "email", "meeting", "note"]

    activity, said = got["activity"]
    assert (activity["type"], activity["text"], activity["by"]) == ("call", "Called", user)
    assert said == [f"Logged call #{activity['id']} on Anna Müller"]
    followup, said = got["followup"]
    assert (followup["due_at"], followup["subject"], followup["owner"]) == (
        "2026-11-24T09:00:00Z",
        "Acme renewal",
        user,
    )
    assert said == [f"Added follow-up #{followup['id']} on Acme renewal: due 2026-11-24 09:00 (tomorrow 09:00)"]
    done, _ = got["done"]
    assert done[0]["id"] == followup["id"] and done[0]["activity_id"] and done[0]["subject"] == "Acme renewal"
    company, _ = got["company edit"]
    assert (company["name"], company["domain"], company["industry"], company["owner"]) == (
        "Globex Corp", "globex.com", "Logistics", user,
    )  # fmt: skip
    contact, said = got["contact"]
    assert contact["company"] == "Globex Corp"  # the near name is the company that exists, and it says so
    assert said[-1] == f"Added contact #{contact['id']}: Jo Park"
    assert any("Globex Corp" in line and "new_company" in line for line in said[:-1]), said
    deal, _ = got["deal edit"]
    assert (deal["amount"], deal["currency"], deal["close_date"]) == ("6000.00", "USD", "2026-12-31")
    moved, said = got["moved"]
    assert (moved["status"], moved["stage"], moved["lost_reason"]) == ("lost", "Lost", "price")
    assert said == [f"Deal #{moved['id']} Globex pilot: Lead → Lost"]
    assert got["duplicate"].startswith("email anna@acme.de already belongs to #1 Anna Müller")
    assert got["duplicate"].endswith("(allow_duplicate adds it anyway)")  # the tool's argument, not --allow-duplicate
    assert "in the past" in got["past"] and "allow_past" in got["past"]

    # the preview is `crm import --dry-run`'s, and wrote nothing
    same_json(preview, got["preview"])
    assert json.loads(got["preview"])["counts"]["read"] == 2
    assert not (tmp_path / "leads.import-report.csv").exists()
    assert cli("contacts", "show", "jana.roth@nordwind-mb.de").exit_code == 1

    # every write is one change set of its own, made via mcp TOOL, by the same user as the CLI's
    tools_written = [
        "log_activity", "add_followup", "complete_followup", "add_company", "edit_company", "add_contact",
        "add_deal", "edit_deal", "move_deal", "edit_contact",
    ]  # fmt: skip
    assert [s["via"] for s in sets] == [f"mcp {tool}" for tool in tools_written]
    assert all(s["kind"] == "mcp" for s in sets), sets
    assert len({s["id"] for s in sets}) == len(sets) and min(s["id"] for s in sets) > first_write
    assert {s["who"] for s in sets} == {newest_set(db_url)["who"]}

    # crm undo takes back the last one, the MCP edit: everything as it was before it
    undone = got["undone"]
    ok(undone)
    assert f"Undid change {sets[-1]['id']} (mcp edit_contact)" in undone.stderr
    assert got["after undo"] == got["before edit"]
    assert got["seen"]["title"] is None and "vip" not in got["seen"]["tags"]


def test_the_database_is_checked_before_serving(cli, tmp_path: Path) -> None:  # noqa: ANN001
    missing = tmp_path / "nowhere.db"
    ran = cli("--db", str(missing), "mcp")
    assert (
        ran.exit_code == 1
        and ran.stderr.strip() == f"Error: no database at {missing}; crm --db {missing} init creates one"
    )


def test_the_sdk_loads_only_when_serving() -> None:
    for args in (["--help"], ["mcp", "--help"]):
        assert "mcp" not in loaded(args), args
