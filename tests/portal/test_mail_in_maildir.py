"""`solveloop mail-in --maildir` with real .eml files in a real Maildir, through the
command: each message filed once, marked done only after its commit, and none lost or
filed twice when the process is killed mid-run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from portal.cli import main
from portal.tickets.models import EventKind, IncomingMail, Ticket, TicketEvent

MAIL = Path(__file__).with_name("mail")
SECRET = "test-secret"


@pytest.fixture
def maildir(tmp_path):
    box = tmp_path / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True)
    return box


def deliver(box: Path, name: str, data: bytes, sub: str = "new", info: str = "") -> Path:
    """Write a message as a delivery agent does: into tmp/, then renamed into place."""
    temp = box / "tmp" / name
    temp.write_bytes(data)
    target = box / sub / (name + info)
    os.rename(temp, target)
    return target


def variant(name: str, **headers: str) -> bytes:
    lines = (MAIL / name).read_bytes().split(b"\r\n")
    for header, value in headers.items():
        field = header.replace("_", "-").encode()
        lines = [
            field + b": " + value.encode()
            if line.lower().startswith(field.lower() + b":")
            else line
            for line in lines
        ]
    return b"\r\n".join(lines)


def environment(database_url: str, **config: object) -> dict[str, str]:
    return {
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_INDEXER_THREAD": "false",
        "SOLVELOOP_JOBS_IN_PROCESS": "false",
        "SOLVELOOP_SECRET_KEY": SECRET,
    } | {f"SOLVELOOP_{key}": str(value) for key, value in config.items()}


@pytest.fixture
def mail_in(database_url, tmp_path, mail_people):
    runner = CliRunner()
    instance = str(tmp_path / "mail-instance")

    def run(*args, stdin=None, **config):
        return runner.invoke(
            main,
            ["--instance", instance, "mail-in", *args],
            input=stdin,
            env=environment(database_url, **config),
        )

    return run


def fresh(db):
    db.rollback()
    db.expire_all()


def done_names(box: Path) -> dict[str, str]:
    """Return the unique names of the messages in cur/ with their flags."""
    return {
        entry.name.partition(":2,")[0]: entry.name.partition(":2,")[2]
        for entry in (box / "cur").iterdir()
    }


def test_each_waiting_message_is_filed_once_and_marked_done(mail_in, db, maildir):
    deliver(maildir, "1765072682.M1P10.mx", (MAIL / "new-english.eml").read_bytes())
    deliver(maildir, "1765072690.M2P10.mx", (MAIL / "new-chinese-utf8.eml").read_bytes())
    # Read by someone in a mail client but never filed: still waiting.
    deliver(maildir, "1765075202.M3P10.mx", (MAIL / "reply-outlook.eml").read_bytes(), "cur", ":2,")
    deliver(maildir, "1765075300.M4P10.mx", (MAIL / "auto-reply.eml").read_bytes())
    deliver(maildir, "1765075400.M5P10.mx", (MAIL / "not-a-mail.eml").read_bytes())
    # Already filed by an earlier run.
    filed = variant("new-english.eml", Message_ID="<old@x>")
    deliver(maildir, "1765000000.M0P10.mx", filed, "cur", ":2,S")

    result = mail_in("--maildir", str(maildir))

    assert result.exit_code == 0, result.output
    assert "maildir: 5 filed (1 ignored, 2 opened, 1 refused, 1 replied)" in result.output
    assert "1765075400.M5P10.mx: refused:" in result.output
    assert not list((maildir / "new").iterdir())
    assert done_names(maildir) == {
        "1765000000.M0P10.mx": "S",
        "1765072682.M1P10.mx": "S",
        "1765072690.M2P10.mx": "S",
        "1765075202.M3P10.mx": "S",
        "1765075300.M4P10.mx": "S",
        "1765075400.M5P10.mx": "FS",  # unreadable: flagged for an admin
    }
    fresh(db)
    tickets = db.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert tickets[0].subject == "VPN error 809 when working from home"
    assert len(tickets) == 2
    replies = db.scalars(
        select(TicketEvent).where(TicketEvent.kind == EventKind.REPLY, TicketEvent.ticket_id == 1)
    ).all()
    assert len(replies) == 1  # the Outlook reply threaded onto the first mail's ticket

    again = mail_in("--maildir", str(maildir))
    assert again.exit_code == 0
    assert "maildir: 0 filed" in again.output
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Ticket)) == 2


def test_a_message_committed_but_not_yet_moved_is_not_filed_twice(mail_in, db, maildir):
    data = (MAIL / "new-english.eml").read_bytes()
    # The kill -9 window: the transaction committed, the rename never happened.
    assert mail_in(stdin=data).exit_code == 0
    deliver(maildir, "1765072682.M1P10.mx", data)

    result = mail_in("--maildir", str(maildir))

    assert result.exit_code == 0, result.output
    assert "1 duplicate" in result.output
    assert done_names(maildir) == {"1765072682.M1P10.mx": "S"}
    fresh(db)
    assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_folder_that_is_not_a_maildir_is_no_input(mail_in, tmp_path):
    (tmp_path / "plain").mkdir()
    result = mail_in("--maildir", str(tmp_path / "plain"))
    assert result.exit_code == 66
    assert "is not a Maildir: it has no new/ folder" in result.output


def test_a_source_and_a_maildir_together_are_a_usage_error(mail_in, maildir):
    result = mail_in("message.eml", "--maildir", str(maildir))
    assert result.exit_code == 2
    assert "either SOURCE or --maildir" in result.output


def test_an_unavailable_database_keeps_every_message_for_the_next_run(tmp_path, maildir):
    message = deliver(maildir, "1765072682.M1P10.mx", (MAIL / "new-english.eml").read_bytes())
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'portal.sqlite'}"
    command = Path(sys.executable).with_name("solveloop")
    done = subprocess.run(
        [str(command), "--instance", str(tmp_path / "i"), "mail-in", "--maildir", str(maildir)],
        capture_output=True,
        env={**os.environ, **environment(missing)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 75
    assert done.stderr.decode().startswith("deferred: the database is unavailable")
    assert b"Traceback" not in done.stderr + done.stdout
    assert message.exists()


def test_a_second_run_leaves_a_maildir_that_another_run_holds(mail_in, db, maildir):
    import fcntl

    deliver(maildir, "1765072682.M1P10.mx", (MAIL / "new-english.eml").read_bytes())
    with open(maildir / ".solveloop.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = mail_in("--maildir", str(maildir))
    assert result.exit_code == 0
    assert "another mail-in run is filing" in result.output
    assert (maildir / "new" / "1765072682.M1P10.mx").exists()


def test_killing_the_command_mid_run_loses_and_duplicates_nothing(
    database_url, db, mail_people, tmp_path, maildir
):
    count = 60
    for n in range(count):
        if n % 3 == 2:  # the requester's follow-up on an earlier mail of the run
            data = variant(
                "reply-outlook.eml",
                Message_ID=f"<reply-{n}@corp.example.com>",
                Subject=f"RE: [#1] kill drill {n}",
            )
        else:
            data = variant(
                "new-english.eml",
                Message_ID=f"<drill-{n}@corp.example.com>",
                Subject=f"Drill request {n}",
            )
        deliver(maildir, f"{1765072682 + n}.M{n}P1.mx", data)
    command = Path(sys.executable).with_name("solveloop")
    args = [str(command), "--instance", str(tmp_path / "i"), "mail-in", "--maildir", str(maildir)]
    env = {**os.environ, **environment(database_url, MAIL_IN_SENDER_LIMIT=1000)}
    kills = 0
    for attempt in range(30):
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if attempt < 3:
            # Kill it once it has filed a few more messages, in the middle of its work.
            before = len(done_names(maildir))
            deadline = time.monotonic() + 60
            while len(done_names(maildir)) < before + 4 and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
        _out, err = process.communicate(timeout=120)
        if process.returncode == 0 and not list((maildir / "new").iterdir()):
            break
    assert kills >= 1
    assert b"Traceback" not in err
    assert len(done_names(maildir)) == count
    fresh(db)
    received = db.scalars(select(IncomingMail.message_id)).all()
    assert sorted(received) == sorted(set(received)) and len(received) == count
    created = db.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.CREATED)).all()
    assert sorted(e.detail["message_id"] for e in created) == sorted(
        f"<drill-{n}@corp.example.com>" for n in range(count) if n % 3 != 2
    )
    replies = db.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.REPLY)).all()
    assert sorted(e.detail["message_id"] for e in replies) == sorted(
        f"<reply-{n}@corp.example.com>" for n in range(count) if n % 3 == 2
    )


def test_a_run_asks_the_mail_job_once_for_all_its_messages(mail_in, tmp_path, maildir):
    from huey import SqliteHuey

    for n in range(3):
        data = variant("new-english.eml", Message_ID=f"<ask-{n}@corp.example.com>")
        deliver(maildir, f"{1765072682 + n}.M{n}P10.mx", data)

    assert mail_in("--maildir", str(maildir)).exit_code == 0

    queue = SqliteHuey("solveloop", filename=str(tmp_path / "mail-instance" / "jobs.sqlite"))
    assert queue.pending_count() == 1  # three receipts to send, one job to send them
