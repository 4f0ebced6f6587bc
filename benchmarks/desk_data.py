"""Realistic service-desk data for the desk benchmark: tickets with their events and
search terms, bulk-inserted into a schema built by the migrations.

One seeded generator (``DeskGenerator``) makes the same rows for a given size on SQLite
and PostgreSQL. What it makes, per ticket:

- dates spread over two years before ``NOW``, denser in the recent months; the open
  backlog is recent (most of it from the last three weeks), as on a working desk;
- status: 95% closed and 3% resolved, the other 2% open (new, assigned, in progress,
  waiting on the user);
- priority P1 2%, P2 10%, P3 55%, P4 33%; channel web 60%, e-mail 30%, phone 10%;
- one of the seven default categories, routed to its support group; 6% escalated to a
  second-line group; the assignee one of ~40 technicians of that group (new tickets and a
  fifth of the assigned ones have nobody);
- stored service-level deadlines consistent with the status: a running clock has its due,
  warning and next-check times; waiting, resolved and closed tickets have none;
- events: created, assignment, replies and notes, status changes, resolution, rating;
  a few typically (geometric), and 1 in 2,000 tickets has exactly 200;
- the ``ticket_terms`` rows of ``portal.tickets.text_search`` for subject, symptom,
  resolution, requester and message texts, computed with the real analyzer (each distinct
  text is analysed once and its terms reused, which gives the same rows as
  ``text_search.words_of`` over the ticket's parts).

Subjects and symptoms are support phrasings in English and Chinese (often mixed) with a
device, application or site slot; 1 ticket in ~5,000 carries a rare asset tag
(``AT-xxxxx``), shared by a handful of tickets, for the rare-word search.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text

SEED = 20261207
TECHNICIANS = 40
BATCH = 5000
RARE_TAG_EVERY = 5000
LONG_HISTORY_EVERY = 2000
LONG_HISTORY_EVENTS = 200

# (English name, Chinese name, line, categories routed to it, share of technicians)
GROUPS = (
    ("Service desk", "服务台", 1, ("desktop", "software", "assets"), 14),
    ("Network team", "网络组", 1, ("network",), 8),
    ("Business applications", "业务系统组", 2, ("business-systems",), 8),
    ("Backup and storage", "备份与存储组", 2, ("backup",), 4),
    ("Security response", "安全响应组", 2, ("security",), 4),
    ("Second line", "二线支持", 2, (), 2),
)
CATEGORY_WEIGHTS = {
    "desktop": 26,
    "software": 22,
    "network": 20,
    "business-systems": 14,
    "backup": 5,
    "security": 5,
    "assets": 8,
}
STATUS_WEIGHTS = (
    ("closed", 950),
    ("resolved", 30),
    ("new", 4),
    ("assigned", 5),
    ("in_progress", 7),
    ("waiting", 4),
)
PRIORITY_WEIGHTS = (("P1", 2), ("P2", 10), ("P3", 55), ("P4", 33))
CHANNEL_WEIGHTS = (("web", 60), ("email", 30), ("phone", 10))
# Resolution targets in wall-clock hours (business hours stretched over nights and weekends).
DUE_HOURS = {"P1": 4, "P2": 20, "P3": 60, "P4": 100}
IMPACT_URGENCY = {
    "P1": ("organisation", "critical"),
    "P2": ("department", "high"),
    "P3": ("me", "medium"),
    "P4": ("me", "low"),
}

SLOTS = {
    "desktop": [
        "打印机",
        "printer",
        "monitor",
        "显示器",
        "laptop",
        "笔记本",
        "docking station",
        "键盘",
    ],
    "software": ["Outlook", "Excel", "Chrome", "Windows 11", "Office", "WPS", "Teams", "微信"],
    "network": ["VPN", "Wi-Fi", "无线网络", "proxy", "网线", "DNS", "VPN 客户端", "会议室网络"],
    "business-systems": [
        "OA",
        "ERP",
        "CRM",
        "报销系统",
        "HR portal",
        "审批流程",
        "SAP",
        "考勤系统",
    ],
    "backup": [
        "NAS",
        "backup job",
        "共享盘",
        "OneDrive",
        "file server",
        "归档",
        "snapshot",
        "磁带",
    ],
    "security": ["phishing mail", "钓鱼邮件", "病毒", "password", "账号", "USB", "MFA", "证书"],
    "assets": ["new laptop", "资产登记", "phone", "手机", "badge", "门禁卡", "headset", "耳机"],
}
SITES = ["Beijing office", "上海办公室", "Shenzhen", "广州分部", "3rd floor", "五楼", "HQ", "仓库"]
SUBJECTS = (
    "{x} not working",
    "{x} 无法使用",
    "Cannot connect to {x}",
    "{x} 连接失败",
    "{x} very slow since this morning",
    "{x} 很慢",
    "Error when opening {x}",
    "打开{x}时报错",
    "{x} keeps asking for the password",
    "{x} 一直提示输入密码",
    "Need access to {x}",
    "申请{x}权限",
    "{x} stopped working after the update",
    "更新后{x}不能用了",
    "{x} at {site} is down",
    "{site}的{x}坏了",
)
SYMPTOMS = (
    "Since {when} {x} shows an error and I cannot finish my work. I restarted the computer "
    "but it did not help.",
    "从{when}开始{x}就不能正常使用，重启电脑也没有用，影响工作，请尽快处理。",
    "When I try {x} it times out after a minute. Colleagues at {site} have the same problem.",
    "{x} 提示“连接超时”，{site}的同事也一样。我已经试过重新登录。",
    "The {x} icon is grey and nothing happens when I click it. Error code 0x80070005.",
    "{x} 打不开，报错代码 0x80070005，昨天还是好的。",
    "I need {x} for the quarterly report; it says access denied. My manager approved it.",
    "需要使用{x}处理月底报表，但提示没有权限，领导已经同意。",
)
WHENS = ["this morning", "yesterday", "last Monday", "今天上午", "昨天下午", "上周五", "the update"]
REPLIES = (
    "Thank you, we are looking into it. Could you send a screenshot of the error?",
    "您好，我们正在处理，请提供一下报错的截图。",
    "Please restart {x} and try again; we changed the configuration on our side.",
    "我们已经调整了{x}的配置，请重新启动后再试一下。",
    "It works again now, thank you!",
    "现在可以用了，谢谢！",
    "Still the same error, please check again.",
    "还是不行，麻烦再看一下。",
)
NOTES = (
    "Checked the logs on the server: certificate expired on the gateway.",
    "服务器日志显示网关证书过期，已联系网络组。",
    "Escalating: needs a change on the {x} side.",
    "需要{x}那边改配置，已升级。",
)
DIAGNOSES = (
    "The {x} profile was corrupt.",
    "{x} 配置文件损坏。",
    "Expired certificate on the {x} gateway.",
    "{x} 网关证书过期。",
)
SOLUTIONS = (
    "Recreated the {x} profile and signed in again.",
    "重建{x}配置并重新登录。",
    "Renewed the certificate and restarted {x}.",
    "更新证书并重启{x}。",
)
SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Hu",
    "Zhu",
    "Gao",
    "Lin",
    "He",
    "Guo",
    "Ma",
]
GIVEN = [
    "Wei",
    "Fang",
    "Na",
    "Min",
    "Jing",
    "Lei",
    "Yang",
    "Jun",
    "Tao",
    "Ming",
    "Chao",
    "Xiu",
    "Hua",
    "Ping",
    "Gang",
    "Hui",
    "Tom",
    "Anna",
    "Mark",
]
CN_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗".replace("", " ").split()
CN_GIVEN = "伟芳娜敏静磊洋军涛明超秀华平刚慧丽强勇杰".replace("", " ").split()


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


@dataclass
class Desk:
    """What a generated desk holds: ids the benchmark needs to build its requests."""

    size: int
    technicians: list[int]
    admin_id: int
    users: list[int]
    groups: list[int]
    categories: dict[str, int]
    long_tickets: list[int] = field(default_factory=list)
    rare_tags: list[str] = field(default_factory=list)
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


class TermCache:
    """The analysed terms of each distinct text, computed once."""

    def __init__(self) -> None:
        from portal.tickets.text_search import words_of

        self._words_of = words_of
        self._seen: dict[str, dict[str, int]] = {}

    def of(self, text_: str) -> dict[str, int]:
        """Return the terms of ``text_`` at weight 1."""
        found = self._seen.get(text_)
        if found is None:
            found = self._words_of([(text_, 1)])
            if len(self._seen) < 200_000:
                self._seen[text_] = found
        return found


def _sqlite_fast(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            connection.commit()


class DeskGenerator:
    """Seeded rows for one desk of ``size`` tickets."""

    def __init__(self, size: int, now: datetime, seed: int = SEED) -> None:
        self.size = size
        self.now = now
        self.random = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.terms = TermCache()
        self.statuses = _weighted(STATUS_WEIGHTS)
        self.priorities = _weighted(PRIORITY_WEIGHTS)
        self.channels = _weighted(CHANNEL_WEIGHTS)
        self.category_names = list(CATEGORY_WEIGHTS)
        self.category_weights = list(CATEGORY_WEIGHTS.values())
        self.user_count = max(200, min(50_000, size // 20))

    def people(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        """Return the technicians, the requesters and an admin as user rows."""
        from portal.auth.models import Role

        r = self.random
        common = {
            "password_hash": "!",
            "created_at": self.now - timedelta(days=800),
            "mail_off": [],
        }
        technicians = [
            {
                **common,
                "username": f"tech{n:02d}",
                "display_name": f"{r.choice(SURNAMES)} {r.choice(GIVEN)}",
                "email": f"tech{n:02d}@corp.example.com",
                "phone": f"ext. {1100 + n}",
                "role": Role.TECHNICIAN,
                "locale": "zh_CN" if n % 2 else "",
            }
            for n in range(TECHNICIANS)
        ]
        requesters = []
        for n in range(self.user_count):
            chinese = r.random() < 0.6
            name = (
                r.choice(CN_SURNAMES) + r.choice(CN_GIVEN) + (r.choice(CN_GIVEN) if n % 3 else "")
                if chinese
                else f"{r.choice(GIVEN)} {r.choice(SURNAMES)}"
            )
            requesters.append(
                {
                    **common,
                    "username": f"user{n:05d}",
                    "display_name": name,
                    "email": f"user{n:05d}@corp.example.com",
                    "phone": f"ext. {3000 + n % 6000}",
                    "role": Role.USER,
                    "locale": "zh_CN" if chinese else "",
                }
            )
        admin = {
            **common,
            "username": "deskadmin",
            "display_name": "Desk Admin",
            "email": "admin@corp.example.com",
            "phone": "ext. 1000",
            "role": Role.ADMIN,
            "locale": "",
        }
        return technicians, requesters, admin

    def _created(self, status: str) -> datetime:
        r = self.random
        if status in ("new", "assigned", "in_progress", "waiting"):
            # Mostly the last three weeks, a long tail back to three months.
            hours = r.expovariate(1 / 150) if r.random() < 0.9 else r.uniform(500, 2200)
        elif status == "resolved":
            hours = r.uniform(2, 100)
        else:
            # Two years, more tickets lately (the desk grew): density rises linearly.
            hours = (1 - r.random() ** 0.5) * 2 * 365 * 24 + 100
        return self.now - timedelta(hours=hours, minutes=r.random() * 60)

    def tickets(
        self,
        desk: Desk,
        groups_by_category: dict[str, int],
        members: dict[int, list[int]],
        requester_words: dict[int, dict[str, int]],
    ) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, int, int]]]]:
        """Yield batches of (ticket rows, event rows, term rows) with ids from 1 upwards."""
        r = self.random
        second_line = desk.groups[-1]
        event_id = 0
        tickets: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        terms: list[tuple[str, int, int]] = []
        rare_tag_count = max(1, self.size // RARE_TAG_EVERY)
        desk.rare_tags = [f"AT-{10000 + 37 * n}" for n in range(rare_tag_count)]
        users = desk.users
        # Bounded Zipf: the requester of rank k (1 = busiest) files in proportion to
        # 1 / (k + users / 50); ranks are dealt to the directory at random. The busiest
        # requester then files about 13 times the average (some 250 tickets at 20 a head,
        # at any size), the quietest a quarter of it.
        shift = len(users) / 50
        requester_weights = list(
            itertools.accumulate(1 / (k + shift) for k in range(1, len(users) + 1))
        )
        total = requester_weights[-1]
        requester_by_rank = r.sample(users, len(users))
        for ticket_id in range(1, self.size + 1):
            status = r.choices(*self.statuses)[0]
            priority = r.choices(*self.priorities)[0]
            channel = r.choices(*self.channels)[0]
            category = r.choices(self.category_names, self.category_weights)[0]
            group = groups_by_category[category]
            if r.random() < 0.06:
                group = second_line
            created = self._created(status)
            slot = r.choice(SLOTS[category])
            site = r.choice(SITES)
            subject = r.choice(SUBJECTS).format(x=slot, site=site)
            symptom = r.choice(SYMPTOMS).format(x=slot, site=site, when=r.choice(WHENS))
            if ticket_id % RARE_TAG_EVERY == 7 or r.random() < 1 / (RARE_TAG_EVERY * 2):
                symptom += f" Asset tag {r.choice(desk.rare_tags)}."
            requester = requester_by_rank[bisect.bisect(requester_weights, r.random() * total)]
            assignee = None
            if status != "new" and not (status == "assigned" and r.random() < 0.2):
                assignee = r.choice(members[group])
            finished = status in ("resolved", "closed")
            long_history = ticket_id % LONG_HISTORY_EVERY == 1000
            n_messages = (
                LONG_HISTORY_EVENTS
                if long_history
                else min(40, int(r.expovariate(1 / 1.6)) + (1 if status != "new" else 0))
            )
            # Events: created, maybe assignment, messages, resolution, closing, rating.
            times: list[datetime] = []
            at = created
            span = (self.now - created) if not finished else timedelta(hours=r.uniform(1, 120))
            step = span / (n_messages + 4)
            for _ in range(n_messages + 4):
                at = at + step * r.uniform(0.2, 1.0)
                times.append(min(at, self.now))
            first_response = times[1] if status != "new" else None
            updated = times[-1] if status != "new" else created
            resolved_at = times[-2] if finished else None
            closed_at = times[-1] if status == "closed" else None
            due = warn = check = None
            if status in ("new", "assigned", "in_progress"):
                hours = DUE_HOURS[priority]
                due = created + timedelta(hours=hours)
                warn = created + timedelta(hours=hours * 0.75)
                check = warn if warn > self.now else due
            diagnosis = r.choice(DIAGNOSES).format(x=slot) if finished else ""
            solution = r.choice(SOLUTIONS).format(x=slot) if finished else ""
            impact, urgency = IMPACT_URGENCY[priority]
            tickets.append(
                {
                    "id": ticket_id,
                    "subject": subject,
                    "symptom": symptom,
                    "started": r.choice(WHENS),
                    "impact": impact,
                    "urgency": urgency,
                    "core_system_down": priority == "P1" and r.random() < 0.5,
                    "priority": priority,
                    "contact": "",
                    "channel": channel,
                    "status": status,
                    "category_id": desk.categories[category],
                    "group_id": group,
                    "requester_id": requester,
                    "assignee_id": assignee,
                    "recorded_by_id": assignee if channel == "phone" else None,
                    "diagnosis": diagnosis,
                    "cause": "",
                    "solution": solution,
                    "created_at": created,
                    "updated_at": updated,
                    "first_response_at": first_response,
                    "first_resolved_at": resolved_at,
                    "resolved_at": resolved_at,
                    "reopen_count": 0,
                    "closed_at": closed_at,
                    "sla_due_at": due,
                    "sla_warn_at": warn,
                    "sla_check_at": check,
                    "rating": r.randint(3, 5) if status == "closed" and r.random() < 0.3 else None,
                }
            )
            if long_history:
                desk.long_tickets.append(ticket_id)
            staff = assignee or r.choice(members[group])
            ticket_events: list[dict[str, Any]] = [
                _event(ticket_id, "created", requester, created, detail={"channel": channel})
            ]
            if assignee is not None:
                ticket_events.append(
                    _event(
                        ticket_id,
                        "field_changed",
                        assignee,
                        times[0],
                        field_="assignee",
                        old=None,
                        new=assignee,
                    )
                )
            bodies: list[str] = []
            for n in range(n_messages if status != "new" else 0):
                kind = "note" if r.random() < 0.2 else "reply"
                template = r.choice(NOTES if kind == "note" else REPLIES)
                body = template.format(x=slot)
                bodies.append(body)
                actor = staff if kind == "note" or n % 2 == 0 else requester
                ticket_events.append(
                    _event(ticket_id, kind, actor, times[1 + n], body=body, internal=kind == "note")
                )
            if status in ("in_progress", "waiting", "resolved", "closed"):
                ticket_events.append(
                    _event(
                        ticket_id,
                        "status_changed",
                        staff,
                        times[-3],
                        field_="status",
                        old="assigned",
                        new="waiting" if status == "waiting" else "in_progress",
                    )
                )
            if finished:
                ticket_events.append(
                    _event(
                        ticket_id,
                        "status_changed",
                        staff,
                        times[-2],
                        field_="status",
                        old="in_progress",
                        new="resolved",
                    )
                )
            if status == "closed":
                ticket_events.append(
                    _event(
                        ticket_id,
                        "user_confirmed",
                        requester,
                        times[-1],
                        field_="status",
                        old="resolved",
                        new="closed",
                    )
                )
            for e in ticket_events:
                event_id += 1
                e["id"] = event_id
            events.extend(ticket_events)
            weights: dict[str, int] = {}
            for text_, weight in (
                (subject, 4),
                (symptom, 2),
                (diagnosis, 2),
                (solution, 2),
                *((body, 1) for body in bodies),
            ):
                if text_:
                    for word in self.terms.of(text_):
                        weights[word] = weights.get(word, 0) + weight
            # The requester's name and e-mail count once (text_search's MESSAGE weight).
            for word in requester_words[requester]:
                weights[word] = weights.get(word, 0) + 1
            terms.extend((word, ticket_id, min(w, 30000)) for word, w in weights.items())
            if len(tickets) >= BATCH:
                yield tickets, events, terms
                tickets, events, terms = [], [], []
        if tickets:
            yield tickets, events, terms


def _event(
    ticket_id: int,
    kind: str,
    actor_id: int | None,
    at: datetime,
    field_: str = "",
    old: Any = None,
    new: Any = None,
    body: str = "",
    internal: bool = False,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "kind": kind,
        "actor": "user",
        "actor_id": actor_id,
        "field": field_,
        "old_value": old,
        "new_value": new,
        "detail": detail or {},
        "body": body,
        "internal": internal,
        "created_at": at,
    }


def _copy_terms(connection: Any, rows: list[tuple[str, int, int]]) -> None:
    """Insert term rows at the driver's bulk speed: executemany on SQLite, COPY on PostgreSQL."""
    raw = connection.connection.dbapi_connection
    if connection.dialect.name == "postgresql":
        copying = "COPY ticket_terms (term, ticket_id, weight) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(copying) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO ticket_terms (term, ticket_id, weight) VALUES (?, ?, ?)", rows
        )
        cursor.close()


def _requester_words(
    generator: DeskGenerator, requesters: list[dict[str, Any]]
) -> dict[str, dict[str, int]]:
    return {
        u["username"]: generator.terms.of(f"{u['display_name']} {u['email']}") for u in requesters
    }


def build(engine: Engine, size: int, now: datetime | None = None, seed: int = SEED) -> Desk:
    """Fill the migrated, empty database of ``engine`` with a desk of ``size`` tickets
    dated back from ``now`` (the current hour by default: the same rows, shifted, so open
    tickets have running clocks whenever it runs); return what the benchmark needs."""
    import time

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from portal.auth.models import User
    from portal.demo import ensure_categories
    from portal.tickets.models import (
        CategoryRoute,
        SupportGroup,
        Ticket,
        TicketEvent,
        group_members,
    )

    started = time.perf_counter()
    _sqlite_fast(engine)
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    generator = DeskGenerator(size, now, seed)
    technicians, requesters, admin = generator.people()
    rows = {"users": 0, "tickets": 0, "ticket_events": 0, "ticket_terms": 0}
    with Session(engine) as session:
        categories = {slug: c.id for slug, c in ensure_categories(session).items()}
        session.commit()
    users = User.__table__
    with engine.begin() as connection:
        connection.execute(insert(users), [*technicians, *requesters, admin])
        ids = dict(connection.execute(select(users.c.username, users.c.id)).all())
        rows["users"] = len(ids)
        tech_ids = [ids[t["username"]] for t in technicians]
        group_ids = []
        members: dict[int, list[int]] = {}
        groups_by_category: dict[str, int] = {}
        offset = 0
        for position, (name_en, name_zh, line, routed, share) in enumerate(GROUPS):
            group_id = connection.execute(
                insert(SupportGroup.__table__).returning(SupportGroup.__table__.c.id),
                {
                    "name_en": name_en,
                    "name_zh": name_zh,
                    "line": line,
                    "auto_assign": False,
                    "retired": False,
                    "position": position,
                },
            ).scalar_one()
            group_ids.append(group_id)
            members[group_id] = tech_ids[offset : offset + share]
            offset += share
            for slug in routed:
                groups_by_category[slug] = group_id
                connection.execute(
                    insert(CategoryRoute.__table__),
                    {"category_id": categories[slug], "group_id": group_id},
                )
        # A few technicians also work in a second group (the first line covers the network).
        members[group_ids[1]] = members[group_ids[1]] + tech_ids[:4]
        connection.execute(
            insert(group_members),
            [{"group_id": g, "user_id": u} for g, people in members.items() for u in people],
        )
    requester_ids = [ids[u["username"]] for u in requesters]
    desk = Desk(
        size=size,
        technicians=tech_ids,
        admin_id=ids["deskadmin"],
        users=requester_ids,
        groups=group_ids,
        categories=categories,
    )
    words = _requester_words(generator, requesters)
    by_id = {ids[name]: found for name, found in words.items()}
    tickets_table = Ticket.__table__
    events_table = TicketEvent.__table__
    batches = generator.tickets(desk, groups_by_category, members, by_id)
    for ticket_rows, event_rows, term_rows in batches:
        with engine.begin() as connection:
            connection.execute(insert(tickets_table), ticket_rows)
            connection.execute(insert(events_table), event_rows)
            _copy_terms(connection, term_rows)
        rows["tickets"] += len(ticket_rows)
        rows["ticket_events"] += len(event_rows)
        rows["ticket_terms"] += len(term_rows)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("users", "tickets", "ticket_events", "support_groups"):
                # The table names are the constants of this loop.
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        else:
            connection.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a live desk: the statistics, and the visibility map that
        # lets the queue's index-only scans skip the heap (freshly copied rows lack it).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    desk.rows = rows
    desk.seconds = round(time.perf_counter() - started, 1)
    return desk


def desk_file(instance: Path) -> Path:
    """Return where a built desk's description is kept beside its database."""
    return instance / "desk.json"


def main(argv: list[str] | None = None) -> int:
    """Build a desk into a new SQLite file (or the database a URL names), for a look at
    query plans: ``python -m benchmarks.desk_data SIZE PATH-OR-URL``."""
    import sys

    from portal.db import make_engine
    from portal.schema import upgrade

    size, target = (argv or sys.argv[1:])[:2]
    url = target if "://" in target else f"sqlite:///{Path(target).resolve()}"
    engine = make_engine(url)
    upgrade(engine)
    desk = build(engine, int(size))
    print(json.dumps(asdict(desk)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
