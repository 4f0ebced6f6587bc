"""Staff editing: draft from a resolved ticket, edit with live preview, review, publish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from wtforms import SelectChoice

from articles.drafting import (
    ArticleDraft,
    DraftRedaction,
    TicketNotes,
    appended_material,
    draft_from_notes,
    notes_fingerprint,
    undo_redactions,
)
from articles.errors import ArticleChanged, ArticleError, InvalidTransition
from articles.models import (
    Article,
    ArticleState,
    Category,
    Proposal,
    ProposalOutcome,
    Revision,
    Visibility,
    utcnow,
)
from articles.redaction import Kind
from articles.rendering import render_markdown
from articles.revisions import compare, diff_text, last_reviewed, waiting_since
from articles.service import (
    MAX_TITLE_CHARS,
    ArticleFields,
    InvalidArticle,
    MergeRefused,
    ProposalRefused,
    apply_proposal,
    archive_article,
    categories_to_choose,
    change_state,
    create_article,
    discard_proposal,
    learn_phrasing,
    merge_article,
    parse_tags,
    propose_change,
    restore_revision,
    update_article,
)
from portal.admin import settings
from portal.admin.settings import config_defaults
from portal.auth import role_required
from portal.auth.models import Role, User
from portal.db import get_session
from portal.editor.forms import AppendForm, ArticleForm
from portal.editor.images import markdown_for
from portal.editor.notes import revision_note
from portal.i18n import locale_code
from portal.kb.queries import (
    SIMILAR_FLOOR,
    duplicate_candidates,
    pick_articles,
    search_articles,
)
from portal.tickets.models import ArticleLink, Status, Ticket
from portal.tickets.service import link_article, move_solutions
from portal.tickets.views import people_of, ticket_for_reader

bp = Blueprint("editor", __name__, url_prefix="/editor")

STATE_FILTERS = ("all", *(s.value for s in ArticleState))
STATE_LABELS = {
    ArticleState.DRAFT: _l("Draft"),
    ArticleState.IN_REVIEW: _l("In review"),
    ArticleState.PUBLISHED: _l("Published"),
    ArticleState.ARCHIVED: _l("Archived"),
}


def _form(article: Article | None = None, fresh: bool = False) -> ArticleForm:
    """The editor form: from the request, or (``fresh``, or on GET) from the article."""
    form = ArticleForm(obj=article, formdata=None) if fresh else ArticleForm(obj=article)
    load = request.method == "GET" or fresh
    if article is None:
        del form.note  # a new article has no revision to describe
        del form.version
    elif load:
        form.version.data = str(article.version)
    locale = locale_code()
    current = article.category_id if article is not None else None
    form.category.choices = [SelectChoice("", "—")] + [
        SelectChoice(c.slug, c.name(locale)) for c in categories_to_choose(get_session(), current)
    ]
    if article is not None and load:
        form.category.data = article.category.slug if article.category else ""
        form.visibility.data = article.visibility.value
        form.tags.data = ", ".join(t.name for t in article.tags)
    return form


def _fields(form: ArticleForm) -> ArticleFields:
    category = get_session().scalar(select(Category).where(Category.slug == form.category.data))
    return ArticleFields(
        title=form.title.data or "",
        body=form.body.data or "",
        category_id=category.id if category else None,
        visibility=Visibility(form.visibility.data),
        tags=parse_tags(form.tags.data or ""),
    )


def _article(article_id: int) -> Article:
    # A change locks the row (PostgreSQL; SQLite writes are serialised by BEGIN
    # IMMEDIATE), so two saves cannot both pass the version check.
    article = get_session().get(Article, article_id, with_for_update=request.method == "POST")
    if article is None:
        abort(404)
    return article


def may_publish() -> bool:
    """Admins publish; technicians too when the desk allows it."""
    return bool(
        current_user.has_role(Role.ADMIN)
        or (
            current_user.is_staff
            and settings.get(
                get_session(), "technicians_can_publish", config_defaults(current_app.config)
            )
        )
    )


def similar_articles(title: str, exclude: int | None = None) -> list[Article]:
    """Published articles resembling a title, so a duplicate is updated instead of created;
    only those holding at least SIMILAR_FLOOR of the title's informativeness."""
    results = search_articles(get_session(), title, staff=True)
    return [
        f.article
        for f in results.found
        if f.article.id != exclude and f.hit.coverage >= SIMILAR_FLOOR
    ][:5]


# The orders of the article list, each highest first.
ARTICLE_SORTS = {
    "updated": Article.updated_at,
    "views": Article.view_count,
    "helpful": Article.helpful_votes,
    "unhelpful": Article.unhelpful_votes,
    "deflections": Article.deflection_count,
}


@bp.get("/articles")
@role_required(Role.TECHNICIAN)
def articles() -> ResponseReturnValue:
    """Every article with its state and readers' figures; filter by state, sort by a figure."""
    state = request.args.get("state", "all")
    sort = request.args.get("sort", "updated")
    if state not in STATE_FILTERS:
        abort(400, description=_("Unknown article state filter."))
    if sort not in ARTICLE_SORTS:
        abort(400, description=_("Unknown order."))
    stmt = select(Article).order_by(ARTICLE_SORTS[sort].desc(), Article.id.desc())
    if state != "all":
        stmt = stmt.where(Article.state == ArticleState(state))
    found = get_session().scalars(stmt).all()
    waiting = {
        a.id: since
        for a in found
        if a.state is ArticleState.IN_REVIEW and (since := waiting_since(a.revisions)) is not None
    }
    if state == ArticleState.IN_REVIEW.value:  # the review queue: the longest waiting first
        found = sorted(found, key=lambda a: (waiting.get(a.id) or a.updated_at, a.id))
    return render_template(
        "editor/list.html",
        articles=found,
        waiting=waiting,
        now=utcnow(),
        state=state,
        states=STATE_FILTERS,
        sort=sort,
        sorts=list(ARTICLE_SORTS),
    )


@bp.route("/articles/new", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def new() -> ResponseReturnValue:
    """Write a new article from scratch (?title= proposes a title, e.g. from the search report)."""
    form = _form()
    if request.method == "GET":
        form.title.data = " ".join(request.args.get("title", "").split())[:MAX_TITLE_CHARS]
    if form.validate_on_submit():
        try:
            article = create_article(get_session(), _fields(form), current_user.id)
        except ArticleError as exc:
            form.body.errors = [str(exc)]
        else:
            get_session().commit()
            flash(_("Draft saved."), "info")
            return redirect(url_for("editor.edit", article_id=article.id))
    status = 422 if form.is_submitted() else 200
    return render_template("editor/edit.html", form=form, article=None, similar=[]), status


def _loaded_version(raw: object) -> int:
    """Return the revision a form says it was opened at; 400 if it does not say."""
    loaded = str(raw or "").strip()
    if not loaded.isdigit():
        abort(
            400,
            description=_("The form does not say which revision of the article it was opened at."),
        )
    return int(loaded)


def _changed_since(article: Article, loaded: int) -> list[Revision]:
    """Return the revisions saved after the one the form was loaded at (empty: none)."""
    return [r for r in article.revisions if r.number > loaded]


def _people() -> dict[int, User]:
    return {u.id: u for u in get_session().scalars(select(User))}


def _category_names() -> dict[str, str]:
    """Category names by slug in the reader's language, for revisions and comparisons."""
    locale = locale_code()
    return {c.slug: c.name(locale) for c in get_session().scalars(select(Category))}


def _differs(article: Article, fields: ArticleFields) -> bool:
    return (
        article.title != fields.title
        or article.body != fields.body
        or article.category_id != fields.category_id
        or article.visibility is not fields.visibility
        or sorted(t.name for t in article.tags) != sorted(fields.tags)
    )


def _edit_page(
    article: Article,
    form: ArticleForm,
    status: int,
    newer: Sequence[Revision] = (),
    mine: ArticleFields | None = None,
    kept_note: str = "",
) -> ResponseReturnValue:
    """The editor; after a conflict (``newer``) it also shows the article as it is now
    beside what this editor sent (``mine``), with the differences between them."""
    similar = similar_articles(article.title, exclude=article.id)
    review = None
    if article.state is ArticleState.IN_REVIEW and article.revisions:
        review = compare(last_reviewed(article.revisions), article.revisions[-1])
    conflict = None
    if newer and mine is not None:
        conflict = {
            "mine": mine,
            "title": diff_text(article.title, mine.title),
            "body": diff_text(article.body, mine.body),
            "category": get_session().get(Category, mine.category_id) if mine.category_id else None,
        }
    return render_template(
        "editor/edit.html",
        form=form,
        article=article,
        similar=similar,
        staff_note_sections=_staff_note_sections(article),
        may_publish=may_publish(),
        newer=newer,
        proposals=_pending(article),
        conflict=conflict,
        kept_note=kept_note,
        category_names=_category_names(),
        review=review,
        images=[(image, markdown_for(image)) for image in article.images],
        people=_people() if newer or review or _pending(article) else {},
    ), status


def _pending(article: Article) -> list[Proposal]:
    return [p for p in article.proposals if p.outcome is ProposalOutcome.PENDING]


def _staff_note_sections(article: Article) -> list[str]:
    """The headings of an unpublished draft's sections that came from the source ticket's
    staff-only notes (derived again from the ticket, which staff may read)."""
    if article.source_ticket_id is None or article.state is ArticleState.PUBLISHED:
        return []
    ticket = get_session().get(Ticket, article.source_ticket_id)
    if ticket is None:
        return []
    try:
        draft = draft_from_notes(ticket_notes(ticket))
    except ArticleError:
        return []
    return [s.heading for s in draft.sections if s.internal and f"## {s.heading}" in article.body]


def _save_edits(article: Article, form: ArticleForm) -> ResponseReturnValue | None:
    """Save the editor's fields as a revision if they changed; return the page to show
    instead when they are invalid (422) or were loaded before someone else's save (409:
    the page keeps the text and lists what changed, and saving again keeps this text)."""
    loaded = _loaded_version(form.version.data)
    if not form.validate_on_submit():
        return _edit_page(article, form, 422)
    newer = _changed_since(article, loaded)
    if newer:
        form.version.data = str(article.version)
        return _edit_page(article, form, 409, newer, mine=_fields(form))
    fields = _fields(form)
    if not _differs(article, fields):
        return None
    try:
        update_article(
            get_session(), article, fields, current_user.id, form.note.data or "", loaded=loaded
        )
    except ArticleError as exc:
        form.body.errors = [str(exc)]
        return _edit_page(article, form, 422)
    return None


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def edit(article_id: int) -> ResponseReturnValue:
    """Edit an article; every save is a revision."""
    article = _article(article_id)
    form = _form(article)
    if request.method == "GET":
        return _edit_page(article, form, 200)
    before = article.version
    refused = _save_edits(article, form)
    if refused is not None:
        return refused
    get_session().commit()
    if article.version != before:
        flash(_("Saved as revision %(n)s.", n=article.version), "info")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("editor.edit", article_id=article.id))


@bp.post("/preview")
@role_required(Role.TECHNICIAN)
def preview() -> ResponseReturnValue:
    """Render Markdown through the same sanitising path as saved articles (htmx fragment)."""
    try:
        html = render_markdown(request.form.get("body", ""))
    except ArticleError as exc:
        return render_template("partials/error.html", message=str(exc)), 422
    return render_template("editor/preview.html", html=Markup(html))  # noqa: S704 - sanitised by render_markdown


@bp.post("/articles/<int:article_id>/<any(submit, publish, archive, reactivate, reject):action>")
@role_required(Role.TECHNICIAN)
def transition(article_id: int, action: str) -> ResponseReturnValue:
    """Move an article through review: submit, publish, archive, reactivate (archived →
    draft), send back; refused with 409 if the article changed since the page was opened."""
    article = _article(article_id)
    targets = {
        "submit": ArticleState.IN_REVIEW,
        "publish": ArticleState.PUBLISHED,
        "archive": ArticleState.ARCHIVED,
        "reactivate": ArticleState.DRAFT,
        "reject": ArticleState.DRAFT,
    }
    admin_only = {"archive", "reactivate", "reject"}
    if (action == "publish" and not may_publish()) or (
        action in admin_only and not current_user.has_role(Role.ADMIN)
    ):
        abort(403)
    note = request.form.get("note", "")[:300]
    if "title" in request.form:  # sent with the editor's fields: keep those edits first
        refused = _save_edits(article, _form(article))
        if refused is not None:
            return refused
        loaded = article.version
    else:
        loaded = _loaded_version(request.form.get("version"))
    try:
        if action == "archive":
            archive_article(
                get_session(), article, current_user.id, _article_ids("replacement"), note, loaded
            )
        else:
            change_state(get_session(), article, targets[action], current_user.id, note, loaded)
    except InvalidArticle:  # only archiving names other articles
        abort(422, description=_("A replacement must be another published article."))
    except ArticleChanged:
        return _stale_page(article, loaded, kept_note=note if action == "reject" else "")
    except InvalidTransition as exc:
        abort(422, description=str(exc))
    get_session().commit()
    flash(_("The article is now %(state)s.", state=STATE_LABELS[article.state]), "info")
    if request.form.get("back") == "list":
        return redirect(url_for("editor.articles"))
    return redirect(url_for("editor.edit", article_id=article.id))


def _stale_page(article: Article, loaded: int, kept_note: str = "") -> ResponseReturnValue:
    """409: the article changed after the page was opened; nothing was done. The editor
    shows the article as it is now, what changed meanwhile, and the note typed."""
    get_session().rollback()
    get_session().expire_all()
    return _edit_page(
        article,
        _form(article, fresh=True),
        409,
        _changed_since(article, loaded),
        kept_note=kept_note,
    )


def _revision(article: Article, raw: object) -> Revision | None:
    number = str(raw or "").strip()
    if not number:
        return None
    found = next((r for r in article.revisions if str(r.number) == number), None)
    if found is None:
        abort(404, description=_("This article has no revision %(n)s.", n=number))
    return found


@bp.get("/articles/<int:article_id>/history")
@role_required(Role.TECHNICIAN)
def history(article_id: int) -> ResponseReturnValue:
    """Every revision of an article, newest first, with who saved it and why; ``?old=&new=``
    compares two of them (by default the newest with the one before)."""
    article = _article(article_id)
    revisions = list(article.revisions)
    if not revisions:
        return render_template(
            "editor/history.html",
            article=article,
            revisions=[],
            people={},
            comparison=None,
            category_names={},
        )
    new = _revision(article, request.args.get("new")) or revisions[-1]
    old = _revision(article, request.args.get("old"))
    if old is None and "old" not in request.args:
        earlier = [r for r in revisions if r.number < new.number]
        old = earlier[-1] if earlier else None
    if old is not None and old.number > new.number:
        old, new = new, old
    return render_template(
        "editor/history.html",
        article=article,
        revisions=list(reversed(revisions)),
        people=_people(),
        comparison=compare(old, new),
        category_names=_category_names(),
    )


@bp.post("/articles/<int:article_id>/revisions/<int:number>/restore")
@role_required(Role.ADMIN)
def restore(article_id: int, number: int) -> ResponseReturnValue:
    """Save an old revision's content as a new revision (admins; the history stays)."""
    article = _article(article_id)
    revision = _revision(article, number)
    assert revision is not None
    loaded = _loaded_version(request.form.get("version"))
    try:
        restore_revision(get_session(), article, revision, current_user.id, loaded)
    except ArticleChanged:
        return _stale_page(article, loaded)
    except ArticleError as exc:
        abort(422, description=str(exc))
    get_session().commit()
    flash(_("Revision %(old)s restored as revision %(n)s.", old=number, n=article.version), "info")
    return redirect(url_for("editor.history", article_id=article.id))


KIND_LABELS = {
    Kind.EMAIL: _l("E-mail address"),
    Kind.PHONE: _l("Phone number"),
    Kind.IP: _l("IP address"),
    Kind.MAC: _l("MAC address"),
    Kind.HOSTNAME: _l("Host name"),
    Kind.CREDENTIAL: _l("Password"),
    Kind.SECRET: _l("Key or token"),
    Kind.ID_NUMBER: _l("ID number"),
    Kind.CARD: _l("Bank card number"),
    Kind.NAME: _l("Name"),
    Kind.MANUAL: _l("Hidden by hand"),
}
bp.add_app_template_filter(lambda note: revision_note(note, KIND_LABELS), "revision_note")
MAX_HIDDEN = 50
MAX_HIDDEN_CHARS = 200


def ticket_notes(ticket: Ticket, hidden: Sequence[str] = ()) -> TicketNotes:
    """Return what an article is drafted from: the ticket's notes, the people on it, the
    organisation's internal domains, and the text the technician hides by hand."""
    return TicketNotes(
        subject=ticket.subject,
        symptom=ticket.symptom,
        cause=ticket.cause,
        resolution=ticket.solution,
        diagnosis=ticket.diagnosis,
        category=ticket.category.slug if ticket.category else "",
        names=tuple(people_of(ticket)),
        internal_domains=tuple(
            settings.get(get_session(), "internal_domains", config_defaults(current_app.config))
        ),
        hidden=tuple(hidden),
    )


def _hidden_terms() -> list[str]:
    """The text to hide by hand: kept from earlier rounds, plus the new lines (400 if too much)."""
    terms = request.form.getlist("hide") + request.form.get("hide_new", "").splitlines()
    terms = list(dict.fromkeys(" ".join(t.split()) for t in terms if t.strip()))
    if len(terms) > MAX_HIDDEN or any(len(t) > MAX_HIDDEN_CHARS for t in terms):
        abort(
            400,
            description=_(
                "Hide at most %(n)s pieces of text, each at most %(chars)s characters.",
                n=MAX_HIDDEN,
                chars=MAX_HIDDEN_CHARS,
            ),
        )
    return terms


def _undo_note(ticket: Ticket, undone: Sequence[DraftRedaction], hidden: int) -> str:
    """The first revision's note: where the draft came from and what the technician chose
    (kinds and numbers only: the originals never go into the article's history)."""
    note = f"drafted from ticket #{ticket.id}"
    if undone:
        note += f"; {len(undone)} redaction(s) undone by the author: " + ", ".join(
            f"#{r.number} {r.kind}" for r in undone
        )
    if hidden:
        note += f"; {hidden} text(s) hidden by hand"
    return note if len(note) <= 300 else note[:299] + "…"


@bp.route("/from-ticket/<int:ticket_id>", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def draft_from_ticket(ticket_id: int) -> ResponseReturnValue:
    """Review a draft from a resolved ticket's notes with every redaction highlighted
    (undo one, hide more by hand), then create it: internal, personal data removed.

    Nothing is stored until "create": the originals are derived again from the ticket
    on every request, and only what the technician explicitly undid is kept unredacted.
    """
    ticket = ticket_for_reader(ticket_id)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        abort(422, description=_("Only a resolved ticket can become an article."))
    if ticket.drafted_articles:
        return redirect(url_for("editor.edit", article_id=ticket.drafted_articles[0].id))
    hidden = _hidden_terms() if request.method == "POST" else []
    notes = ticket_notes(ticket, hidden)
    try:
        draft = draft_from_notes(notes)
    except ArticleError as exc:
        abort(422, description=str(exc))
    fingerprint = notes_fingerprint(replace(notes, hidden=()))
    undo = set(request.form.getlist("undo")) if request.method == "POST" else set()
    undone = [r for r in draft.redactions if r.key in undo]
    changed = request.method == "POST" and request.form.get("fingerprint") != fingerprint
    action = request.form.get("action", "")
    if action == "create" and not changed:
        return _create_from_ticket(ticket, undo_redactions(draft, undo), undone, len(hidden))
    if action.startswith("append:") and not changed:
        target = _append_target(action.removeprefix("append:"))
        return _append_page(
            ticket, target, undo_redactions(draft, undo), _undo_note(ticket, undone, len(hidden))
        )
    if changed and (undo or hidden):
        # The ticket changed under the review: its numbering no longer holds.
        undone, hidden = [], []
        draft = draft_from_notes(replace(notes, hidden=()))
    refused = changed and (action == "create" or action.startswith("append:"))
    return render_template(
        "editor/from_ticket.html",
        ticket=ticket,
        draft=draft,
        undone={r.key for r in undone},
        hidden=hidden,
        fingerprint=fingerprint,
        kinds=KIND_LABELS,
        changed=refused,
        duplicates=duplicate_candidates(get_session(), f"{draft.title}\n{ticket.symptom}"),
        bands=DUPLICATE_BANDS,
    ), 409 if refused else 200


# How alike a possible duplicate is, from the share of the draft's informativeness it
# holds (Hit.coverage): from SIMILAR_FLOOR the ticket panel calls an article similar.
DUPLICATE_BANDS = (
    (0.9, "strong", _l("Very likely the same problem")),
    (SIMILAR_FLOOR, "likely", _l("Likely the same problem")),
    (0.0, "weak", _l("Possibly related")),
)


def _append_target(raw: str) -> Article:
    """The article a ticket's solution is to be added to (404 unknown, 422 archived)."""
    if not raw.isdigit() or len(raw) > 9:
        abort(404)
    article = _article(int(raw))
    if article.state is ArticleState.ARCHIVED:
        abort(422, description=_("This article is archived: add the solution to a live one."))
    return article


def _append_page(
    ticket: Ticket, article: Article, draft: ArticleDraft, note: str
) -> ResponseReturnValue:
    """The editor for ``article`` with the ticket's redacted solution appended; nothing
    is saved until the technician saves it."""
    form = AppendForm(formdata=None)
    form.title.data = article.title
    form.body.data = appended_material(article.body, draft)
    form.note.data = note.replace("drafted from", "solution added from", 1)[:300]
    form.version.data = str(article.version)
    return render_template("editor/append.html", form=form, article=article, ticket=ticket)


@bp.post("/articles/<int:article_id>/from-ticket/<int:ticket_id>")
@role_required(Role.TECHNICIAN)
def append_from_ticket(article_id: int, ticket_id: int) -> ResponseReturnValue:
    """Save a ticket's solution added to an article: a published article gets a proposal
    for someone who may publish (never a live change), an unpublished one a revision; the
    ticket is linked as solved by the article."""
    ticket = ticket_for_reader(ticket_id)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        abort(422, description=_("Only a resolved ticket can become an article."))
    article = _append_target(str(article_id))
    form = AppendForm()
    if not form.validate_on_submit():
        return render_template("editor/append.html", form=form, article=article, ticket=ticket), 422
    loaded = str(form.version.data or "")
    loaded = loaded if loaded.isdigit() and len(loaded) < 10 else ""
    db = get_session()
    try:
        if article.state is ArticleState.PUBLISHED:
            propose_change(
                db,
                article,
                form.title.data or "",
                form.body.data or "",
                current_user.id,
                form.note.data or "",
                ticket_id=ticket.id,
                base_version=min(int(loaded), article.version) if loaded.isdigit() else None,
            )
            message = _(
                "Your addition waits as a proposal: the article changes when someone who "
                "may publish applies it."
            )
        else:
            if not loaded.isdigit() or int(loaded) != article.version:
                form.version.data = str(article.version)
                return render_template(
                    "editor/append.html", form=form, article=article, ticket=ticket, newer=True
                ), 409
            fields = ArticleFields(
                title=form.title.data or "",
                body=form.body.data or "",
                category_id=article.category_id,
                visibility=article.visibility,
                tags=tuple(t.name for t in article.tags),
            )
            update_article(db, article, fields, current_user.id, form.note.data or "")
            message = _("Saved as revision %(n)s.", n=article.version)
    except ArticleError as exc:
        form.body.errors = [str(exc)]
        return render_template("editor/append.html", form=form, article=article, ticket=ticket), 422
    if link_article(ticket, article, ArticleLink.SOLVED_BY, _me()):
        learn_phrasing(db, article, ticket.subject, "ticket", tuple(people_of(ticket)))
    db.commit()
    flash(message, "info")
    return redirect(url_for("editor.edit", article_id=article.id))


def _create_from_ticket(
    ticket: Ticket, draft: ArticleDraft, undone: Sequence[DraftRedaction], hidden: int
) -> ResponseReturnValue:
    names = tuple(people_of(ticket))
    try:
        article = create_article(
            get_session(),
            ArticleFields(
                title=draft.title,
                body=draft.body,
                category_id=ticket.category_id,
                visibility=Visibility.INTERNAL,  # until a reviewer makes it public
            ),
            current_user.id,
            source_ticket_id=ticket.id,
            note=_undo_note(ticket, undone, hidden),
        )
    except ArticleError as exc:
        abort(422, description=str(exc))
    get_session().flush()
    learn_phrasing(get_session(), article, ticket.subject, "ticket", names)
    me = get_session().get(User, current_user.id)
    assert me is not None
    link_article(ticket, article, ArticleLink.DRAFTED, me)
    get_session().commit()
    flash(
        _(
            "Draft created from the ticket. It is internal until a reviewer makes it public; "
            "check the similar articles before publishing."
        ),
        "info",
    )
    return redirect(url_for("editor.edit", article_id=article.id))


MAX_PICKED = 10
PICKER_KINDS = ("radio", "checkbox", "insert")
PICKER_FIELDS = ("solved_by", "article", "replacement", "target", "cites")
MAX_PICKER_QUERY = 200


def _article_ids(name: str) -> list[int]:
    """The article ids a form sends as ``name`` (400 when malformed or too many)."""
    raw = [v for v in request.form.getlist(name) if v != ""]
    if len(raw) > MAX_PICKED or not all(v.isdigit() and len(v) < 10 for v in raw):
        abort(400, description=_("Choose at most %(n)s articles from the list.", n=MAX_PICKED))
    return list(dict.fromkeys(int(v) for v in raw))


@bp.get("/article-picker")
@role_required(Role.TECHNICIAN)
def article_picker() -> ResponseReturnValue:
    """Published articles matching what was typed, as choices for a picker (htmx
    fragment): staff may pick internal ones, except for a public reply (?public=1)."""
    query = request.args.get("q", "").strip()
    kind = request.args.get("kind", "radio")
    field = request.args.get("field", "")
    exclude = request.args.get("exclude", "")
    if kind not in PICKER_KINDS or field not in PICKER_FIELDS:
        abort(400, description=_("Unknown article picker."))
    if len(query) > MAX_PICKER_QUERY:
        abort(400, description=_("Search text is limited to %(n)s characters.", n=MAX_PICKER_QUERY))
    found = (
        pick_articles(
            get_session(),
            query,
            public_only=request.args.get("public") == "1",
            exclude=int(exclude) if exclude.isdigit() and len(exclude) < 10 else None,
        )
        if query
        else []
    )
    return render_template(
        "partials/article_picker_results.html", found=found, kind=kind, field=field, query=query
    )


MERGE_REFUSALS = {
    "same": _l("An article cannot be merged into itself."),
    "merged": _l("This article was merged already."),
    "target": _l("Merge into a published article."),
}


@bp.post("/articles/<int:article_id>/merge")
@role_required(Role.ADMIN)
def merge(article_id: int) -> ResponseReturnValue:
    """Merge this duplicate into the chosen article: readers, feedback and solved tickets
    move over, this one is archived and its address redirects there."""
    duplicate = _article(article_id)
    loaded = _loaded_version(request.form.get("version"))
    chosen = _article_ids("target")
    if len(chosen) != 1:
        abort(422, description=_("Choose the article to merge this one into."))
    target = get_session().get(Article, chosen[0])
    if target is None:
        abort(422, description=_("Choose the article to merge this one into."))
    db = get_session()
    try:
        merge_article(
            db, duplicate, target, current_user.id, request.form.get("note", "")[:200], loaded
        )
    except ArticleChanged:
        return _stale_page(duplicate, loaded)
    except MergeRefused as exc:
        if exc.reason == "merged" and duplicate.merged_into_id is not None:
            # A second admin merging the same duplicate: show where it went, not an error.
            flash(MERGE_REFUSALS["merged"], "warning")
            return redirect(url_for("editor.edit", article_id=duplicate.merged_into_id))
        abort(422, description=str(MERGE_REFUSALS[exc.reason]))
    move_solutions(db, duplicate, target, _me())
    db.commit()
    flash(
        _(
            "Merged into #%(id)s “%(title)s”; this address now leads there.",
            id=target.id,
            title=target.title,
        ),
        "info",
    )
    return redirect(url_for("editor.edit", article_id=target.id))


def _me() -> User:
    me = get_session().get(User, current_user.id)
    assert me is not None
    return me


def _proposal(proposal_id: int) -> Proposal:
    proposal = get_session().get(Proposal, proposal_id)
    if proposal is None:
        abort(404)
    return proposal


@bp.post("/proposals/<int:proposal_id>/<any(apply, discard):action>")
@role_required(Role.TECHNICIAN)
def decide_proposal(proposal_id: int, action: str) -> ResponseReturnValue:
    """Apply a proposed change as the article's next revision, or discard it: whoever may
    publish decides; its author may also withdraw it."""
    proposal = _proposal(proposal_id)
    if not may_publish() and not (action == "discard" and proposal.author_id == current_user.id):
        abort(403)
    try:
        if action == "apply":
            apply_proposal(get_session(), proposal, current_user.id)
        else:
            discard_proposal(get_session(), proposal, current_user.id)
    except ProposalRefused as exc:
        if proposal.outcome is not ProposalOutcome.PENDING:
            abort(409, description=_("This proposal was decided already."))
        abort(
            409,
            description=_(
                "The article changed since this proposal was written (%(detail)s): "
                "open it in the editor and add what is still missing.",
                detail=_("now revision %(n)s", n=proposal.article.version),
            )
            if exc
            else "",
        )
    except ArticleError as exc:
        abort(422, description=str(exc))
    get_session().commit()
    if action == "apply":
        flash(_("Proposal applied as revision %(n)s.", n=proposal.article.version), "info")
    else:
        flash(_("Proposal discarded; the article is unchanged."), "info")
    return redirect(url_for("editor.edit", article_id=proposal.article_id))
