"""Admin: the curation dashboard, search report and synonyms, and the desk's settings."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from articles.models import Article, ArticleState, utcnow
from portal.admin import settings
from portal.admin.forms import (
    SECTIONS,
    WEEKDAY_NAMES,
    SettingsForm,
    business_hours,
    matrix_cell,
    sla_field,
)
from portal.admin.models import SynonymGroup
from portal.admin.settings import PRIORITIES, InvalidSetting, config_defaults
from portal.admin.synonyms import (
    MAX_GROUP_CHARS,
    MAX_GROUP_WORDS,
    InvalidSynonyms,
    new_group,
)
from portal.auth import role_required
from portal.auth.models import Role, User
from portal.db import get_session
from portal.intake.models import Deflection
from portal.kb.reports import DEFAULT_PERIOD, PERIODS, unanswered_searches, unopened_searches
from portal.tickets.models import Ticket
from portal.tickets.workflow import IMPACTS, URGENCIES

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@role_required(Role.ADMIN)
def dashboard() -> ResponseReturnValue:
    """Articles by state, the review queue, the top deflecting articles, tickets by status."""
    db = get_session()
    by_state = dict(db.execute(select(Article.state, func.count()).group_by(Article.state)).all())
    in_review = db.scalars(
        select(Article).where(Article.state == ArticleState.IN_REVIEW).order_by(Article.updated_at)
    ).all()
    deflectors = db.execute(
        select(Article, func.count(Deflection.id).label("n"))
        .join(Deflection, Deflection.article_id == Article.id)
        .group_by(Article.id)
        .order_by(func.count(Deflection.id).desc())
        .limit(10)
    ).all()
    tickets = dict(db.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
    deflections = db.scalar(select(func.count(Deflection.id))) or 0
    users = db.scalars(select(User).order_by(User.role, User.username)).all()
    return render_template(
        "admin/dashboard.html",
        by_state=by_state,
        in_review=in_review,
        deflectors=deflectors,
        tickets=tickets,
        deflections=deflections,
        users=users,
        states=list(ArticleState),
    )


@bp.get("/searches")
@role_required(Role.ADMIN)
def searches() -> ResponseReturnValue:
    """Readers' searches that found nothing, and those whose results nobody opened."""
    raw = request.args.get("days", str(DEFAULT_PERIOD))
    if not raw.isdigit() or int(raw) not in PERIODS:
        abort(
            400,
            description=_(
                "The period must be one of %(days)s days.",
                days=", ".join(str(d) for d in PERIODS),
            ),
        )
    days = int(raw)
    since = utcnow() - timedelta(days=days)
    db = get_session()
    return render_template(
        "admin/searches.html",
        days=days,
        periods=PERIODS,
        unanswered=unanswered_searches(db, since),
        unopened=unopened_searches(db, since),
    )


@bp.get("/synonyms")
@role_required(Role.ADMIN)
def synonyms() -> ResponseReturnValue:
    """The synonym groups search expands queries with."""
    groups = get_session().scalars(select(SynonymGroup).order_by(SynonymGroup.id)).all()
    return render_template("admin/synonyms.html", groups=groups)


@bp.post("/synonyms")
@role_required(Role.ADMIN)
def add_synonyms() -> ResponseReturnValue:
    """Add a group such as 'wifi, 无线, wireless'; search uses it at once."""
    try:
        group = new_group(request.form.get("terms", ""))
    except InvalidSynonyms:
        abort(
            422,
            description=_(
                "A synonym group needs two to %(n)s different comma-separated entries "
                "(at most %(chars)s characters).",
                n=MAX_GROUP_WORDS,
                chars=MAX_GROUP_CHARS,
            ),
        )
    db = get_session()
    db.add(group)
    db.commit()
    current_app.extensions["solveloop.synonyms"].refresh()
    flash(_("Synonyms saved: %(terms)s", terms=group.terms), "info")
    return redirect(url_for("admin.synonyms"))


@bp.post("/synonyms/<int:group_id>/delete")
@role_required(Role.ADMIN)
def delete_synonyms(group_id: int) -> ResponseReturnValue:
    """Remove a synonym group."""
    db = get_session()
    group = db.get(SynonymGroup, group_id)
    if group is None:
        abort(404)
    db.delete(group)
    db.commit()
    current_app.extensions["solveloop.synonyms"].refresh()
    flash(_("Synonym group removed."), "info")
    return redirect(url_for("admin.synonyms"))


def _settings_page(
    forms: dict[str, SettingsForm] | None = None, errors: dict[str, str] | None = None
) -> str:
    db = get_session()
    values = settings.current(db, config_defaults(current_app.config))
    shown: dict[str, SettingsForm] = {}
    for section, form_class in SECTIONS.items():
        if forms and section in forms:
            shown[section] = forms[section]
        else:
            shown[section] = form_class(formdata=None)
            shown[section].show(values)
    return render_template(
        "admin/settings.html",
        forms=shown,
        errors=errors or {},
        changes=settings.history(db),
        differences=settings.differences,
        business_hours=business_hours,
        weekday_names=WEEKDAY_NAMES,
        impacts=IMPACTS,
        urgencies=URGENCIES,
        priorities=PRIORITIES,
        matrix_cell=matrix_cell,
        sla_field=sla_field,
    )


@bp.get("/settings")
@role_required(Role.ADMIN)
def settings_page() -> ResponseReturnValue:
    """The desk's settings by section, and the record of their changes."""
    return _settings_page()


@bp.post(f"/settings/<any({', '.join(SECTIONS)}):section>")
@role_required(Role.ADMIN)
def save_settings(section: str) -> ResponseReturnValue:
    """Save one section of the settings; each changed value is recorded."""
    form = SECTIONS[section]()
    if not form.validate_on_submit():
        return _settings_page({section: form}, {section: _("Check the fields marked below.")}), 422
    db = get_session()
    defaults = config_defaults(current_app.config)
    try:
        changed = [
            key
            for key, value in form.values().items()
            if settings.change(db, key, value, current_user.id, defaults)
        ]
    except InvalidSetting as exc:
        db.rollback()
        return _settings_page({section: form}, {section: str(exc.message)}), 422
    db.commit()
    if changed:
        flash(_("Settings saved."), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("admin.settings_page", _anchor=section))
