"""Images in articles: staff upload one in the article's editor (into the attachments
store: content-checked, random names outside static), and readers fetch it with the
article's own visibility (a public published article's images for anyone who may read
it, the rest for staff only)."""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from articles.lifecycle import may_read
from articles.models import Article, ArticleImage, utcnow
from portal.auth import role_required
from portal.auth.models import Role
from portal.db import get_session
from portal.tickets.attachment_views import (
    read_uploads,
    refusal_message,
    rules_of,
    status_for,
    store_of,
)
from portal.tickets.attachments import (
    AttachmentRefused,
    Rules,
    display_name,
    file_type,
    write_pending,
)

log = logging.getLogger(__name__)

bp = Blueprint("article_images", __name__)

IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
# An image opened on its own may do nothing but show itself.
IMAGE_POLICY = "default-src 'none'; img-src 'self'; sandbox"


def image_rules() -> Rules:
    """Return the site's attachment limits narrowed to the image types browsers show."""
    rules = rules_of(current_app)
    return Rules(max_bytes=rules.max_bytes, max_files=1, types=rules.types & IMAGE_TYPES)


def markdown_for(image: ArticleImage) -> str:
    """Return the Markdown that shows an image, its file name (less the extension) as alt."""
    alt = image.filename.rpartition(".")[0] or image.filename
    for mark in "[]\\":
        alt = alt.replace(mark, " ")
    return f"![{' '.join(alt.split())}](/kb/images/{image.id})"


@bp.post("/editor/articles/<int:article_id>/images")
@role_required(Role.TECHNICIAN)
def upload(article_id: int) -> ResponseReturnValue:
    """Store one image for the article; answer the fragment that offers its Markdown
    (the editor inserts it into the text)."""
    db = get_session()
    article = db.get(Article, article_id)
    if article is None:
        abort(404)
    rules = image_rules()
    try:
        uploads = read_uploads(request.files.getlist("image"), rules)
        if len(uploads) != 1:
            return render_template(
                "editor/_image.html", error=_("Choose one image to upload.")
            ), 422
        kind = file_type(uploads[0], rules)
    except AttachmentRefused as refused:
        return render_template("editor/_image.html", error=refusal_message(refused)), status_for(
            refused
        )
    content = uploads[0].content
    image = ArticleImage(
        article=article,
        filename=display_name(uploads[0].filename),
        content_type=kind.content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        storage_name=write_pending(db, store_of(current_app), content),
        uploader_id=current_user.id,
        created_at=utcnow(),
    )
    db.add(image)
    db.commit()
    return render_template("editor/_image.html", image=image, markdown=markdown_for(image)), 201


@bp.get("/kb/images/<int:image_id>")
def show(image_id: int) -> ResponseReturnValue:
    """Send an article's image to whoever may read the article (404 for anyone else)."""
    image = get_session().get(ArticleImage, image_id)
    staff = bool(current_user.is_authenticated and current_user.is_staff)
    if image is None or not may_read(image.article.state, image.article.visibility, staff):
        abort(404)
    path = store_of(current_app).path(image.storage_name)
    if not path.is_file():
        log.error("image %s of article %s is missing at %s", image.id, image.article_id, path)
        abort(404)
    response = send_file(
        path, mimetype=image.content_type, conditional=True, etag=image.sha256, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    # Readers' caches only: whether it may be seen can change (archived, made internal).
    response.headers["Cache-Control"] = "private, no-cache"
    return response
