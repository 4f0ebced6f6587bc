"""Admin: the curation dashboard (review queue, article states, deflections, tickets)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from articles.models import Article, ArticleState
from portal.auth import role_required
from portal.auth.models import Role, User
from portal.db import get_session
from portal.intake.models import Deflection
from portal.tickets.models import Ticket

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
