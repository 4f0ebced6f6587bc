"""Which ticket a mail belongs to: signed Message-IDs out, and reading them back in.

Plain Python, no Flask. Every message the desk sends about a ticket carries a Message-ID
made by :func:`outgoing_message_id`: the ticket's number, a random part and an HMAC of
both under the site's secret. Mail clients quote it in a reply's In-Reply-To and
References, so :func:`ticket_for` finds the ticket from a reply, and nobody can make an
id that points at another ticket without the secret.

The subject tag (:func:`subject_tag`, "[#123]") is for people and for clients that drop
the headers. It is only a hint, a number anyone can type: :func:`tagged_ticket` reads
it, and mail intake follows it only when the sender is that ticket's requester (see
``portal/tickets/mail_in.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from email.message import EmailMessage

# Keeps the HMAC key for Message-IDs apart from other uses of the same secret.
_PURPOSE = b"solveloop mail threading v1"
_SIGNATURE_CHARS = 24  # hex: 96 bits (the pattern below says 24 too)
_ID = re.compile(
    r"<solveloop\.(?P<ticket>[1-9][0-9]{0,17})\.(?P<nonce>[0-9a-f]{16})"
    r"\.(?P<signature>[0-9a-f]{24})@[^<>\s@]+>",
    re.IGNORECASE,
)
_TAG = re.compile(r"\[#([1-9][0-9]{0,17})\]")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
# In-Reply-To and References name at most this many ids that are read (newest last).
MAX_REFERENCES = 50


def _signature(ticket_id: int, nonce: str, secret: str) -> str:
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    mac = hmac.new(key, f"{ticket_id}.{nonce}".encode(), hashlib.sha256)
    return mac.hexdigest()[:_SIGNATURE_CHARS]


def outgoing_message_id(ticket_id: int, secret: str, domain: str) -> str:
    """Return a new, unique Message-ID (with angle brackets) that names and signs ``ticket_id``.

    ``domain`` is the right-hand side (the desk's mail domain); it must be a plain host
    name, so the id can never carry a line break or a second header.
    """
    if type(ticket_id) is not int or ticket_id < 1:
        raise ValueError(f"not a ticket id: {ticket_id!r}")
    if not secret:
        raise ValueError("a secret is needed to sign Message-IDs")
    if not _DOMAIN.match(domain):
        raise ValueError(f"not a mail domain: {domain[:80]!r}")
    nonce = secrets.token_hex(8)
    return f"<solveloop.{ticket_id}.{nonce}.{_signature(ticket_id, nonce, secret)}@{domain}>"


def subject_tag(ticket_id: int) -> str:
    """Return the tag that outgoing subjects carry for ``ticket_id``, e.g. "[#123]"."""
    return f"[#{ticket_id}]"


def signed_ticket(message_id: str, secret: str) -> int | None:
    """Return the ticket id a Message-ID made by :func:`outgoing_message_id` names, if its
    signature is right under ``secret``; None for any other id."""
    match = _ID.fullmatch(message_id.strip())
    if match is None or not secret:
        return None
    ticket_id = int(match["ticket"])
    expected = _signature(ticket_id, match["nonce"].lower(), secret)
    if not hmac.compare_digest(expected, match["signature"].lower()):
        return None
    return ticket_id


def referenced_ids(message: EmailMessage) -> list[str]:
    """Return the Message-IDs a message answers: In-Reply-To first, then References from
    the newest back (at most ``MAX_REFERENCES`` of them)."""
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        values = message.get_all(name) or []
        ids = [i for value in values for i in re.findall(r"<[^<>\s]{1,990}>", str(value))]
        for message_id in reversed(ids[-MAX_REFERENCES:]):
            if message_id not in found:
                found.append(message_id)
    return found


def ticket_for(message: EmailMessage, secret: str) -> int | None:
    """Return the ticket a reply answers, from the first correctly signed Message-ID in its
    In-Reply-To or References; None when there is none (the subject tag is not read)."""
    for message_id in referenced_ids(message):
        ticket_id = signed_ticket(message_id, secret)
        if ticket_id is not None:
            return ticket_id
    return None


def tagged_ticket(subject: str) -> int | None:
    """Return the ticket number of the first "[#123]" tag in a subject, or None.

    Only a hint: anyone can type a number. Follow it only when the sender is already
    known to belong on that ticket.
    """
    match = _TAG.search(subject)
    return int(match[1]) if match else None
