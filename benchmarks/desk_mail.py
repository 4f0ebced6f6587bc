"""Mail intake throughput and the kill -9 drill (issue 14, section 8; target ≥ 50 msg/s,
nothing lost or filed twice).

Usage: python -m benchmarks.desk_mail [--messages 3000] [--stdin-messages 100]
[--kills 10] [--drill-messages 150]

Generates realistic mail, seeded: new requests in Chinese and English (plain, HTML with a
text alternative, GB2312-labelled), follow-ups threaded by In-Reply-To onto the sender's
own earlier request, some with a screenshot or a PDF, auto-replies and bounces. Each
figure runs the installed ``solveloop`` command on a real migrated SQLite database:

* ``mail-in --maildir``: every message delivered into new/ first, one run files them;
* ``mail-in`` on stdin, one process per message, as an MTA alias runs it;
* the drill: a Maildir of fresh messages, ``mail-in --maildir`` killed with SIGKILL at a
  random moment, then run again to the end; afterwards every message must be exactly
  one ticket or one reply (auto-replies and bounces: none), and received once.

Writes benchmarks/results/desk-mail.json and the desk block of docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from benchmarks.desk_speed_report import RESULTS, machine, write_block

SEED = 20261208
ROOT = Path(__file__).resolve().parent.parent
COMMAND = Path(sys.executable).with_name("solveloop")
DESK = "servicedesk@corp.example.com"
SUBJECTS = (
    ("VPN 连接失败，错误 809", "从今天早上开始 VPN 客户端一直提示错误 809，重启电脑也没用。"),
    ("Outlook keeps asking for my password", "Since the update Outlook prompts every minute."),
    ("打印机卡纸", "三楼的打印机一直卡纸，屏幕显示 E-203。"),
    ("Cannot open the ERP", "The ERP login page says 'service unavailable' since 9:00."),
    ("Wi-Fi 经常断线", "会议室的 Wi-Fi 每隔十分钟就断一次，手机和电脑都一样。"),
    ("New starter needs a laptop", "Li Na joins Finance on Monday and needs a laptop."),
    ("邮箱容量已满", "收到提示说邮箱已满，无法接收新邮件，请帮忙扩容。"),
    ("Teams camera shows a black screen", "The camera works in the Camera app but not in Teams."),
)
REPLIES = (
    "谢谢，问题还在，截图见附件。",
    "It still fails after the restart, now with error 720.",
    "已经按照步骤操作了，现在可以了。",
    "Any update on this? The whole team is blocked.",
)
SIGNATURE = "\n\n-- \n张伟 | 财务部 | 分机 2231\n"
QUOTE = "\n\n在 2026年12月7日 10:00，Service Desk <servicedesk@corp.example.com> 写道：\n> {}\n"
_BYTES = random.Random(SEED)  # noqa: S311 - test data, not secrets
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + _BYTES.randbytes(30_000)
PDF = b"%PDF-1.4\n" + _BYTES.randbytes(60_000) + b"\n%%EOF\n"


def _message(
    sender: str, name: str, subject: str, body: str, at: datetime, rng: random.Random, mid: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = f"Service Desk <{DESK}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = mid
    message.set_content(body, charset="utf-8")
    if rng.random() < 0.3:
        html = "<html><body><p>" + body.replace("\n", "<br>") + "</p></body></html>"
        message.add_alternative(html, subtype="html")
    return message


def generate(count: int, rng: random.Random, tag: str) -> list[tuple[str, bytes, str]]:
    """Return ``count`` messages as (kind, raw bytes, Message-ID): kind is new, reply,
    auto or bounce; replies answer an earlier new request of the same sender."""
    out: list[tuple[str, bytes, str]] = []
    earlier: list[tuple[str, str, str, str]] = []  # sender, name, subject, Message-ID
    at = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    senders = max(count // 2, 10)
    for n in range(count):
        at += timedelta(seconds=rng.uniform(1, 20))
        mid = f"<{tag}.{n}.{rng.getrandbits(48):012x}@mail.corp.example.com>"
        roll = rng.random()
        if roll < 0.55 or not earlier:
            user = rng.randrange(senders)
            sender = f"staff{user:05d}.{tag}@corp.example.com"
            name = f"张伟 {user}" if user % 2 else f"Alex Smith {user}"
            subject, body = rng.choice(SUBJECTS)
            message = _message(sender, name, subject, body + SIGNATURE, at, rng, mid)
            if rng.random() < 0.1:  # an old mail client labelling Chinese as GB2312
                message = EmailMessage()
                message["From"] = f"{name} <{sender}>"
                message["To"] = DESK
                message["Subject"] = subject
                message["Date"] = format_datetime(at)
                message["Message-ID"] = mid
                message.set_content(body + SIGNATURE, charset="gb2312")
            if rng.random() < 0.15:
                if rng.random() < 0.5:
                    message.add_attachment(
                        PNG, maintype="image", subtype="png", filename="截图.png"
                    )
                else:
                    message.add_attachment(
                        PDF, maintype="application", subtype="pdf", filename="error-log.pdf"
                    )
            earlier.append((sender, name, subject, str(message["Message-ID"])))
            kind = "new"
        elif roll < 0.85:
            sender, name, subject, original = rng.choice(earlier)
            body = rng.choice(REPLIES) + QUOTE.format(subject)
            message = _message(sender, name, f"Re: {subject}", body, at, rng, mid)
            message["In-Reply-To"] = original
            message["References"] = original
            if rng.random() < 0.1:
                message.add_attachment(PNG, maintype="image", subtype="png", filename="error.png")
            kind = "reply"
        elif roll < 0.95:
            sender, name, subject, original = rng.choice(earlier)
            message = _message(
                sender,
                name,
                f"Automatic reply: {subject}",
                "我正在休假，12月14日回来。",
                at,
                rng,
                mid,
            )
            message["Auto-Submitted"] = "auto-replied"
            message["X-Autoreply"] = "yes"
            message["In-Reply-To"] = original
            kind = "auto"
        else:
            template = (ROOT / "tests" / "portal" / "mail" / "bounce-dsn.eml").read_bytes()
            raw = template.replace(
                b"<20261207021605.9F2A31C0042@mx.corp.example.com>", mid.encode()
            )
            out.append(("bounce", raw, mid))
            continue
        out.append((kind, message.as_bytes(), str(message["Message-ID"])))
    return out


def _environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_INDEXER_THREAD": "false",
        "SOLVELOOP_JOBS_IN_PROCESS": "false",
        "SOLVELOOP_SECRET_KEY": "bench-secret",
    }


def prepare(folder: Path) -> str:
    """Create a migrated database with the desk's mail settings; return its URL."""
    from portal import create_app
    from portal.admin import settings
    from portal.auth.models import Role, User
    from portal.demo import ensure_categories
    from portal.schema import upgrade

    url = f"sqlite:///{folder / 'portal.sqlite'}"
    app = create_app(
        {"DATABASE_URL": url, "INDEXER_THREAD": False, "JOBS_IN_PROCESS": False},
        instance_path=str(folder / "instance"),
    )
    with app.app_context():
        upgrade(app.extensions["solveloop.engine"])
        with app.extensions["solveloop.write_sessions"]() as session:
            ensure_categories(session)
            chief = User(username="chief", display_name="Chief", password_hash="!", role=Role.ADMIN)  # noqa: S106
            session.add(chief)
            session.flush()
            settings.change(session, "mail_address", DESK, chief.id)
            settings.change(session, "internal_domains", ["corp.example.com"], chief.id)
            session.commit()
    app.extensions["solveloop.engine"].dispose()
    return url


def _deliver(box: Path, messages: list[tuple[str, bytes, str]], prefix: str) -> None:
    for sub in ("tmp", "new", "cur"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    for n, (_kind, raw, _mid) in enumerate(messages):
        name = f"{1765072682 + n:010d}.M{n:06d}P{os.getpid()}.{prefix}"
        (box / "tmp" / name).write_bytes(raw)
        os.rename(box / "tmp" / name, box / "new" / name)


def _instance(folder: Path) -> list[str]:
    return [str(COMMAND), "--instance", str(folder / "instance")]


def maildir_throughput(folder: Path, url: str, messages: list[tuple[str, bytes, str]]) -> dict:
    """Time one ``mail-in --maildir`` run over every message."""
    box = folder / "Maildir"
    _deliver(box, messages, "tp")
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own installed command
        [*_instance(folder), "mail-in", "--maildir", str(box)],
        env=_environment(url),
        capture_output=True,
        check=False,
        timeout=3600,
    )
    seconds = time.perf_counter() - started
    summary = done.stdout.decode().strip().splitlines()[-1] if done.stdout else ""
    return {
        "messages": len(messages),
        "seconds": round(seconds, 2),
        "messages_per_second": round(len(messages) / seconds, 1),
        "exit_status": done.returncode,
        "summary": summary,
        "left_waiting": len(list((box / "new").iterdir())),
    }


def stdin_throughput(folder: Path, url: str, messages: list[tuple[str, bytes, str]]) -> dict:
    """Time one ``mail-in`` process per message, message on stdin, one after another."""
    statuses: Counter[int] = Counter()
    per_message = []
    started = time.perf_counter()
    for _kind, raw, _mid in messages:
        begun = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own installed command
            [*_instance(folder), "mail-in"],
            input=raw,
            env=_environment(url),
            capture_output=True,
            check=False,
            timeout=120,
        )
        per_message.append((time.perf_counter() - begun) * 1000)
        statuses[done.returncode] += 1
    seconds = time.perf_counter() - started
    from benchmarks.desk_speed_report import percentiles

    return {
        "messages": len(messages),
        "seconds": round(seconds, 2),
        "messages_per_second": round(len(messages) / seconds, 2),
        "per_message_ms": percentiles(per_message),
        "exit_statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _filed(url: str) -> tuple[Counter[str], Counter[str]]:
    """Return how often each Message-ID was received, and how often it became a ticket
    or a reply."""
    from portal.tickets.models import EventKind, IncomingMail, TicketEvent

    engine = create_engine(url)
    with engine.connect() as connection:
        received = Counter(connection.scalars(select(IncomingMail.message_id)))
        filed: Counter[str] = Counter()
        for _kind, detail in connection.execute(
            select(TicketEvent.kind, TicketEvent.detail).where(
                TicketEvent.kind.in_((EventKind.CREATED, EventKind.REPLY))
            )
        ):
            if detail and detail.get("message_id"):
                filed[detail["message_id"]] += 1
    engine.dispose()
    return received, filed


def kill_drill(
    folder: Path, url: str, rounds: int, size: int, rng: random.Random, seconds_per_message: float
) -> dict:
    """Kill ``mail-in --maildir`` at a random moment ``rounds`` times, run it again to the
    end each time, and count the messages lost or filed twice."""
    lost = duplicated = 0
    moments = []
    details = []
    for number in range(rounds):
        messages = generate(size, rng, tag=f"drill{number}")
        box = folder / f"Drill{number}"
        _deliver(box, messages, f"d{number}")
        process = subprocess.Popen(  # noqa: S603 - our own installed command
            [*_instance(folder), "mail-in", "--maildir", str(box)],
            env=_environment(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Mid-run: once it has filed its first message, after a random share of the time
        # the rest would take.
        begun = time.perf_counter()
        while process.poll() is None and not any((box / "cur").iterdir()):
            time.sleep(0.005)
        time.sleep(rng.uniform(0, size * seconds_per_message))
        moment = time.perf_counter() - begun  # since it started, start-up included
        moments.append(round(moment, 2))
        killed = process.poll() is None
        if killed:
            process.send_signal(signal.SIGKILL)
        process.wait()
        filed_before = sum(1 for _ in (box / "cur").iterdir())
        again = subprocess.run(  # noqa: S603 - our own installed command
            [*_instance(folder), "mail-in", "--maildir", str(box)],
            env=_environment(url),
            capture_output=True,
            check=False,
            timeout=3600,
        )
        received, filed = _filed(url)
        round_lost = round_duplicated = 0
        for kind, _raw, message_id in messages:
            expected = 1 if kind in ("new", "reply") else 0
            if received[message_id] == 0 or filed[message_id] < expected:
                round_lost += 1
            if received[message_id] > 1 or filed[message_id] > expected:
                round_duplicated += 1
        left = len(list((box / "new").iterdir()))
        round_lost += left
        lost += round_lost
        duplicated += round_duplicated
        details.append(
            {
                "killed_after_s": round(moment, 2),
                "killed": killed,
                "filed_before_kill": filed_before,
                "restart_exit_status": again.returncode,
                "lost": round_lost,
                "duplicated": round_duplicated,
            }
        )
        print(f"  drill {number + 1}: {details[-1]}", flush=True)
    return {
        "kills": sum(1 for d in details if d["killed"]),
        "rounds": rounds,
        "messages_per_round": size,
        "lost": lost,
        "duplicated": duplicated,
        "rounds_detail": details,
    }


def run(messages: int, stdin_messages: int, kills: int, drill_messages: int) -> dict[str, Any]:
    """Generate the mail, run the three measurements; return the figures."""
    rng = random.Random(SEED)  # noqa: S311 - test data, not secrets
    work = Path(tempfile.mkdtemp(prefix="desk-mail-"))
    try:
        batch = generate(messages, rng, tag="tp")
        mix = Counter(kind for kind, _raw, _mid in batch)
        with_files = sum(1 for _k, raw, _m in batch if b"Content-Disposition: attachment" in raw)
        maildir_folder = work / "maildir"
        maildir_folder.mkdir()
        url = prepare(maildir_folder)
        maildir = maildir_throughput(maildir_folder, url, batch)
        print(f"maildir: {maildir}", flush=True)

        stdin_folder = work / "stdin"
        stdin_folder.mkdir()
        url = prepare(stdin_folder)
        stdin = stdin_throughput(stdin_folder, url, generate(stdin_messages, rng, tag="in"))
        print(f"stdin: {stdin}", flush=True)

        drill_folder = work / "drill"
        drill_folder.mkdir()
        url = prepare(drill_folder)
        drill = kill_drill(
            drill_folder,
            url,
            kills,
            drill_messages,
            rng,
            seconds_per_message=1 / max(maildir["messages_per_second"], 1),
        )
        print(f"drill: lost {drill['lost']}, duplicated {drill['duplicated']}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "command": "python -m benchmarks.desk_mail",
        "machine": machine(),
        "database": "sqlite",
        "seed": SEED,
        "messages": messages,
        "mix": ", ".join(f"{count} {kind}" for kind, count in sorted(mix.items()))
        + f"; {with_files} with attachments",
        "maildir": maildir,
        "stdin": stdin,
        "kill_drill": drill,
        "target_messages_per_second": 50,
    }


def main() -> None:
    """Run the mail benchmark and write its results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--stdin-messages", type=int, default=100)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--drill-messages", type=int, default=150)
    args = parser.parse_args()
    figures = run(args.messages, args.stdin_messages, args.kills, args.drill_messages)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "desk-mail.json").write_text(
        json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_block()


if __name__ == "__main__":
    main()
