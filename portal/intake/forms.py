"""The form a technician fills while on the phone with a caller."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.admin.settings import MAILBOX
from portal.tickets.forms import MAX_TEXT, RequestForm


class CallForm(RequestForm):
    """A call: who is calling (an account, or a new contact), the request, and whether it
    was solved during the call."""

    caller = StringField(_l("Who is calling?"), validators=[DataRequired(), Length(max=200)])
    # The account chosen when several match what was typed.
    caller_id = RadioField(
        _l("Which of them?"), coerce=str, validate_choice=False, validators=[Optional()]
    )
    create_caller = BooleanField(_l("Add the caller as a new contact"))
    new_name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    new_email = StringField(
        _l("E-mail"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(MAILBOX, message=_l("Give an e-mail address such as name@example.com.")),
        ],
    )
    new_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=60)])
    contact = StringField(_l("How can we reach them?"), validators=[Optional(), Length(max=200)])
    solved_on_call = BooleanField(_l("Solved during the call"))
    diagnosis = TextAreaField(_l("Diagnosis"), validators=[Optional(), Length(max=MAX_TEXT)])
    solution = TextAreaField(_l("Solution"), validators=[Optional(), Length(max=MAX_TEXT)])
    # The choice of account is shown only when several match; a browser sends no radio
    # button that none was chosen of.
    may_omit = RequestForm.may_omit | {"caller_id"}
