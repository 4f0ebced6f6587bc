"""The desk's catalogue: request categories and the support groups they route to.

Admins add, rename, reorder and retire categories, and manage groups and their members.
Nothing is deleted (tickets and articles keep pointing at what they had), and every
change is recorded like a setting: who, when, old → new, under ``category:<id>``,
``category_order`` or ``group:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from articles.drafting import slugify
from articles.models import Category
from portal.admin.models import SettingChange
from portal.admin.settings import recorded_changes
from portal.auth.models import User
from portal.tickets.models import CategoryRoute, SupportGroup

MAX_NAME = 120
MAX_LINE = 5
CATALOGUE_KEYS = ("category:", "category_order", "group:", "reply:")


class InvalidCatalogueEntry(ValueError):
    """A category or group that cannot be saved; ``message`` says why to the admin."""

    def __init__(self, message: LazyString | str) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Names:
    """A name in both UI languages."""

    en: str
    zh: str

    def checked(self) -> Names:
        """Return the names stripped; raise if either is empty or too long."""
        en, zh = self.en.strip(), self.zh.strip()
        if not en or not zh:
            raise InvalidCatalogueEntry(_l("Give the name in both English and Chinese."))
        if len(en) > MAX_NAME or len(zh) > MAX_NAME:
            raise InvalidCatalogueEntry(
                _l("A name can have at most %(max)d characters.", max=MAX_NAME)
            )
        return Names(en, zh)


def record_change(session: Session, key: str, old: Any, new: Any, actor_id: int | None) -> None:
    """Record a change to the catalogue (or another admin-managed list) under ``key``."""
    session.add(SettingChange(key=key, old_value=old, new_value=new, actor_id=actor_id))


def ordered_categories(session: Session) -> list[Category]:
    """Return every category, active or retired, in the order admins gave them."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.id)))


def routes(session: Session) -> dict[int, int]:
    """Return {category id: group id} for the categories that route to a group."""
    return {r.category_id: r.group_id for r in session.scalars(select(CategoryRoute))}


def category_snapshot(session: Session, category: Category) -> dict[str, Any]:
    """Return what the change record keeps of a category."""
    route = session.get(CategoryRoute, category.id)
    return {
        "name_en": category.name_en,
        "name_zh": category.name_zh,
        "group": route.group_id if route else None,
        "retired": category.retired,
    }


def _unique_slug(session: Session, names: Names) -> str:
    base = slugify(names.en) or slugify(names.zh) or "category"
    slug, number = base[:50], 2
    while session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        slug, number = f"{base[:50]}-{number}", number + 1
    return slug


def _check_group(session: Session, group_id: int | None) -> SupportGroup | None:
    if group_id is None:
        return None
    group = session.get(SupportGroup, group_id)
    if group is None or group.retired:
        raise InvalidCatalogueEntry(_l("Choose an active support group."))
    return group


def _set_route(session: Session, category: Category, group: SupportGroup | None) -> None:
    route = session.get(CategoryRoute, category.id)
    if group is None:
        if route is not None:
            session.delete(route)
    elif route is None:
        session.add(CategoryRoute(category_id=category.id, group_id=group.id))
    else:
        route.group_id = group.id


def add_category(
    session: Session, names: Names, group_id: int | None, actor_id: int | None
) -> Category:
    """Create a category at the end of the list, routed to ``group_id``; record it."""
    names = names.checked()
    group = _check_group(session, group_id)
    last = session.scalar(select(func.max(Category.position))) or 0
    category = Category(
        slug=_unique_slug(session, names), name_en=names.en, name_zh=names.zh, position=last + 1
    )
    session.add(category)
    session.flush()
    _set_route(session, category, group)
    session.flush()
    record_change(
        session, f"category:{category.id}", None, category_snapshot(session, category), actor_id
    )
    return category


def update_category(
    session: Session,
    category: Category,
    names: Names,
    group_id: int | None,
    actor_id: int | None,
) -> bool:
    """Rename a category and change its group; record it. False when nothing changed."""
    names = names.checked()
    group = _check_group(session, group_id)
    old = category_snapshot(session, category)
    category.name_en, category.name_zh = names.en, names.zh
    _set_route(session, category, group)
    session.flush()
    new = category_snapshot(session, category)
    if new == old:
        return False
    record_change(session, f"category:{category.id}", old, new, actor_id)
    return True


def retire_category(
    session: Session, category: Category, retired: bool, actor_id: int | None
) -> bool:
    """Retire a category (no new requests or articles) or bring it back; record it."""
    if category.retired == retired:
        return False
    old = category_snapshot(session, category)
    category.retired = retired
    record_change(
        session, f"category:{category.id}", old, category_snapshot(session, category), actor_id
    )
    return True


def move_category(session: Session, category: Category, offset: int, actor_id: int | None) -> bool:
    """Move a category one place up (-1) or down (+1); record the new order."""
    order = ordered_categories(session)
    at = order.index(category)
    to = at + offset
    if offset not in (-1, 1) or not 0 <= to < len(order):
        return False
    old = [c.id for c in order]
    order[at], order[to] = order[to], order[at]
    for position, each in enumerate(order):
        each.position = position
    record_change(session, "category_order", old, [c.id for c in order], actor_id)
    return True


def ordered_groups(session: Session) -> list[SupportGroup]:
    """Return every support group by line, then the order admins gave them."""
    return list(
        session.scalars(
            select(SupportGroup).order_by(
                SupportGroup.retired, SupportGroup.line, SupportGroup.position, SupportGroup.id
            )
        )
    )


def group_snapshot(group: SupportGroup) -> dict[str, Any]:
    """Return what the change record keeps of a group."""
    return {
        "name_en": group.name_en,
        "name_zh": group.name_zh,
        "line": group.line,
        "auto_assign": group.auto_assign,
        "retired": group.retired,
        "members": sorted(m.id for m in group.members),
    }


def _members(session: Session, member_ids: list[int]) -> list[User]:
    people = (
        list(session.scalars(select(User).where(User.id.in_(member_ids)))) if member_ids else []
    )
    if len(people) != len(set(member_ids)) or any(not p.is_staff for p in people):
        raise InvalidCatalogueEntry(_l("Members must be technicians or admins."))
    return people


def _check_line(line: int) -> int:
    if not 1 <= line <= MAX_LINE:
        raise InvalidCatalogueEntry(
            _l("The support line is a number from 1 to %(max)d.", max=MAX_LINE)
        )
    return line


def add_group(
    session: Session,
    names: Names,
    line: int,
    auto_assign: bool,
    member_ids: list[int],
    actor_id: int | None,
) -> SupportGroup:
    """Create a support group with its members; record it."""
    names = names.checked()
    last = session.scalar(select(func.max(SupportGroup.position))) or 0
    group = SupportGroup(
        name_en=names.en,
        name_zh=names.zh,
        line=_check_line(line),
        auto_assign=auto_assign,
        position=last + 1,
        members=_members(session, member_ids),
    )
    session.add(group)
    session.flush()
    record_change(session, f"group:{group.id}", None, group_snapshot(group), actor_id)
    return group


def update_group(
    session: Session,
    group: SupportGroup,
    names: Names,
    line: int,
    auto_assign: bool,
    member_ids: list[int],
    actor_id: int | None,
) -> bool:
    """Rename a group, change its line, assignment rule and members; record it."""
    names = names.checked()
    old = group_snapshot(group)
    group.name_en, group.name_zh = names.en, names.zh
    group.line, group.auto_assign = _check_line(line), auto_assign
    group.members = _members(session, member_ids)
    new = group_snapshot(group)
    if new == old:
        return False
    session.flush()
    record_change(session, f"group:{group.id}", old, new, actor_id)
    return True


def retire_group(
    session: Session, group: SupportGroup, retired: bool, actor_id: int | None
) -> bool:
    """Retire a group (nothing routes to it any more) or bring it back; record it."""
    if group.retired == retired:
        return False
    old = group_snapshot(group)
    group.retired = retired
    record_change(session, f"group:{group.id}", old, group_snapshot(group), actor_id)
    return True


def catalogue_history(session: Session, prefix: str, limit: int = 50) -> list[SettingChange]:
    """Return the latest recorded changes whose key starts with ``prefix``, newest first."""
    return recorded_changes(session, SettingChange.key.startswith(prefix), limit)
