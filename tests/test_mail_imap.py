"""crm mail import from a real IMAP server: Dovecot, started for each test in a temporary folder.

The fixture writes a minimal dovecot.conf (plain IMAP on 127.0.0.1 and a free port, no TLS, one
user in a passwd-file with a {PLAIN} password, a Maildir in the folder) and runs `dovecot -F`.
Messages are delivered with IMAP APPEND. The tests skip only when the dovecot binary is missing
(Debian: apt-get install dovecot-imapd; .ci/run installs it).
"""

from __future__ import annotations

import grp
import imaplib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select
from test_mail import ME, crm_world, message

from crmcli import storage
from crmcli.models import Activity, Change, ChangeSet, MailSource

USER = "tester"
PASSWORD = "Pa55-imap-Geheimnis-7f3a"


@dataclass
class Dovecot:
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/INBOX"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        conn = self.connect()
        try:
            typ, data = conn.append(mailbox, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, mailbox: str = "INBOX") -> list[bytes]:
        conn = self.connect()
        try:
            conn.select(mailbox, readonly=True)
            typ, data = conn.fetch("1:*", "(FLAGS)")
            assert typ == "OK", data
            return [d for d in data if isinstance(d, bytes)]
        finally:
            conn.logout()

    def log(self) -> str:
        return (self.folder / "dovecot.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or next((p for p in ("/usr/sbin/dovecot",) if Path(p).exists()), None)
    if binary is None:
        pytest.skip("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # in /tmp with short names: the mail processes run as another user, who must reach the Maildir
    folder = Path(tempfile.mkdtemp(prefix="crm-dovecot-", dir="/tmp"))
    folder.chmod(0o755)
    if os.geteuid() == 0:  # dovecot refuses to give mail to root: the mail user is nobody
        account = pwd.getpwnam("nobody")
        chroot = ""
    else:  # dovecot as an ordinary user: everything as that user, no chroot
        account = pwd.getpwuid(os.geteuid())
        chroot = "\nservice imap-login {\n  chroot =\n}\nservice anvil {\n  chroot =\n}\n"
    user, group = account.pw_name, grp.getgrgid(account.pw_gid).gr_name
    for sub in ("Maildir", "home"):
        (folder / sub).mkdir()
        os.chown(folder / sub, account.pw_uid, account.pw_gid)
    (folder / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    port = _free_port()
    conf = folder / "dovecot.conf"
    conf.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{folder}/Maildir
first_valid_uid = {min(account.pw_uid, 1)}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = {folder}/passwd
  default_fields = uid={user} gid={group} home={folder}/home
}}
{chroot}"""
    )
    proc = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(port, folder)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                log = server.log() if (folder / "dovecot.log").exists() else ""
                pytest.fail(f"dovecot did not start: {err} {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("dovecot did not listen within 20 s")
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
        shutil.rmtree(folder, ignore_errors=True)


def ok(result):  # noqa: ANN001, ANN201
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert PASSWORD not in result.stdout + result.stderr
    return result


def imported(cli, url: str, *args: str) -> dict:  # noqa: ANN001
    return json.loads(ok(cli("mail", "import", url, "-f", "json", *args, env={"CRM_IMAP_PASSWORD": PASSWORD})).stdout)


def test_imap_read_only_incremental_and_the_password_kept_out(cli, db_url: str, dovecot: Dovecot) -> None:
    crm_world(cli)
    for i in range(3):
        dovecot.append(
            message(
                "Anna Weber <anna@acme.example>",
                ME,
                f"Pilot {i}",
                f"Update {i}",
                date=f"Mon, {16 + i} Nov 2026 10:00:00 +0000",
            )
        )
    dovecot.append(message("Tom Baker <tom@baker.example>", ME, "Hello", "Who?", date="Thu, 19 Nov 2026 10:00 +0000"))
    first = imported(cli, dovecot.url)
    assert first["kind"] == "imap" and first["source"] == dovecot.url
    assert first["counts"] | {} == {
        "read": 4,
        "logged": 3,
        "already": 0,
        "unmatched": 1,
        "bad": 0,
        "activities": 3,
        "suppressed": 0,
        "created": 0,
    }
    flags = dovecot.flags()
    assert len(flags) == 4 and not any(b"\\Seen" in f for f in flags), flags  # EXAMINE and BODY.PEEK[]
    with storage.session_scope(db_url) as s:
        [state] = s.exec(select(MailSource)).all()
        assert (state.key, state.last_uid, state.uidvalidity) == (dovecot.url, 4, first["uidvalidity"])
    # nothing new: nothing fetched (the server's log counts the bodies it sent)
    seen = len(_sessions(dovecot))
    second = imported(cli, dovecot.url)
    assert second["counts"]["read"] == 0 and second["counts"]["logged"] == 0
    since = _sessions(dovecot, after=seen)
    assert since and all("body_count=0" in line for line in since), since
    # a new message: only it is fetched
    dovecot.append(message("anna@acme.example", ME, "Pilot 3", "Done", date="Fri, 20 Nov 2026 10:00 +0000"))
    seen = len(_sessions(dovecot, wait_for=0))
    third = imported(cli, dovecot.url)
    assert (third["counts"]["read"], third["counts"]["logged"]) == (1, 1)
    since = _sessions(dovecot, after=seen, until=lambda lines: any("body_count=1" in line for line in lines))
    assert [line for line in since if "body_count=0" not in line and "body_count=" in line] and all(
        "body_count=1" in line or "body_count=0" in line for line in since
    ), since
    quiet = ok(cli("mail", "import", dovecot.url, "-q", env={"CRM_IMAP_PASSWORD": PASSWORD}))
    assert quiet.stdout == quiet.stderr == ""
    with storage.session_scope(db_url) as s:
        texts = sorted(a.text for a in s.exec(select(Activity)))
        vias = list(s.exec(select(ChangeSet.via)))
        changes = [json.dumps([c.before, c.after]) for c in s.exec(select(Change))]
    assert texts == [f"Pilot {i} — {t}" for i, t in enumerate(["Update 0", "Update 1", "Update 2", "Done"])]
    assert any(v.startswith("crm mail import imap://") for v in vias)
    assert not any(PASSWORD in v for v in vias) and not any(PASSWORD in c for c in changes)
    assert not any(PASSWORD in f.read_text(errors="replace") for f in Path.cwd().glob("*.csv"))


def test_imap_uidvalidity_change_starts_over(cli, db_url: str, dovecot: Dovecot) -> None:
    crm_world(cli)
    url = dovecot.url.replace("/INBOX", "/Archive")
    conn = dovecot.connect()
    assert conn.create("Archive")[0] == "OK"
    conn.logout()
    old = [
        message("anna@acme.example", ME, f"Old {i}", "x", date=f"Mon, {16 + i} Nov 2026 10:00 +0000") for i in range(2)
    ]
    for raw in old:
        dovecot.append(raw, "Archive")
    first = imported(cli, url)
    assert first["counts"]["logged"] == 2 and not first["started_over"]
    conn = dovecot.connect()  # the mailbox made anew: a new UIDVALIDITY, UIDs from 1 again
    assert conn.delete("Archive")[0] == "OK" and conn.create("Archive")[0] == "OK"
    conn.logout()
    for raw in [*old, message("anna@acme.example", ME, "New", "y", date="Fri, 20 Nov 2026 10:00 +0000")]:
        dovecot.append(raw, "Archive")
    again = imported(cli, url)
    assert again["started_over"] and again["uidvalidity"] != first["uidvalidity"]
    assert (again["counts"]["read"], again["counts"]["already"], again["counts"]["logged"]) == (3, 2, 1)
    with storage.session_scope(db_url) as s:
        [state] = s.exec(select(MailSource)).all()
        assert (state.uidvalidity, state.last_uid) == (again["uidvalidity"], 3)
    table = ok(cli("mail", "import", url, "-f", "table", env={"CRM_IMAP_PASSWORD": PASSWORD}))
    assert "read 0" in " ".join(table.stdout.split())


def test_imap_refusals_say_why_without_the_password(cli, dovecot: Dovecot) -> None:
    wrong = cli("mail", "import", dovecot.url, env={"CRM_IMAP_PASSWORD": "not-" + PASSWORD})
    assert wrong.exit_code == 1 and "refused" in wrong.stderr and "not-" + PASSWORD not in wrong.stderr
    none = cli("mail", "import", dovecot.url, env={"CRM_IMAP_PASSWORD": None})
    assert none.exit_code == 2 and "CRM_IMAP_PASSWORD" in none.stderr
    in_url = cli("mail", "import", f"imap://{USER}:{PASSWORD}@127.0.0.1:{dovecot.port}/INBOX")
    assert in_url.exit_code == 2 and "holds a password" in in_url.stderr and PASSWORD not in in_url.stderr
    missing = cli("mail", "import", dovecot.url.replace("INBOX", "Nowhere"), env={"CRM_IMAP_PASSWORD": PASSWORD})
    assert missing.exit_code == 1 and "Nowhere" in missing.stderr


def _sessions(dovecot, after: int | None = None, until=None, wait_for: int = 1) -> list[str]:  # noqa: ANN001
    """The "Logged out" lines of Dovecot's log (its log process writes them a moment after a client
    leaves): all of them, or those after the first AFTER once WAIT_FOR new ones (or UNTIL(lines)) are there."""
    import time

    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in dovecot.log().splitlines() if "Logged out" in line]
        new = lines[after:] if after is not None else lines
        done = until(new) if until is not None else len(new) >= (wait_for if after is not None else 0)
        if done or time.monotonic() > deadline:
            return new
        time.sleep(0.05)
