"""Forms of the settings page: one per section, each turning its fields into setting values."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
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

from articles.staleness import MAX_REVIEW_DAYS
from portal.admin.settings import PRIORITIES, SENDER_POLICIES, InvalidSetting
from portal.forms import StrictForm
from portal.tickets.workflow import IMPACTS, URGENCIES

WEEKDAY_NAMES = {
    1: _l("Monday"),
    2: _l("Tuesday"),
    3: _l("Wednesday"),
    4: _l("Thursday"),
    5: _l("Friday"),
    6: _l("Saturday"),
    7: _l("Sunday"),
}
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


def business_hours(minutes: int) -> str:
    """Return a target in business minutes as hours, "0.5" or "40" (two decimals at most)."""
    return f"{minutes / 60:.2f}".rstrip("0").rstrip(".")


class SettingsForm(StrictForm):
    """A section of the settings page: ``show`` fills it from the settings, ``values`` reads it."""

    def show(self, values: dict[str, Any]) -> None:
        """Fill the fields with the current settings, one field per setting of the same name."""
        for name in self.data:
            if name in values:
                self[name].data = values[name]

    def values(self) -> dict[str, Any]:
        """Return the setting values this form holds."""
        raise NotImplementedError


class MatrixForm(SettingsForm):
    """The impact × urgency priority matrix: one select per cell."""

    def show(self, values: dict[str, Any]) -> None:
        """Put each cell of the saved matrix in its select."""
        for impact in IMPACTS:
            for urgency in URGENCIES:
                self[matrix_cell(impact, urgency)].data = values["priority_matrix"][impact][urgency]

    def values(self) -> dict[str, Any]:
        """Return the matrix setting."""
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


class TargetsForm(SettingsForm):
    """First-response and resolution targets per priority, in business hours."""

    def show(self, values: dict[str, Any]) -> None:
        """Show each target, kept in business minutes, in hours."""
        for p in PRIORITIES:
            for target in ("response", "resolution"):
                minutes = values["sla_targets"][p][target]
                self[sla_field(p, target)].data = Decimal(business_hours(minutes))

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


class CalendarForm(SettingsForm):
    """Working days and hours, the time zone, date overrides, and P1 around the clock."""

    may_omit = frozenset({"days"})  # no box ticked sends nothing; the check refuses it

    timezone = StringField(_l("Time zone"), validators=[InputRequired(), Length(max=60)])
    days = CheckboxesField(
        _l("Working days"),
        choices=[SelectChoice(n, name) for n, name in WEEKDAY_NAMES.items()],
        coerce=int,
    )
    start = TimeField(_l("Working day starts"), validators=[InputRequired()])
    end = TimeField(_l("Working day ends"), validators=[InputRequired()])
    p1_around_the_clock = BooleanField(_l("P1 tickets count every hour, every day (24×7)"))
    overrides = TextAreaField(_l("Dates that differ"), validators=[Length(max=20_000)])

    def show(self, values: dict[str, Any]) -> None:
        """Fill the calendar, its overrides written one per line."""
        calendar = values["business_calendar"]
        super().show(calendar)
        self.start.data = time.fromisoformat(calendar["start"])
        self.end.data = time.fromisoformat(calendar["end"])
        self.overrides.data = format_overrides(calendar["overrides"])

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


class ConfirmationForm(SettingsForm):
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


class PublishingForm(SettingsForm):
    """Who may publish articles."""

    technicians_can_publish = BooleanField(
        _l("Technicians may publish articles without an admin's review")
    )

    def values(self) -> dict[str, Any]:
        """Return the publishing setting."""
        return {"technicians_can_publish": bool(self.technicians_can_publish.data)}


class MailForm(SettingsForm):
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

    def show(self, values: dict[str, Any]) -> None:
        """Fill the mail settings, the domains one per line."""
        super().show(values)
        self.internal_domains.data = "\n".join(values["internal_domains"])

    def values(self) -> dict[str, Any]:
        """Return the mail settings."""
        domains = (self.internal_domains.data or "").replace(",", "\n").split()
        return {
            "mail_address": self.mail_address.data or "",
            "internal_domains": domains,
            "unknown_senders": self.unknown_senders.data,
        }


class ReviewForm(SettingsForm):
    """How long a published article stays trusted before its owner must check it."""

    review_default = IntegerField(
        _l("Check each article again after (days)"),
        validators=[InputRequired(), NumberRange(min=1, max=MAX_REVIEW_DAYS)],
    )
    review_categories = TextAreaField(
        _l("Other periods by category (one per line: category and days, e.g. security 90)"),
        validators=[Length(max=5000)],
    )

    def show(self, values: dict[str, Any]) -> None:
        """Fill the default period and one line per category that has its own."""
        periods = values["review_periods"]
        self.review_default.data = periods["default"]
        self.review_categories.data = "\n".join(
            f"{slug} {days}" for slug, days in periods["categories"].items()
        )

    def values(self) -> dict[str, Any]:
        """Return the review periods; a line naming no category or no days is refused."""
        from sqlalchemy import select

        from articles.models import Category
        from portal.db import get_session

        known = set(get_session().scalars(select(Category.slug)))
        categories: dict[str, Any] = {}
        for line in (self.review_categories.data or "").splitlines():
            words = line.replace(":", " ").split()
            if not words:
                continue
            if len(words) != 2 or not words[1].isdigit():
                raise InvalidSetting(
                    "review_periods",
                    _l(
                        "Write each line as a category and a number of days: %(line)s",
                        line=line.strip()[:80],
                    ),
                )
            if words[0] not in known:
                raise InvalidSetting(
                    "review_periods",
                    _l(
                        "%(name)s is not a category; use one of %(known)s.",
                        name=words[0][:60],
                        known=", ".join(sorted(known)),
                    ),
                )
            categories[words[0]] = int(words[1])
        return {"review_periods": {"default": self.review_default.data, "categories": categories}}


SECTIONS: dict[str, type[SettingsForm]] = {
    "priority": MatrixForm,
    "targets": TargetsForm,
    "calendar": CalendarForm,
    "confirmation": ConfirmationForm,
    "publishing": PublishingForm,
    "mail": MailForm,
    "review": ReviewForm,
}


class CategoryForm(StrictForm):
    """A request category in both languages, and the group its requests go to."""

    name_en = StringField(_l("Name in English"), validators=[InputRequired(), Length(max=120)])
    name_zh = StringField(_l("Name in Chinese"), validators=[InputRequired(), Length(max=120)])
    group = SelectField(_l("Support group"), coerce=str)


class GroupForm(StrictForm):
    """A support group: names, line, assignment rule and members."""

    name_en = StringField(_l("Name in English"), validators=[InputRequired(), Length(max=120)])
    name_zh = StringField(_l("Name in Chinese"), validators=[InputRequired(), Length(max=120)])
    line = IntegerField(
        _l("Support line"), validators=[InputRequired(), NumberRange(min=1, max=5)], default=1
    )
    auto_assign = BooleanField(_l("Assign new tickets to the member with the fewest open ones"))
    members = CheckboxesField(_l("Members"), coerce=int)
    # No box ticked sends no field at all: a group may have no members yet.
    may_omit = frozenset({"members"})


class CannedReplyForm(StrictForm):
    """A canned reply: a title and a text in each language."""

    title_en = StringField(_l("Title in English"), validators=[InputRequired(), Length(max=120)])
    title_zh = StringField(_l("Title in Chinese"), validators=[InputRequired(), Length(max=120)])
    body_en = TextAreaField(_l("Reply in English"), validators=[InputRequired(), Length(max=5000)])
    body_zh = TextAreaField(_l("Reply in Chinese"), validators=[InputRequired(), Length(max=5000)])
