"""Forms of the knowledge base pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from articles.feedback import MAX_COMMENT
from portal.forms import StrictForm


class VoteForm(StrictForm):
    """ "Was this helpful?" with an optional comment."""

    helpful = RadioField(
        _l("Was this article helpful?"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[DataRequired()],
    )
    comment = TextAreaField(
        _l("What was missing or wrong? (optional)"),
        validators=[Optional(), Length(max=MAX_COMMENT)],
    )
    # Sent by the button pressed; a post without it gets the form's message (422).
    may_omit = frozenset({"helpful"})
