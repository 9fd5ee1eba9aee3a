"""Read README.md's code blocks as a script, and run it as a reader would (used by test_readme.py).

Conventions (README.md's Development section says the same, shorter):

- ```sh (or bash, shell): every line is a command, run as typed; `# …` after it is a comment; a
  line ending in `\\` continues, and a heredoc (`<<'EOF'` … `EOF`) belongs to its command. Only
  the exit code is checked (0, unless the line's comment ends with `(exit N)`).
- ```console: a transcript. `$ COMMAND` lines are commands; the lines after one, up to the next
  `$ `, are its output (stdout and stderr, as a terminal shows them). `…` stands for whatever is
  left out: a line holding only `…` for any number of lines, `…` inside a line for any part of it.
- ```python: the block is saved as a file and run with python.
- ```crontab: `NAME=value` lines are cron's environment; a schedule line's command (what follows
  the five time fields) is run by the shell, as cron runs it.
- Any other tag (text, json, csv …) is data and not run; a data block may not hold a command (a
  line starting with `crm ` or `$ `), and every block must have a tag.
- `<!-- readme-test: skip REASON -->` on the line before a block leaves it out, for a reason
  stated where the reader sees it (test_readme.py lists the allowed ones).

Commands run in order, in one working directory, with HOME and the XDG directories inside it,
the clock frozen (CRM_NOW) and the zone UTC, so the demo and every time shown are the same on
every run. Each command runs in a fresh bash (`set -o pipefail`), with what earlier commands
exported and the directory they left (as in one terminal session): stdin is not a terminal,
stdout and stderr are one pseudo-terminal (tables, as the README shows them).

`python tests/readme_doc.py [FIRST_LINE [LAST_LINE]]` prints what each command of README.md
prints, to write or refresh a transcript.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

NOW = "2026-11-23T09:00:00Z"  # the demo's day in README's transcripts
WIDTH = 100  # the terminal README's tables were printed on
SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\b\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(.*)$")
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")
EXIT = re.compile(r"\(exit (\d+)\)\s*$")
CRON_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
ELLIPSIS = "…"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


@dataclass
class Block:
    lang: str
    line: int  # the line of the first line inside the fence (1-based)
    lines: list[str]
    skip: str | None = None  # the reason, when marked skip


@dataclass
class Step:
    kind: str  # sh | python | cron
    line: int  # README line of the command
    command: str  # shell text (python: the source)
    expected: list[str] | None = None  # a transcript's output lines
    exit_code: int = 0
    env: dict[str, str] = field(default_factory=dict)  # crontab variables


def blocks(text: str) -> list[Block]:
    """README's fenced code blocks, with their language and skip marker."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(2).strip().split()[0] if m.group(2).strip() else ""
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        marker = SKIP.match(lines[j].strip()) if j >= 0 else None
        body: list[str] = []
        k = i + 1
        while k < len(lines) and not FENCE.match(lines[k]):
            body.append(lines[k])
            k += 1
        if k >= len(lines):
            raise ValueError(f"README.md:{i + 1}: code block never closed")
        found.append(Block(lang, i + 2, body, (marker.group(1) or "no reason given") if marker else None))
        i = k + 1
    return found


def _commands(block: Block) -> list[Step]:
    """The commands of a sh block: one a line, with continuations and heredocs."""
    steps: list[Step] = []
    i = 0
    while i < len(block.lines):
        line = block.lines[i]
        start = block.line + i
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [line]
        while parts[-1].endswith("\\") and i < len(block.lines):
            parts.append(block.lines[i])
            i += 1
        heredoc = HEREDOC.search(parts[0])
        if heredoc:
            end = heredoc.group(2)
            while i < len(block.lines):
                parts.append(block.lines[i])
                i += 1
                if parts[-1].strip() == end:
                    break
            else:
                raise ValueError(f"README.md:{start}: heredoc {end} never ends")
        text = "\n".join(parts)
        code = EXIT.search(parts[0])
        steps.append(Step("sh", start, text, exit_code=int(code.group(1)) if code else 0))
    return steps


def _transcript(block: Block) -> list[Step]:
    steps: list[Step] = []
    for n, line in enumerate(block.lines):
        if line.startswith("$ "):
            code = EXIT.search(line)
            steps.append(Step("sh", block.line + n, line[2:], [], int(code.group(1)) if code else 0))
        elif not steps:
            raise ValueError(f"README.md:{block.line + n}: a console block starts with its first `$ ` command")
        else:
            steps[-1].expected.append(line)  # type: ignore[union-attr]
    return steps


def _crontab(block: Block) -> list[Step]:
    steps: list[Step] = []
    env: dict[str, str] = {}
    for n, line in enumerate(block.lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if CRON_VAR.match(line):
            name, value = line.split("=", 1)
            env[name.strip()] = value.strip()
            continue
        fields = line.split(None, 5)
        if len(fields) < 6:
            raise ValueError(f"README.md:{block.line + n}: a crontab line is five time fields and a command")
        steps.append(Step("cron", block.line + n, fields[5], env=dict(env)))
    return steps


def steps(found: list[Block]) -> list[Step]:
    """Every command README runs, in order; raises on a block the conventions do not allow."""
    out: list[Step] = []
    for block in found:
        where = f"README.md:{block.line - 1}"
        if not block.lang:
            raise ValueError(f"{where}: a code block without a tag (sh, console, python, text …)")
        if block.skip is not None:
            continue
        if block.lang in ("sh", "bash", "shell"):
            if any(line.startswith("$ ") for line in block.lines):
                raise ValueError(f"{where}: `$ ` prompts belong in a console block")
            out += _commands(block)
        elif block.lang == "console":
            out += _transcript(block)
        elif block.lang == "python":
            out.append(Step("python", block.line, "\n".join(block.lines) + "\n"))
        elif block.lang == "crontab":
            out += _crontab(block)
        else:
            for n, line in enumerate(block.lines):
                if line.startswith(("crm ", "$ ")):
                    raise ValueError(
                        f"README.md:{block.line + n}: a command in a {block.lang} block is never run: "
                        "use sh or console, or mark the block skip with a reason"
                    )
    return out


# ---------------------------------------------------------------- comparing


def _line_pattern(line: str) -> str:
    return ".*?".join(re.escape(part) for part in line.split(ELLIPSIS))


def matches(expected: list[str], actual: str) -> bool:
    """Whether ACTUAL is what EXPECTED shows, `…` standing for what was left out."""
    want = [line.rstrip() for line in expected]
    while want and not want[-1]:
        want.pop()
    while want and not want[0]:
        want.pop(0)
    pattern = "".join(r"(?:[^\n]*\n)*?" if line.strip() == ELLIPSIS else _line_pattern(line) + r"\n" for line in want)
    return re.fullmatch(pattern, normalise(actual)) is not None


def normalise(output: str) -> str:
    """What a terminal shows: no escape sequences (colours), no byte order mark, no carriage
    returns (only the text after the last one on a line), no trailing spaces, no blank lines
    before the first or after the last; ends with one newline unless empty."""
    output = ANSI.sub("", output).replace("\ufeff", "")  # escape sequences and a BOM show as nothing
    lines = []
    for line in output.replace("\r\n", "\n").split("\n"):
        lines.append(line.rstrip("\r").rsplit("\r", 1)[-1].rstrip())
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- running


class Reader:
    """A reader's terminal session in DIR: runs Steps one after another."""

    def __init__(self, folder: Path, *, width: int = WIDTH, exports: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.width = width
        self.home = folder / "home"
        self.work = self.home / "work"  # where the reader types the commands
        for sub in ("work", ".local/share", ".config", ".cache"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.state = folder / "session.sh"  # what earlier commands exported, and their directory
        start = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in (exports or {}).items())
        self.state.write_text(f"{start}cd {shlex.quote(str(self.work))}\n", encoding="utf-8")
        bin_dir = sysconfig.get_path("scripts")  # the environment crm is installed in
        self.env = {k: os.environ[k] for k in ("VIRTUAL_ENV", "TMPDIR") if k in os.environ}
        self.env.update(
            HOME=str(self.home),
            USER="reader",
            LOGNAME="reader",
            XDG_DATA_HOME=str(self.home / ".local/share"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            PATH=bin_dir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
            CRM_NOW=NOW,
            TZ="UTC",
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
            TERM="dumb",  # a terminal without colours: Rich prints no escape sequences
            NO_COLOR="1",
            COLUMNS=str(width),
            LINES="60",
            PYTHONIOENCODING="utf-8",
            # the examples run in-process; the command server's own section starts one, in a runtime
            # directory of this reader's (never the user's), that leaves soon after
            CRM_SERVER="0",
            XDG_RUNTIME_DIR=str(self.home / "run"),
            CRM_SERVER_IDLE="20",
        )
        (self.home / "run").mkdir(mode=0o700, exist_ok=True)

    def run(self, step: Step, *, timeout: float = 120) -> tuple[int, str]:
        """(exit code, what the terminal showed) of STEP."""
        if step.kind == "python":
            script = self.folder / f"readme_line_{step.line}.py"
            script.write_text(step.command, encoding="utf-8")
            command = f"python3 {shlex.quote(str(script))}"
        else:
            command = step.command
        env_lines = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in step.env.items())
        if step.kind == "cron":  # cron's own environment, in HOME; nothing the session exported
            script = f"{env_lines}cd {shlex.quote(str(self.home))}\nset -o pipefail\n{command}\n"
        else:
            save = shlex.quote(str(self.state))
            script = (
                f"set -a\n. {save}\nset -o pipefail\n{command}\n"
                f"__rc=$?; {{ export -p | grep -v -e ' SHLVL=' -e ' _=' -e ' OLDPWD=' -e ' __rc='; "
                f"printf 'cd %q\\n' \"$PWD\"; }} > {save}; exit $__rc\n"
            )
        return _in_terminal(["bash", "-c", script], self.env, self.work, self.width, timeout)


def _in_terminal(argv: list[str], env: dict[str, str], cwd: Path, width: int, timeout: float) -> tuple[int, str]:
    """Run ARGV with stdout and stderr on a new pseudo-terminal, stdin not a terminal."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, width, 0, 0))
    chunks: list[bytes] = []
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True
        )
        # The slave stays open here until the end: once every writer has closed it, Linux may
        # drop what the master has not read yet.
        deadline = time.monotonic() + timeout
        while True:
            done = proc.poll() is not None
            ready, _, _ = select.select([master], [], [], 0 if done else 0.05)
            if ready:
                chunks.append(os.read(master, 65536))
            elif done:
                break
            elif time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                chunks.append(f"\n[killed after {timeout:.0f} s]\n".encode())
                return -9, b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(slave)
        os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def failure(step: Step, code: int, output: str) -> str | None:
    """What is wrong with STEP's run, for the test's message; None when it did what README says."""
    shown = normalise(output)
    if code != step.exit_code:
        return (
            f"README.md:{step.line}: `{step.command.splitlines()[0]}` exited with {code}, not {step.exit_code}\n"
            f"--- output\n{shown}"
        )
    if step.expected is not None and not matches(step.expected, output):
        want = "\n".join(line.rstrip() for line in step.expected).rstrip("\n")
        return (
            f"README.md:{step.line}: `{step.command.splitlines()[0]}` printed something else\n"
            f"--- README shows\n{want}\n--- actual\n{shown}"
        )
    return None


# ---------------------------------------------------------------- help texts


def help_examples() -> list[tuple[str, str]]:
    """(command path, example) for every `Example:` line in every command's help."""
    import typer

    from crmcli.cli import app

    root = typer.main.get_command(app)
    found: list[tuple[str, str]] = []

    def walk(command, path: str) -> None:  # noqa: ANN001 - a click Command or Group
        for text in (command.help or "", getattr(command, "epilog", None) or ""):
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("Example:") or line.startswith("Examples:"):
                    for example in re.split(r"\s+·\s+", line.split(":", 1)[1].strip()):
                        found.append((path, example.strip()))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(root, "crm")
    return found


def command_key(text: str) -> str:
    """A command without its comment and with its spacing evened out, to compare help with README."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        return " ".join(lexer)
    except ValueError:
        return " ".join(text.split())


def fresh_demo(folder: Path) -> Path:
    """A demo database made as README makes it (crm init --demo), at CRM_NOW; returns its path."""
    reader = Reader(folder)
    code, output = reader.run(Step("sh", 0, "crm init --demo"))
    if code:
        raise RuntimeError(f"crm init --demo failed: {output}")
    return reader.home / ".local/share/crmcli/crm.db"


def copy_db(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(str(source) + suffix).exists():
            shutil.copy2(str(source) + suffix, str(target) + suffix)


def main(argv: list[str]) -> int:
    import tempfile

    first = int(argv[0]) if argv else 0
    last = int(argv[1]) if len(argv) > 1 else 10**9
    with tempfile.TemporaryDirectory(prefix="readme-") as tmp:
        reader = Reader(Path(tmp))
        for step in steps(blocks(README.read_text(encoding="utf-8"))):
            if step.line > last:
                break
            started = time.monotonic()
            code, output = reader.run(step)
            if first <= step.line:
                took = time.monotonic() - started
                print(f"$ {step.command}    # README.md:{step.line}, exit {code}, {took:.1f} s")
                print(normalise(output), end="", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
