"""Flask-Babel: the UI in English and simplified Chinese, chosen per user or per browser."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
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

    @app.context_processor
    def _locale_globals() -> dict[str, object]:
        code = locale_code()
        return {"current_locale": code, "html_lang": "zh-CN" if code == "zh_CN" else "en"}
