"""Forms of the request intake and the ticket page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import StrictForm

MAX_TEXT = 20_000

IMPACT_CHOICES = [
    SelectChoice("me", _l("Only me")),
    SelectChoice("team", _l("My team")),
    SelectChoice("department", _l("A whole department or site")),
    SelectChoice("organisation", _l("The whole organisation")),
]
URGENCY_CHOICES = [
    SelectChoice("low", _l("Low — it can wait")),
    SelectChoice("medium", _l("Medium — it slows my work")),
    SelectChoice("high", _l("High — I cannot work")),
    SelectChoice("critical", _l("Critical — work has stopped and cannot wait")),
]
PRIORITY_CHOICES = [SelectChoice(p) for p in ("P1", "P2", "P3", "P4")]
CORE_SYSTEM_LABEL = _l("A core business system is down (mail, ERP, the network…)")


class RequestForm(StrictForm):
    """A new support request: everything intake must capture."""

    subject = StringField(_l("What is the problem?"), validators=[DataRequired(), Length(max=200)])
    symptom = TextAreaField(
        _l("Describe what happens"), validators=[DataRequired(), Length(max=MAX_TEXT)]
    )
    started = StringField(_l("Since when?"), validators=[Optional(), Length(max=200)])
    started_at = DateTimeLocalField(
        _l("Date and time it started, if you know"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    impact = SelectField(_l("Who is affected?"), choices=IMPACT_CHOICES, default="me")
    urgency = SelectField(_l("How urgent is it?"), choices=URGENCY_CHOICES, default="medium")
    core_system_down = BooleanField(CORE_SYSTEM_LABEL)
    contact = StringField(_l("How can we reach you?"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), coerce=str, validators=[Optional()])
    files = MultipleFileField(_l("Attachments (optional)"))
    # Optional and new: a client that never rendered it may leave it out.
    may_omit = frozenset({"started_at"})


class ReplyForm(StrictForm):
    """A public reply, or (staff) an internal note."""

    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    files = MultipleFileField(_l("Attachments (optional)"))
    # The staff's two buttons send internal="" or "1"; the requester's one sends nothing.
    internal = HiddenField(default="")
    may_omit = frozenset({"internal"})


class ResolveForm(StrictForm):
    """What the technician found and did."""

    diagnosis = TextAreaField(_l("Diagnosis"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    cause = TextAreaField(_l("Cause"), validators=[Optional(), Length(max=MAX_TEXT)])
    solution = TextAreaField(_l("Solution"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    solved_by = IntegerField(
        _l("Article that solved it (number, optional)"),
        validators=[Optional(), NumberRange(min=1)],
    )


class StatusForm(StrictForm):
    """Move the ticket to another status."""

    status = SelectField(_l("Status"), coerce=str)
    body = TextAreaField(
        _l("Message to the user (required when waiting on them)"), validators=[Length(max=MAX_TEXT)]
    )


class FieldsForm(StrictForm):
    """A technician's correction of what intake captured."""

    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    symptom = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    started = StringField(_l("Since when?"), validators=[Optional(), Length(max=200)])
    category = SelectField(_l("Category"), coerce=str, validators=[Optional()])
    impact = SelectField(_l("Who is affected?"), choices=IMPACT_CHOICES)
    urgency = SelectField(_l("How urgent is it?"), choices=URGENCY_CHOICES)
    core_system_down = BooleanField(CORE_SYSTEM_LABEL)
    contact = StringField(_l("Contact"), validators=[Optional(), Length(max=200)])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])


class PriorityForm(StrictForm):
    """Override the priority the matrix gave, with a reason."""

    priority = SelectField(_l("Priority"), choices=PRIORITY_CHOICES)
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class AssignForm(StrictForm):
    """Give the ticket to a group and/or a person."""

    group = SelectField(_l("Support group"), coerce=str, validators=[Optional()])
    assignee = SelectField(_l("Person"), coerce=str, validators=[Optional()])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])


class EscalateForm(StrictForm):
    """Hand the ticket to a group of a higher support line, with a reason."""

    group = SelectField(_l("To the group"), coerce=str, validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class RatingForm(StrictForm):
    """The requester's rating of the service on a closed ticket."""

    score = SelectField(
        _l("How satisfied are you with how your request was handled?"),
        choices=[
            SelectChoice("5", _l("5 — very satisfied")),
            SelectChoice("4", _l("4 — satisfied")),
            SelectChoice("3", _l("3 — neither")),
            SelectChoice("2", _l("2 — dissatisfied")),
            SelectChoice("1", _l("1 — very dissatisfied")),
        ],
        validators=[DataRequired()],
    )
    comment = TextAreaField(_l("Anything to add? (optional)"), validators=[Length(max=2000)])
    token = HiddenField()


class SavedViewForm(StrictForm):
    """Save the queue as it is shown under a name (admins may share it)."""

    name = StringField(_l("Name of the view"), validators=[DataRequired(), Length(max=60)])
    shared = BooleanField(_l("Share with all staff"))
