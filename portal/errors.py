"""HTTP errors as pages (or JSON for API clients) with a message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def _recover_database_session() -> None:
    """Roll back this request's session, and make sure the page can render without it.

    A failed flush leaves the session unusable until rolled back, and the page's header
    reads the signed-in user: reload that user once, and show the page signed out if even
    that fails (the database may be down).
    """
    from portal.auth import login_manager

    session = g.get("db")
    try:
        failed = session is not None and not session.is_active
        if failed:
            session.rollback()
        user = current_user._get_current_object()
        if failed and user.is_authenticated:
            session.refresh(user)
    except Exception:  # the error page must render whatever state the database is in
        log.warning("the database is unusable while rendering an error page", exc_info=True)
        broken = g.pop("db", None)
        if broken is not None:
            broken.invalidate()
        g._login_user = login_manager.anonymous_user()


def render_error(code: int, title: str, message: str) -> ResponseReturnValue:
    """Render an error page or JSON body with the status code."""
    try:
        return _render(code, title, message)
    except Exception:  # a broken template or catalogue must still give the user a page
        log.exception("rendering the error page failed")
        page = f"<!doctype html><title>{code}</title><h1>{escape(title)}</h1><p>{escape(message)}"
        return Response(page, status=code, mimetype="text/html")


def _render(code: int, title: str, message: str) -> ResponseReturnValue:
    if _wants_json():
        return jsonify(error=title, message=message, status=code), code
    if request.headers.get("HX-Request"):
        return render_template("partials/error.html", message=message), code
    return render_template("error.html", code=code, title=title, message=message), code


TITLES = {
    400: _l("Bad request"),
    401: _l("Sign-in needed"),
    403: _l("Not allowed"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    413: _l("Too large"),
    415: _l("Unsupported content"),
    422: _l("Cannot be processed"),
    429: _l("Too many requests"),
}
# Messages for errors raised without a description of our own.
MESSAGES = {
    401: _l("Please sign in to continue."),
    403: _l("You do not have permission to do this."),
    404: _l("There is nothing here, or you may not see it."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests: please wait a moment and try again."),
}


def _takes_files() -> bool:
    from portal.tickets.attachment_views import UPLOAD_ENDPOINTS

    return request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data"


def _too_large_upload() -> str:
    from portal.tickets.attachment_views import megabytes, rules_of

    rules = rules_of(current_app)
    return _(
        "What you sent is too large, and nothing was saved: at most %(count)s files of "
        "%(size)s MB each can go with one message. Go back, remove the largest file and "
        "send again.",
        count=rules.max_files,
        size=megabytes(rules.max_bytes),
    )


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Turn an HTTP exception into a page with its own message."""
    _recover_database_session()
    code = error.code or 500
    own_description = error.description != type(error).description
    if code == 413 and not own_description and _takes_files():
        message = _too_large_upload()
    elif code in MESSAGES and not (own_description and code in (403, 404, 413)):
        message = str(MESSAGES[code])
    else:
        message = error.description or ""
    return render_error(code, str(TITLES.get(code, error.name)), message)


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    """A missing or stale CSRF token: nothing was saved; ask the user to reload."""
    _recover_database_session()
    return render_error(
        400,
        _("Form expired"),
        _(
            "The form's security token is missing or expired; nothing was saved. "
            "Reload the page and try again."
        ),
    )


def handle_unexpected(error: Exception) -> ResponseReturnValue:
    """Log an unexpected error and show a plain 500 page."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("unhandled error", exc_info=error)
    _recover_database_session()
    return render_error(500, _("Internal error"), _("Something went wrong on our side."))


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
