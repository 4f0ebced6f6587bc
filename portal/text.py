"""The one normalisation every piece of text from outside gets before it is stored or searched.

Plain functions, no Flask: the web edge, the command line and mail intake all call them.
"""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 control characters except tab, line feed and carriage return, DEL, and lone
# surrogates (which cannot be encoded, so a database refuses them at flush).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# Characters that reorder the display of what follows them: in a one-line value (a
# subject, a user name, a file name) they can make text read as something it is not.
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean_text(value: str, single_line: bool = False) -> str:
    """Return ``value`` without control characters or lone surrogates, line ends as \\n, NFC.

    ``single_line`` also removes the bidirectional-override characters and turns any line
    break into a space.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROLS.sub("", value)
    if single_line:
        value = _BIDI_CONTROLS.sub("", value).replace("\n", " ")
    return unicodedata.normalize("NFC", value)


def is_single_line(value: str) -> bool:
    """Return whether a submitted value is one line (a text box rather than a text area)."""
    return "\n" not in value and "\r" not in value
