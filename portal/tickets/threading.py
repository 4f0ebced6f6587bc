"""Message-IDs that lead a reply back to its ticket, signed so they cannot be forged."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

MESSAGE_ID = re.compile(r"<solveloop\.(\d+)\.([0-9a-f]{32})\.([0-9a-f]{20})@[^>]+>")


def _signature(ticket_id: int, nonce: str, secret: str) -> str:
    message = f"{ticket_id}.{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:20]


def outgoing_message_id(ticket_id: int, secret: str, domain: str) -> str:
    """Return a fresh Message-ID, with angle brackets, that names and signs ``ticket_id``."""
    nonce = uuid.uuid4().hex
    return f"<solveloop.{ticket_id}.{nonce}.{_signature(ticket_id, nonce, secret)}@{domain}>"


def ticket_in(message_id: str, secret: str) -> int | None:
    """Return the ticket a Message-ID of ours names, or None (not ours, or forged)."""
    found = MESSAGE_ID.fullmatch(message_id.strip())
    if found is None:
        return None
    ticket_id, nonce, signature = int(found[1]), found[2], found[3]
    if not hmac.compare_digest(signature, _signature(ticket_id, nonce, secret)):
        return None
    return ticket_id


def subject_tag(ticket_id: int) -> str:
    """Return the tag outgoing subjects carry, e.g. "[#123]"."""
    return f"[#{ticket_id}]"
