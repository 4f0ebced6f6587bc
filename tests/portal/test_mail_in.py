"""`solveloop mail-in` with real .eml files, through the command, on the test database.

The replies in tests/portal/mail/ answer Message-IDs signed for ticket 1 with the secret
"test-secret", which the command is given here; each test starts from an empty database,
so the first ticket it opens is ticket 1.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from portal.admin import settings
from portal.auth.models import Role, User
from portal.cli import main
from portal.tickets import service
from portal.tickets.mail_in import clean_subject
from portal.tickets.models import (
    Actor,
    Channel,
    EventKind,
    IncomingMail,
    Status,
    Ticket,
    TicketEvent,
)

MAIL = Path(__file__).with_name("mail")
SECRET = "test-secret"


@pytest.fixture
def mail_in(database_url, tmp_path, mail_people):
    """Pipe a message (a file name under tests/portal/mail/, or bytes) to `solveloop mail-in`."""
    runner = CliRunner()
    instance = str(tmp_path / "mail-instance")

    def run(message, *, as_file=False, **config):
        data = message if isinstance(message, bytes) else (MAIL / message).read_bytes()
        env = {
            "SOLVELOOP_DATABASE_URL": database_url,
            "SOLVELOOP_INDEXER_THREAD": "false",
            "SOLVELOOP_SECRET_KEY": SECRET,
        } | {f"SOLVELOOP_{key}": str(value) for key, value in config.items()}
        if as_file:
            path = tmp_path / "message.eml"
            path.write_bytes(data)
            return runner.invoke(main, ["--instance", instance, "mail-in", str(path)], env=env)
        return runner.invoke(main, ["--instance", instance, "mail-in"], input=data, env=env)

    return run


def tickets(db):
    db.rollback()
    db.expire_all()
    return db.scalars(select(Ticket).order_by(Ticket.id)).all()


def events(db, ticket_id, kind=None):
    db.rollback()
    db.expire_all()
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
    if kind is not None:
        query = query.where(TicketEvent.kind == kind)
    return db.scalars(query.order_by(TicketEvent.id)).all()


def variant(name, **headers):
    """Return a file's bytes with header lines replaced: variant(name, Message_ID="<x@y>")."""
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


def test_a_new_mail_from_a_known_user_opens_an_email_ticket(mail_in, db, mail_people):
    result = mail_in("new-english.eml")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "accepted: opened ticket #1"
    [ticket] = tickets(db)
    assert ticket.subject == "VPN error 809 when working from home"
    assert ticket.symptom.startswith("Hello,\n\nSince this morning the VPN client says")
    assert "Finance | ext. 2231" not in ticket.symptom  # the signature is not the request
    assert ticket.channel is Channel.EMAIL
    assert ticket.requester_id == mail_people["alice"].id
    assert ticket.contact == "alice.chen@corp.example.com"
    assert (ticket.impact, ticket.urgency, ticket.priority) == ("me", "medium", "P3")
    [created] = events(db, ticket.id, EventKind.CREATED)
    assert created.actor is Actor.EMAIL and created.actor_id == mail_people["alice"].id
    assert created.detail["message_id"] == "<CAF3q8W+new-english-1@mail.gmail.com>"


def test_the_same_message_delivered_twice_creates_nothing_the_second_time(mail_in, db):
    assert mail_in("new-english.eml").exit_code == 0
    again = mail_in("new-english.eml")
    assert again.exit_code == 0
    assert again.output.startswith("duplicate: <CAF3q8W+new-english-1@mail.gmail.com>")
    assert len(tickets(db)) == 1
    assert db.scalar(select(func.count()).select_from(IncomingMail)) == 1


def test_a_message_can_be_read_from_a_file_argument(mail_in, db):
    result = mail_in("new-english.eml", as_file=True)
    assert result.exit_code == 0, result.output
    assert len(tickets(db)) == 1


def test_a_chinese_mail_labelled_gb2312_keeps_its_gbk_characters(mail_in, db, mail_people):
    assert mail_in("new-chinese-gbk.eml").exit_code == 0
    [ticket] = tickets(db)
    assert ticket.subject == "打印机连不上（王喆也不行）"
    assert "同事王喆和李堃的电脑也打印不了" in ticket.symptom
    assert ticket.requester_id == mail_people["zhangwei"].id


def test_a_chinese_utf8_mail_with_an_html_alternative_is_read_from_its_text_part(mail_in, db):
    assert mail_in("new-chinese-utf8.eml").exit_code == 0
    [ticket] = tickets(db)
    assert ticket.subject == "VPN 连接失败 (错误 809)"
    assert ticket.symptom == "VPN 从今天早上开始连不上，提示错误 809。\n我已经重启过电脑了。"


def test_an_html_only_mail_becomes_plain_text_without_markup_or_scripts(mail_in, db):
    assert mail_in("html-only.eml").exit_code == 0
    [ticket] = tickets(db)
    assert 'The second monitor on my dock stays black & shows "no signal".' in ticket.symptom
    assert "Dock: USB-C" in ticket.symptom
    for unsafe in ("<", "alert", "javascript", "color: red", "tracker"):
        assert unsafe not in ticket.symptom


def test_control_characters_in_a_mail_are_removed_like_form_input(mail_in, db):
    data = (MAIL / "new-english.eml").read_bytes().replace(b"Hello,", b"He\x1b[31mllo\x07,")
    assert mail_in(data).exit_code == 0
    [ticket] = tickets(db)
    assert ticket.symptom.startswith("He[31mllo,")


def test_a_gmail_reply_threads_by_its_signed_id_and_drops_the_quoted_history(
    mail_in, db, mail_people
):
    mail_in("new-english.eml")
    ticket = db.get(Ticket, 1)
    service.take(ticket, db.merge(mail_people["tom"]))
    service.move(
        ticket, Status.WAITING, db.merge(mail_people["tom"]), "Please reinstall the client."
    )
    db.commit()
    result = mail_in("reply-gmail.eml")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "accepted: reply added to ticket #1"
    replies = events(db, 1, EventKind.REPLY)
    assert (
        replies[-1].body == "I reinstalled the client as you said and it connects now. Thank you!"
    )
    assert replies[-1].actor is Actor.EMAIL and replies[-1].actor_id == mail_people["alice"].id
    assert replies[-1].detail["message_id"] == "<CAF3q8W+reply-gmail-2@mail.gmail.com>"
    assert not replies[-1].internal
    assert tickets(db)[0].status is Status.IN_PROGRESS  # the answer ends the wait
    resumed = events(db, 1, EventKind.STATUS_CHANGED)[-1]
    assert (resumed.old_value, resumed.new_value) == ("waiting", "in_progress")
    assert resumed.actor is Actor.EMAIL and resumed.actor_id == mail_people["alice"].id
    assert len(tickets(db)) == 1


def test_an_outlook_reply_without_references_threads_by_the_subject_tag_for_the_requester(
    mail_in, db, mail_people
):
    mail_in("new-english.eml")
    result = mail_in("reply-outlook.eml")
    assert result.exit_code == 0, result.output
    [reply] = events(db, 1, EventKind.REPLY)
    assert reply.body == "It still fails after the reinstall, now with error 720."
    assert reply.actor_id == mail_people["alice"].id


def test_a_subject_tag_from_someone_else_is_not_followed(mail_in, db, mail_people):
    mail_in("new-english.eml")
    result = mail_in(variant("reply-outlook.eml", From="Bob Martin <bob.martin@corp.example.com>"))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "accepted: opened ticket #2"
    assert events(db, 1, EventKind.REPLY) == []
    assert tickets(db)[1].requester_id == mail_people["bob"].id


def test_a_follow_up_to_the_requesters_own_first_mail_threads_onto_its_ticket(mail_in, db):
    mail_in("new-english.eml")
    follow_up = variant(
        "new-english.eml",
        Message_ID="<CAF3q8W+follow-up-3@mail.gmail.com>",
        Subject="Re: VPN error 809 when working from home",
    ).replace(
        b"MIME-Version: 1.0",
        b"In-Reply-To: <CAF3q8W+new-english-1@mail.gmail.com>\r\nMIME-Version: 1.0",
    )
    assert mail_in(follow_up).exit_code == 0
    assert len(tickets(db)) == 1
    assert len(events(db, 1, EventKind.REPLY)) == 1


def test_chinese_outlook_and_apple_mail_replies_lose_their_quoted_history(mail_in, db):
    mail_in("new-chinese-gbk.eml")
    assert mail_in("reply-chinese-outlook.eml").exit_code == 0
    assert mail_in("reply-chinese-apple.eml").exit_code == 0
    outlook, apple = events(db, 1, EventKind.REPLY)
    assert outlook.body == "重装以后还是不行，错误变成 720 了。\n\n张伟"
    assert apple.body == "好的，我重启以后可以打印了，谢谢！"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("auto-reply.eml", "ignored: automatic mail (Auto-Submitted: auto-replied)"),
        ("list-mail.eml", "ignored: bulk mail (Precedence: list)"),
        ("from-desk.eml", "ignored: mail from the desk's own address"),
    ],
)
def test_auto_replies_list_mail_and_the_desks_own_mail_create_nothing(mail_in, db, name, reason):
    mail_in("new-english.eml")
    before = len(events(db, 1))
    result = mail_in(name)
    assert result.exit_code == 0
    assert result.output.strip() == reason
    assert len(events(db, 1)) == before
    assert len(tickets(db)) == 1


@pytest.mark.parametrize(
    "header", ["X-Autoreply: yes", "X-Autorespond: vacation", "List-Id: <x.y>"]
)
def test_each_loop_header_alone_is_enough_to_ignore_a_mail(mail_in, db, header):
    data = (
        (MAIL / "unknown-internal.eml")
        .read_bytes()
        .replace(b"MIME-Version", header.encode() + b"\r\nMIME-Version")
    )
    result = mail_in(data)
    assert result.exit_code == 0 and result.output.startswith("ignored:")
    assert tickets(db) == []


def test_a_bounce_is_recorded_on_the_ticket_its_notification_was_about(mail_in, db):
    mail_in("new-english.eml")
    result = mail_in("bounce-dsn.eml")
    assert result.exit_code == 0
    assert "recorded on ticket #1" in result.output
    [failed] = events(db, 1, EventKind.NOTIFICATION_FAILED)
    assert failed.internal and failed.actor is Actor.EMAIL
    assert "left.company@corp.example.com: 5.1.1" in failed.body
    assert failed.detail["recipients"] == ["left.company@corp.example.com"]
    assert len(tickets(db)) == 1 and events(db, 1, EventKind.REPLY) == []


def test_a_bounce_about_no_known_ticket_is_ignored(mail_in, db):
    result = mail_in("bounce-dsn.eml")
    assert result.exit_code == 0
    assert result.output.strip() == "ignored: a delivery status notification"
    assert tickets(db) == []


def test_a_reply_from_someone_who_is_not_the_requester_is_refused(mail_in, db):
    mail_in("new-english.eml")
    result = mail_in("forged-sender.eml")
    assert result.exit_code == 77
    assert "only the requester of ticket #1" in result.output
    assert events(db, 1, EventKind.REPLY) == [] and events(db, 1, EventKind.NOTE) == []
    assert len(tickets(db)) == 1


@pytest.mark.parametrize("authserv", ["", "mx.corp.example.com"])
def test_a_technicians_address_the_mail_server_does_not_vouch_for_is_refused(mail_in, db, authserv):
    mail_in("new-english.eml")
    result = mail_in("forged-technician.eml", MAIL_AUTHSERV_ID=authserv)
    assert result.exit_code == 77
    assert "must be authenticated" in result.output
    assert events(db, 1, EventKind.REPLY) == [] and events(db, 1, EventKind.NOTE) == []


def test_an_authenticated_technician_reply_is_a_staff_reply(mail_in, db, mail_people):
    mail_in("new-english.eml")
    assert mail_in("staff-reply.eml").exit_code == 77  # nothing vouches for it yet
    result = mail_in(
        variant("staff-reply.eml", Message_ID="<staff-reply-0002@corp.example.com>"),
        MAIL_AUTHSERV_ID="mx.corp.example.com",
    )
    assert result.exit_code == 0, result.output
    [reply] = events(db, 1, EventKind.REPLY)
    assert reply.body == "I have reset your VPN profile; please try again."
    assert reply.actor_id == mail_people["tom"].id and reply.actor is Actor.EMAIL
    assert tickets(db)[0].first_response_at is not None


def test_an_authentication_result_from_another_server_counts_for_nothing(mail_in, db):
    mail_in("new-english.eml")
    result = mail_in("staff-reply.eml", MAIL_AUTHSERV_ID="mx.elsewhere.example")
    assert result.exit_code == 77


@pytest.mark.parametrize("name", ["header-injection.eml", "header-bare-cr.eml"])
def test_a_header_injection_attempt_is_refused(mail_in, db, name):
    result = mail_in(name)
    assert result.exit_code == 65
    assert result.output.startswith("refused: header injection")
    assert len(result.output.strip().splitlines()) == 1
    assert tickets(db) == []


@pytest.mark.parametrize(
    "name, reason",
    [
        ("not-a-mail.eml", "refused: not a mail message"),
        ("no-from.eml", "refused: the message must have exactly one From header"),
    ],
)
def test_input_that_is_not_a_usable_mail_is_refused_as_bad_data(mail_in, db, name, reason):
    result = mail_in(name)
    assert result.exit_code == 65
    assert result.output.startswith(reason)
    assert tickets(db) == []


def test_an_oversized_message_is_refused(mail_in, db):
    result = mail_in("new-english.eml", MAIL_IN_MAX_BYTES=500)
    assert result.exit_code == 65
    assert "more than the limit of 500" in result.output
    assert tickets(db) == []


def test_a_missing_file_is_no_input(mail_in, tmp_path):
    result = CliRunner().invoke(
        main, ["--instance", str(tmp_path / "i"), "mail-in", str(tmp_path / "nothing.eml")]
    )
    assert result.exit_code == 66
    assert result.output.startswith("refused: cannot read")


@pytest.mark.parametrize(
    "policy, name, status, username",
    [
        ("internal", "unknown-internal.eml", 0, "wang.fang"),
        ("internal", "unknown-external.eml", 77, None),
        ("create", "unknown-external.eml", 0, "sales"),
        ("reject", "unknown-internal.eml", 77, None),
    ],
)
def test_unknown_senders_follow_the_desk_policy(
    mail_in, db, mail_people, policy, name, status, username
):
    settings.change(db, "unknown_senders", policy, mail_people["chief"].id)
    db.commit()
    result = mail_in(name)
    assert result.exit_code == status, result.output
    created = db.scalar(select(User).where(User.username == username)) if username else None
    if username is None:
        assert tickets(db) == []
        assert "has no account here" in result.output
        return
    [ticket] = tickets(db)
    assert created is not None and created.role is Role.USER
    assert ticket.requester_id == created.id
    assert created.email == ticket.contact


def test_a_created_account_gets_a_username_that_is_free(mail_in, db, make_user):
    make_user(username="wang.fang", email="someone.else@corp.example.com")
    assert mail_in("unknown-internal.eml").exit_code == 0
    db.expire_all()
    created = db.scalar(select(User).where(User.email == "wang.fang@corp.example.com"))
    assert created.username == "wang.fang-2" and created.display_name == "Wang Fang"


def test_a_deactivated_account_cannot_open_tickets_by_mail(mail_in, db, mail_people):
    db.merge(mail_people["bob"]).active = False
    db.commit()
    result = mail_in("html-only.eml")
    assert result.exit_code == 77
    assert tickets(db) == []


def test_a_deactivated_requester_cannot_reply_by_mail(mail_in, db, mail_people):
    mail_in("new-english.eml")
    db.merge(mail_people["alice"]).active = False
    db.commit()
    result = mail_in("reply-gmail.eml")
    assert result.exit_code == 77
    assert "is closed" in result.output
    assert events(db, 1, EventKind.REPLY) == []


def test_a_sender_over_the_rate_limit_is_ignored(mail_in, db):
    for number in range(3):
        data = variant("unknown-internal.eml", Message_ID=f"<burst-{number}@corp.example.com>")
        result = mail_in(data, MAIL_IN_SENDER_LIMIT=2)
        assert result.exit_code == 0
    assert "more than 2 messages from wang.fang@corp.example.com" in result.output
    assert len(tickets(db)) == 2


def test_a_reply_to_a_closed_ticket_opens_a_new_ticket_that_names_the_old_one(
    mail_in, db, mail_people
):
    mail_in("new-english.eml")
    ticket = db.get(Ticket, 1)
    service.record_resolution(ticket, db.merge(mail_people["tom"]), "Profile", "", "Reset it")
    service.confirm_fix(ticket, db.merge(mail_people["alice"]))
    db.commit()
    result = mail_in("reply-gmail.eml")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "accepted: ticket #1 is closed, opened ticket #2"
    new = tickets(db)[1]
    assert new.requester_id == mail_people["alice"].id and new.channel is Channel.EMAIL
    [created] = events(db, new.id, EventKind.CREATED)
    assert created.detail["follows"] == 1
    assert new.subject == tickets(db)[0].subject  # no "Re:" and no old ticket tag


@pytest.mark.parametrize(
    "subject, cleaned",
    [
        ("Re: [#1] Printer offline", "Printer offline"),
        ("RE: Fwd: VPN drops", "VPN drops"),
        ("回复：[#12] 打印机脱机", "打印机脱机"),
        ("AW: Re[2]: Outlook", "Outlook"),
        ("Regarding the VPN", "Regarding the VPN"),
        ("Fw:  [#3]  Outlook", "Outlook"),
        ("Re:", ""),
    ],
)
def test_reply_marks_and_ticket_tags_are_cut_from_a_new_tickets_subject(subject, cleaned):
    assert clean_subject(subject) == cleaned


def test_the_old_and_the_new_ticket_link_each_other_for_their_readers(
    mail_in, db, mail_people, login, make_client
):
    mail_in("new-english.eml")
    ticket = db.get(Ticket, 1)
    service.record_resolution(ticket, db.merge(mail_people["tom"]), "Profile", "", "Reset it")
    service.confirm_fix(ticket, db.merge(mail_people["alice"]))
    db.commit()
    mail_in("reply-gmail.eml")
    [followed] = events(db, 1, EventKind.FOLLOWED_UP)
    assert followed.detail["opened"] == 2 and followed.actor is Actor.EMAIL
    for reader in (mail_people["alice"], mail_people["tom"]):
        client = login(reader, on=make_client())
        old = client.get("/tickets/1").get_data(as_text=True)
        new = client.get("/tickets/2").get_data(as_text=True)
        assert 'Followed by <a href="/tickets/2">#2' in old
        assert "which opened ticket #2" in old
        assert 'Follows <a href="/tickets/1">#1' in new
    assert login(mail_people["bob"], on=make_client()).get("/tickets/2").status_code == 404


def test_the_ticket_page_says_the_reply_came_by_email(mail_in, db, mail_people, login, client):
    mail_in("new-english.eml")
    mail_in("reply-outlook.eml")
    login(mail_people["alice"])
    page = client.get("/tickets/1").get_data(as_text=True)
    assert "Alice Chen (by email) replied" in page


def solveloop(*args, database_url, stdin):
    """Run the installed `solveloop` command as an MTA would, message on standard input."""
    env = {
        **os.environ,
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_INDEXER_THREAD": "false",
        "SOLVELOOP_SECRET_KEY": SECRET,
    }
    command = Path(sys.executable).with_name("solveloop")
    return subprocess.run(
        [str(command), *args], input=stdin, capture_output=True, env=env, timeout=60, check=False
    )


def test_the_installed_command_reads_standard_input_as_an_mta_pipes_it(db, mail_people, tmp_path):
    database_url = db.get_bind().url.render_as_string(hide_password=False)
    data = (MAIL / "new-chinese-utf8.eml").read_bytes()
    done = solveloop(
        "--instance", str(tmp_path / "i"), "mail-in", database_url=database_url, stdin=data
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().strip() == "accepted: opened ticket #1"
    assert len(tickets(db)) == 1


def test_an_unavailable_database_is_a_temporary_failure_without_a_traceback(tmp_path):
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'portal.sqlite'}"
    data = (MAIL / "new-english.eml").read_bytes()
    done = solveloop("--instance", str(tmp_path / "i"), "mail-in", database_url=missing, stdin=data)
    assert done.returncode == 75
    assert done.stderr.decode().startswith("deferred: the database is unavailable")
    assert b"Traceback" not in done.stderr + done.stdout


def test_an_instance_that_cannot_start_is_a_temporary_failure(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    data = (MAIL / "new-english.eml").read_bytes()
    result = CliRunner().invoke(
        main, ["--instance", str(blocker / "instance"), "mail-in"], input=data
    )
    assert result.exit_code == 75
    assert result.output.startswith("deferred: cannot start")
