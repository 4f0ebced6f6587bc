"""Revision notes the code writes ("in_review", "drafted from ticket #7; …"), shown in the
reader's language; what people typed is shown as they typed it."""

import re
from collections.abc import Callable, Mapping

from flask_babel import gettext as _
from flask_babel import ngettext

# A note is stored in one language for everyone: these clauses are the ones the code
# writes (articles.service, articles.transfer, the editor's draft from a ticket).
_WORDS: dict[str, Callable[[], str]] = {
    "created": lambda: _("created"),
    "edited": lambda: _("edited"),
    "draft": lambda: _("back to draft"),
    "in_review": lambda: _("submitted for review"),
    "published": lambda: _("published"),
    "archived": lambda: _("archived"),
    "demo content": lambda: _("demo content"),
}
_UNDONE = re.compile(r"(\d+) redaction\(s\) undone by the author: ((?:#\d+ \w+(?:, )?)+)")
_HIDDEN = re.compile(r"(\d+) text\(s\) hidden by hand")
_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"drafted from ticket #(\d+)"),
        lambda m: _("drafted from ticket #%(id)s", id=m[1]),
    ),
    (
        re.compile(r"solution added from ticket #(\d+)"),
        lambda m: _("solution added from ticket #%(id)s", id=m[1]),
    ),
    (re.compile(r"restored revision (\d+)"), lambda m: _("restored revision %(n)s", n=m[1])),
    (re.compile(r"replaced by ((?:#\d+(?:, )?)+)"), lambda m: _("replaced by %(ids)s", ids=m[1])),
    (
        _HIDDEN,
        lambda m: ngettext(
            "%(num)d text hidden by hand", "%(num)d texts hidden by hand", int(m[1])
        ),
    ),
]


def revision_note(note: str, kinds: Mapping[str, str]) -> str:
    """Return ``note`` with each clause the code wrote translated; other text unchanged."""
    word = _WORDS.get(note)
    if word is not None:
        return word()
    for prefix, label in (
        ("merged into #", lambda rest: _("merged into #%(id)s", id=rest)),
        ("proposal #", lambda rest: _("proposal #%(id)s", id=rest)),
        ("imported from ", lambda rest: _("imported from %(file)s", file=rest)),
    ):
        if note.startswith(prefix):
            # What follows ": " is the author's own note, kept as written.
            head, sep, tail = note.removeprefix(prefix).partition(": ")
            return label(head) + (_(": ") + tail if sep else "")
    clauses = note.split("; ")
    return _("; ").join(_clause(c, kinds) for c in clauses)


def _clause(clause: str, kinds: Mapping[str, str]) -> str:
    """One clause of a note, translated when the code wrote it."""
    word = _WORDS.get(clause)
    if word is not None:
        return word()
    undone = _UNDONE.fullmatch(clause)
    if undone:
        items = []
        for item in undone[2].split(", "):
            number, _space, kind = item.partition(" ")
            items.append(f"{number} {kinds.get(kind, kind)}")
        return ngettext(
            "%(num)d redaction undone by the author: %(list)s",
            "%(num)d redactions undone by the author: %(list)s",
            int(undone[1]),
            list=_(", ").join(items),
        )
    for pattern, label in _PATTERNS:
        match = pattern.fullmatch(clause)
        if match:
            return label(match)
    return clause
