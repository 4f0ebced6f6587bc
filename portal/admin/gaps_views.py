"""Admin → Knowledge gaps: the largest groups of similar resolved tickets without an article."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from articles.models import utcnow
from portal.auth import role_required
from portal.auth.models import Role
from portal.db import get_session
from portal.kb.gaps import knowledge_gaps, synonym_groups

bp = Blueprint("gaps", __name__, url_prefix="/admin")

PERIODS = (30, 90, 365)
SHOWN = 20


@bp.get("/knowledge-gaps")
@role_required(Role.ADMIN)
def gaps() -> ResponseReturnValue:
    """Groups of alike resolved tickets that no article covers, largest first, each with a
    suggested title and a link to draft the article from its most typical ticket."""
    raw = request.args.get("days", "")
    if raw and (not raw.isdigit() or int(raw) not in PERIODS):
        abort(
            400,
            description=_(
                "The period must be one of %(days)s days.",
                days=", ".join(str(d) for d in PERIODS),
            ),
        )
    days = int(raw) if raw else None
    db = get_session()
    since = utcnow() - timedelta(days=days) if days else None
    found = knowledge_gaps(db, synonym_groups(db), since, limit=SHOWN)
    return render_template("admin/gaps.html", gaps=found, days=days, periods=PERIODS)
