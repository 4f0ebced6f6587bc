"""Attachments at the web edge: reading uploaded files from forms, the larger body limit of
the forms that take them, and the download of a stored file to those who may see it."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from portal.db import get_session
from portal.tickets.attachments import (
    Attachment,
    AttachmentRefused,
    Rules,
    Store,
    Upload,
)

log = logging.getLogger(__name__)

bp = Blueprint("attachments", __name__)

# The forms that carry files: their requests may be larger than MAX_CONTENT_LENGTH.
UPLOAD_ENDPOINTS = frozenset(
    {"intake.new_request", "intake.record_call", "tickets.reply", "article_images.upload"}
)
# What a download may do in a browser that opens it anyway: nothing.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def store_of(app: Flask) -> Store:
    """Return the site's attachments folder."""
    return Store(app.config["ATTACHMENTS_PATH"])


def rules_of(app: Flask) -> Rules:
    """Return the site's attachment limits."""
    return Rules.from_config(app.config)


def accept_attribute(rules: Rules) -> str:
    """Return the file input's ``accept`` list: the extensions the rules allow."""
    return ",".join(f".{ext}" for ext in sorted(rules.types))


def request_limit(app: Flask) -> int:
    """Return the largest body an upload form may send: every file at its limit plus text."""
    rules = rules_of(app)
    return int(app.config["MAX_CONTENT_LENGTH"]) + rules.max_files * (rules.max_bytes + 4096)


def allow_upload_bodies() -> None:
    """Raise this request's body limit when it sends files to a form that takes them (runs
    before anything reads the body). Only multipart bodies carry files; their text fields
    stay limited by MAX_FORM_MEMORY_SIZE each."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.mimetype == "multipart/form-data":
        request.max_content_length = request_limit(current_app)


def megabytes(size: int) -> str:
    """Return a size in MB for messages, in the reader's number format."""
    return str(format_decimal(round(size / (1024 * 1024), 1)))


def refusal_message(refused: AttachmentRefused) -> str:
    """Return why a file was refused, in the reader's language."""
    name = refused.filename
    if refused.reason == "too_large":
        return _(
            "%(name)s is larger than %(size)s MB, the limit for one file.",
            name=name,
            size=megabytes(refused.limit or 0),
        )
    if refused.reason == "too_many":
        return _("At most %(count)s files can go with one message.", count=refused.limit)
    if refused.reason == "empty":
        return _("%(name)s is empty.", name=name)
    if refused.reason == "mismatch":
        return _(
            "The content of %(name)s does not match its file type; it was not accepted.",
            name=name,
        )
    return _(
        "%(name)s is not a type we accept: images, PDF, text and log files, office "
        "documents and zip archives are.",
        name=name,
    )


def read_uploads(field_data: list[FileStorage] | None, rules: Rules) -> list[Upload]:
    """Return the files a form's file field carries (a browser sends an empty part when
    none was chosen); raise ``AttachmentRefused`` for a file over the size limit, read no
    further than just past it."""
    uploads = []
    for storage in field_data or []:
        if not isinstance(storage, FileStorage) or not storage.filename:
            continue
        content = storage.stream.read(rules.max_bytes + 1)
        uploads.append(Upload(storage.filename, content))
    return uploads


def status_for(refused: AttachmentRefused) -> int:
    """Return the HTTP status of a refusal: 413 for size, 422 for the rest."""
    return 413 if refused.reason == "too_large" else 422


@bp.get("/tickets/<int:ticket_id>/attachments/<int:attachment_id>")
@login_required
def download(ticket_id: int, attachment_id: int) -> ResponseReturnValue:
    """Send a stored file to its ticket's requester (not an internal note's) or to staff,
    always as a download; anyone else gets 404."""
    from portal.tickets.views import ticket_for_reader

    ticket = ticket_for_reader(ticket_id)
    attachment = get_session().get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.ticket_id != ticket.id
        or (attachment.internal and not current_user.is_staff)
    ):
        abort(404)
    path = store_of(current_app).path(attachment.storage_name)
    if not path.is_file():
        log.error("attachment %s of ticket %s is missing at %s", attachment.id, ticket.id, path)
        abort(404)
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["Cache-Control"] = "private, no-store"
    return response
