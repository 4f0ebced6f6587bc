"""Input at the edge: what a request may carry, checked and normalised before any view.

Form routes take form encodings only, every value is valid UTF-8, and every text value
(query string and form alike) passes :func:`portal.text.clean_text` once, here, so views,
forms and the database only ever see normalised text.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from flask import abort, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from portal.text import clean_text, is_single_line

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def guard_request() -> ResponseReturnValue | None:
    """Refuse bodies that are not forms (415) or not UTF-8 (400); normalise all text."""
    if request.method in BODY_METHODS and not request.path.startswith("/api/"):
        has_body = (
            bool(request.content_length)
            or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        )
        if request.mimetype not in FORM_TYPES and (has_body or request.mimetype):
            abort(415, description=_("This address accepts form submissions only."))
    try:
        parse_qsl(request.query_string.decode("utf-8"), errors="strict")
        if request.mimetype == "application/x-www-form-urlencoded":
            parse_qsl(request.get_data(cache=True).decode("utf-8"), errors="strict")
        elif request.mimetype == "multipart/form-data":
            for values in request.form.listvalues():
                for value in values:
                    if "\ufffd" in value:
                        raise UnicodeDecodeError("utf-8", b"", 0, 1, "replacement character")
    except (UnicodeDecodeError, UnicodeEncodeError):
        abort(400, description=_("The request contains text that is not valid UTF-8."))
    # Werkzeug caches both on the request object; replacing them is how every reader
    # (views, Flask-WTF, Flask-Limiter's key functions) gets the normalised values.
    request.args = _cleaned(request.args)  # type: ignore[misc]
    if request.mimetype in FORM_TYPES:
        request.form = _cleaned(request.form)  # type: ignore[misc]
    return None


def _cleaned(values: MultiDict[str, str]) -> ImmutableMultiDict[str, str]:
    return ImmutableMultiDict(
        [
            (clean_text(key, single_line=True), clean_text(value, is_single_line(value)))
            for key, value in values.items(multi=True)
        ]
    )
