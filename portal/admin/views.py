"""Admin: the curation dashboard, search report and synonyms, and the desk's settings."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from articles.models import Article, ArticleState, Category, utcnow
from articles.revisions import waiting_since
from articles.staleness import review_queue
from portal.admin import catalogue, settings
from portal.admin.catalogue import InvalidCatalogueEntry, Names
from portal.admin.forms import (
    SECTIONS,
    WEEKDAY_NAMES,
    CannedReplyForm,
    CategoryForm,
    GroupForm,
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
from portal.i18n import locale_code
from portal.intake.models import Deflection
from portal.jobs import jobs_of
from portal.kb.reports import DEFAULT_PERIOD, PERIODS, unanswered_searches, unopened_searches
from portal.tickets import canned, mail_out
from portal.tickets.clocks import refresh_open
from portal.tickets.models import SupportGroup, Ticket
from portal.tickets.notifications import MailStatus, Notification
from portal.tickets.routing import active_groups, active_staff
from portal.tickets.workflow import IMPACTS, URGENCIES

bp = Blueprint("admin", __name__, url_prefix="/admin")

Row = TypeVar("Row")


@bp.get("/")
@role_required(Role.ADMIN)
def dashboard() -> ResponseReturnValue:
    """Articles by state, the review queue, the top deflecting articles, tickets by status."""
    db = get_session()
    by_state = dict(db.execute(select(Article.state, func.count()).group_by(Article.state)).all())
    in_review = db.scalars(select(Article).where(Article.state == ArticleState.IN_REVIEW)).all()
    waiting = {a.id: waiting_since(a.revisions) or a.updated_at for a in in_review}
    in_review = sorted(in_review, key=lambda a: (waiting[a.id], a.id))
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
        to_check=review_queue(db, settings.review_periods(db), utcnow()),
        by_state=by_state,
        in_review=in_review,
        waiting=waiting,
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
    if {"sla_targets", "business_calendar"} & set(changed):
        refresh_open(db, utcnow())  # open tickets' deadlines follow the new targets
    db.commit()
    if changed:
        flash(_("Settings saved."), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("admin.settings_page", _anchor=section))


def _group_choices(form: CategoryForm, locale: str) -> None:
    form.group.choices = [SelectChoice("", _("No group"))] + [
        SelectChoice(str(g.id), g.name(locale)) for g in active_groups(get_session())
    ]


def _group_id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _categories_page(
    add_form: CategoryForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    db = get_session()
    locale = locale_code()
    routes = catalogue.routes(db)
    categories = catalogue.ordered_categories(db)
    rows = []
    for category in categories:
        form = CategoryForm(formdata=None, prefix=f"c{category.id}")
        _group_choices(form, locale)
        form.name_en.data, form.name_zh.data = category.name_en, category.name_zh
        form.group.data = str(routes.get(category.id, ""))
        rows.append((category, form))
    if add_form is None:
        add_form = CategoryForm(formdata=None)
        _group_choices(add_form, locale)
    return render_template(
        "admin/categories.html",
        rows=rows,
        add_form=add_form,
        error=error,
        changes=catalogue.catalogue_history(db, "category"),
        differences=settings.differences,
        groups={g.id: g for g in db.scalars(select(SupportGroup))},
        categories={c.id: c for c in categories},
    ), status


@bp.get("/categories")
@role_required(Role.ADMIN)
def categories() -> ResponseReturnValue:
    """Request categories in order, each with the group its requests go to."""
    return _categories_page()


@bp.post("/categories")
@role_required(Role.ADMIN)
def add_category() -> ResponseReturnValue:
    """Add a category at the end of the list."""
    form = CategoryForm()
    _group_choices(form, locale_code())
    if not form.validate_on_submit():
        return _categories_page(form, _("Check the fields marked below."), 422)
    db = get_session()
    try:
        category = catalogue.add_category(
            db,
            Names(form.name_en.data, form.name_zh.data),
            _group_id(form.group.data),
            current_user.id,
        )
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _categories_page(form, str(exc.message), 422)
    db.commit()
    flash(_("Category added: %(name)s", name=category.name(locale_code())), "info")
    return redirect(url_for("admin.categories"))


def _found(model: type[Row], row_id: int) -> Row:
    """Return the row of ``model`` with ``row_id``; 404 when there is none."""
    row = get_session().get(model, row_id)
    if row is None:
        abort(404)
    return row


def _retired_flag(refusal: str) -> bool:
    """Read the retire buttons' value ("1" retire, "0" use again); 400 with ``refusal``."""
    retired = request.form.get("retired")
    if retired not in ("0", "1"):
        abort(400, description=refusal)
    return retired == "1"


@bp.post("/categories/<int:category_id>")
@role_required(Role.ADMIN)
def update_category(category_id: int) -> ResponseReturnValue:
    """Rename a category or route it to another group."""
    category = _found(Category, category_id)
    form = CategoryForm(prefix=f"c{category.id}")
    _group_choices(form, locale_code())
    if not form.validate_on_submit():
        return _categories_page(
            error=_("Give the name in both English and Chinese (at most 120 characters)."),
            status=422,
        )
    db = get_session()
    try:
        changed = catalogue.update_category(
            db,
            category,
            Names(form.name_en.data, form.name_zh.data),
            _group_id(form.group.data),
            current_user.id,
        )
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _categories_page(error=str(exc.message), status=422)
    db.commit()
    flash(_("Category saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/move")
@role_required(Role.ADMIN)
def move_category(category_id: int) -> ResponseReturnValue:
    """Move a category one place up or down in every list of categories."""
    category = _found(Category, category_id)
    direction = request.form.get("direction")
    if direction not in ("up", "down"):
        abort(400, description=_("Move a category up or down."))
    db = get_session()
    catalogue.move_category(db, category, -1 if direction == "up" else 1, current_user.id)
    db.commit()
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<int:category_id>/retire")
@role_required(Role.ADMIN)
def retire_category(category_id: int) -> ResponseReturnValue:
    """Retire a category, or bring a retired one back."""
    category = _found(Category, category_id)
    retired = _retired_flag(_("Say whether to retire the category or bring it back."))
    db = get_session()
    catalogue.retire_category(db, category, retired, current_user.id)
    db.commit()
    if retired:
        flash(_("Retired: new requests and articles can no longer choose it."), "info")
    else:
        flash(_("The category is in use again."), "info")
    return redirect(url_for("admin.categories"))


def _member_choices(form: GroupForm, staff: list[User], group: SupportGroup | None) -> None:
    people = list(staff)
    if group is not None:  # a member who lost the role or was deactivated still shows
        people += [m for m in group.members if m not in people]
    form.members.choices = [SelectChoice(u.id, f"{u.display_name} ({u.username})") for u in people]


def _groups_page(
    add_form: GroupForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    db = get_session()
    staff = active_staff(get_session())
    groups = catalogue.ordered_groups(db)
    rows = []
    for group in groups:
        form = GroupForm(formdata=None, prefix=f"g{group.id}", obj=group)
        _member_choices(form, staff, group)
        form.members.data = [m.id for m in group.members]
        rows.append((group, form))
    if add_form is None:
        add_form = GroupForm(formdata=None)
        _member_choices(add_form, staff, None)
    routed: dict[int, list[Category]] = {}
    every_category = {c.id: c for c in catalogue.ordered_categories(db)}
    for category_id, group_id in catalogue.routes(db).items():
        routed.setdefault(group_id, []).append(every_category[category_id])
    changes = catalogue.catalogue_history(db, "group:")
    # Members named in the record, current or not.
    named = {m for c in changes for v in (c.old_value, c.new_value) if v for m in v["members"]}
    return render_template(
        "admin/groups.html",
        rows=rows,
        add_form=add_form,
        error=error,
        routed=routed,
        changes=changes,
        differences=settings.differences,
        people={u.id: u for u in db.scalars(select(User).where(User.id.in_(named)))},
    ), status


@bp.get("/groups")
@role_required(Role.ADMIN)
def groups() -> ResponseReturnValue:
    """Support groups by line, with their members and the categories routed to them."""
    return _groups_page()


def _group_values(form: GroupForm) -> tuple[Names, int, bool, list[int]]:
    return (
        Names(form.name_en.data, form.name_zh.data),
        form.line.data,
        bool(form.auto_assign.data),
        list(form.members.data or []),
    )


@bp.post("/groups")
@role_required(Role.ADMIN)
def add_group() -> ResponseReturnValue:
    """Add a support group."""
    form = GroupForm()
    _member_choices(form, active_staff(get_session()), None)
    if not form.validate_on_submit():
        return _groups_page(form, _("Check the fields marked below."), 422)
    db = get_session()
    try:
        group = catalogue.add_group(db, *_group_values(form), current_user.id)
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _groups_page(form, str(exc.message), 422)
    db.commit()
    flash(_("Group added: %(name)s", name=group.name(locale_code())), "info")
    return redirect(url_for("admin.groups"))


@bp.post("/groups/<int:group_id>")
@role_required(Role.ADMIN)
def update_group(group_id: int) -> ResponseReturnValue:
    """Rename a group, change its line, assignment rule or members."""
    group = _found(SupportGroup, group_id)
    form = GroupForm(prefix=f"g{group.id}")
    _member_choices(form, active_staff(get_session()), group)
    if not form.validate_on_submit():
        return _groups_page(
            error=_("Give both names, a support line from 1 to 5 and members from the list."),
            status=422,
        )
    db = get_session()
    try:
        changed = catalogue.update_group(db, group, *_group_values(form), current_user.id)
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _groups_page(error=str(exc.message), status=422)
    db.commit()
    flash(_("Group saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin.groups"))


@bp.post("/groups/<int:group_id>/retire")
@role_required(Role.ADMIN)
def retire_group(group_id: int) -> ResponseReturnValue:
    """Retire a group (its categories route nowhere until changed), or bring it back."""
    group = _found(SupportGroup, group_id)
    retired = _retired_flag(_("Say whether to retire the group or bring it back."))
    db = get_session()
    catalogue.retire_group(db, group, retired, current_user.id)
    db.commit()
    flash(_("Group retired.") if retired else _("The group is in use again."), "info")
    return redirect(url_for("admin.groups"))


@bp.get("/mail")
@role_required(Role.ADMIN)
def outgoing_mail() -> ResponseReturnValue:
    """Mail sent and waiting to be sent: status, attempts and the last error, newest first."""
    raw = request.args.get("status", "")
    statuses = {s.value: s for s in MailStatus if s is not MailStatus.NONE}
    if raw and raw not in statuses:
        abort(400, description=_("Unknown mail status."))
    db = get_session()
    return render_template(
        "admin/mail.html",
        mails=mail_out.outgoing(db, statuses.get(raw)),
        status=raw,
        statuses=list(statuses),
        transport="smtp" if current_app.config.get("SMTP_HOST") else "mailbox",
        mailbox=str(mail_out.mailbox_path(current_app)),
    )


@bp.get("/mail/<int:notification_id>")
@role_required(Role.ADMIN)
def mail_message(notification_id: int) -> ResponseReturnValue:
    """One notification's mail as its recipient reads it (the text part)."""
    db = get_session()
    notification = _found(Notification, notification_id)
    if notification.mail_status is MailStatus.NONE:
        abort(404)
    message = mail_out.build(current_app, db, notification)
    body = message.get_body(("plain",))
    return render_template(
        "admin/mail_message.html",
        notification=notification,
        message=message,
        text=body.get_content() if body is not None else "",
    )


@bp.post("/mail/<int:notification_id>/retry")
@role_required(Role.ADMIN)
def retry_mail(notification_id: int) -> ResponseReturnValue:
    """Send a failed mail again."""
    db = get_session()
    notification = _found(Notification, notification_id)
    if not mail_out.retry(db, notification):
        abort(422, description=_("Only a failed mail can be sent again."))
    db.commit()
    jobs_of(current_app).poke_mail()
    flash(_("The mail will be sent again."), "info")
    return redirect(url_for("admin.outgoing_mail", status="failed"))


def _replies_page(
    add_form: CannedReplyForm | None = None, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    db = get_session()
    rows = [
        (reply, CannedReplyForm(formdata=None, prefix=f"r{reply.id}", obj=reply))
        for reply in canned.ordered(db)
    ]
    return render_template(
        "admin/replies.html",
        rows=rows,
        add_form=add_form or CannedReplyForm(formdata=None),
        placeholders=canned.PLACEHOLDERS,
        changes=catalogue.catalogue_history(db, "reply:"),
        differences=settings.differences,
        error=error,
    ), status


def _reply_values(form: CannedReplyForm) -> tuple[Names, Names]:
    return (
        Names(form.title_en.data or "", form.title_zh.data or ""),
        Names(form.body_en.data or "", form.body_zh.data or ""),
    )


@bp.get("/replies")
@role_required(Role.ADMIN)
def canned_replies() -> ResponseReturnValue:
    """The canned replies technicians insert into their replies."""
    return _replies_page()


@bp.post("/replies")
@role_required(Role.ADMIN)
def add_canned_reply() -> ResponseReturnValue:
    """Add a canned reply."""
    form = CannedReplyForm()
    if not form.validate_on_submit():
        return _replies_page(form, _("Give both titles and both texts."), 422)
    db = get_session()
    try:
        reply = canned.add(db, *_reply_values(form), current_user.id)
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _replies_page(form, str(exc.message), 422)
    db.commit()
    flash(_("Canned reply added: %(title)s", title=reply.title(locale_code())), "info")
    return redirect(url_for("admin.canned_replies"))


@bp.post("/replies/<int:reply_id>")
@role_required(Role.ADMIN)
def update_canned_reply(reply_id: int) -> ResponseReturnValue:
    """Change a canned reply's titles or texts."""
    reply = _found(canned.CannedReply, reply_id)
    form = CannedReplyForm(prefix=f"r{reply.id}")
    if not form.validate_on_submit():
        return _replies_page(error=_("Give both titles and both texts."), status=422)
    db = get_session()
    try:
        changed = canned.update(db, reply, *_reply_values(form), current_user.id)
    except InvalidCatalogueEntry as exc:
        db.rollback()
        return _replies_page(error=str(exc.message), status=422)
    db.commit()
    flash(_("Canned reply saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for("admin.canned_replies"))


@bp.post("/replies/<int:reply_id>/retire")
@role_required(Role.ADMIN)
def retire_canned_reply(reply_id: int) -> ResponseReturnValue:
    """Retire a canned reply (no longer offered), or use it again."""
    reply = _found(canned.CannedReply, reply_id)
    retired = _retired_flag(_("Say whether to retire the reply or use it again."))
    db = get_session()
    canned.retire(db, reply, retired, current_user.id)
    db.commit()
    return redirect(url_for("admin.canned_replies"))
