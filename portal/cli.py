"""The `solveloop` command: database, accounts, demo content, index, serving, worker."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine

from portal import create_app
from portal.auth.models import Role, User
from portal.config import DEFAULTS
from search.schema import INDEX_FORMAT


class Context:
    """Builds the app lazily so `--help` works without an instance."""

    def __init__(self, instance: str | None) -> None:
        self.instance = instance
        self._app: Flask | None = None

    def close(self) -> None:
        """Release the database connections of the app this command built, if any."""
        if self._app is not None:
            self._app.extensions["solveloop.engine"].dispose()

    @property
    def app(self) -> Flask:
        """Return the app for the chosen instance folder."""
        if self._app is None:
            self._app = create_app(instance_path=self.instance)
        return self._app


pass_context = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--instance",
    type=click.Path(file_okay=False),
    default=None,
    help="Instance folder (config, SQLite database, index). Default: ./instance in a checkout.",
)
@click.pass_context
def main(ctx: click.Context, instance: str | None) -> None:
    """Solveloop: IT-support knowledge base and self-service portal."""
    ctx.obj = Context(instance)
    ctx.call_on_close(ctx.obj.close)


USERNAME = re.compile(r"[A-Za-z0-9._-]{2,80}")


def _engine(app: Flask) -> Engine:
    engine: Engine = app.extensions["solveloop.engine"]
    return engine


@main.command("init-db")
@pass_context
def init_db(ctx: Context) -> None:
    """Create or upgrade the database schema (Alembic migrations to head)."""
    from portal.schema import upgrade

    with ctx.app.app_context():
        upgrade(_engine(ctx.app))
        from portal.demo import ensure_categories

        with ctx.app.extensions["solveloop.write_sessions"]() as session:
            ensure_categories(session)
            session.commit()
    click.echo(f"Database ready: {ctx.app.config['DATABASE_URL']}")


def _read_password(prompt: bool) -> str:
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True) if prompt else ""
    if len(password) < 10:
        raise click.BadParameter("the password must have at least 10 characters")
    return str(password)


@main.command("create-user")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--email", default="", help="E-mail address.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.USER.value,
    show_default=True,
)
@pass_context
def create_user(ctx: Context, username: str, display_name: str, email: str, role: str) -> None:
    """Create an account; the password is asked for (never a default)."""
    _create(ctx, username, display_name, email, Role(role))


@main.command("create-admin")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--email", default="", help="E-mail address.")
@pass_context
def create_admin(ctx: Context, username: str, display_name: str, email: str) -> None:
    """Create an admin account; the password is asked for (never a default)."""
    _create(ctx, username, display_name, email, Role.ADMIN)


def _create(ctx: Context, username: str, display_name: str, email: str, role: Role) -> None:
    if not USERNAME.fullmatch(username):
        raise click.BadParameter(
            "use 2–80 letters, digits, dots, dashes or underscores", param_hint="USERNAME"
        )
    password = _read_password(prompt=True)
    with ctx.app.app_context(), ctx.app.extensions["solveloop.write_sessions"]() as session:
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise click.ClickException(f"user {username!r} already exists")
        user = User(
            username=username, display_name=display_name or username, email=email, role=role
        )
        user.set_password(password)
        session.add(user)
        session.commit()
    click.echo(f"Created {role.value} {username!r}.")


@main.command("deactivate-user")
@click.argument("username")
@click.option("--undo", is_flag=True, help="Let the account sign in again.")
@pass_context
def deactivate_user(ctx: Context, username: str, undo: bool) -> None:
    """Stop an account signing in; its tickets and their history stay as they are."""
    with ctx.app.app_context(), ctx.app.extensions["solveloop.write_sessions"]() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        user.active = undo
        session.commit()
    click.echo(f"{'Reactivated' if undo else 'Deactivated'} {username!r}.")


@main.command()
@pass_context
def demo(ctx: Context) -> None:
    """Migrate, load the demo articles, users and tickets, build the index, print the accounts."""
    from portal.demo import load_demo
    from portal.schema import upgrade

    started = time.monotonic()
    with ctx.app.app_context():
        upgrade(_engine(ctx.app))
        accounts = load_demo(ctx.app)
        count = ctx.app.extensions["solveloop.indexer"].rebuild()
    click.echo(f"Demo ready in {time.monotonic() - started:.1f} s: {count} articles indexed.")
    accounts_file = Path(ctx.app.instance_path) / "demo-accounts.txt"
    click.echo(f"Demo accounts (also in {accounts_file}):")
    for line in accounts:
        click.echo(f"  {line}")


@main.group()
def attachments() -> None:
    """Ticket attachments: remove files no ticket records."""


@attachments.command("sweep")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    help="Minutes: younger files may belong to a transaction still running.",
)
@pass_context
def attachments_sweep(ctx: Context, older_than: int) -> None:
    """Remove files in the attachments folder that no attachment names (left behind by a
    process killed before its transaction committed)."""
    from portal.tickets.attachment_views import store_of
    from portal.tickets.attachments import sweep_orphans

    with ctx.app.extensions["solveloop.sessions"]() as session:
        removed = sweep_orphans(session, store_of(ctx.app), older_than * 60)
    click.echo(f"Attachments: removed {removed} file(s) no ticket records.")


@main.group()
def index() -> None:
    """The search indexes: rebuild or check the articles' index, store the tickets' words."""


@index.command("rebuild")
@pass_context
def index_rebuild(ctx: Context) -> None:
    """Rebuild the index from the database into a new directory and swap it in.

    Repairs any damage: the new generation is written from the database alone, and the
    old ones (with whatever they held) are deleted.
    """
    started = time.monotonic()
    count = ctx.app.extensions["solveloop.indexer"].rebuild()
    click.echo(f"Indexed {count} articles in {time.monotonic() - started:.1f} s.")


@index.command("check")
@pass_context
def index_check(ctx: Context) -> None:
    """Read the whole index and compare it with the database; exit 1 on damage or drift."""
    indexer = ctx.app.extensions["solveloop.indexer"]
    damage = indexer.index.verify()
    if damage:
        for problem in damage:
            click.echo(f"damaged: {problem}")
        click.echo("Run `solveloop index rebuild` to repair.")
        sys.exit(1)
    drift = indexer.check()
    if drift.clean:
        click.echo("Index matches the database.")
        return
    for label, ids in (("missing", drift.missing), ("stale", drift.stale), ("extra", drift.extra)):
        if ids:
            click.echo(f"{label}: {len(ids)} article(s): {', '.join(map(str, ids[:50]))}")
    if drift.outdated_format is not None:
        click.echo(
            f"format: the index was built by an older version (format {drift.outdated_format},"
            f" this version writes {INDEX_FORMAT}); searches miss what the new format adds."
        )
    click.echo("Run `solveloop index rebuild` to repair.")
    sys.exit(1)


@index.command("tickets")
@pass_context
def index_tickets(ctx: Context) -> None:
    """Store the search words of every ticket anew (staff ticket search).

    Each change to a ticket keeps its words current; this is for after an upgrade that
    changes the analyzer, or after editing the database by hand.
    """
    from portal.tickets.text_search import rebuild

    started = time.monotonic()
    with ctx.app.extensions["solveloop.engine"].begin() as connection:
        count = rebuild(connection)
    click.echo(f"Stored the search words of {count} tickets in {time.monotonic() - started:.1f} s.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads per worker. 1 runs gunicorn's sync workers (behind a buffering proxy); "
    "more runs threaded workers that keep idle connections open for 30 s.",
)
@pass_context
def serve(ctx: Context, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the portal with gunicorn (jieba's dictionary is loaded before the fork)."""
    instance = str(Path(ctx.app.instance_path))
    click.echo(f"Serving Solveloop on http://{host}:{port}/ (instance: {instance})")
    if ctx.app.config["PUBLIC_URL"] == DEFAULTS["PUBLIC_URL"]:
        # Links in mail point here until PUBLIC_URL names the address users reach.
        os.environ["SOLVELOOP_PUBLIC_URL"] = f"http://{host}:{port}"

    if workers > 1 and str(ctx.app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        click.echo(
            f"Note: rate limits are counted in each of the {workers} worker processes, so up "
            f"to {workers}x the configured rates pass; set SOLVELOOP_RATELIMIT_STORAGE_URI to "
            "a redis:// address for exact limits.",
            err=True,
        )
    if threads == 1:
        # One request at a time per process, taken from the shared listen queue: with 50
        # typists at 20k articles, loaded p95 / unloaded p95 was 1.57-1.66 against
        # 2.80-3.22 for 2 workers x 2 threads, whose requests share one GIL per worker.
        concurrency = ["--worker-class", "sync"]
    else:
        # A typist's requests come seconds apart; gunicorn's 2 s default keep-alive closes
        # the connection between them, and a client that reuses it gets an error.
        concurrency = ["--threads", str(threads), "--keep-alive", "30"]
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--preload",
        "--no-control-socket",
        "--workers",
        str(workers),
        *concurrency,
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        f"portal.wsgi:create_app(instance_path={instance!r})",
    ]
    sys.stdout.flush()
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn


@main.command("mail-in")
@click.argument("source", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--maildir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="File every waiting message of this Maildir (new/ and cur/ without the S flag), "
    "each in its own transaction, then mark it seen (moved to cur/ with the S flag).",
)
@pass_context
def mail_in(ctx: Context, source: str | None, maildir: Path | None) -> None:
    """File one e-mail (on stdin, or the file SOURCE) as a new ticket or a reply, or every
    waiting message of a Maildir.

    For an MTA alias. Exit status: 0 accepted or ignored (duplicates, auto-replies,
    bounces), 65 not a mail it can read, 66 SOURCE missing, 77 refused by the sender
    policy, 75 the database is unavailable (the MTA tries again later). With --maildir:
    0 when every message was filed (refused ones included, see the lines printed), 75
    when some are kept for the next run, 66 when DIR is not a Maildir, 0 without doing
    anything when another run holds the folder.
    """
    from datetime import timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from portal.tickets import attachments
    from portal.tickets import mail_in as intake

    if maildir is not None and source is not None:
        raise click.UsageError("give either SOURCE or --maildir, not both")
    try:
        config = ctx.app.config
        limit = int(config["MAIL_IN_MAX_BYTES"])
    except Exception as exc:  # a broken instance folder or config: keep the message queued
        click.echo(f"deferred: cannot start: {type(exc).__name__}: {str(exc)[:200]}", err=True)
        sys.exit(intake.EX_TEMPFAIL)
    settings = intake.MailConfig(
        secret=str(config["SECRET_KEY"]),
        max_bytes=limit,
        sender_limit=int(config["MAIL_IN_SENDER_LIMIT"]),
        sender_window=timedelta(minutes=float(config["MAIL_IN_SENDER_WINDOW_MINUTES"])),
        authserv_id=str(config["MAIL_AUTHSERV_ID"]),
        store=attachments.Store(config["ATTACHMENTS_PATH"]),
        attachment_rules=attachments.Rules.from_config(config),
    )
    if maildir is not None:
        _mail_in_maildir(ctx, maildir, settings)
        return
    try:
        if source is None or source == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(limit + 1)
    except OSError as exc:
        click.echo(f"refused: cannot read {source}: {exc.strerror}", err=True)
        sys.exit(intake.EX_NOINPUT)
    try:
        with ctx.app.app_context(), ctx.app.extensions["solveloop.write_sessions"]() as session:
            outcome = intake.receive(session, raw, settings)
    except SQLAlchemyError as exc:
        click.echo(f"deferred: the database is unavailable ({type(exc).__name__})", err=True)
        sys.exit(intake.EX_TEMPFAIL)
    except Exception as exc:  # keep the message queued rather than lose it
        click.echo(f"deferred: {type(exc).__name__}: {str(exc)[:200]}", err=True)
        sys.exit(intake.EX_TEMPFAIL)
    click.echo(outcome.message, err=outcome.status != intake.EX_OK)
    sys.exit(outcome.status)


def _mail_in_maildir(ctx: Context, maildir: Path, settings: Any) -> None:
    """File a Maildir's waiting messages; one run at a time holds ``maildir/.solveloop.lock``."""
    import fcntl

    from sqlalchemy.exc import SQLAlchemyError

    from portal.jobs import jobs_of
    from portal.tickets import mail_in as intake

    def report(name: str, outcome: intake.Outcome) -> None:
        if outcome.status != intake.EX_OK:
            click.echo(f"{name}: {outcome.message}", err=True)

    try:
        lock = open(maildir / ".solveloop.lock", "a")  # noqa: SIM115 - held for the whole run
    except OSError as exc:
        click.echo(f"refused: cannot open the Maildir {maildir}: {exc.strerror}", err=True)
        sys.exit(intake.EX_NOINPUT)
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            click.echo(f"maildir: another mail-in run is filing {maildir}; nothing done")
            return
        try:
            with ctx.app.app_context():
                run = intake.receive_maildir(
                    ctx.app.extensions["solveloop.write_sessions"],
                    maildir,
                    settings,
                    report,
                    poke_mail=jobs_of(ctx.app).poke_mail,
                )
        except intake.MaildirMissing as exc:
            click.echo(f"refused: {exc}", err=True)
            sys.exit(intake.EX_NOINPUT)
        except SQLAlchemyError as exc:
            click.echo(
                f"deferred: the database is unavailable ({type(exc).__name__});"
                " the waiting messages stay for the next run",
                err=True,
            )
            sys.exit(intake.EX_TEMPFAIL)
    for line in run.deferred:
        click.echo(f"deferred: {line}", err=True)
    click.echo(run.summary())
    if run.deferred:
        sys.exit(intake.EX_TEMPFAIL)


PUBLIC_SETS = ("stackfaq", "bq")
METRIC_NAMES = ("MAP", "MRR", "P@1", "P@5", "nDCG@10", "R@10")


@main.command("eval-search")
@click.argument(
    "data_dir", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--split", default="dev", show_default=True, help="Which queries-SPLIT.jsonl to run.")
@click.option(
    "--mode",
    type=click.Choice(["full", "typing", "typo"]),
    default=None,
    help="full: the search path; typing: half-typed queries through the suggestion path; "
    "typo: the search path with one English word of 5+ letters misspelt by one edit. "
    "Default: full for DATA_DIR, every mode for all sets.",
)
@click.option("--history", default=None, help="Learn past phrasings from this split's queries.")
@click.option(
    "--baseline",
    is_flag=True,
    help="Plain Whoosh instead (stemming analyzer, default BM25F over title and body).",
)
@click.option(
    "--peer",
    type=click.Choice(["fts5"]),
    default=None,
    help="A peer instead: fts5 is SQLite FTS5 as `make bench` builds and queries it "
    "(unicode61, Chinese segmented by jieba; titles and bodies only).",
)
@click.option(
    "--bench",
    "bench_dir",
    default=Path("../shared/bench"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the public sets are, when DATA_DIR is not given.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_search(
    data_dir: Path | None,
    split: str,
    mode: str | None,
    history: str | None,
    baseline: bool,
    peer: str | None,
    bench_dir: Path,
    as_json: bool,
) -> None:
    """Measure search relevance: on DATA_DIR (corpus.jsonl, queries-SPLIT.jsonl,
    qrels-SPLIT.tsv), or without it on the public sets found under --bench and the
    intake set (requests as users word them, against the demo articles)."""
    from portal.demo.evaluation import intake_collection
    from search.evaluation import MODES, evaluate, evaluate_collection, load_collection

    if baseline and peer:
        raise click.UsageError("--baseline and --peer are two different references: choose one")
    if data_dir is None:
        sets = {}
        for name in PUBLIC_SETS:
            folder = bench_dir / name
            if all((folder / f).is_file() for f in _bench_files(split)):
                sets[name] = load_collection(folder, split, history)
            elif not as_json:
                click.echo(f"({folder} has no {split} split: skipped)")
        sets["intake"] = intake_collection()
        modes = (mode,) if mode else MODES
        figures = {
            name: {
                run: metrics.as_dict()
                for run, metrics in evaluate_collection(
                    collection,
                    modes,  # type: ignore[arg-type]
                    baseline=baseline,
                    peer=peer,
                ).items()
            }
            for name, collection in sets.items()
        }
        if as_json:
            click.echo(json.dumps(figures))
            return
        click.echo(f"{'set':<10} {'mode':<7} " + " ".join(f"{n:>7}" for n in METRIC_NAMES))
        for name, runs in figures.items():
            for run, values in runs.items():
                row = " ".join(f"{values[n]:>7.3f}" for n in METRIC_NAMES)
                click.echo(f"{name:<10} {run:<7} {row}  ({values['queries']} queries)")
        return
    for needed in _bench_files(split):
        if not (data_dir / needed).is_file():
            raise click.BadParameter(f"{data_dir / needed} does not exist", param_hint="DATA_DIR")
    if history is not None and not (data_dir / f"queries-{history}.jsonl").is_file():
        raise click.BadParameter(
            f"no queries-{history}.jsonl in {data_dir}", param_hint="--history"
        )
    mode = mode or "full"
    metrics = evaluate(
        data_dir,
        split,
        mode,  # type: ignore[arg-type]
        history,
        baseline=baseline,
        peer=peer,
    )
    values = metrics.as_dict()
    if as_json:
        click.echo(json.dumps(values))
        return
    what = ", ".join([mode] + ([f"history {history}"] if history else []))
    what += ", plain Whoosh" if baseline else ""
    what += f", peer {peer}" if peer else ""
    click.echo(f"{data_dir.name} {split} ({what}):")
    for name in METRIC_NAMES:
        click.echo(f"  {name:<8} {values[name]:.4f}")
    click.echo(f"  queries  {metrics.queries}   ({metrics.queries_per_second:.0f} queries/s)")


def _bench_files(split: str) -> tuple[str, ...]:
    return ("corpus.jsonl", f"queries-{split}.jsonl", f"qrels-{split}.tsv")


@main.command()
@click.option(
    "--threads", default=2, show_default=True, type=click.IntRange(min=1), help="Job threads."
)
@click.option(
    "--no-index",
    is_flag=True,
    help="Do not follow the index outbox here (another process on this node does).",
)
@pass_context
def worker(ctx: Context, threads: int, no_index: bool) -> None:
    """Run the background jobs (mail, service-level sweeps, reminders, auto-close) and this
    node's index outbox follower; production runs it under systemd and sets
    JOBS_IN_PROCESS = False and INDEXER_THREAD = False for the web processes."""
    from portal.indexer import IndexerThread, recovery_of
    from portal.jobs import jobs_of

    app = ctx.app
    if not no_index:
        follower = IndexerThread(
            app.extensions["solveloop.indexer"],
            app.extensions["solveloop.synonyms"],
            float(app.config["INDEXER_POLL_SECONDS"]),
            recovery_of(app),
        )
        follower.ensure_running()
    click.echo(f"Worker running with {threads} job threads; Ctrl-C stops it.")
    jobs_of(app).consumer_for(threads).run()
    click.echo("Worker stopped.")


# The knowledge commands (articles export/import, tickets import, knowledge gaps) attach
# themselves to ``main``.
from portal import knowledge_cli  # noqa: E402, F401
