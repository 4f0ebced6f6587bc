"""Solveloop's web portal and service desk: create_app builds it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as defaults


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the portal: config, database, search index, auth, i18n, security and blueprints."""
    app = Flask(
        __name__,
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(defaults.DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("SOLVELOOP")
    if config:
        app.config.from_mapping(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = defaults.secret_key(instance)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{instance / 'portal.sqlite'}"
    if not app.config["INDEX_PATH"]:
        app.config["INDEX_PATH"] = str(instance / "index")
    if not app.config["ATTACHMENTS_PATH"]:
        app.config["ATTACHMENTS_PATH"] = str(instance / "attachments")
    # Every cookie follows the session cookie's Secure setting unless set on its own.
    app.config.setdefault("REMEMBER_COOKIE_SECURE", app.config.get("SESSION_COOKIE_SECURE", False))
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    from portal import db, i18n, indexer, jobs, security
    from portal.auth import init_app as init_auth
    from portal.tickets import attachment_views, commits

    db.init_app(app, on_outbox=lambda: indexer.poke(app))
    jobs.init_app(app)
    for factory in ("solveloop.sessions", "solveloop.write_sessions"):
        commits.watch(app.extensions[factory], on_mail=jobs.jobs_of(app).poke_mail)
    indexer.init_app(app)
    # Before the request guard, which reads the body: upload forms may send more.
    app.before_request(attachment_views.allow_upload_bodies)
    security.init_app(app)
    i18n.init_app(app)
    init_auth(app)

    from portal.admin.gaps_views import bp as gaps_bp
    from portal.admin.views import bp as admin_bp
    from portal.editor.images import bp as article_images_bp
    from portal.editor.views import bp as editor_bp
    from portal.intake.views import bp as intake_bp
    from portal.kb.staleness_views import bp as staleness_bp
    from portal.kb.views import bp as kb_bp
    from portal.tickets.notification_views import bp as notifications_bp
    from portal.tickets.views import bp as tickets_bp

    blueprints = (kb_bp, intake_bp, tickets_bp, notifications_bp, attachment_views.bp)
    for blueprint in (*blueprints, editor_bp, article_images_bp, admin_bp, staleness_bp, gaps_bp):
        app.register_blueprint(blueprint)

    from portal import errors

    errors.init_app(app)
    return app
