"""Staleness: owners, review-by dates per category, readers' flags, confirmations, the queue."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from articles.models import Article, ArticleState, utcnow
from articles.staleness import ArticleCheck, CheckKind, ReviewPeriods, review_due
from portal.admin import settings
from portal.auth.models import Role
from portal.tickets.notifications import Kind, Notification


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user(Role.TECHNICIAN, username="lina", name="Lina"),
        "other": make_user(Role.TECHNICIAN, username="tom", name="Tom"),
        "admin": make_user(Role.ADMIN, username="chief", name="Chief"),
        "reader": make_user(Role.USER, username="alice", name="Alice"),
    }


@pytest.fixture
def owned(make_article, people, db):
    """Return a factory of published articles owned by Lina, published ``age`` days ago."""

    def make(title="VPN 连接失败怎么办", age=0, **kwargs):
        article = make_article(title=title, **kwargs)
        article.owner_id = people["owner"].id
        article.published_at = utcnow() - timedelta(days=age)
        db.commit()
        return article

    return make


@pytest.fixture
def admin_client_for(people, login, make_client):
    return lambda: login(people["admin"], make_client())


def fresh(db, model, ident):
    db.rollback()
    db.expire_all()
    return db.get(model, ident)


def test_an_article_is_owned_by_its_author_and_due_180_days_after_publishing(
    make_article, people, db
):
    from articles.service import ArticleFields, change_state, create_article

    db.commit()
    article = create_article(
        db, ArticleFields(title="Printer", body="Restart it."), people["owner"].id
    )
    change_state(db, article, ArticleState.PUBLISHED, people["owner"].id)
    db.commit()
    assert article.owner_id == people["owner"].id
    due = review_due(article, settings.review_periods(db))
    assert due == article.published_at + timedelta(days=180)


def test_the_review_period_is_set_per_category_in_the_settings(admin_client_for, owned, db):
    article = owned(age=100, category_slug="security")
    client = admin_client_for()
    form = {"review_default": "365", "review_categories": "security 90\nnetwork: 30"}
    response = client.post("/admin/settings/review", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.rollback()
    periods = settings.review_periods(db)
    assert periods == ReviewPeriods(365, {"network": 30, "security": 90})
    assert review_due(fresh(db, Article, article.id), periods) == article.published_at + timedelta(
        days=90
    )
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "security 90" in page


@pytest.mark.parametrize(
    ("lines", "message"),
    [("security ninety", "category and a number of days"), ("plumbing 30", "is not a category")],
)
def test_a_bad_review_period_is_refused_and_nothing_saved(admin_client_for, db, lines, message):
    response = admin_client_for().post(
        "/admin/settings/review", {"review_default": "180", "review_categories": lines}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.rollback()
    assert settings.review_periods(db) == ReviewPeriods()


def test_an_overdue_article_is_in_its_owners_queue_and_on_the_dashboard(
    owned, people, login, make_client
):
    late = owned(title="Old VPN article", age=200)
    owned(title="Fresh article", age=10)
    mine = login(people["owner"]).get("/review-queue").get_data(as_text=True)
    assert "Old VPN article" in mine and "Fresh article" not in mine
    assert "Review overdue since" in mine
    other = login(people["other"], make_client())
    assert "Old VPN article" not in other.get("/review-queue").get_data(as_text=True)
    assert other.get("/review-queue?who=all").status_code == 403
    reader = login(people["reader"], make_client())
    assert reader.get("/review-queue").status_code == 403
    admin = login(people["admin"], make_client())
    dashboard = admin.get("/admin/").get_data(as_text=True)
    assert "Articles to check" in dashboard and "Old VPN article" in dashboard
    assert f"article-{late.id}" in admin.get("/review-queue").get_data(as_text=True)


def test_a_reader_flags_an_article_and_its_owner_is_told(owned, people, login, make_client, db):
    article = owned(title="Reset the OA password")
    reader = login(people["reader"])
    page = reader.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "Flag this article" in page and "Owner:" not in page
    response = reader.post(
        f"/articles/{article.id}/flag",
        {"kind": "outdated", "comment": "新版 OA 的入口变了 <script>alert(1)</script>"},
    )
    assert response.status_code == 302
    db.rollback()
    check = db.scalars(select(ArticleCheck)).one()
    assert (check.kind, check.actor_id) == (CheckKind.OUTDATED, people["reader"].id)
    notification = db.scalars(select(Notification)).one()
    assert (notification.user_id, notification.kind) == (people["owner"].id, Kind.ARTICLE_FLAGGED)
    assert notification.ticket_id is None and notification.article_id == article.id
    owner = login(people["owner"], make_client())
    inbox = owner.get("/notifications").get_data(as_text=True)
    assert "a reader flagged your article" in inbox and "Reset the OA password" in inbox
    opened = owner.get(f"/notifications/{notification.id}")
    assert opened.headers["Location"].endswith(f"/review-queue#article-{article.id}")
    queue = owner.get("/review-queue").get_data(as_text=True)
    assert "新版 OA 的入口变了 &lt;script&gt;" in queue and "<script>alert" not in queue


def test_a_flag_needs_a_comment_and_a_published_article(owned, make_article, people, login, client):
    article = owned()
    draft = make_article(title="Draft", state=ArticleState.DRAFT)
    anonymous = client.post(f"/articles/{article.id}/flag", {"kind": "wrong", "comment": "x"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    reader = login(people["reader"])
    empty = reader.post(f"/articles/{article.id}/flag", {"kind": "wrong", "comment": " "})
    assert empty.status_code == 422
    assert "Choose outdated or wrong" in empty.get_data(as_text=True)
    odd = reader.post(f"/articles/{article.id}/flag", {"kind": "boring", "comment": "x"})
    assert odd.status_code == 422
    assert (
        reader.post(f"/articles/{draft.id}/flag", {"kind": "wrong", "comment": "x"}).status_code
        == 404
    )
    assert reader.post(f"/articles/{article.id}/flag", {"kind": "wrong"}).status_code == 400


def test_confirming_still_correct_moves_the_date_on_and_closes_the_flags(
    owned, people, login, make_client, db
):
    article = owned(title="Old VPN article", age=200)
    login(people["reader"]).post(
        f"/articles/{article.id}/flag", {"kind": "wrong", "comment": "Step 2 is wrong"}
    )
    other = login(people["other"], make_client())
    refused = other.post(f"/articles/{article.id}/confirm", {"comment": ""})
    assert refused.status_code == 403
    owner = login(people["owner"], make_client())
    response = owner.post(
        f"/articles/{article.id}/confirm", {"comment": "checked with IT ops", "next": "queue"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/review-queue#article-{article.id}")
    confirmed = fresh(db, Article, article.id)
    assert confirmed.review_by > utcnow() + timedelta(days=179)
    check = db.scalars(select(ArticleCheck).where(ArticleCheck.kind == CheckKind.CONFIRMED)).one()
    assert check.actor_id == people["owner"].id and check.comment == "checked with IT ops"
    assert check.created_at is not None
    assert "Old VPN article" not in owner.get("/review-queue").get_data(as_text=True)
    admin = login(people["admin"], make_client())
    assert admin.post(f"/articles/{article.id}/confirm", {"comment": ""}).status_code == 302


def test_an_admin_changes_the_owner_and_it_is_recorded(owned, people, login, make_client, db):
    article = owned(age=200)
    tech = login(people["other"])
    assert (
        tech.post(f"/articles/{article.id}/owner", {"owner": people["other"].id}).status_code == 403
    )
    admin = login(people["admin"], make_client())
    bad = admin.post(f"/articles/{article.id}/owner", {"owner": people["reader"].id})
    assert bad.status_code == 422
    response = admin.post(f"/articles/{article.id}/owner", {"owner": people["other"].id})
    assert response.status_code == 302
    assert fresh(db, Article, article.id).owner_id == people["other"].id
    check = db.scalars(select(ArticleCheck)).one()
    assert (check.kind, check.old_value, check.new_value, check.actor_id) == (
        CheckKind.OWNER_CHANGED,
        people["owner"].id,
        people["other"].id,
        people["admin"].id,
    )
    queue = tech.get("/review-queue").get_data(as_text=True)
    assert f"article-{article.id}" in queue


def test_the_queue_and_flag_form_read_in_chinese(owned, people, login, db):
    article = owned(age=200)
    reader = login(people["owner"])
    reader.post("/language", {"lang": "zh_CN", "next": "/"})
    page = reader.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "标记此文章" in page
    assert "待检查的文章" in reader.get("/review-queue").get_data(as_text=True)
