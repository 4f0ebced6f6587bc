"""Admin → Knowledge gaps: the largest groups of similar resolved tickets without an article,
as the background job last computed them."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.auth import role_required
from portal.auth.models import Role
from portal.db import get_session
from portal.jobs import jobs_of
from portal.kb.gap_reports import PERIODS, report_for, request_report, shown_gaps

bp = Blueprint("gaps", __name__, url_prefix="/admin")


def _period(raw: str) -> int | None:
    """The period asked for in days (None: all time); 400 for any other value."""
    if raw and (not raw.isdigit() or int(raw) not in PERIODS):
        abort(
            400,
            description=_(
                "The period must be one of %(days)s days.",
                days=", ".join(str(d) for d in PERIODS),
            ),
        )
    return int(raw) if raw else None


@bp.get("/knowledge-gaps")
@role_required(Role.ADMIN)
def gaps() -> ResponseReturnValue:
    """Groups of alike resolved tickets that no article covers, largest first, as last
    computed (the first visit of a period asks the job to compute it)."""
    days = _period(request.args.get("days", ""))
    db = get_session()
    report = report_for(db, days)
    if report is None:
        report = request_report(db, days)
        db.commit()
        jobs_of(current_app).poke_gaps()
    return render_template(
        "admin/gaps.html",
        gaps=shown_gaps(db, report),
        report=report,
        days=days,
        periods=PERIODS,
    )


@bp.post("/knowledge-gaps/recompute")
@role_required(Role.ADMIN)
def recompute() -> ResponseReturnValue:
    """Ask the background job to compute a period's groups again."""
    days = _period(request.form.get("days", ""))
    request_report(get_session(), days)
    get_session().commit()
    jobs_of(current_app).poke_gaps()
    flash(_("The groups are being computed again; reload the page in a few seconds."), "info")
    return redirect(url_for("gaps.gaps", days=days))
