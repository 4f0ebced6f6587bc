"""The base of every portal form: a submission that lacks one of its fields changes nothing."""

from __future__ import annotations

from typing import Any, ClassVar

from flask import abort, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm

# Browsers leave these out of a submission on purpose (unchecked boxes, no file chosen,
# another button pressed), so their absence is a value, not a malformed request.
OPTIONAL_IN_SUBMISSION = frozenset(
    {"BooleanField", "FileField", "MultipleFileField", "SubmitField", "CSRFTokenField"}
)


class StrictForm(FlaskForm):
    """A Flask-WTF form that answers 400, naming the fields, when a submission lacks any.

    Without this, a missing field keeps the value the form was built with (an article's
    tag objects, say), and saving either fails or silently changes what was not sent.
    """

    # Fields whose value comes from the button pressed, absent when another one was.
    may_omit: ClassVar[frozenset[str]] = frozenset()

    def missing_fields(self) -> list[str]:
        """Return the names of this form's fields that the submission does not carry."""
        sent = request.form.keys() | request.files.keys()
        return [
            field.name
            for field in self
            if field.type not in OPTIONAL_IN_SUBMISSION
            and field.name not in self.may_omit
            and field.name not in sent
        ]

    def validate_on_submit(self, extra_validators: Any = None) -> bool:
        """Validate a submission, first refusing one with missing fields (400)."""
        if self.is_submitted():
            missing = self.missing_fields()
            if missing:
                abort(
                    400,
                    description=_(
                        "The form was sent without these fields: %(fields)s. Nothing was saved.",
                        fields=", ".join(missing),
                    ),
                )
        return bool(super().validate_on_submit(extra_validators))
