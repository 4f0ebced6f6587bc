"""Demo content: the default categories, demo accounts, articles and tickets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from articles.models import Article, ArticleState, Category, Visibility
from articles.service import ArticleFields, change_state, create_article, parse_tags
from portal.admin import catalogue, settings
from portal.admin.models import Setting, SynonymGroup
from portal.admin.synonyms import new_group
from portal.auth.models import Role, User
from portal.demo.desk import play_demo_desk
from portal.tickets import canned
from portal.tickets.canned import CannedReply
from portal.tickets.models import SupportGroup, Ticket

HERE = Path(__file__).parent

# The service standard's scope, in its order.
DEFAULT_CATEGORIES = (
    ("desktop", "Desktop and peripherals", "桌面与外设"),
    ("software", "Operating system and software", "操作系统与软件"),
    ("network", "Network access", "网络接入"),
    ("business-systems", "Business systems", "业务系统"),
    ("backup", "Backup and recovery", "数据备份与恢复"),
    ("security", "Security incidents", "安全事件"),
    ("assets", "IT assets", "IT 资产"),
)

# Support groups: (English, Chinese, line, auto-assign, members, categories routed to it).
DEMO_GROUPS = (
    (
        "Service desk",
        "服务台",
        1,
        False,
        ("tom", "lina"),
        ("desktop", "software", "network", "assets"),
    ),
    ("Business applications", "业务系统组", 2, True, ("lina",), ("business-systems", "backup")),
    ("Security response", "安全响应组", 2, False, ("tom",), ("security",)),
)
DEMO_MAIL_ADDRESS = "servicedesk@corp.example.com"
DEMO_INTERNAL_DOMAINS = ["corp.example.com"]

DEMO_USERS = (
    ("alice", "Alice Chen", Role.USER, "alice.chen@corp.example.com", "ext. 2231"),
    ("bob", "Bob Martin", Role.USER, "bob.martin@corp.example.com", "ext. 2410"),
    ("zhangwei", "张伟", Role.USER, "zhang.wei@corp.example.com", "分机 8021"),
    ("tom", "Tom Hughes", Role.TECHNICIAN, "tom.hughes@corp.example.com", "ext. 1001"),
    ("lina", "李娜", Role.TECHNICIAN, "li.na@corp.example.com", "分机 1002"),
    ("admin", "Desk Admin", Role.ADMIN, "servicedesk@corp.example.com", "ext. 1000"),
)

# Demo people who read the portal and their mail in Chinese.
DEMO_LOCALES = {"zhangwei": "zh_CN", "lina": "zh_CN"}


@dataclass(frozen=True)
class DemoArticle:
    """An article file: front matter and Markdown body."""

    title: str
    category: str
    visibility: Visibility
    state: ArticleState
    tags: tuple[str, ...]
    body: str


def parse_article(text: str) -> DemoArticle:
    """Parse a demo article: `key: value` lines between `---` fences, then Markdown."""
    _, front, body = text.split("---\n", 2)
    meta = dict(line.split(":", 1) for line in front.strip().splitlines())
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    return DemoArticle(
        title=meta["title"],
        category=meta["category"],
        visibility=Visibility(meta.get("visibility", "public")),
        state=ArticleState(meta.get("state", "published")),
        tags=parse_tags(meta.get("tags", "")),
        body=body.strip() + "\n",
    )


def ensure_categories(session: Session) -> dict[str, Category]:
    """Create the default categories that do not exist yet; return all by slug."""
    existing = {c.slug: c for c in session.scalars(select(Category))}
    for position, (slug, name_en, name_zh) in enumerate(DEFAULT_CATEGORIES):
        if slug not in existing:
            existing[slug] = Category(
                slug=slug, name_en=name_en, name_zh=name_zh, position=position
            )
            session.add(existing[slug])
    session.flush()
    return existing


def _users(session: Session, accounts_file: Path) -> tuple[dict[str, User], list[str]]:
    lines = accounts_file.read_text().splitlines() if accounts_file.exists() else []
    users = {u.username: u for u in session.scalars(select(User))}
    if all(name in users for name, *_ in DEMO_USERS) and lines:
        return users, lines
    lines = []
    for username, name, role, email, phone in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        user = users.get(username) or User(username=username)
        user.display_name, user.role, user.email, user.phone = name, role, email, phone
        user.locale = DEMO_LOCALES.get(username, "")
        user.set_password(password)
        session.add(user)
        users[username] = user
        lines.append(f"{role.value:<10}  {username:<9}  password: {password}")
    accounts_file.write_text("\n".join(lines) + "\n")
    accounts_file.chmod(0o600)
    session.flush()
    return users, lines


def _articles(session: Session, categories: dict[str, Category], admin: User) -> None:
    for path in sorted((HERE / "articles").glob("*.md")):
        doc = parse_article(path.read_text(encoding="utf-8"))
        fields = ArticleFields(
            title=doc.title,
            body=doc.body,
            category_id=categories[doc.category].id,
            visibility=doc.visibility,
            tags=doc.tags,
        )
        article = create_article(session, fields, admin.id, note="demo content")
        if doc.state is not ArticleState.DRAFT:
            change_state(session, article, ArticleState.IN_REVIEW, admin.id)
        if doc.state is ArticleState.PUBLISHED:
            change_state(session, article, ArticleState.PUBLISHED, admin.id)


def _groups(session: Session, categories: dict[str, Category], users: dict[str, User]) -> None:
    for name_en, name_zh, line, auto_assign, members, routed in DEMO_GROUPS:
        group = catalogue.add_group(
            session,
            catalogue.Names(name_en, name_zh),
            line,
            auto_assign,
            [users[m].id for m in members],
            None,
        )
        for slug in routed:
            category = categories[slug]
            names = catalogue.Names(category.name_en, category.name_zh)
            catalogue.update_category(session, category, names, group.id, None)


def _mail(session: Session, admin: User) -> None:
    if session.get(Setting, "mail_address") is None:
        settings.change(session, "mail_address", DEMO_MAIL_ADDRESS, admin.id)
    if session.get(Setting, "internal_domains") is None:
        settings.change(session, "internal_domains", DEMO_INTERNAL_DOMAINS, admin.id)


# Answers the demo desk gives often, with placeholders filled from each ticket.
DEMO_REPLIES = (
    (
        ("Ask for a screenshot", "请提供截图"),
        (
            "Hello {requester_name}, to look into {ticket_number} we need a screenshot of the "
            "error message and the time it appeared. Reply to this mail with it attached.\n\n"
            "{my_name}, service desk",
            "{requester_name}您好，为了处理 {ticket_number}，请提供错误提示的截图以及出现的时间，"
            "直接回复本邮件并附上截图即可。\n\n服务台 {my_name}",
        ),
    ),
    (
        ("Fixed, please confirm", "已处理，请确认"),
        (
            'Hello {requester_name}, we have fixed "{subject}". Please check and confirm on '
            "the ticket page; if it still fails, tell us what you see.\n\n{my_name}, service desk",
            "{requester_name}您好，“{subject}”已处理。请检查后在工单页面确认；如果仍有问题，"
            "请告诉我们您看到的现象。\n\n服务台 {my_name}",
        ),
    ),
)


# Synonym groups an admin would start with: users ask in one language, articles answer in
# the other, and everyone words a failed connection differently.
DEMO_SYNONYMS = (
    "wifi, 无线, wireless",
    "连不上, 无法连接, 连接失败, can't connect",
    "password, 密码",
    "printer, 打印机",
    "email, mail, 邮件, 邮箱",
    "account locked, 账号锁定, 账号被锁",
)


def load_demo(app: Flask) -> list[str]:
    """Load the demo content once (idempotent); return the demo account lines to print."""
    accounts_file = Path(app.instance_path) / "demo-accounts.txt"
    with app.extensions["solveloop.write_sessions"]() as session:
        categories = ensure_categories(session)
        users, lines = _users(session, accounts_file)
        if session.scalar(select(Article.id).limit(1)) is None:
            _articles(session, categories, users["admin"])
        if session.scalar(select(SupportGroup.id).limit(1)) is None:
            _groups(session, categories, users)
        _mail(session, users["admin"])
        session.commit()
        if session.scalar(select(Ticket.id).limit(1)) is None:
            play_demo_desk(app, session, categories, users)
        if session.scalar(select(CannedReply.id).limit(1)) is None:
            for (title_en, title_zh), (body_en, body_zh) in DEMO_REPLIES:
                canned.add(
                    session,
                    catalogue.Names(title_en, title_zh),
                    catalogue.Names(body_en, body_zh),
                    users["admin"].id,
                )
        if session.scalar(select(SynonymGroup.id).limit(1)) is None:
            session.add_all(new_group(group) for group in DEMO_SYNONYMS)
        session.commit()
    return lines
