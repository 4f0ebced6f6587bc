"""Sign in, sign out, change password, choose the UI language."""

from __future__ import annotations

from functools import cache

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from portal.auth import end_sessions, start_session
from portal.auth.forms import LoginForm, NewPasswordForm, PasswordForm
from portal.auth.invitations import user_for_token
from portal.auth.models import User
from portal.db import get_session
from portal.i18n import LOCALE_COOKIE
from portal.security import is_local_path, limiter

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _account_limit() -> str:
    return str(current_app.config["ACCOUNT_LOGIN_RATE_LIMIT"])


def _account_key() -> str:
    """The account a sign-in is for, as typed: existing or not, it is throttled the same."""
    return "account:" + request.form.get("username", "").strip().casefold()[:80]


def _failed(response: Response) -> bool:
    return response.status_code == 401


@cache
def _dummy_hash() -> str:
    """A hash to check unknown names against, so they take as long as known ones."""
    return generate_password_hash("not a password anyone has")


def _verify(user: User | None, password: str) -> bool:
    """Return whether ``password`` signs ``user`` in, in the same time whoever they are."""
    if user is None or not user.active or not user.has_usable_password:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    _account_limit,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
def login() -> ResponseReturnValue:
    """Show the sign-in form; on success go to ``next`` if it is a local path."""
    target = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(target if is_local_path(target) else url_for("kb.home"))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.scalar(select(User).where(User.username == form.username.data.strip()))
        if _verify(user, form.password.data) and user is not None:
            start_session(user)
            login_user(user)
            db.commit()
            return redirect(target if is_local_path(target) else url_for("kb.home"))
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End this browser's session on the server, so a replayed cookie is worthless."""
    db = get_session()
    user = db.get(User, current_user.id)
    if user is not None:
        for auth in user.sessions:
            if auth.token == current_user.session_token:
                db.delete(auth)
        db.commit()
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("kb.home"))


def _replace_password(user: User, password: str) -> None:
    """Give ``user`` a new password, end all their sessions and sign them in afresh."""
    user.set_password(password)
    end_sessions(user)
    get_session().flush()
    start_session(user)
    login_user(user)
    get_session().commit()


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password and sign out every other session of this user."""
    form = PasswordForm()
    if form.validate_on_submit():
        db = get_session()
        user = db.get(User, current_user.id)
        assert user is not None
        if not user.check_password(form.current.data):
            form.current.errors = [_("That is not your current password.")]
            return render_template("auth/password.html", form=form), 422
        _replace_password(user, form.new.data)
        flash(_("Password changed. Your other sessions were signed out."), "info")
        return redirect(url_for("kb.home"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status


@bp.route("/account/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def set_password(token: str) -> ResponseReturnValue:
    """Choose a password from the link in a desk mail, and be signed in with it."""
    db = get_session()
    user = user_for_token(db, str(current_app.config["SECRET_KEY"]), token)
    if user is None:
        abort(
            404,
            description=_(
                "This link has expired or was already used. Sign in, or ask the service desk "
                "for a new link."
            ),
        )
    form = NewPasswordForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            logout_user()
        _replace_password(user, form.new.data)
        flash(_("Your password is set; you are signed in."), "info")
        return redirect(url_for("tickets.my_tickets"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/set_password.html", form=form, user=user, token=token), status


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Switch the UI language; remembered on the account and in a cookie."""
    code = request.form.get("lang", "")
    if code not in current_app.config["LANGUAGES"]:
        abort(400, description=_("Unknown language."))
    if current_user.is_authenticated:
        db = get_session()
        user = db.get(User, current_user.id)
        assert user is not None
        user.locale = code
        db.commit()
    target = request.form.get("next")
    response = redirect(target if is_local_path(target) else url_for("kb.home"))
    response.set_cookie(
        LOCALE_COOKIE,
        code,
        max_age=365 * 86400,
        samesite="Lax",
        httponly=True,
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
    )
    return response
