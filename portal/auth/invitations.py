"""Links that let a person choose their password: for accounts the desk created for a
caller or a mail sender, which have none.

A link is signed with the site's secret and names the account and a fingerprint of its
current password hash, so it stops working once a password is set (or changed) and after
``MAX_AGE`` seconds.
"""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from portal.auth.models import User

SALT = "solveloop.set-password"
MAX_AGE = 14 * 24 * 3600


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def password_token(secret: str, user: User) -> str:
    """Return a token that lets ``user`` choose a password, once."""
    return URLSafeTimedSerializer(secret, salt=SALT).dumps(
        {"user": user.id, "hash": _fingerprint(user)}
    )


def user_for_token(
    session: Session, secret: str, token: str, max_age: int = MAX_AGE
) -> User | None:
    """Return the active account ``token`` is for, or None when it is forged, expired or
    already used."""
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=max_age)
    except BadSignature:  # also expired (SignatureExpired is a BadSignature)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), int):
        return None
    user = session.get(User, data["user"])
    if user is None or not user.active or data.get("hash") != _fingerprint(user):
        return None
    return user
