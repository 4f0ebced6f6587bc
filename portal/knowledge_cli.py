"""Knowledge commands of `solveloop`: articles export/import, tickets import, knowledge gaps."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select

from articles.models import Category
from articles.transfer import Directory, export_articles, import_articles
from portal.admin.settings import review_periods
from portal.auth.models import Role, User
from portal.cli import Context, main, pass_context


@main.group()
def articles() -> None:
    """Articles as Markdown files with YAML front matter: export and import."""


@articles.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@pass_context
def articles_export(ctx: Context, directory: Path) -> None:
    """Write every article into DIRECTORY as NNNNN-slug.md (front matter, then Markdown)."""
    with ctx.app.extensions["solveloop.sessions"]() as session:
        usernames = dict(session.execute(select(User.id, User.username)).all())
        try:
            written = export_articles(session, directory, usernames, review_periods(session))
        except OSError as exc:
            raise click.ClickException(f"cannot write to {directory}: {exc.strerror}") from exc
    click.echo(f"Exported {len(written)} article(s) to {directory}.")


@articles.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="List what would change; change nothing.")
@pass_context
def articles_import(ctx: Context, directory: Path, dry_run: bool) -> None:
    """Read DIRECTORY/*.md back: a file with an id updates that article (a new revision),
    one without becomes a new draft. Exit status 1 if any file had a problem."""
    paths = sorted(p for p in directory.glob("*.md") if p.is_file())
    with ctx.app.extensions["solveloop.write_sessions"]() as session:
        desk = Directory(
            categories=dict(session.execute(select(Category.slug, Category.id)).all()),
            # Owners keep articles correct from the list of articles to check: staff only.
            user_ids=dict(
                session.execute(
                    select(User.username, User.id).where(
                        User.role.in_((Role.TECHNICIAN, Role.ADMIN))
                    )
                ).all()
            ),
            periods=review_periods(session),
        )
        outcomes = import_articles(session, paths, desk, dry_run=dry_run)
    for outcome in outcomes:
        click.echo(outcome.line(dry_run), err=bool(outcome.problem))
    bad = sum(1 for o in outcomes if o.problem)
    created = sum(1 for o in outcomes if o.created)
    changed = sum(1 for o in outcomes if o.changes)
    what = "Would import" if dry_run else "Imported"
    click.echo(
        f"{what} {len(outcomes) - bad} of {len(outcomes)} file(s): {created} new draft(s), "
        f"{changed} changed article(s), {bad} with problems."
    )
    if bad:
        sys.exit(1)


@main.group()
def tickets() -> None:
    """Tickets: load resolved ones from another desk's history."""


@tickets.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and say what would happen.")
@pass_context
def tickets_import(ctx: Context, file: Path, dry_run: bool) -> None:
    """Load resolved tickets from FILE (.csv with a header row, or .json: a list of objects)
    with the columns subject, description, resolution, created, resolved, requester_email
    and optionally category and requester_name. Exit status 1 if any row had a problem."""
    from portal.tickets.history_import import HistoryFileInvalid, import_history

    with ctx.app.extensions["solveloop.write_sessions"]() as session:
        try:
            outcomes, ignored = import_history(session, file, dry_run=dry_run)
        except HistoryFileInvalid as exc:
            raise click.ClickException(f"{file}: {exc}") from exc
    if ignored:
        click.echo(f"{file.name}: ignored column(s): {', '.join(ignored)}")
    for outcome in outcomes:
        if outcome.problem:
            click.echo(f"{file.name}: row {outcome.number}: {outcome.problem}", err=True)
        elif outcome.skipped:
            click.echo(f"{file.name}: row {outcome.number}: already imported, skipped")
    bad = sum(1 for o in outcomes if o.problem)
    skipped = sum(1 for o in outcomes if o.skipped)
    done = len(outcomes) - bad - skipped
    what = "Would import" if dry_run else "Imported"
    click.echo(
        f"{what} {done} ticket(s) from {file.name}; {skipped} already imported, "
        f"{bad} row(s) with problems."
    )
    if bad:
        sys.exit(1)


@main.group()
def knowledge() -> None:
    """The knowledge base as a whole: where articles are missing."""


@knowledge.command("gaps")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="Only tickets resolved in the last DAYS days.",
)
@click.option("--limit", type=click.IntRange(min=1, max=500), default=10, show_default=True)
@click.option("--min-size", type=click.IntRange(min=2), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per group.")
@pass_context
def knowledge_gaps(
    ctx: Context, days: int | None, limit: int, min_size: int, as_json: bool
) -> None:
    """List the largest groups of similar resolved tickets that no article covers, with a
    suggested title and the ticket to draft the article from."""
    import json
    from datetime import timedelta

    from articles.models import utcnow
    from portal.kb.gaps import knowledge_gaps as find_gaps
    from portal.kb.gaps import synonym_groups

    since = utcnow() - timedelta(days=days) if days else None
    with ctx.app.app_context(), ctx.app.extensions["solveloop.sessions"]() as session:
        gaps = find_gaps(session, synonym_groups(session), since, limit, min_size)
        for gap in gaps:
            ids = [t.id for t in gap.tickets]
            if as_json:
                row = {"size": gap.size, "title": gap.title, "draft_from": gap.representative.id}
                click.echo(json.dumps({**row, "tickets": ids}, ensure_ascii=False))
                continue
            click.echo(f"{gap.size:>3} tickets  {gap.title}")
            listed = ", ".join(f"#{i}" for i in ids)
            click.echo(f"     tickets {listed}; draft from #{gap.representative.id}")
    if not gaps and not as_json:
        click.echo("No gaps: every group of similar resolved tickets has an article.")
