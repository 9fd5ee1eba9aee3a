"""Benchmark of `crm mail import` on a 10,000-message mbox, beside what parsing the mbox costs anyway.

    python bench/mail.py                 # generates bench/data/mail-10000.mbox and its database once
    python bench/mail.py --runs 5

The mbox (seed 17): 10,000 messages between the user and 400 contacts at 40 companies (120 of them
with one open deal), strangers at those companies' domains and strangers elsewhere; a third sent by
the user; plain text, multipart/alternative with HTML, ISO-8859-1 quoted-printable and base64 parts,
RFC 2047 subjects, quoted replies and signatures, some attachments, some without Message-ID.

Each crm run imports into a fresh copy of the same database (the contacts, no mail yet), as a fresh
process. The floor, measured in the same run in fresh processes: the standard library's `mailbox`
reading every message's bytes and `email` parsing each (policy.default), and the same plus reading the
headers and the text part crm reads. Writes the <!-- mail:start --> section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import mailbox
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
sys.path.insert(0, str(BENCH))

from run import PYTHON, RUN_DIR, bench_env, crm_script, machine, wait_idle  # noqa: E402
from sections import update  # noqa: E402

ME = "ana@mine.example"
FIRST = ["Anna", "Jürgen", "Lena", "James", "Olivia", "Camille", "Léa", "José", "María", "Sakura", "Noah", "Ben"]
LAST = ["Müller", "Schäfer", "Becker", "Miller", "Brown", "Dubois", "Lefèvre", "García", "López", "Sato", "Stone"]
WORDS = (
    "pilot proposal pricing contract renewal onboarding meeting invoice demo roadmap budget quarter team "
    "support question update timeline delivery training licence discount"
).split()

SETUP = """
import json, sys
from crmcli import storage
from crmcli.domain import contacts, deals, settings
people = json.load(open(sys.argv[2]))
with storage.session_scope(sys.argv[1], write=True) as s:
    settings.set_value(s, "my_emails", people["me"])
    for p in people["contacts"]:
        c = contacts.add_contact(s, name=p["name"], emails=[p["email"]], company=p["company"], allow_duplicate=True)
        if p["deal"]:
            deals.add_deal(s, title="Deal " + p["name"], contact=f"contact:{c.id}")
    from crmcli.models import Company
    from sqlmodel import select
    for company in s.exec(select(Company)):
        company.domain = people["domains"][company.name]
        s.add(company)
"""

PARSE = """
import mailbox, sys
from email.parser import BytesParser
from email.policy import default
box = mailbox.mbox(sys.argv[1], create=False)
parser = BytesParser(policy=default)
n = 0
for key in box.iterkeys():
    parser.parsebytes(box.get_bytes(key))
    n += 1
print(n)
"""

PARSE_READ = """
import mailbox, sys
from email.parser import BytesParser
from email.policy import default
box = mailbox.mbox(sys.argv[1], create=False)
parser = BytesParser(policy=default)
n = 0
for key in box.iterkeys():
    m = parser.parsebytes(box.get_bytes(key))
    for name in ("From", "To", "Cc"):
        h = m[name]
        if h is not None:
            h.addresses
    m["Subject"], m["Message-ID"]
    d = m["Date"]
    d is not None and d.datetime
    body = m.get_body(preferencelist=("plain", "html"))
    if body is not None:
        body.get_content()
    n += 1
print(n)
"""


def people(rng: random.Random) -> dict:
    companies = [f"Firma {i} GmbH" for i in range(40)]
    domains = {name: f"firma{i}.example" for i, name in enumerate(companies)}
    contacts = []
    for i in range(400):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = companies[i % 40]
        contacts.append(
            {
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{i}@{domains[company]}".replace("ü", "ue").replace("é", "e"),
                "company": company,
                "deal": i % 10 < 3,
            }
        )
    return {"me": ME, "contacts": contacts, "domains": domains}


def body_text(rng: random.Random, quoted: bool, signature: bool) -> str:
    lines = [f"Hi {rng.choice(FIRST)},", ""]
    for _ in range(rng.randint(1, 4)):
        lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30))).capitalize() + ".")
    if signature:
        lines += ["", "-- ", f"{rng.choice(FIRST)} {rng.choice(LAST)}", "+49 30 1234567"]
    if quoted:
        lines += ["", "On Mon, 2 Nov 2026 at 10:00, Someone <someone@example.org> wrote:"]
        lines += ["> " + " ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(rng.randint(3, 15))]
    return "\n".join(lines) + "\n"


def generate(path: Path, crowd: dict, count: int = 10_000, seed: int = 17) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    box = mailbox.mbox(path, create=True)
    box.lock()
    contacts = crowd["contacts"]
    domains = list(crowd["domains"].values())
    for i in range(count):
        roll = rng.random()
        if roll < 0.70:
            person = rng.choice(contacts)
            other = (person["name"], person["email"])
        elif roll < 0.80:
            other = ("Jo Unknown", f"jo.{i % 300}@{rng.choice(domains)}")  # someone at a known company
        else:
            other = (f"Stranger {i % 500}", f"stranger{i % 500}@elsewhere{i % 37}.example")
        m = EmailMessage()
        outgoing = rng.random() < 0.33
        m["From"] = f"Ana <{ME}>" if outgoing else f'"{other[0]}" <{other[1]}>'
        m["To"] = f'"{other[0]}" <{other[1]}>' if outgoing else f"Ana <{ME}>"
        if rng.random() < 0.2:
            person = rng.choice(contacts)
            m["Cc"] = f'"{person["name"]}" <{person["email"]}>'
        subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
        m["Subject"] = ("Re: " if rng.random() < 0.4 else "") + subject + (" – Grüße" if rng.random() < 0.1 else "")
        m["Date"] = format_datetime(start + timedelta(minutes=47 * i + rng.randint(0, 40)))
        if rng.random() > 0.03:
            m["Message-ID"] = f"<bench.{seed}.{i}@mail.example>"
        text = body_text(rng, quoted=rng.random() < 0.5, signature=rng.random() < 0.6)
        kind = rng.random()
        if kind < 0.5:
            m.set_content(text)
        elif kind < 0.7:
            m.set_content(text, charset="iso-8859-1", cte="quoted-printable")
        elif kind < 0.8:
            m.set_content(text, cte="base64")
        else:
            m.set_content(text)
            html = "".join(f"<p>{line}</p>" for line in text.splitlines() if not line.startswith(">"))
            m.add_alternative(f"<html><body>{html}<blockquote>quoted</blockquote></body></html>", subtype="html")
        if rng.random() < 0.05:
            m.add_attachment(rng.randbytes(20_000), maintype="application", subtype="pdf", filename="offer.pdf")
        box.add(m)
    box.flush()
    box.unlock()
    box.close()


def files(count: int, env: dict[str, str]) -> tuple[Path, Path]:
    import json

    DATA.mkdir(parents=True, exist_ok=True)
    mbox, template = DATA / f"mail-{count}.mbox", DATA / f"mail-{count}-template.db"
    crowd = people(random.Random(17))
    if not mbox.exists():
        t = time.perf_counter()
        tmp = mbox.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        generate(tmp, crowd, count)
        tmp.rename(mbox)
        print(f"generated {count:,} messages in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if not template.exists():
        spec = DATA / "mail-people.json"
        spec.write_text(json.dumps(crowd))
        tmp = template.with_suffix(".tmp")
        for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            stale.unlink(missing_ok=True)
        subprocess.run([PYTHON, "-c", SETUP, str(tmp), str(spec)], check=True, env=env, cwd=RUN_DIR)
        tmp.rename(template)
    return mbox, template


def fresh(template: Path, db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, db)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one fresh process: the CPU time is what the child
    used itself, so it holds when other work shares the machine."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=RUN_DIR, stdin=subprocess.DEVNULL, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {proc.stderr.decode(errors='replace')[-400:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)
    db = DATA / "mail-bench.db"
    env = bench_env(db)
    mbox, template = files(args.messages, env)
    crm = crm_script()
    busy = wait_idle(60)
    cases = [
        ("mailbox + email parse every message (floor)", [PYTHON, "-c", PARSE, str(mbox)], False),
        ("… and read its headers and text (what crm reads)", [PYTHON, "-c", PARSE_READ, str(mbox)], False),
        (f"crm mail import {mbox.name} -q", [crm, "mail", "import", str(mbox), "-q"], True),
    ]
    times: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    cpus: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    for _ in range(args.runs):  # round-robin: a slow patch of the machine is spread over all of them
        for label, cmd, needs_db in cases:
            if needs_db:
                fresh(template, db)
            wall, cpu = timed(cmd, env)
            times[label].append(wall)
            cpus[label].append(cpu)
    import json

    fresh(template, db)
    first = json.loads(
        subprocess.run(
            [crm, "mail", "import", str(mbox), "-f", "json"], env=env, cwd=RUN_DIR, capture_output=True, check=True
        ).stdout
    )["counts"]
    again = min(timed([crm, "mail", "import", str(mbox), "-q"], env)[0] for _ in range(args.runs))
    rows = []
    for label, _, _ in cases:
        median, cpu = statistics.median(times[label]), statistics.median(cpus[label])
        rows.append((label, median, min(times[label]), max(times[label]), cpu, args.messages / median))
        print(f"  {label}: {median:.2f} s ({cpu:.2f} s CPU), {args.messages / median:,.0f} messages/s", file=sys.stderr)
    floor, read, crm_s = (r[1] for r in rows)
    floor_cpu, read_cpu, crm_cpu = (r[4] for r in rows)
    info = machine()
    when = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    lines = [
        f"## `crm mail import`: {args.messages:,} messages from an mbox",
        "",
        f"Generated by `python bench/mail.py` on {when}. The mbox (bench/mail.py, seed 17, "
        f"{mbox.stat().st_size / 1e6:.1f} MB): {args.messages:,} messages between the user and 400 contacts at 40 "
        "companies, strangers at those companies' domains and elsewhere; plain, quoted-printable, base64 and "
        "multipart/alternative bodies, quoted replies, signatures, 5 % with a 20 kB attachment, 3 % without "
        "Message-ID. Each crm run imports into a fresh copy of the same SQLite database (the contacts, no mail "
        f"yet); median of {args.runs} fresh processes, measured round-robin with the floors"
        + (f" (the CPUs were {busy:.0%} busy before the runs)." if busy >= 0.15 else "."),
        "",
        "| what | median s | min s | max s | median CPU s | messages/s |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {m:.2f} | {lo:.2f} | {hi:.2f} | {cpu:.2f} | {rate:,.0f} |"
            for label, m, lo, hi, cpu, rate in rows
        ),
        "",
        f"- crm mail import / parsing floor = **{crm_s / floor:.2f}×** wall time, **{crm_cpu / floor_cpu:.2f}×** CPU "
        f"time; / parsing and reading what crm reads = {crm_s / read:.2f}× wall, {crm_cpu / read_cpu:.2f}× CPU. "
        "crm's own start-up (Python, SQLAlchemy, the migration check) is in its figure.",
        f"- One import: read {first['read']:,} = logged {first['logged']:,} + already {first['already']:,} + "
        f"matched no one {first['unmatched']:,} + bad {first['bad']:,}; {first['activities']:,} activities, in "
        f"transactions of 2,000 messages with contacts and companies looked up in bulk per batch.",
        f"- Importing the same mbox again (every message already taken or still unmatched): {again:.2f} s "
        f"(best of {args.runs}).",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()),
    ]
    update(args.results, "mail", "\n".join(lines))
    print(f"wrote the mail section of {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
