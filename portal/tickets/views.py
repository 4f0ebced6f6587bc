"""The user's tickets, the technicians' queue, and the ticket page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from babel.dates import get_day_names
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import false, select
from wtforms import SelectChoice

from articles.lifecycle import may_read
from articles.models import Article, ArticleState, Category, utcnow
from articles.service import categories_to_choose, learn_phrasing
from portal.admin import settings
from portal.auth import role_required
from portal.auth.models import Role, User
from portal.db import get_session
from portal.i18n import locale_code
from portal.kb.queries import similar_articles
from portal.kb.views import page_number
from portal.tickets import canned, saved_views, service, text_search
from portal.tickets import queue as queue_query
from portal.tickets.attachment_views import (
    accept_attribute,
    megabytes,
    read_uploads,
    refusal_message,
    rules_of,
    status_for,
    store_of,
)
from portal.tickets.attachments import AttachmentRefused, attach, check_all, visible_attachments
from portal.tickets.clocks import ticket_clocks
from portal.tickets.forms import (
    AssignForm,
    EscalateForm,
    FieldsForm,
    PriorityForm,
    RatingForm,
    ReplyForm,
    ResolveForm,
    SavedViewForm,
    StatusForm,
)
from portal.tickets.mail_out import rating_token_valid
from portal.tickets.models import (
    ArticleLink,
    Channel,
    EventKind,
    Status,
    SupportGroup,
    Ticket,
    TicketEvent,
    group_members,
)
from portal.tickets.routing import active_groups, active_staff, escalation_targets
from portal.tickets.workflow import OPEN_STATUSES, TransitionRefused, allowed_targets

bp = Blueprint("tickets", __name__)

QUEUE_VIEWS = ("open", "mine", "my_groups", "unassigned", "at_risk", "breached", "resolved", "all")
# How the queue can be ordered: the next deadline (paused and finished tickets last), the
# priority, the oldest first, the latest change first, or (with a search) the best match.
QUEUE_SORTS = ("deadline", "priority", "age", "updated", "relevance")
QUEUE_FILTERS = ("status", "priority", "category", "channel")
PER_PAGE = 25
MAX_QUERY = 200


def _me() -> User:
    user = get_session().get(User, current_user.id)
    assert user is not None
    return user


def people_of(ticket: Ticket) -> list[str]:
    """Return the names, usernames, e-mails and phones of the people on a ticket (to redact):
    requester, assignee, recorder, and whoever acted on it (replies, notes, assignments)."""
    people = {ticket.requester, ticket.assignee, ticket.recorded_by}
    people |= {e.actor_user for e in ticket.events}
    ids = {v for e in ticket.events if e.field == "assignee" for v in (e.old_value, e.new_value)}
    ids = {v for v in ids if isinstance(v, int)} - {p.id for p in people if p is not None}
    if ids:
        people |= set(get_session().scalars(select(User).where(User.id.in_(ids))))
    found = [value for person in people if person is not None for value in person.identifiers()]
    return sorted(set(found))


def ticket_for_reader(ticket_id: int) -> Ticket:
    """Return the ticket if the reader is its requester or staff; 404 otherwise (no leak)."""
    ticket = get_session().get(Ticket, ticket_id)
    if ticket is None or not (current_user.is_staff or ticket.requester_id == current_user.id):
        abort(404)
    return ticket


@bp.get("/tickets")
@login_required
def my_tickets() -> ResponseReturnValue:
    """The signed-in user's own requests, newest first, a page at a time like the queue."""
    page = page_number()
    tickets = (
        get_session()
        .scalars(
            select(Ticket)
            .where(Ticket.requester_id == current_user.id)
            .order_by(Ticket.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
        .all()
    )
    return render_template(
        "tickets/mine.html",
        tickets=tickets[:PER_PAGE],
        page=page,
        has_next=len(tickets) > PER_PAGE,
    )


def _queue_filters(now: datetime) -> tuple[str, str, dict[str, str], queue_query.Selection]:
    """Read the queue's view, order, filters and search from the query string (400 when
    unknown); return them with the selection of tickets they make."""
    view = request.args.get("view", "open")
    q = " ".join(request.args.get("q", "").split())
    if len(q) > MAX_QUERY:
        abort(400, description=_("The search is too long."))
    # A search keeps the queue's order (as desks do); the best match first is a choice.
    sort = request.args.get("sort") or "deadline"
    if view not in QUEUE_VIEWS:
        abort(400, description=_("Unknown queue view."))
    if sort not in QUEUE_SORTS or (sort == "relevance" and not q):
        abort(400, description=_("Unknown queue order."))
    chosen = {key: request.args.get(key, "") for key in QUEUE_FILTERS}
    chosen["q"] = q
    allowed = {
        "status": {s.value for s in Status},
        "priority": set(settings.PRIORITIES),
        "channel": {c.value for c in Channel},
    }
    for key, values in allowed.items():
        if chosen[key] and chosen[key] not in values:
            abort(400, description=_("Unknown value for %(filter)s.", filter=key))
    if chosen["category"] and not (chosen["category"].isdigit() and len(chosen["category"]) < 10):
        abort(400, description=_("Unknown value for %(filter)s.", filter="category"))
    in_view: list[Any] = {
        "open": [],
        "mine": [Ticket.assignee_id == current_user.id],
        "my_groups": [Ticket.group_id.in_(_my_group_ids())],
        "unassigned": [Ticket.assignee_id.is_(None)],
        "at_risk": [Ticket.sla_warn_at <= now, Ticket.sla_due_at > now],
        "breached": [Ticket.sla_due_at <= now],
        "resolved": [],
        "all": [],
    }[view]
    search = text_search.parse(q) if q else None
    if q and search is None:
        # A search with no searchable word (only stop words or punctuation) finds nothing.
        in_view = [*in_view, false()]
    selection = queue_query.Selection(
        statuses=queue_query.view_statuses(view),
        view_conditions=in_view,
        priority=chosen["priority"],
        category_id=int(chosen["category"]) if chosen["category"] else None,
        channel=Channel(chosen["channel"]) if chosen["channel"] else None,
        search=search,
        status=Status(chosen["status"]) if chosen["status"] else None,
        needs_deadline=view in ("at_risk", "breached"),
    )
    return view, sort, chosen, selection


def _my_group_ids() -> list[int]:
    """Return the ids of the signed-in person's groups (a list: the planner sees values)."""
    mine = select(group_members.c.group_id).where(group_members.c.user_id == current_user.id)
    return list(get_session().scalars(mine))


@bp.get("/queue")
@role_required(Role.TECHNICIAN)
def queue() -> ResponseReturnValue:
    """The technicians' queue: a view (open, mine, my groups, unassigned, at risk,
    breached, resolved, all), narrowed by status, priority, category and channel, with the
    count in each status, in an order (next deadline first by default)."""
    now = utcnow()
    view, sort, chosen, selection = _queue_filters(now)
    db = get_session()
    selection = queue_query.plan_search(db, selection)
    counts = queue_query.count_by_status(db, selection)
    page = page_number()
    ids = queue_query.page_ids(db, selection, sort, (page - 1) * PER_PAGE, PER_PAGE + 1)
    tickets = queue_query.load_tickets(db, ids[:PER_PAGE])
    args = {"view": view, "sort": sort, **{k: v for k, v in chosen.items() if v}}
    me = _me()
    return render_template(
        "tickets/queue.html",
        tickets=tickets,
        view=view,
        page=page,
        has_next=len(ids) > PER_PAGE,
        views=QUEUE_VIEWS,
        sort=sort,
        sorts=QUEUE_SORTS,
        chosen=chosen,
        args=args,
        counts=counts,
        statuses=list(Status),
        categories=categories_to_choose(db, None),
        channels=list(Channel),
        priorities=settings.PRIORITIES,
        assign_form=_assign_form(None, formdata=None),
        resolve_form=ResolveForm(formdata=None),
        view_form=SavedViewForm(formdata=None),
        saved_views=saved_views.visible_to(db, me),
        current_view=saved_views.kept_arguments(args),
        is_admin=me.role is Role.ADMIN,
        now=now,
    )


@bp.post("/queue/assign")
@role_required(Role.TECHNICIAN)
def bulk_assign() -> ResponseReturnValue:
    """Give the ticked tickets to a group and/or person (finished ones are left alone)."""
    form = _assign_form(None)
    ids = _ticked()
    if not form.validate_on_submit():
        abort(422, description=_("Choose a group and a person from the lists."))
    db = get_session()
    group = db.get(SupportGroup, int(form.group.data)) if form.group.data else None
    person = db.get(User, int(form.assignee.data)) if form.assignee.data else None
    me = _me()
    moved = 0
    for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(ids))):
        if ticket.status in (Status.RESOLVED, Status.CLOSED):
            continue
        service.reassign(db, ticket, group, person, me, form.reason.data or "")
        moved += 1
    db.commit()
    flash(ngettext("%(num)d ticket assigned.", "%(num)d tickets assigned.", moved), "info")
    return _back_to_queue()


def _back_to_queue() -> ResponseReturnValue:
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/queue") else url_for("tickets.queue"))


def _solving_article(form: ResolveForm) -> Article | None:
    """Return the published article a resolution names as its solution (422 if none)."""
    if not form.solved_by.data:
        return None
    article = get_session().get(Article, form.solved_by.data)
    if article is None or article.state is not ArticleState.PUBLISHED:
        abort(422, description=_("Choose a published article from the list."))
    return article


def _ticked() -> list[int]:
    ids = request.form.getlist("ticket")
    if not ids or not all(i.isdigit() and len(i) < 10 for i in ids) or len(ids) > PER_PAGE * 4:
        abort(422, description=_("Tick the tickets first."))
    return sorted({int(i) for i in ids})


@bp.post("/queue/resolve")
@role_required(Role.TECHNICIAN)
def bulk_resolve() -> ResponseReturnValue:
    """Resolve the ticked open tickets with one diagnosis and solution (an outage that
    many reported); each requester is asked to confirm, as with one ticket."""
    ids = _ticked()
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(
            422,
            description=_(
                "A resolution needs a diagnosis and a solution (at most 20,000 characters each)."
            ),
        )
    db = get_session()
    solved_by = _solving_article(form)
    me = _me()
    resolved = 0
    for ticket in db.scalars(select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id)):
        if ticket.status not in OPEN_STATUSES:
            continue
        service.record_resolution(
            ticket, me, form.diagnosis.data or "", form.cause.data or "", form.solution.data
        )
        if solved_by is not None and service.link_article(
            ticket, solved_by, ArticleLink.SOLVED_BY, me
        ):
            learn_phrasing(db, solved_by, ticket.subject, "ticket", people_of(ticket))
        resolved += 1
    db.commit()
    skipped = len(ids) - resolved
    flash(ngettext("%(num)d ticket resolved.", "%(num)d tickets resolved.", resolved), "info")
    if skipped:
        flash(
            ngettext(
                "%(num)d ticket was already resolved or closed and was left alone.",
                "%(num)d tickets were already resolved or closed and were left alone.",
                skipped,
            ),
            "info",
        )
    return _back_to_queue()


@bp.post("/queue/views")
@role_required(Role.TECHNICIAN)
def save_view() -> ResponseReturnValue:
    """Save the queue's current view, filters, search and order under a name."""
    form = SavedViewForm()
    if not form.validate_on_submit():
        abort(422, description=_("Give the view a name of at most 60 characters."))
    back = request.form.get("back", "")
    if not back.startswith("/queue"):
        abort(422, description=_("Save a view from the queue."))
    arguments = dict(parse_qsl(urlsplit(back).query))
    db = get_session()
    try:
        view = saved_views.save(db, _me(), form.name.data or "", arguments, bool(form.shared.data))
    except saved_views.SavedViewRefused as exc:
        abort(422, description=str(exc.message))
    db.commit()
    flash(_("View “%(name)s” saved.", name=view.name), "info")
    return redirect(url_for("tickets.queue", **view.arguments))


@bp.post("/queue/views/<int:view_id>/delete")
@role_required(Role.TECHNICIAN)
def delete_view(view_id: int) -> ResponseReturnValue:
    """Remove a saved view (its owner, or an admin for a shared one)."""
    db = get_session()
    view = db.get(saved_views.SavedView, view_id)
    me = _me()
    if view is None or not (view.shared or view.owner_id == me.id):
        abort(404)
    try:
        saved_views.remove(db, view, me)
    except saved_views.SavedViewRefused as exc:
        abort(403, description=str(exc.message))
    db.commit()
    flash(_("View “%(name)s” removed.", name=view.name), "info")
    return redirect(url_for("tickets.queue"))


def timeline_context(ticket: Ticket, events: list[TicketEvent]) -> dict[str, Any]:
    """Return the people, categories and readable articles the events refer to by id."""
    db = get_session()
    user_ids = {ticket.requester_id} | {e.actor_id for e in events if e.actor_id is not None}
    for e in events:
        if e.field == "assignee":
            user_ids |= {v for v in (e.old_value, e.new_value) if isinstance(v, int)}
        if isinstance((e.detail or {}).get("recipient"), int):
            user_ids.add(e.detail["recipient"])
    article_ids = {e.detail.get("article_id") for e in events if e.kind is EventKind.ARTICLE_LINKED}
    article_ids |= {a.id for a in ticket.solved_by}
    staff = bool(current_user.is_staff)
    articles = {
        a.id: a
        for a in db.scalars(select(Article).where(Article.id.in_(article_ids - {None})))
        if may_read(a.state, a.visibility, staff)
    }
    # A reply to a closed ticket opened another: both name each other, for those who may
    # see the other one.
    follows = next((e.detail.get("follows") for e in events if e.kind is EventKind.CREATED), None)
    followed_by = [e.detail.get("opened") for e in events if e.kind is EventKind.FOLLOWED_UP]
    linked = [db.get(Ticket, i) for i in [follows, *followed_by] if isinstance(i, int)]
    readable = {
        t.id: t for t in linked if t is not None and (staff or t.requester_id == current_user.id)
    }
    return {
        "follows": readable.get(follows) if isinstance(follows, int) else None,
        "followed_by": [readable[i] for i in followed_by if i in readable],
        "attachments": visible_attachments(db, ticket, staff),
        "people": {u.id: u for u in db.scalars(select(User).where(User.id.in_(user_ids)))},
        "categories": {c.id: c for c in db.scalars(select(Category))},
        "groups": {g.id: g for g in db.scalars(select(SupportGroup))},
        "articles": articles,
        "solved_by": [a for a in ticket.solved_by if a.id in articles],
    }


@bp.get("/tickets/<int:ticket_id>")
@login_required
def show(ticket_id: int) -> ResponseReturnValue:
    """The ticket with its history; internal notes and staff tools for staff only."""
    return _ticket_page(ticket_for_reader(ticket_id), ReplyForm(), 200)


def _ticket_page(ticket: Ticket, reply_form: ReplyForm, code: int) -> ResponseReturnValue:
    """Render the ticket page with ``reply_form`` as typed (and its errors) and status."""
    events = [e for e in ticket.events if current_user.is_staff or not e.internal]
    status_form = StatusForm()
    status_form.status.choices = [
        SelectChoice(s.value)
        for s in allowed_targets(ticket.status)
        if s not in (Status.RESOLVED, Status.CLOSED)
    ]
    resolve_form = ResolveForm(obj=ticket)
    resolve_form.solution.data = ticket.solution
    staff_forms: dict[str, Any] = {}
    if current_user.is_staff:
        staff_forms = {
            "fields_form": _fields_form(ticket, formdata=None),
            "priority_form": PriorityForm(formdata=None, data={"priority": ticket.priority}),
            "assign_form": _assign_form(ticket, formdata=None),
            "escalate_form": _escalate_form(ticket, formdata=None),
        }
    canned_replies = (
        canned.ordered(get_session(), active_only=True) if current_user.is_staff else []
    )
    chosen = request.args.get("canned", "")
    if canned_replies and chosen:
        picked = next((r for r in canned_replies if str(r.id) == chosen), None)
        if picked is None:
            abort(404)
        reply_form.body.data = canned.fill(
            picked,
            ticket,
            _me(),
            url_for("tickets.service_levels", _external=True),
            str(current_app.config["BABEL_DEFAULT_LOCALE"]),
        )
    rules = rules_of(current_app)
    context = timeline_context(ticket, events)
    return render_template(
        "tickets/show.html",
        ticket=ticket,
        events=events,
        canned_replies=canned_replies,
        **context,
        cited=_cited_before(ticket, context["articles"]) if current_user.is_staff else [],
        reply_form=reply_form,
        status_form=status_form,
        resolve_form=resolve_form,
        clocks=ticket_clocks(get_session(), ticket, utcnow()),
        seen=max((e.id for e in ticket.events if e.id is not None), default=0),
        rating_form=RatingForm()
        if ticket.status is Status.CLOSED and ticket.rating is None
        else None,
        accept=accept_attribute(rules),
        max_files=rules.max_files,
        max_megabytes=megabytes(rules.max_bytes),
        max_bytes=rules.max_bytes,
        similar=similar_articles(get_session(), f"{ticket.subject}\n{ticket.symptom}", True)
        if current_user.is_staff
        else [],
        **staff_forms,
    ), code


def _cited_before(ticket: Ticket, articles: dict[int, Article]) -> list[Article]:
    """The published articles sent in this ticket's replies that do not solve it yet:
    the likely choices for "solved by"."""
    ids = [
        e.detail.get("article_id")
        for e in ticket.events
        if e.kind is EventKind.ARTICLE_LINKED and e.detail.get("relation") == ArticleLink.CITED
    ]
    solving = {a.id for a in ticket.solved_by}
    return [
        articles[i]
        for i in dict.fromkeys(ids)
        if i in articles and i not in solving and articles[i].state is ArticleState.PUBLISHED
    ]


MAX_CITED = 10


def _cited_in(body: str) -> list[Article]:
    """The public articles a technician inserted into a public reply (the picker sends
    their ids as ``cites``) whose address the sent text still holds."""
    raw = request.form.getlist("cites")
    if len(raw) > MAX_CITED or not all(v.isdigit() and len(v) < 10 for v in raw):
        abort(400, description=_("A reply can cite at most %(n)s articles.", n=MAX_CITED))
    ids = list(dict.fromkeys(int(v) for v in raw))
    if not ids:
        return []
    found = get_session().scalars(select(Article).where(Article.id.in_(ids))).all()
    return [
        a
        for a in sorted(found, key=lambda a: ids.index(a.id))
        if a.state is ArticleState.PUBLISHED
        and may_read(a.state, a.visibility, staff=False)
        and re.search(rf"/articles/{a.id}(?![0-9])", body)
    ]


@bp.post("/tickets/<int:ticket_id>/solved-by")
@role_required(Role.TECHNICIAN)
def link_solution(ticket_id: int) -> ResponseReturnValue:
    """Record which published article solved the ticket, at any time; the requester's
    words are learned by that article, as when resolving."""
    ticket = ticket_for_reader(ticket_id)
    raw = request.form.get("solved_by", "")
    article = get_session().get(Article, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if article is None or article.state is not ArticleState.PUBLISHED:
        abort(422, description=_("Choose a published article from the list."))
    if service.link_article(ticket, article, ArticleLink.SOLVED_BY, _me()):
        learn_phrasing(get_session(), article, ticket.subject, "ticket", people_of(ticket))
        get_session().commit()
        flash(_("Recorded: “%(title)s” solved this ticket.", title=article.title), "info")
    else:
        flash(_("That article is already recorded as solving this ticket."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/solved-by/<int:article_id>/remove")
@role_required(Role.TECHNICIAN)
def unlink_solution(ticket_id: int, article_id: int) -> ResponseReturnValue:
    """Take back a "solved by" recorded by mistake (the record keeps both events)."""
    ticket = ticket_for_reader(ticket_id)
    article = get_session().get(Article, article_id)
    if article is None or not service.unlink_solution(ticket, article, _me()):
        abort(404)
    get_session().commit()
    flash(
        _("“%(title)s” is no longer recorded as solving this ticket.", title=article.title), "info"
    )
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _category_choices(ticket: Ticket) -> list[SelectChoice]:
    return [SelectChoice("", _("Not sure"))] + [
        SelectChoice(str(c.id), c.name(locale_code()))
        for c in categories_to_choose(get_session(), ticket.category_id)
    ]


def _fields_form(ticket: Ticket, **kwargs: Any) -> FieldsForm:
    form = FieldsForm(obj=ticket, **kwargs)
    form.category.choices = _category_choices(ticket)
    if kwargs.get("formdata", True) is None:
        form.category.data = str(ticket.category_id or "")
    return form


def _group_label(group: SupportGroup) -> str:
    return _("%(name)s (line %(line)s)", name=group.name(locale_code()), line=group.line)


def _assign_form(ticket: Ticket | None, **kwargs: Any) -> AssignForm:
    form = AssignForm(**kwargs)
    form.group.choices = [SelectChoice("", _("No group"))] + [
        SelectChoice(str(g.id), _group_label(g)) for g in active_groups(get_session())
    ]
    form.assignee.choices = [SelectChoice("", _("Nobody (the group's queue)"))] + [
        SelectChoice(str(u.id), u.display_name) for u in active_staff(get_session())
    ]
    if kwargs.get("formdata", True) is None and ticket is not None:
        form.group.data = str(ticket.group_id or "")
        form.assignee.data = str(ticket.assignee_id or "")
    return form


def _escalate_form(ticket: Ticket, **kwargs: Any) -> EscalateForm:
    form = EscalateForm(**kwargs)
    form.group.choices = [
        SelectChoice(str(g.id), _group_label(g))
        for g in escalation_targets(get_session(), ticket.group)
    ]
    return form


# The fields each staff form writes: a save is refused if someone else changed one of them
# after the page was loaded.
CONFLICTS_FIELDS = frozenset(service.EDITABLE_FIELDS) | {"priority"}
CONFLICTS_PRIORITY = frozenset({"priority", "impact", "urgency", "core_system_down"})
CONFLICTS_ASSIGN = frozenset({"assignee", "group"})
CONFLICTS_STATUS = frozenset({"status"})
CONFLICTS_RESOLVE = frozenset({"status", "diagnosis", "cause", "solution"})


def _changed_since_loaded(ticket: Ticket, fields: frozenset[str]) -> ResponseReturnValue | None:
    """Return a 409 page listing what others changed in ``fields`` since the page was
    loaded (its form says which event it had seen last), or None when nothing did."""
    seen = request.form.get("seen", "")
    if not seen.isdigit():
        return None
    changed = [
        e
        for e in ticket.events
        if e.id is not None
        and e.id > int(seen)
        and e.field in fields
        and e.actor_id != current_user.id
    ]
    if not changed:
        return None
    events = [e for e in changed if current_user.is_staff or not e.internal]
    return render_template(
        "tickets/conflict.html", ticket=ticket, events=events, **timeline_context(ticket, events)
    ), 409


def _open_for_work(ticket_id: int) -> Ticket:
    ticket = ticket_for_reader(ticket_id)
    if ticket.status is Status.CLOSED:
        abort(422, description=_("This ticket is closed; it can no longer change."))
    return ticket


@bp.post("/tickets/<int:ticket_id>/fields")
@role_required(Role.TECHNICIAN)
def correct_fields(ticket_id: int) -> ResponseReturnValue:
    """Correct what intake captured; each changed field is recorded with who changed it."""
    ticket = _open_for_work(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_FIELDS)) is not None:
        return conflict
    form = _fields_form(ticket)
    if not form.validate_on_submit():
        abort(
            422,
            description=_("Check the request's fields: %(fields)s.", fields=", ".join(form.errors)),
        )
    service.change_fields(
        ticket,
        _me(),
        {
            "subject": form.subject.data.strip(),
            "symptom": form.symptom.data,
            "started": (form.started.data or "").strip(),
            "category": int(form.category.data) if form.category.data else None,
            "impact": form.impact.data,
            "urgency": form.urgency.data,
            "core_system_down": bool(form.core_system_down.data),
            "contact": (form.contact.data or "").strip(),
        },
        form.reason.data or "",
    )
    get_session().commit()
    flash(_("The request is corrected."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id) + "#history")


@bp.post("/tickets/<int:ticket_id>/priority")
@role_required(Role.TECHNICIAN)
def override_priority(ticket_id: int) -> ResponseReturnValue:
    """Override the priority the matrix gave; the reason is recorded."""
    ticket = _open_for_work(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_PRIORITY)) is not None:
        return conflict
    form = PriorityForm()
    if not form.validate_on_submit():
        abort(422, description=_("Choose P1 to P4 and give a reason (at most 500 characters)."))
    if form.priority.data != ticket.priority:
        service.set_priority(ticket, form.priority.data, _me(), form.reason.data.strip())
        get_session().commit()
        flash(_("The priority is now %(priority)s.", priority=form.priority.data), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _chosen(model: type[Any], raw: str) -> Any:
    if not raw:
        return None
    found = get_session().get(model, int(raw))
    if found is None:
        abort(422, description=_("That choice no longer exists; reload the page."))
    return found


@bp.post("/tickets/<int:ticket_id>/assign")
@role_required(Role.TECHNICIAN)
def assign(ticket_id: int) -> ResponseReturnValue:
    """Give the ticket to a group and/or a person."""
    ticket = _open_for_work(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_ASSIGN)) is not None:
        return conflict
    form = _assign_form(ticket)
    if not form.validate_on_submit():
        abort(422, description=_("Choose a group and a person from the lists."))
    group = _chosen(SupportGroup, form.group.data)
    person = _chosen(User, form.assignee.data)
    reason = (form.reason.data or "").strip()
    db = get_session()
    service.reassign(db, ticket, group, person, _me(), reason)
    db.commit()
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/escalate")
@role_required(Role.TECHNICIAN)
def escalate(ticket_id: int) -> ResponseReturnValue:
    """Hand the ticket to a group of a higher support line, with a reason."""
    ticket = _open_for_work(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_ASSIGN)) is not None:
        return conflict
    form = _escalate_form(ticket)
    if not form.validate_on_submit():
        abort(422, description=_("Choose a group of a higher line and say why."))
    db = get_session()
    group = _chosen(SupportGroup, form.group.data)
    service.reassign(db, ticket, group, None, _me(), form.reason.data.strip())
    db.commit()
    flash(_("Escalated to %(group)s.", group=group.name(locale_code())), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/reply")
@login_required
def reply(ticket_id: int) -> ResponseReturnValue:
    """Add a public reply, or an internal note when staff ask for one."""
    ticket = ticket_for_reader(ticket_id)
    if ticket.status is Status.CLOSED:
        abort(422, description=_("This ticket is closed; open a new request instead."))
    form = ReplyForm()
    if not form.validate_on_submit():
        abort(422, description=_("A message cannot be empty or longer than 20,000 characters."))
    me = _me()
    internal = form.internal.data == "1"
    if internal and not me.is_staff:
        abort(403)
    rules = rules_of(current_app)
    try:
        uploads = read_uploads(form.files.data, rules)
        check_all(uploads, rules)
    except AttachmentRefused as refused:
        form.files.errors = [refusal_message(refused), _("Choose the files again.")]
        return _ticket_page(ticket, form, status_for(refused))
    cited = _cited_in(form.body.data) if me.is_staff and not internal else []
    if internal:
        event = service.add_note(ticket, me, form.body.data)
    else:
        event = service.add_reply(ticket, me, form.body.data)
    for article in cited:
        service.link_article(ticket, article, ArticleLink.CITED, me)
    attach(get_session(), store_of(current_app), ticket, event, me, uploads, rules)
    get_session().commit()
    return redirect(url_for("tickets.show", ticket_id=ticket.id) + "#history")


@bp.post("/tickets/<int:ticket_id>/take")
@role_required(Role.TECHNICIAN)
def take(ticket_id: int) -> ResponseReturnValue:
    """Assign the ticket to oneself."""
    ticket = ticket_for_reader(ticket_id)
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        abort(422, description=_("A resolved or closed ticket cannot be taken."))
    service.take(ticket, _me())
    get_session().commit()
    flash(_("The ticket is yours."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/status")
@role_required(Role.TECHNICIAN)
def change_status(ticket_id: int) -> ResponseReturnValue:
    """Start work, wait on the user, or resume."""
    ticket = ticket_for_reader(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_STATUS)) is not None:
        return conflict
    form = StatusForm()
    form.status.choices = [SelectChoice(s.value) for s in Status]
    if not form.validate_on_submit():
        abort(422, description=_("Choose a valid status."))
    target = Status(form.status.data)
    if target in (Status.RESOLVED, Status.CLOSED):
        abort(422, description=_("Use the resolution form to resolve a ticket."))
    _apply(service.move, ticket, target, _me(), form.body.data or "")
    get_session().commit()
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _apply(use_case: Callable[..., object], ticket: Ticket, *args: Any) -> None:
    """Run a workflow use case on ``ticket``; a transition the workflow forbids is a 422."""
    try:
        use_case(ticket, *args)
    except TransitionRefused as exc:
        abort(422, description=str(exc.message))


@bp.post("/tickets/<int:ticket_id>/resolve")
@role_required(Role.TECHNICIAN)
def resolve(ticket_id: int) -> ResponseReturnValue:
    """Record diagnosis, cause and solution and resolve; the user is asked to confirm."""
    ticket = ticket_for_reader(ticket_id)
    if (conflict := _changed_since_loaded(ticket, CONFLICTS_RESOLVE)) is not None:
        return conflict
    form = ResolveForm()
    if not form.validate_on_submit():
        abort(
            422,
            description=_(
                "A resolution needs a diagnosis and a solution (at most 20,000 characters each)."
            ),
        )
    solved_by = _solving_article(form)
    _apply(
        service.record_resolution,
        ticket,
        _me(),
        form.diagnosis.data or "",
        form.cause.data or "",
        form.solution.data,
    )
    if solved_by is not None and service.link_article(
        ticket, solved_by, ArticleLink.SOLVED_BY, _me()
    ):
        learn_phrasing(get_session(), solved_by, ticket.subject, "ticket", people_of(ticket))
    get_session().commit()
    flash(_("Resolved. The user is asked to confirm the fix."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/confirm")
@login_required
def confirm(ticket_id: int) -> ResponseReturnValue:
    """The requester confirms the fix: the ticket closes."""
    ticket = ticket_for_reader(ticket_id)
    if ticket.requester_id != current_user.id:
        abort(403)
    _apply(service.confirm_fix, ticket, _me())
    get_session().commit()
    flash(_("Thank you — the ticket is closed."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


@bp.post("/tickets/<int:ticket_id>/reopen")
@login_required
def reopen(ticket_id: int) -> ResponseReturnValue:
    """The requester says the fix did not work: the ticket goes back into progress."""
    ticket = ticket_for_reader(ticket_id)
    if ticket.requester_id != current_user.id:
        abort(403)
    _apply(service.reopen, ticket, _me(), request.form.get("body", "")[:2000])
    get_session().commit()
    flash(_("The ticket is open again."), "info")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _rating_allowed(ticket: Ticket, token: str) -> bool:
    if current_user.is_authenticated and current_user.id == ticket.requester_id:
        return True
    return bool(token) and rating_token_valid(current_app, ticket, token)


@bp.route("/tickets/<int:ticket_id>/rate", methods=["GET", "POST"])
def rate(ticket_id: int) -> ResponseReturnValue:
    """The requester rates a closed ticket: signed in, or through the closing mail's link."""
    ticket = get_session().get(Ticket, ticket_id)
    form = RatingForm()
    token = request.args.get("token", "") or (form.token.data or "")
    if ticket is None or not _rating_allowed(ticket, token):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        abort(404)
    if ticket.rating is not None:
        return render_template("tickets/rate.html", ticket=ticket, form=None)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(
                422,
                description=_(
                    "Choose a rating from 1 to 5; a comment is at most 2,000 characters."
                ),
            )
        signed_in = current_user.is_authenticated and current_user.id == ticket.requester_id
        try:
            service.rate(
                ticket, _me() if signed_in else None, int(form.score.data), form.comment.data or ""
            )
        except service.RatingRefused:
            abort(422, description=_("Only a closed ticket can be rated, once."))
        get_session().commit()
        flash(_("Thank you for rating our service."), "info")
        if signed_in:
            return redirect(url_for("tickets.show", ticket_id=ticket.id))
        return render_template("tickets/rate.html", ticket=ticket, form=None)
    if ticket.status is not Status.CLOSED:
        abort(422, description=_("Only a closed ticket can be rated, once."))
    form.token.data = token
    return render_template("tickets/rate.html", ticket=ticket, form=form)


@bp.get("/service-levels")
def service_levels() -> ResponseReturnValue:
    """The published targets per priority, and the business hours they count in."""
    db = get_session()
    calendar = settings.get(db, "business_calendar")
    names = get_day_names("wide", locale=get_locale())
    return render_template(
        "tickets/service_levels.html",
        targets=settings.get(db, "sla_targets"),
        calendar=calendar,
        days=[names[day - 1] for day in sorted(calendar["days"])],
        matrix=settings.get(db, "priority_matrix"),
    )
