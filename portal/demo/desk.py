"""The demo's service desk, lived through: tickets opened and worked over the past days.

Each demo ticket (``tickets.json``) has an age and steps, counted in business minutes
after it was opened, so that when the demo is built (a weekday afternoon, a night, a
weekend) its clocks stand where the script wants them: some on track, some at risk,
some breached, one paused while the desk waits on the user. The steps of all tickets are
played in time order with the clock set to each step's moment (``time_machine``), through
the same use cases the portal, ``mail-in`` and the phone page call; between steps the
desk's own sweep and mail job run whenever they would have had something to do. So the
warnings, breaches, reminders, auto-closes, notifications and stored deadlines are the
real code's, and the mail lands in the instance's mailbox with the dates it was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from articles.models import Category, utcnow
from portal.admin import settings
from portal.auth.contacts import create_contact
from portal.auth.models import User
from portal.tickets import mail_in, service
from portal.tickets.clocks import RUNNING
from portal.tickets.mail_out import deliver_due
from portal.tickets.models import Channel, Status, Ticket
from portal.tickets.notifications import MailStatus, Notification
from portal.tickets.sla import Calendar, NoWorkingTime, add_working_days, subtract_business_minutes
from portal.tickets.sweeps import sweep

TICKETS = Path(__file__).with_name("tickets.json")
# The sweep runs every minute: it sees a deadline within a minute of it passing.
SWEEP_LAG = timedelta(minutes=1)


@dataclass
class Script:
    """One demo ticket: its intake, when it was opened and what happened to it."""

    entry: dict[str, Any]
    opened_at: datetime
    ticket: Ticket | None = None
    steps: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)


class Desk:
    """Plays the demo tickets on ``session`` as the desk would have lived them."""

    def __init__(
        self,
        app: Flask,
        session: Session,
        categories: dict[str, Category],
        users: dict[str, User],
    ) -> None:
        self.app = app
        self.session = session
        self.categories = categories
        self.users = users
        self.calendar = Calendar.from_setting(settings.get(session, "business_calendar"))
        self.mail_config = mail_in.MailConfig(secret=str(app.config["SECRET_KEY"]))
        self.desk_address = str(settings.get(session, "mail_address"))
        self.swept_at: datetime | None = None

    def scripts(self, now: datetime) -> list[Script]:
        """Return the scripts with their moments placed in business time before ``now``."""
        scripts = []
        for entry in json.loads(TICKETS.read_text(encoding="utf-8")):
            age = int(entry["age"])
            script = Script(entry, self._ago(now, age))
            for step in entry["steps"]:
                script.steps.append((self._ago(now, age - int(step["after"])), step))
            scripts.append(script)
        return scripts

    def _ago(self, now: datetime, minutes: int) -> datetime:
        if minutes <= 0:
            return now
        try:
            return subtract_business_minutes(self.calendar, now, minutes)
        except NoWorkingTime:  # a calendar without working days: plain hours then
            return now - timedelta(minutes=minutes)

    def play(self, now: datetime | None = None) -> None:
        """Open and work every demo ticket up to ``now``, sweeping and mailing as it goes."""
        now = now or utcnow()
        scripts = self.scripts(now)
        moments: list[tuple[datetime, int, int, Script, dict[str, Any] | None]] = []
        for number, script in enumerate(scripts):
            moments.append((script.opened_at, number, -1, script, None))
            moments += [(at, number, i, script, step) for i, (at, step) in enumerate(script.steps)]
        moments.sort(key=lambda m: (m[0], m[1], m[2]))
        with time_machine.travel(moments[0][0] if moments else now, tick=False) as traveller:
            for at, _number, _index, script, step in moments:
                self._sweep_until(traveller, at)
                traveller.move_to(at)
                if step is None:
                    self._open(script)
                else:
                    self._step(script, step)
                self.session.commit()
                self._deliver(at)
            self._sweep_until(traveller, now)
            traveller.move_to(now)
            self._sweep(now)

    def _deliver(self, at: datetime) -> None:
        # What the mail job would do right after the commit; the poke it was sent is moot.
        deliver_due(self.app, at)

    def _sweep(self, at: datetime) -> None:
        sweep(self.session, at)
        self.session.commit()
        self._deliver(at)
        self.swept_at = at

    def _sweep_until(self, traveller: Any, until: datetime) -> None:
        """Run the sweep at each moment before ``until`` when it would find something."""
        while (at := self._next_sweep(until)) is not None:
            traveller.move_to(at)
            self._sweep(at)

    def _next_sweep(self, until: datetime) -> datetime | None:
        wakeups = list(
            self.session.scalars(
                select(Ticket.sla_check_at).where(
                    Ticket.sla_check_at.is_not(None), Ticket.status.in_(RUNNING)
                )
            )
        )
        days = int(settings.get(self.session, "auto_close_days"))
        for resolved in self.session.scalars(
            select(Ticket.resolved_at).where(Ticket.status == Status.RESOLVED)
        ):
            if resolved is not None:
                wakeups += [add_working_days(self.calendar, resolved, d) for d in (days - 1, days)]
        moments = sorted(w + SWEEP_LAG for w in wakeups if w is not None)
        return next(
            (m for m in moments if m <= until and (self.swept_at is None or m > self.swept_at)),
            None,
        )

    def _person(self, name: str) -> User:
        return self.users[name]

    def _open(self, script: Script) -> None:
        entry = script.entry
        channel = Channel(entry["channel"])
        if channel is Channel.EMAIL:
            requester = self._person(entry["requester"])
            message = self._message(requester, entry["subject"], entry["symptom"])
            outcome = mail_in.receive(self.session, message.as_bytes(), self.mail_config)
            assert outcome.ticket_id is not None, outcome.message
            script.ticket = self.session.get(Ticket, outcome.ticket_id)
            return
        if "caller" in entry:  # a caller without an account, added on the phone page
            caller = entry["caller"]
            requester = create_contact(
                self.session, caller["name"], caller.get("email", ""), caller.get("phone", "")
            )
        else:
            requester = self._person(entry["requester"])
        category = self.categories.get(entry.get("category", ""))
        recorded_by = self._person(entry["recorded_by"]) if channel is Channel.PHONE else None
        script.ticket = service.open_ticket(
            self.session,
            service.Intake(
                subject=entry["subject"],
                symptom=entry["symptom"],
                started=entry.get("started", ""),
                impact=entry["impact"],
                urgency=entry["urgency"],
                contact=entry.get("contact", ""),
                category_id=category.id if category else None,
                channel=channel,
                core_system_down=entry.get("core_system_down", False),
            ),
            requester,
            recorded_by=recorded_by,
        )

    def _step(self, script: Script, step: dict[str, Any]) -> None:
        ticket = script.ticket
        assert ticket is not None
        do = step["do"]
        by = self._person(step["by"]) if "by" in step else None
        requester = ticket.requester
        if do == "take" and by:
            service.take(ticket, by)
        elif do == "start" and by:
            service.move(ticket, Status.IN_PROGRESS, by)
        elif do == "reply" and by:
            service.add_reply(ticket, by, step["body"])
        elif do == "note" and by:
            service.add_note(ticket, by, step["body"])
        elif do == "ask" and by:
            service.move(ticket, Status.WAITING, by, step["body"])
        elif do == "resolve" and by:
            service.record_resolution(
                ticket, by, step["diagnosis"], step.get("cause", ""), step["solution"]
            )
        elif do == "set" and by:
            changes = dict(step["fields"])
            if "category" in changes:
                changes["category"] = self.categories[changes["category"]].id
            service.change_fields(ticket, by, changes)
        elif do == "priority" and by:
            service.set_priority(ticket, step["priority"], by, step["reason"])
        elif do == "confirm":
            service.confirm_fix(ticket, requester)
        elif do == "reopen":
            service.reopen(ticket, requester, step["body"])
        elif do == "rate":
            service.rate(ticket, requester, int(step["score"]), step.get("comment", ""))
        elif do == "mail_reply":
            self._mail_reply(ticket, step["body"])
        else:
            raise ValueError(f"unknown demo step {do!r}")

    def _message(
        self,
        sender: User,
        subject: str,
        text: str,
        answers: Notification | None = None,
    ) -> EmailMessage:
        """Return the mail ``sender`` writes: new, or answering the desk's ``answers``."""
        message = EmailMessage()
        message["From"] = formataddr((sender.display_name, sender.email))
        message["To"] = formataddr(("Service desk", self.desk_address))
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = make_msgid("demo", sender.email.rpartition("@")[2])
        message["Subject"] = subject
        if answers is not None:
            message["In-Reply-To"] = answers.message_id
            message["References"] = answers.message_id
            sent = answers.sent_at or utcnow()
            text = (
                f"{text}\n\nOn {format_datetime(sent)}, Service desk <{self.desk_address}>"
                " wrote:\n> Your request has a new reply.\n>\n> ...\n"
            )
        message.set_content(text)
        return message

    def _mail_reply(self, ticket: Ticket, text: str) -> None:
        """The requester answers the desk's latest mail about ``ticket`` from their mail."""
        requester = ticket.requester
        answers = self.session.scalars(
            select(Notification)
            .where(
                Notification.ticket_id == ticket.id,
                Notification.user_id == requester.id,
                Notification.mail_status == MailStatus.SENT,
            )
            .order_by(Notification.id.desc())
            .limit(1)
        ).first()
        message = self._message(requester, f"Re: [#{ticket.id}] {ticket.subject}", text, answers)
        outcome = mail_in.receive(self.session, message.as_bytes(), self.mail_config)
        assert outcome.status == mail_in.EX_OK, outcome.message


def play_demo_desk(
    app: Flask, session: Session, categories: dict[str, Category], users: dict[str, User]
) -> None:
    """Open and work the demo tickets over the past business days, up to now."""
    Desk(app, session, categories, users).play()
