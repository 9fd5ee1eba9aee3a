"""bench/RESULTS.md holds several reports: run.py writes the whole file, and the other
benchmarks (board.py, followups.py, …) each own a section between <!-- NAME:start --> and
<!-- NAME:end --> markers. These helpers replace one section and keep the others."""

from __future__ import annotations

import re
from pathlib import Path

_SECTION = re.compile(r"<!-- (\w+):start -->.*?<!-- \1:end -->", re.S)


def sections(text: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in _SECTION.finditer(text)}


def update(path: Path, name: str, body: str) -> None:
    """Put BODY into section NAME of PATH (appended when the section is new)."""
    block = f"<!-- {name}:start -->\n{body.strip()}\n<!-- {name}:end -->"
    text = path.read_text() if path.exists() else ""
    if f"<!-- {name}:start -->" in text:
        text = _SECTION.sub(lambda m: block if m.group(1) == name else m.group(0), text)
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def keep(path: Path, new_text: str) -> str:
    """NEW_TEXT for the whole file, with the sections the old file had and NEW_TEXT lacks appended."""
    old = sections(path.read_text()) if path.exists() else {}
    have = sections(new_text)
    extra = [block for name, block in old.items() if name not in have]
    return new_text.rstrip() + "".join("\n\n" + block for block in extra) + "\n"
