"""Configuration defaults; instance/config.py and SOLVELOOP_* variables override them."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # The database: SQLite in the instance folder unless DATABASE_URL says otherwise.
    "DATABASE_URL": None,
    "INDEX_PATH": None,
    # The largest request body; the forms that take attachments allow their files on top.
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # Ticket attachments: the folder (default INSTANCE/attachments, never under static),
    # the largest file, the most files per message, and the extensions accepted (None: all
    # that portal.tickets.attachments.KNOWN_TYPES knows).
    "ATTACHMENTS_PATH": None,
    "ATTACHMENT_MAX_BYTES": 10 * 1024 * 1024,
    "ATTACHMENT_MAX_FILES": 5,
    "ATTACHMENT_TYPES": None,
    "LANGUAGES": ("en", "zh_CN"),
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "UTC",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "solveloop_session",
    "REMEMBER_COOKIE_DURATION": 0,
    "WTF_CSRF_TIME_LIMIT": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per minute",
    # Failed sign-ins per account name, from any address: each tier waits longer.
    "ACCOUNT_LOGIN_RATE_LIMIT": "5 per minute; 20 per hour",
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto/-Host to trust
    # (1 behind one nginx). 0 trusts none: the client address is the connection's.
    "TRUSTED_PROXIES": 0,
    "SUGGEST_RATE_LIMIT": "120 per minute",
    # Technicians may publish their own articles without an admin's review.
    "TECHNICIANS_CAN_PUBLISH": False,
    # Mail intake (`solveloop mail-in`): the largest message read, in bytes; how many
    # messages one sender may send within the window (minutes) before the rest are ignored;
    # the authserv-id of the organisation's mail server whose Authentication-Results header
    # vouches for staff senders (empty: replies from staff addresses are refused).
    "MAIL_IN_MAX_BYTES": 25 * 1024 * 1024,
    "MAIL_IN_SENDER_LIMIT": 20,
    "MAIL_IN_SENDER_WINDOW_MINUTES": 10,
    "MAIL_AUTHSERV_ID": "",
    # Run the outbox indexer in a thread of each web process (the demo); production may
    # run `solveloop worker` instead and switch this off.
    "INDEXER_THREAD": True,
    "INDEXER_POLL_SECONDS": 0.5,
    "SEARCH_PER_PAGE": 10,
    "SUGGEST_LIMIT": 5,
    # Where links in mail point: the portal's address as users reach it.
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Outgoing mail. With no SMTP host, mail goes to the instance's mailbox folder
    # (a Maildir, MAILBOX_PATH or instance/mailbox) and admins read it under Outgoing mail.
    "SMTP_HOST": "",
    "SMTP_PORT": 25,
    "SMTP_SECURITY": "none",  # "none", "starttls" or "ssl"
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_TIMEOUT": 20,
    "MAILBOX_PATH": None,
    # The sender; empty uses the desk's address from the settings page.
    "MAIL_FROM": "",
    "MAIL_FROM_NAME": "Service desk",
    # Background jobs (mail, service-level sweeps, reminders, auto-close) on Huey: its
    # SQLite store in the instance folder, or a redis:// address for several nodes.
    "JOBS_URL": "",
    # Run the job consumer in a thread of one web process (the demo); production runs
    # `solveloop worker` instead and switches this off.
    "JOBS_IN_PROCESS": True,
}


def secret_key(instance_path: Path) -> str:
    """Return the instance's secret key, creating it (mode 600) on first use."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
