"""README.md runs: every command in its code blocks, and every example in the commands' help.

test_readme_runs reads README.md's code blocks (conventions in tests/readme_doc.py and in
README's Development section) and runs them in order, as a reader pasting them into one
terminal session would: in a fresh working directory with its own HOME and XDG directories,
starting from nothing, so README's own `crm init --demo` makes the database (in the default
location: the tour sets no CRM_DB, and neither does the test). The real `crm` entry point runs
in bash (pipes, redirects and heredocs work), stdin not a terminal, stdout and stderr one
pseudo-terminal 100 columns wide, so tables look as README prints them. CRM_NOW and TZ=UTC make
the demo and every time deterministic. A command fails the test when its exit code is not 0 (or
the `(exit N)` its comment states), and a transcript command (```console) when its output is not
the one shown (`…` marks what README leaves out). Every failure names README's line, the command,
what README shows and what ran.

Blocks that cannot run here carry `<!-- readme-test: skip REASON -->`; ALLOWED_SKIPS below is the
whole list (each reason marks exactly one block), so a new skip shows up in review.

test_help_examples_run collects every `Example:` line of every command's help (the Click tree of
crmcli.cli.app, groups included). An example that README also runs (the same command once its
comment and spacing are set aside) is covered there; each other one runs against its own copy of
a fresh demo database (as `crm init --demo` makes it, at the same CRM_NOW), as CRM_USER=ana like
README's session, and must exit 0.

Time: each command is a new `crm` process (about half a second of imports), some 110 in
README's order, then some 45 help examples two at a time: about 80 s and 25 s on a loaded
2-core machine.

SQLite only: README's reader is on the default SQLite database, and README has no runnable
PostgreSQL block (its team-database example needs a server and is a listed skip); the commands
themselves are tested on both backends elsewhere.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from readme_doc import (
    README,
    Reader,
    Step,
    blocks,
    command_key,
    copy_db,
    failure,
    fresh_demo,
    help_examples,
    matches,
    steps,
)

ALLOWED_SKIPS = [
    "installs crmcli: the test runs where it is installed",  # Set up: pip install -e .
    "runs the tests, this one included",  # Set up: pip install -e ".[test]" && pytest
    "needs a PostgreSQL server",  # Storage: export CRM_DB='postgresql+psycopg://…'; crm db status
    "needs a PostgreSQL server and the right to create its roles",  # A team on PostgreSQL: crm team …
    "needs an IMAP server",  # Mail: CRM_IMAP_PASSWORD=… crm mail import imaps://…
]


@pytest.fixture(scope="module")
def readme() -> list:
    return blocks(README.read_text(encoding="utf-8"))


def test_readme_blocks_follow_the_conventions(readme: list) -> None:
    run = steps(readme)  # raises on an untagged block or a command in a data block
    kinds = {step.kind for step in run}
    assert {"sh", "python", "cron"} <= kinds
    assert any(step.expected for step in run), "no transcript (```console) in README"
    skipped = [f"README.md:{block.line - 1}: {block.skip}" for block in readme if block.skip is not None]
    reasons = sorted(block.skip for block in readme if block.skip is not None)
    assert reasons == sorted(ALLOWED_SKIPS), "skipped blocks, each allowed once:\n" + "\n".join(skipped)


def test_transcript_matching() -> None:
    assert matches(["a", "…", "d"], "a\nb\nc\nd\n")
    assert matches(["a", "…", "b"], "a\nb\n")
    assert matches(["x … z  "], "x yyy z\n\n")
    assert not matches(["a", "d"], "a\nb\nd\n")
    assert not matches(["a"], "a\nb\n")
    assert not matches(["x.z"], "xyz\n")  # text is text, not a pattern


def test_blocks_become_steps() -> None:
    text = "\n".join(
        [
            "<!-- readme-test: skip needs a PostgreSQL server -->",
            "```sh",
            "crm db status",
            "```",
            "```sh",
            "cat > a.csv <<'EOF'   # a file",
            "x,y",
            "EOF",
            "crm doctor --strict   # exit 1 on findings (exit 1)",
            "```",
            "```console",
            "$ crm kpi",
            "KPIs …",
            "…",
            "```",
            "```text",
            "plain words",
            "```",
        ]
    )
    found = blocks(text)
    assert [b.skip for b in found] == ["needs a PostgreSQL server", None, None, None]
    run = steps(found)
    assert [(s.line, s.command.splitlines()[0], s.exit_code) for s in run] == [
        (6, "cat > a.csv <<'EOF'   # a file", 0),
        (9, "crm doctor --strict   # exit 1 on findings (exit 1)", 1),
        (12, "crm kpi", 0),
    ]
    assert run[0].command.endswith("x,y\nEOF") and run[2].expected == ["KPIs …", "…"]
    problem = failure(run[2], 0, "Targets only\r\n")
    assert problem is not None and "README.md:12: `crm kpi`" in problem and "Targets only" in problem
    assert failure(run[2], 0, "\x1b[1mKPIs · November\x1b[0m\r\nmore\r\n") is None
    assert "exited with 0, not 1" in failure(run[1], 0, "")
    with pytest.raises(ValueError, match="without a tag"):
        steps(blocks("```\ncrm contacts list\n```"))
    with pytest.raises(ValueError, match="never run"):
        steps(blocks("```text\ncrm contacts list\n```"))


def _report(failures: list[str], ran: int) -> str:
    cut = [f if f.count("\n") < 60 else "\n".join(f.splitlines()[:60]) + "\n[…]" for f in failures]
    return f"{len(failures)} of {ran} README commands failed:\n\n" + "\n\n".join(cut)


def test_readme_runs(tmp_path: Path, readme: list) -> None:
    reader = Reader(tmp_path)
    run = steps(readme)
    failures = []
    for step in run:
        code, output = reader.run(step)
        problem = failure(step, code, output)
        if problem:
            failures.append(problem)
    assert not failures, _report(failures, len(run))


def test_help_examples_run(tmp_path: Path, readme: list) -> None:
    examples = help_examples()
    assert len(examples) >= 40, examples  # every command shows one; a broken scan finds none
    in_readme = {command_key(step.command) for step in steps(readme) if step.kind in ("sh", "cron")}
    # crm team needs a PostgreSQL server: its examples are README's (in a block marked so), not run here
    postgresql = [example for _path, example in examples if example.startswith("crm team ")]
    assert postgresql and all(example in README.read_text(encoding="utf-8") for example in postgresql), postgresql
    own = [
        (path, example)
        for path, example in examples
        if command_key(example) not in in_readme and example not in postgresql
    ]
    assert all(example.startswith("crm ") for _, example in examples), examples
    demo = fresh_demo(tmp_path / "demo")

    def run(n: int, path: str, example: str) -> str | None:
        reader = Reader(tmp_path / f"example-{n}", exports={"CRM_USER": "ana"})
        copy_db(demo, reader.home / ".local/share/crmcli/crm.db")
        step = Step("sh", 0, example)
        code, output = reader.run(step)
        if code == 0:
            return None
        return f"`{path} --help` example `{example}` exited with {code}:\n{output.strip()}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(lambda args: run(*args), ((n, *e) for n, e in enumerate(own))) if f]
    assert not failures, f"{len(failures)} of {len(own)} help examples failed:\n\n" + "\n\n".join(failures)
