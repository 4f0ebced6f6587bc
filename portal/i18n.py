"""Flask-Babel: the UI in English and simplified Chinese, chosen per user or per browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, format_date, format_time, get_locale, to_user_timezone
from flask_login import current_user

LOCALE_COOKIE = "solveloop_lang"


def select_locale() -> str:
    """Return the user's chosen locale, else the cookie's, else the browser's best match."""
    languages = tuple(current_app.config["LANGUAGES"])
    if current_user.is_authenticated and current_user.locale in languages:
        return str(current_user.locale)
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in languages:
        return str(chosen)
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans"], default="en")
    return "zh_CN" if best.lower().startswith("zh") else "en"


def locale_code() -> str:
    """Return the active UI locale as 'en' or 'zh_CN'."""
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def select_timezone() -> str:
    """Return the desk's time zone (the business calendar's): times read as the desk works."""
    from portal.admin import settings
    from portal.db import get_session

    try:
        return str(settings.get(get_session(), "business_calendar")["timezone"])
    except Exception:  # an error page renders whatever the database's state
        return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def init_app(app: Flask) -> None:
    """Install Babel with the catalogs in portal/translations."""
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # A page with a long history formats hundreds of times; most share a day, and the
    # short time has only minutes, so each text is made once per request.
    app.jinja_env.filters["dateformat"] = _remembered(format_date, _day_key)
    app.jinja_env.filters["timeformat"] = _remembered(format_time, _minute_key)

    @app.context_processor
    def _locale_globals() -> dict[str, object]:
        code = locale_code()
        return {"current_locale": code, "html_lang": "zh-CN" if code == "zh_CN" else "en"}


def _day_key(local: datetime, format: str | None) -> Any:
    return local.date()


def _minute_key(local: datetime, format: str | None) -> Any:
    # Only the short time leaves out the seconds (and the zone): key the others exactly.
    return local.time().replace(second=0, microsecond=0) if format == "short" else local


def _remembered(
    formatter: Callable[..., str], key: Callable[[datetime, str | None], Any]
) -> Callable[..., str]:
    """Return a Babel date filter that formats each distinct value once per request."""

    def formatted(
        value: datetime | date | time | None = None, format: str | None = None, rebase: bool = True
    ) -> str:
        if not (isinstance(value, datetime) and rebase and has_request_context()):
            return formatter(value, format, rebase)
        local = to_user_timezone(value)
        texts: dict[Any, str] = g.setdefault("_babel_date_texts", {})
        # The locale is part of the key: mail rendered in a request may force another one.
        cache_key = (formatter, str(get_locale()), format, key(local, format))
        text = texts.get(cache_key)
        if text is None:
            text = texts[cache_key] = formatter(local, format, rebase=False)
        return text

    return formatted
