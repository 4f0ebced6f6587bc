"""Signed Message-IDs name their ticket, cannot be made for another one, and are read back."""

from email import policy
from email.parser import BytesParser

import pytest

from portal.tickets.threading import (
    outgoing_message_id,
    referenced_ids,
    signed_ticket,
    subject_tag,
    tagged_ticket,
    ticket_for,
)

SECRET = "site secret"


def reply_to(*ids: str, references: str = "") -> object:
    head = f"From: a@corp.example.com\nIn-Reply-To: {' '.join(ids)}\n"
    if references:
        head += f"References: {references}\n"
    return BytesParser(policy=policy.default).parsebytes(f"{head}\nhello\n".encode())


def test_an_outgoing_message_id_is_unique_bracketed_and_names_its_ticket():
    first = outgoing_message_id(42, SECRET, "corp.example.com")
    second = outgoing_message_id(42, SECRET, "corp.example.com")
    assert first != second
    assert first.startswith("<solveloop.42.") and first.endswith("@corp.example.com>")
    assert signed_ticket(first, SECRET) == 42
    assert signed_ticket(second, SECRET) == 42


def test_a_message_id_cannot_be_moved_to_another_ticket_or_made_without_the_secret():
    genuine = outgoing_message_id(42, SECRET, "corp.example.com")
    moved = genuine.replace("<solveloop.42.", "<solveloop.43.")
    assert signed_ticket(moved, SECRET) is None
    assert signed_ticket(genuine, "another secret") is None
    assert signed_ticket(genuine, "") is None
    assert (
        signed_ticket("<solveloop.42.0000000000000000.000000000000000000000000@x>", SECRET) is None
    )
    assert signed_ticket("<CAF3q8W@mail.gmail.com>", SECRET) is None


@pytest.mark.parametrize("domain", ["corp.example.com\r\nBcc: x@y", "a b", "", "<x>", "x@y"])
def test_an_outgoing_message_id_refuses_a_domain_that_could_inject_a_header(domain):
    with pytest.raises(ValueError):
        outgoing_message_id(1, SECRET, domain)


@pytest.mark.parametrize("ticket_id", [0, -1, True])
def test_an_outgoing_message_id_needs_a_real_ticket_id(ticket_id):
    with pytest.raises(ValueError):
        outgoing_message_id(ticket_id, SECRET, "corp.example.com")


def test_a_reply_is_traced_through_in_reply_to_or_references():
    ours = outgoing_message_id(7, SECRET, "corp.example.com")
    assert ticket_for(reply_to(ours), SECRET) == 7
    foreign = reply_to("<other@mail.gmail.com>", references=f"{ours} <other@mail.gmail.com>")
    assert ticket_for(foreign, SECRET) == 7
    assert ticket_for(reply_to("<other@mail.gmail.com>"), SECRET) is None


def test_in_reply_to_comes_before_the_references_newest_first():
    old, new = (outgoing_message_id(n, SECRET, "corp.example.com") for n in (1, 2))
    message = reply_to("<x@y>", references=f"{old} {new}")
    assert referenced_ids(message)[0] == "<x@y>"
    assert ticket_for(message, SECRET) == 2


def test_the_subject_tag_is_the_ticket_number_in_brackets():
    assert subject_tag(123) == "[#123]"
    assert tagged_ticket("RE: [#123] VPN error 809") == 123
    assert tagged_ticket("回复：[#9] 打印机连不上 [#12]") == 9
    assert tagged_ticket("Printer #123 offline") is None
