"""The lookup's notes and chooser belong to a block of work, not to the process (issue 14, item 5):
context variables, like the local zone. A note left in one context (a thread, a task, a command
line invocation) is not read in another; a chooser installed in one does not choose in another;
`lookup.interaction` holds until its block ends."""

from __future__ import annotations

import contextvars
import threading

import pytest

from crmcli import storage
from crmcli.domain import contacts, dedupe, lookup
from crmcli.errors import Ambiguous
from tests.test_cli import ok


def _merged(session) -> tuple[int, int]:
    """(the id of a contact merged away, the id of the one it lives on)."""
    gone = contacts.add_contact(session, name="Ann Gone", emails=["ann@old.de"])
    kept = contacts.add_contact(session, name="Ann Kept", emails=["ann@new.de"])
    gone_id = gone.id
    dedupe.merge_contacts(session, kept, [gone])
    return gone_id, kept.id


def _two_named_alike(session) -> tuple[int, int]:
    first = contacts.add_contact(session, name="Maria Schmidt", emails=["maria@a.de"])
    second = contacts.add_contact(session, name="Maria Schmidt", emails=["maria@b.de"])
    return first.id, second.id


def test_notes_left_in_one_context_are_read_in_that_one_only(session) -> None:
    gone_id, kept_id = _merged(session)
    lookup.take_notes()  # whatever an earlier test in this thread left

    def resolve_and_take() -> list[str]:
        assert lookup.resolve_contact(session, str(gone_id)).id == kept_id
        return list(lookup.take_notes())

    first = contextvars.copy_context()
    assert first.run(lookup.resolve_contact, session, str(gone_id)).id == kept_id
    second = contextvars.copy_context()
    [said] = second.run(resolve_and_take)
    assert said.startswith(f"#{gone_id} was merged into #{kept_id} Ann Kept on ") and said.endswith(f"#{kept_id}")
    assert second.run(lookup.take_notes) == []  # taken
    assert lookup.take_notes() == []  # neither context's note reached the caller's
    assert len(first.run(lookup.take_notes)) == 1  # the first context's note waits there


def test_a_chooser_installed_in_one_context_does_not_choose_in_another(session) -> None:
    _first_id, second_id = _two_named_alike(session)

    def with_a_chooser() -> int | None:
        lookup.set_chooser(lambda ref, candidates: candidates[1])
        return lookup.resolve_contact(session, "Maria Schmidt").id

    assert contextvars.copy_context().run(with_a_chooser) == second_id
    with pytest.raises(Ambiguous):  # the caller's context has none
        lookup.resolve_contact(session, "Maria Schmidt")
    with pytest.raises(Ambiguous):  # nor has another context
        contextvars.copy_context().run(lookup.resolve_contact, session, "Maria Schmidt")


def test_two_threads_resolve_with_their_own_chooser_and_notes(db_url: str) -> None:
    with storage.session_scope(db_url, write=True) as s:
        gone_id, kept_id = _merged(s)
        first_id, second_id = _two_named_alike(s)
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, tuple[int | None, list[str], list[lookup.Note]]] = {}

    def work(name: str, pick: int) -> None:
        said: list[str] = []
        with lookup.interaction(sink=said.append, chooser=lambda ref, candidates: candidates[pick]):
            barrier.wait()  # both have installed theirs before either resolves
            with storage.session_scope(db_url) as s:
                chosen = lookup.resolve_contact(s, "Maria Schmidt").id
                barrier.wait()
                lookup.resolve_contact(s, str(gone_id))
        results[name] = (chosen, said, lookup.take_notes())

    threads = [threading.Thread(target=work, args=(name, pick)) for name, pick in (("a", 0), ("b", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    note = f"#{gone_id} was merged into #{kept_id} Ann Kept"
    for name, expected in (("a", first_id), ("b", second_id)):
        chosen, said, left = results[name]
        assert chosen == expected
        assert len(said) == 1 and said[0].startswith(note)  # its own note, once, to its own sink
        assert left == []
    assert lookup.take_notes() == []


def test_interaction_holds_for_its_block_and_restores_what_held_before(session) -> None:
    gone_id, kept_id = _merged(session)
    lookup.take_notes()
    lookup.resolve_contact(session, str(gone_id))  # kept for take_notes: no sink
    said: list[str] = []
    with lookup.interaction(sink=said.append, chooser=lambda ref, candidates: candidates[0]):
        lookup.resolve_contact(session, str(gone_id))
        assert len(said) == 1
        assert lookup.take_notes() == []  # the block's own buffer: the note before it is not here
        first_id, _second_id = _two_named_alike(session)
        assert lookup.resolve_contact(session, "Maria Schmidt").id == first_id
    with lookup.interaction():  # a block without a sink: its notes end with it
        lookup.resolve_contact(session, str(gone_id))
    with pytest.raises(Ambiguous):
        lookup.resolve_contact(session, "Maria Schmidt")
    notes = lookup.take_notes()
    assert len(notes) == 1 and notes[0].endswith(f"using #{kept_id}")  # the one left before the blocks


def test_a_command_line_invocation_leaves_no_sink_or_chooser_behind(cli, db_url: str) -> None:
    gone = ok(cli("contacts", "add", "Ann Gone", "-e", "ann@old.de", "-q")).stdout.strip()
    kept = ok(cli("contacts", "add", "Ann Kept", "-e", "ann@new.de", "-q")).stdout.strip()
    ok(cli("contacts", "merge", kept, gone, "--yes"))
    ok(cli("contacts", "add", "Maria Schmidt", "-e", "maria@a.de"))
    ok(cli("contacts", "add", "Maria Schmidt", "-e", "maria@b.de", "--allow-duplicate"))
    shown = ok(cli("contacts", "show", gone, "-f", "json"))
    assert f"#{gone} was merged into #{kept} Ann Kept" in shown.stderr  # the invocation's sink: stderr
    lookup.take_notes()
    with storage.session_scope(db_url) as s:
        assert lookup.resolve_contact(s, gone).id == int(kept)
        [said] = lookup.take_notes()  # no sink of the command line's is left to print it
        assert said.startswith(f"#{gone} was merged into #{kept} Ann Kept")
        with pytest.raises(Ambiguous):  # nor its chooser
            lookup.resolve_contact(s, "Maria Schmidt")
