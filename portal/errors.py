"""HTTP errors as pages (or JSON for API clients) with a message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def render_error(code: int, title: str, message: str) -> ResponseReturnValue:
    """Render an error page or JSON body with the status code."""
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


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    """Turn an HTTP exception into a page with its own message."""
    code = error.code or 500
    own_description = error.description != type(error).description
    if code in MESSAGES and not (own_description and code in (403, 413)):
        message = str(MESSAGES[code])
    else:
        message = error.description or ""
    return render_error(code, str(TITLES.get(code, error.name)), message)


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    """A missing or stale CSRF token: nothing was saved; ask the user to reload."""
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
    return render_error(500, InternalServerError.name, _("Something went wrong on our side."))


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
