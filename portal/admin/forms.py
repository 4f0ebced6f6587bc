"""Forms of the settings page: one per section, each turning its fields into setting values."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from portal.admin.settings import PRIORITIES, SENDER_POLICIES, InvalidSetting
from portal.forms import StrictForm
from portal.tickets.workflow import IMPACTS, URGENCIES

WEEKDAY_CHOICES = [
    SelectChoice(1, _l("Monday")),
    SelectChoice(2, _l("Tuesday")),
    SelectChoice(3, _l("Wednesday")),
    SelectChoice(4, _l("Thursday")),
    SelectChoice(5, _l("Friday")),
    SelectChoice(6, _l("Saturday")),
    SelectChoice(7, _l("Sunday")),
]
POLICY_LABELS = {
    "internal": _l("Create an account for senders from an internal domain; refuse others"),
    "create": _l("Create an account for any sender"),
    "reject": _l("Refuse mail from senders without an account (they get a reply saying so)"),
}


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def matrix_cell(impact: str, urgency: str) -> str:
    """Return the form field name of one cell of the priority matrix."""
    return f"{impact}__{urgency}"


def sla_field(priority: str, target: str) -> str:
    """Return the form field name of one service-level target."""
    return f"{priority}__{target}"


class MatrixForm(StrictForm):
    """The impact × urgency priority matrix: one select per cell."""

    def values(self) -> dict[str, Any]:
        """Return the setting values this form holds."""
        return {
            "priority_matrix": {
                impact: {u: self[matrix_cell(impact, u)].data for u in URGENCIES}
                for impact in IMPACTS
            }
        }


for _impact in IMPACTS:
    for _urgency in URGENCIES:
        setattr(
            MatrixForm,
            matrix_cell(_impact, _urgency),
            SelectField(
                choices=[SelectChoice(p, p) for p in PRIORITIES], validators=[InputRequired()]
            ),
        )


def _hours() -> DecimalField:
    return DecimalField(
        places=None, validators=[InputRequired(), NumberRange(min=Decimal("0.02"), max=1000)]
    )


class TargetsForm(StrictForm):
    """First-response and resolution targets per priority, in business hours."""

    def values(self) -> dict[str, Any]:
        """Return the targets in whole business minutes."""
        return {
            "sla_targets": {
                p: {
                    target: round(self[sla_field(p, target)].data * 60)
                    for target in ("response", "resolution")
                }
                for p in PRIORITIES
            }
        }


for _priority in PRIORITIES:
    for _target in ("response", "resolution"):
        setattr(TargetsForm, sla_field(_priority, _target), _hours())


def parse_overrides(text: str) -> list[dict[str, Any]]:
    """Parse date override lines, "2026-10-10 work Make-up day" or "2026-12-31 off"."""
    overrides = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        if len(parts) < 2 or parts[1].lower() not in ("work", "off"):
            raise InvalidSetting(
                "business_calendar",
                _l(
                    'Line %(n)s: write a date, then "work" or "off", then a name if you like.',
                    n=number,
                ),
            )
        overrides.append(
            {
                "date": parts[0],
                "working": parts[1].lower() == "work",
                "name": parts[2] if len(parts) > 2 else "",
            }
        )
    return overrides


def format_overrides(overrides: list[dict[str, Any]]) -> str:
    """Write date overrides as the lines ``parse_overrides`` reads."""
    return "\n".join(
        f"{o['date']} {'work' if o['working'] else 'off'} {o['name']}".rstrip() for o in overrides
    )


class CalendarForm(StrictForm):
    """Working days and hours, the time zone, date overrides, and P1 around the clock."""

    may_omit = frozenset({"days"})  # no box ticked sends nothing; the check refuses it

    timezone = StringField(_l("Time zone"), validators=[InputRequired(), Length(max=60)])
    days = CheckboxesField(_l("Working days"), choices=WEEKDAY_CHOICES, coerce=int)
    start = TimeField(_l("Working day starts"), validators=[InputRequired()])
    end = TimeField(_l("Working day ends"), validators=[InputRequired()])
    p1_around_the_clock = BooleanField(_l("P1 tickets count every hour, every day (24×7)"))
    overrides = TextAreaField(_l("Dates that differ"), validators=[Length(max=20_000)])

    def values(self) -> dict[str, Any]:
        """Return the calendar setting."""
        return {
            "business_calendar": {
                "timezone": self.timezone.data.strip(),
                "days": list(self.days.data or []),
                "start": self.start.data.strftime("%H:%M"),
                "end": self.end.data.strftime("%H:%M"),
                "p1_around_the_clock": bool(self.p1_around_the_clock.data),
                "overrides": parse_overrides(self.overrides.data or ""),
            }
        }


class ConfirmationForm(StrictForm):
    """How long a resolved ticket waits for the requester before it closes."""

    auto_close_days = IntegerField(
        _l("Close a resolved ticket without an answer after (business days)"),
        validators=[InputRequired(), NumberRange(min=1, max=30)],
    )
    confirmation_reminder = BooleanField(_l("Remind the requester one business day before"))

    def values(self) -> dict[str, Any]:
        """Return the auto-close and reminder settings."""
        return {
            "auto_close_days": self.auto_close_days.data,
            "confirmation_reminder": bool(self.confirmation_reminder.data),
        }


class PublishingForm(StrictForm):
    """Who may publish articles."""

    technicians_can_publish = BooleanField(
        _l("Technicians may publish articles without an admin's review")
    )

    def values(self) -> dict[str, Any]:
        """Return the publishing setting."""
        return {"technicians_can_publish": bool(self.technicians_can_publish.data)}


class MailForm(StrictForm):
    """The desk's address, internal domains, and what mail from unknown senders does."""

    mail_address = StringField(_l("The desk's e-mail address"), validators=[Length(max=254)])
    internal_domains = TextAreaField(
        _l("Internal domains (one per line; *.example.com covers its subdomains)"),
        validators=[Length(max=5000)],
    )
    unknown_senders = RadioField(
        _l("Mail from a sender without an account"),
        choices=[SelectChoice(p, POLICY_LABELS[p]) for p in SENDER_POLICIES],
        validators=[InputRequired()],
    )

    def values(self) -> dict[str, Any]:
        """Return the mail settings."""
        domains = (self.internal_domains.data or "").replace(",", "\n").split()
        return {
            "mail_address": self.mail_address.data or "",
            "internal_domains": domains,
            "unknown_senders": self.unknown_senders.data,
        }


def fill(form: StrictForm, values: dict[str, Any]) -> None:
    """Show the current setting values in a section's form (for a GET)."""
    fields: dict[str, Any] = {}
    if isinstance(form, MatrixForm):
        for impact in IMPACTS:
            for urgency in URGENCIES:
                fields[matrix_cell(impact, urgency)] = values["priority_matrix"][impact][urgency]
    elif isinstance(form, TargetsForm):
        for p in PRIORITIES:
            for target in ("response", "resolution"):
                minutes = values["sla_targets"][p][target]
                fields[sla_field(p, target)] = Decimal(
                    f"{minutes / 60:.2f}".rstrip("0").rstrip(".")
                )
    elif isinstance(form, CalendarForm):
        calendar = dict(values["business_calendar"])
        calendar["overrides"] = format_overrides(calendar["overrides"])
        calendar["start"] = time.fromisoformat(calendar["start"])
        calendar["end"] = time.fromisoformat(calendar["end"])
        fields.update(calendar)
    elif isinstance(form, MailForm):
        fields["mail_address"] = values["mail_address"]
        fields["internal_domains"] = "\n".join(values["internal_domains"])
        fields["unknown_senders"] = values["unknown_senders"]
    else:
        fields = {name: values[name] for name in form.data if name in values}
    for name, value in fields.items():
        field: Field = form[name]
        field.data = value


SECTIONS: dict[str, type[StrictForm]] = {
    "priority": MatrixForm,
    "targets": TargetsForm,
    "calendar": CalendarForm,
    "confirmation": ConfirmationForm,
    "publishing": PublishingForm,
    "mail": MailForm,
}
