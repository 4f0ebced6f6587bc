"""The article editor form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from articles.rendering import MAX_SOURCE_CHARS
from articles.service import MAX_TITLE_CHARS
from portal.forms import StrictForm


class ArticleForm(StrictForm):
    """Title, classification, tags and Markdown body."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE_CHARS)])
    category = SelectField(_l("Category"), coerce=str, validators=[Optional()])
    visibility = SelectField(
        _l("Visibility"),
        choices=[
            SelectChoice("public", _l("Public — everyone")),
            SelectChoice("internal", _l("Internal — staff only")),
        ],
        default="public",
    )
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=600)])
    body = TextAreaField(
        _l("Article (Markdown)"), validators=[DataRequired(), Length(max=MAX_SOURCE_CHARS)]
    )
    note = StringField(_l("What changed (optional)"), validators=[Optional(), Length(max=300)])
    # The revision the editor was loaded at: a save over a newer one is a conflict.
    version = HiddenField()

    may_omit = frozenset({"version"})


class AppendForm(StrictForm):
    """A ticket's solution appended to an existing article: the text as the author left it."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE_CHARS)])
    body = TextAreaField(
        _l("Article (Markdown)"), validators=[DataRequired(), Length(max=MAX_SOURCE_CHARS)]
    )
    note = StringField(_l("What changed (optional)"), validators=[Optional(), Length(max=300)])
    # The revision the page was opened at: the change is checked against it.
    version = HiddenField()
