"""Attachments on requests, replies, notes, calls and mail: limits, storage, who may fetch them."""

import io
import mailbox
import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.admin import settings
from portal.auth.models import Role
from portal.cli import main
from portal.tickets import service
from portal.tickets.attachments import (
    Attachment,
    AttachmentRefused,
    Rules,
    Store,
    Upload,
    attach,
    display_name,
    file_type,
    sweep_orphans,
)
from portal.tickets.mail_out import deliver_due
from portal.tickets.models import EventKind, Ticket, TicketEvent

MAIL = Path(__file__).with_name("mail")


def png(width=2, height=2):
    """Return a real PNG image of ``width`` × ``height`` red pixels."""
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 48
    + b"This program cannot be run in DOS mode.\r\r\n$"
    + b"\x00" * 64
)
LOG = "2026-12-07 09:00:01 VPN error 809\n2026-12-07 09:00:05 重试失败\n".encode()

REQUEST = {
    "subject": "Printer prints garbage",
    "symptom": "Every page comes out as symbols since this morning.",
    "started": "this morning",
    "impact": "me",
    "urgency": "medium",
    "contact": "ext. 1234",
    "category": "",
}


def files(*named):
    """Return upload tuples for the test client: files(("a.png", b"..."), ...)."""
    return [(io.BytesIO(content), name) for name, content in named]


def fresh(db):
    db.rollback()
    db.expire_all()


def stored(db):
    fresh(db)
    return db.scalars(select(Attachment).order_by(Attachment.id)).all()


def fetch(browser, url):
    """GET a download and close it (the file it streams), keeping its body and headers."""
    response = browser.get(url)
    response.get_data()
    response.close()
    return response


def store_files(app):
    root = Path(app.config["ATTACHMENTS_PATH"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def people(make_user):
    return {
        "alice": make_user(username="alice", name="Alice Chen", email="alice@corp.example.com"),
        "bob": make_user(username="bob", name="Bob Martin", email="bob@corp.example.com"),
        "tom": make_user(role=Role.TECHNICIAN, username="tom", name="Tom Hughes"),
    }


@pytest.fixture
def signed_in(people, login, make_client):
    """Return a client signed in as one of the people, one client per person."""
    clients = {}

    def sign_in(name):
        if name not in clients:
            clients[name] = login(people[name], on=make_client())
        return clients[name]

    return sign_in


def file_request(browser, *uploads, **fields):
    return browser.post("/requests/new", REQUEST | fields | {"files": files(*uploads)})


# --- upload on each form --------------------------------------------------------------


def test_a_request_keeps_its_files_under_generated_names_outside_static(app, db, signed_in, people):
    alice = signed_in("alice")
    response = file_request(alice, ("屏幕截图 2026.png", png()), ("error report.pdf", PDF))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    shot, report = stored(db)
    ticket = db.get(Ticket, shot.ticket_id)
    assert (shot.filename, shot.content_type) == ("屏幕截图 2026.png", "image/png")
    assert (report.filename, report.content_type, report.size) == (
        "error report.pdf",
        "application/pdf",
        len(PDF),
    )
    assert shot.event_id == report.event_id == ticket.events[0].id  # the request itself
    assert shot.uploader_id == people["alice"].id and not shot.internal
    root = Path(app.config["ATTACHMENTS_PATH"])
    assert root == Path(app.instance_path) / "attachments"
    assert "static" not in root.parts
    assert (root / shot.storage_name).read_bytes() == png()
    assert "屏幕" not in shot.storage_name and shot.storage_name.count("/") == 2
    added = [e for e in ticket.events if e.kind is EventKind.ATTACHMENT_ADDED]
    assert [e.detail["attachment_id"] for e in added] == [shot.id, report.id]
    page = alice.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f"/tickets/{ticket.id}/attachments/{shot.id}" in page
    assert "屏幕截图 2026.png" in page and "error report.pdf" in page
    assert 'enctype="multipart/form-data"' in alice.get("/requests/new").get_data(as_text=True)


def test_a_public_reply_and_an_internal_note_carry_files_the_requester_sees_only_the_reply(
    db, signed_in, make_ticket, people
):
    ticket = make_ticket(people["alice"])
    tom = signed_in("tom")
    page = tom.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert page.count('enctype="multipart/form-data"') == 1
    reply = {
        "body": "Please install this driver.",
        "internal": "",
        "files": files(("driver-guide.pdf", PDF)),
    }
    assert tom.post(f"/tickets/{ticket.id}/reply", reply).status_code == 302
    note = {
        "body": "Printer admin password is in the vault.",
        "internal": "1",
        "files": files(("printer-config.txt", LOG)),
    }
    assert tom.post(f"/tickets/{ticket.id}/reply", note).status_code == 302
    guide, config = stored(db)
    assert not guide.internal and config.internal
    events = {e.id: e for e in db.get(Ticket, ticket.id).events}
    assert events[guide.event_id].kind is EventKind.REPLY
    assert events[config.event_id].kind is EventKind.NOTE
    added = [e for e in events.values() if e.kind is EventKind.ATTACHMENT_ADDED]
    assert [e.internal for e in added] == [False, True]

    alice = signed_in("alice")
    mine = alice.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "driver-guide.pdf" in mine
    assert "printer-config.txt" not in mine
    assert f"/attachments/{config.id}" not in mine
    assert fetch(alice, f"/tickets/{ticket.id}/attachments/{guide.id}").status_code == 200
    assert fetch(alice, f"/tickets/{ticket.id}/attachments/{config.id}").status_code == 404
    staff_page = tom.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "printer-config.txt" in staff_page and "driver-guide.pdf" in staff_page
    assert fetch(tom, f"/tickets/{ticket.id}/attachments/{config.id}").get_data() == LOG

    # The requester answers with a file of their own.
    answer = {"body": "Here is the log.", "files": files(("vpn.log", LOG))}
    assert alice.post(f"/tickets/{ticket.id}/reply", answer).status_code == 302
    assert stored(db)[-1].filename == "vpn.log"


def test_a_recorded_call_carries_files(db, signed_in, people):
    tom = signed_in("tom")
    call = REQUEST | {
        "caller": "alice",
        "caller_id": "",
        "new_name": "",
        "new_email": "",
        "new_phone": "",
        "diagnosis": "",
        "solution": "",
        "files": files(("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64)),
    }
    page = tom.get("/tickets/call").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    response = tom.post("/tickets/call", call)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    [photo] = stored(db)
    ticket = db.get(Ticket, photo.ticket_id)
    assert ticket.requester_id == people["alice"].id
    assert photo.uploader_id == people["tom"].id
    assert (photo.filename, photo.content_type) == ("photo.jpg", "image/jpeg")


# --- limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upload,status,message",
    [
        (("big.pdf", PDF + b"0" * 2048), 413, "larger than"),
        (("setup.exe", EXE), 422, "not a type we accept"),
        (("holiday.png", EXE), 422, "does not match its file type"),
        (("page.html", b"<html><script>alert(1)</script></html>"), 422, "not a type"),
        (("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 422, "not a type"),
        (("notes.txt", b"<html><script>alert(1)</script></html>"), 422, "does not match"),
        (("empty.pdf", b""), 422, "is empty"),
    ],
)
def test_a_refused_file_keeps_the_rest_of_the_request_and_stores_nothing(
    app, db, signed_in, upload, status, message
):
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    alice = signed_in("alice")
    response = file_request(alice, ("fine.png", png()), upload)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    assert message in page
    assert "Every page comes out as symbols since this morning." in page  # the text is kept
    assert 'value="Printer prints garbage"' in page
    fresh(db)
    assert db.scalars(select(Ticket)).all() == []
    assert stored(db) == [] and store_files(app) == []


def test_more_files_than_allowed_is_refused_with_the_limit(app, db, signed_in):
    app.config["ATTACHMENT_MAX_FILES"] = 2
    alice = signed_in("alice")
    response = file_request(alice, ("a.png", png()), ("b.png", png()), ("c.png", png()))
    assert response.status_code == 422
    assert "At most 2 files can go with one message." in response.get_data(as_text=True)
    assert stored(db) == []


def test_a_reply_with_a_refused_file_keeps_the_typed_message(db, signed_in, make_ticket, people):
    ticket = make_ticket(people["alice"])
    tom = signed_in("tom")
    data = {
        "body": "Try this driver, then restart.",
        "internal": "",
        "files": files(("driver.exe", EXE)),
    }
    response = tom.post(f"/tickets/{ticket.id}/reply", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Try this driver, then restart." in page
    assert "driver.exe is not a type we accept" in page
    fresh(db)
    assert [e.kind for e in db.get(Ticket, ticket.id).events if e.kind is EventKind.REPLY] == []


def test_a_body_larger_than_all_files_together_is_a_413_with_the_limits(app, signed_in):
    app.config.update(ATTACHMENT_MAX_BYTES=1024, ATTACHMENT_MAX_FILES=2, MAX_CONTENT_LENGTH=4096)
    alice = signed_in("alice")
    response = file_request(alice, ("huge.pdf", PDF + b"0" * 20_000))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "at most 2 files of" in page and "nothing was saved" in page


def test_other_forms_and_bodies_without_files_keep_the_small_body_limit(
    app, signed_in, make_ticket, people
):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    tom = signed_in("tom")
    ticket = make_ticket(people["alice"])
    data = {"priority": "P1", "reason": "x" * 10_000}
    assert tom.post(f"/tickets/{ticket.id}/priority", data).status_code == 413
    reply = {"body": "x" * 10_000, "internal": ""}  # form-encoded: no files, no more room
    assert tom.post(f"/tickets/{ticket.id}/reply", reply).status_code == 413
    app.config["MAX_FORM_MEMORY_SIZE"] = 5000  # one text field of a multipart body
    reply["files"] = files(("a.png", png()))
    assert tom.post(f"/tickets/{ticket.id}/reply", reply).status_code == 413


def test_the_type_is_read_from_the_content_and_must_agree_with_the_name():
    rules = Rules()
    assert file_type(Upload("a.PNG", png()), rules).content_type == "image/png"
    assert file_type(Upload("vpn.log", LOG), rules).content_type.startswith("text/plain")
    assert file_type(Upload("r.pdf", PDF), rules).content_type == "application/pdf"
    for name, content in [
        ("photo.png", EXE),
        ("report.pdf", png()),
        ("notes.txt", b"\x00\x01\x02binary"),
        ("run", png()),
        ("app.exe", EXE),
        ("page.htm", b"<p>hi</p>"),
    ]:
        with pytest.raises(AttachmentRefused):
            file_type(Upload(name, content), rules)
    only_pdf = Rules(types=frozenset({"pdf"}))
    with pytest.raises(AttachmentRefused):
        file_type(Upload("a.png", png()), only_pdf)


def test_display_names_lose_folders_and_control_characters_but_keep_chinese():
    assert display_name("../../etc/passwd.txt") == "passwd.txt"
    assert display_name("C:\\Users\\张伟\\桌面\\报告.pdf") == "报告.pdf"
    assert display_name("evil\u202etxt.exe") == "eviltxt.exe"
    assert display_name("..hidden.png") == "hidden.png"
    assert display_name("") == "attachment"
    assert len(display_name("长" * 300 + ".pdf")) == 200
    assert display_name("长" * 300 + ".pdf").endswith(".pdf")


# --- download -----------------------------------------------------------------------------


def test_a_download_is_an_attachment_with_its_chinese_name_and_no_sniffing(db, signed_in):
    alice = signed_in("alice")
    file_request(alice, ("网络错误 日志.txt", LOG))
    [log] = stored(db)
    response = fetch(alice, f"/tickets/{log.ticket_id}/attachments/{log.id}")
    assert response.status_code == 200
    assert response.get_data() == LOG
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert (
        "filename*=UTF-8''%E7%BD%91%E7%BB%9C%E9%94%99%E8%AF%AF%20%E6%97%A5%E5%BF%97.txt"
        in disposition
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "text/plain"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_only_the_requester_and_staff_may_download(db, signed_in, make_client, make_ticket, people):
    alice = signed_in("alice")
    file_request(alice, ("report.pdf", PDF))
    [report] = stored(db)
    url = f"/tickets/{report.ticket_id}/attachments/{report.id}"
    assert fetch(alice, url).status_code == 200
    assert fetch(signed_in("tom"), url).status_code == 200
    assert fetch(signed_in("bob"), url).status_code == 404
    anonymous = fetch(make_client(), url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    # The attachment's own ticket only: another ticket's number in the address is a 404.
    other = make_ticket(people["alice"])
    assert fetch(alice, f"/tickets/{other.id}/attachments/{report.id}").status_code == 404
    assert fetch(alice, f"/tickets/{report.ticket_id}/attachments/999999").status_code == 404


def test_an_internal_notes_file_never_reaches_the_requesters_mail(
    app, db, signed_in, make_ticket, people
):
    ticket = make_ticket(people["alice"])
    deliver_due(app)
    tom = signed_in("tom")
    note = {
        "body": "Admin password is in the vault.",
        "internal": "1",
        "files": files(("vault-export.txt", LOG)),
    }
    tom.post(f"/tickets/{ticket.id}/reply", note)
    reply = {
        "body": "Please follow this guide.",
        "internal": "",
        "files": files(("guide.pdf", PDF)),
    }
    tom.post(f"/tickets/{ticket.id}/reply", reply)
    assert deliver_due(app).sent >= 1
    box = mailbox.Maildir(Path(app.instance_path) / "mailbox", create=False)
    to_alice = [m for m in box if "alice@corp.example.com" in m["To"]]
    texts = [m.as_string() for m in to_alice]
    assert any("guide.pdf" in t for t in texts)
    assert not any("vault-export" in t for t in texts)
    guide = stored(db)[-1]
    assert any(f"/tickets/{ticket.id}/attachments/{guide.id}" in t for t in texts)


# --- storage: rollback and orphans -----------------------------------------------------------


def test_a_rolled_back_or_abandoned_transaction_leaves_no_file(app, db, make_ticket, people):
    store = Store(app.config["ATTACHMENTS_PATH"])
    ticket_id = make_ticket(people["alice"]).id
    sessions = app.extensions["solveloop.sessions"]
    for end in ("rollback", "close"):
        session = sessions()
        ticket = session.get(Ticket, ticket_id)
        event = service.add_note(ticket, session.merge(people["tom"]), "see the file")
        [attachment] = attach(session, store, ticket, event, None, [Upload("a.log", LOG)], Rules())
        path = store.path(attachment.storage_name)
        assert path.exists()
        getattr(session, end)()
        assert not path.exists(), end
        session.close()
    assert store_files(app) == []
    ticket = db.get(Ticket, ticket_id)
    event = service.add_note(ticket, db.merge(people["tom"]), "kept")
    [kept] = attach(db, store, ticket, event, None, [Upload("b.log", LOG)], Rules())
    db.commit()
    assert store.path(kept.storage_name).read_bytes() == LOG


def test_a_failing_commit_removes_the_files_it_wrote(app, db, make_ticket, people):
    store = Store(app.config["ATTACHMENTS_PATH"])
    ticket = make_ticket(people["alice"])
    event = service.add_note(ticket, db.merge(people["tom"]), "see the file")
    [attachment] = attach(db, store, ticket, event, None, [Upload("a.log", LOG)], Rules())
    attachment.uploader_id = 987654  # no such user: the commit fails on the foreign key
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    assert store_files(app) == []


def test_the_orphan_sweep_removes_only_old_unrecorded_files(app, db, make_ticket, people):
    store = Store(app.config["ATTACHMENTS_PATH"])
    ticket = make_ticket(people["alice"])
    event = service.add_note(ticket, db.merge(people["tom"]), "kept")
    [kept] = attach(db, store, ticket, event, None, [Upload("b.log", LOG)], Rules())
    db.commit()
    old_orphan, new_orphan = store.write(b"left by a killed process"), store.write(b"in flight")
    long_ago = time.time() - 7200
    for name in (kept.storage_name, old_orphan):
        os.utime(store.path(name), (long_ago, long_ago))
    assert sweep_orphans(db, store) == 1
    assert not store.path(old_orphan).exists()
    assert store.path(new_orphan).exists() and store.path(kept.storage_name).exists()


def test_the_sweep_command_reports_what_it_removed(database_url, tmp_path):
    store = Store(tmp_path / "cli-instance" / "attachments")
    name = store.write(b"orphan")
    long_ago = time.time() - 7200
    os.utime(store.path(name), (long_ago, long_ago))
    result = CliRunner().invoke(
        main,
        ["--instance", str(tmp_path / "cli-instance"), "attachments", "sweep"],
        env={"SOLVELOOP_DATABASE_URL": database_url, "SOLVELOOP_INDEXER_THREAD": "false"},
    )
    assert result.exit_code == 0, result.output
    assert "removed 1" in result.output
    assert not store.path(name).exists()


# --- mail-in ---------------------------------------------------------------------------------


@pytest.fixture
def mail_in(app, database_url, tmp_path, db, make_user):
    chief = make_user(role=Role.ADMIN, username="chief")
    settings.change(db, "mail_address", "servicedesk@corp.example.com", chief.id)
    settings.change(db, "internal_domains", ["corp.example.com"], chief.id)
    db.commit()
    alice = make_user(username="alice", name="Alice Chen", email="alice.chen@corp.example.com")

    def run(name, **config):
        env = {
            "SOLVELOOP_DATABASE_URL": database_url,
            "SOLVELOOP_INDEXER_THREAD": "false",
            "SOLVELOOP_JOBS_IN_PROCESS": "false",
            "SOLVELOOP_SECRET_KEY": "test-secret",
            "SOLVELOOP_ATTACHMENTS_PATH": app.config["ATTACHMENTS_PATH"],
        } | {f"SOLVELOOP_{key}": str(value) for key, value in config.items()}
        instance = str(tmp_path / "mail-instance")
        data = (MAIL / name).read_bytes()
        return CliRunner().invoke(main, ["--instance", instance, "mail-in"], input=data, env=env)

    run.alice = alice
    return run


def test_a_mailed_pdf_and_image_are_kept_with_the_request(mail_in, db, login, make_client):
    result = mail_in("attachments-pdf-image.eml")
    assert result.exit_code == 0, result.output
    report, photo = stored(db)
    ticket = db.get(Ticket, report.ticket_id)
    assert (report.filename, report.content_type) == ("打印机错误报告.pdf", "application/pdf")
    assert (photo.filename, photo.content_type) == ("screen photo.png", "image/png")
    assert report.event_id == ticket.events[0].id and report.uploader_id == mail_in.alice.id
    added = [e for e in ticket.events if e.kind is EventKind.ATTACHMENT_ADDED]
    assert len(added) == 2 and all(e.actor.value == "email" for e in added)
    alice = login(mail_in.alice, on=make_client())
    response = fetch(alice, f"/tickets/{ticket.id}/attachments/{report.id}")
    assert response.status_code == 200 and response.get_data().startswith(b"%PDF-1.4")
    page = alice.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "打印机错误报告.pdf" in page


def test_a_mailed_file_that_is_refused_becomes_a_note_and_the_rest_is_kept(
    mail_in, db, login, make_client, make_user
):
    result = mail_in("attachments-inline-refused.eml")
    assert result.exit_code == 0, result.output
    [inline] = stored(db)
    assert inline.content_type == "image/png" and inline.filename == "image-1.png"
    ticket = db.get(Ticket, inline.ticket_id)
    notes = [e for e in ticket.events if e.kind is EventKind.NOTE]
    assert [(n.detail["refused"], n.detail["reason"], n.internal) for n in notes] == [
        ("setup.exe", "type", True),
        ("dialog.png", "mismatch", True),
    ]
    tech = login(make_user(role=Role.TECHNICIAN), on=make_client())
    page = tech.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert (
        "The attachment setup.exe of an incoming email was not kept: not a type we accept" in page
    )
    requester = login(mail_in.alice, on=make_client())
    assert "setup.exe" not in requester.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_a_mailed_file_over_the_limit_is_a_note_not_a_failure(mail_in, db):
    result = mail_in("attachments-pdf-image.eml", ATTACHMENT_MAX_BYTES=100)
    assert result.exit_code == 0, result.output
    [photo] = stored(db)  # 73 bytes; the 142-byte PDF is over the limit
    assert photo.filename == "screen photo.png"
    [note] = db.scalars(select(TicketEvent).where(TicketEvent.kind == EventKind.NOTE)).all()
    assert (note.detail["refused"], note.detail["reason"]) == ("打印机错误报告.pdf", "too_large")


def test_the_timeline_speaks_the_readers_language(db, signed_in):
    alice = signed_in("alice")
    file_request(alice, ("report.pdf", PDF))
    [report] = stored(db)
    page = alice.get(f"/tickets/{report.ticket_id}", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert "report.pdf" in text and "附件" in text
