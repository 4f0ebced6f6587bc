"""Handing an article to another owner from its page: admins to anyone on the staff, the
owner to a colleague; every change recorded and shown."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from articles.models import Article, utcnow
from articles.staleness import ArticleCheck, CheckKind
from portal.auth.models import Role

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture
def people(make_user):
    return {
        "owner": make_user(Role.TECHNICIAN, username="lina", name="Lina"),
        "other": make_user(Role.TECHNICIAN, username="tom", name="Tom"),
        "third": make_user(Role.TECHNICIAN, username="wei", name="Wei"),
        "admin": make_user(Role.ADMIN, username="chief", name="Chief"),
        "reader": make_user(Role.USER, username="alice", name="Alice"),
    }


@pytest.fixture
def article(make_article, people, db):
    made = make_article(title="VPN 连接失败怎么办")
    made.owner_id = people["owner"].id
    made.published_at = utcnow() - timedelta(days=10)
    db.commit()
    return made


def _owner(db, article_id):
    db.rollback()
    db.expire_all()
    return db.get(Article, article_id).owner_id


def test_the_owner_hands_the_article_over_from_its_page_and_it_is_recorded(
    article, people, login, db
):
    owner = login(people["owner"])
    page = owner.get(f"/articles/{article.id}").get_data(as_text=True)
    assert f'action="/articles/{article.id}/owner"' in page and "Hand it to" in page
    response = owner.post(f"/articles/{article.id}/owner", {"owner": people["other"].id})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/articles/{article.id}#staleness")
    assert _owner(db, article.id) == people["other"].id
    check = db.scalars(select(ArticleCheck)).one()
    assert (check.kind, check.actor_id, check.old_value, check.new_value) == (
        CheckKind.OWNER_CHANGED,
        people["owner"].id,
        people["owner"].id,
        people["other"].id,
    )
    page = owner.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "Tom now owns this article." in page
    assert "Lina handed it from Lina to Tom" in page
    # No longer the owner: Lina cannot take it back or pass it on.
    assert f'action="/articles/{article.id}/owner"' not in page
    again = owner.post(f"/articles/{article.id}/owner", {"owner": people["owner"].id})
    assert again.status_code == 403
    assert "Only the article" in again.get_data(as_text=True)
    assert _owner(db, article.id) == people["other"].id


def test_an_admin_sets_any_staff_member_from_the_article_page_in_chinese(
    article, people, login, db
):
    admin = login(people["admin"])
    page = admin.get(f"/articles/{article.id}", headers=ZH).get_data(as_text=True)
    assert "移交给" in page and "更换负责人" in page
    assert (
        admin.post(f"/articles/{article.id}/owner", {"owner": people["third"].id}).status_code
        == 302
    )
    assert (
        admin.post(f"/articles/{article.id}/owner", {"owner": people["admin"].id}).status_code
        == 302
    )
    assert _owner(db, article.id) == people["admin"].id
    page = admin.get(f"/articles/{article.id}", headers=ZH).get_data(as_text=True)
    assert "Chief 将其从 Wei 移交给 Chief" in page and "Chief 将其从 Lina 移交给 Wei" in page
    assert len(db.scalars(select(ArticleCheck)).all()) == 2


def test_only_the_owner_or_an_admin_changes_the_owner_and_only_to_active_staff(
    article, people, login, make_client, db
):
    other = login(people["other"])
    page = other.get(f"/articles/{article.id}").get_data(as_text=True)
    assert f'action="/articles/{article.id}/owner"' not in page
    assert (
        other.post(f"/articles/{article.id}/owner", {"owner": people["other"].id}).status_code
        == 403
    )
    reader = login(people["reader"], make_client())
    assert (
        reader.post(f"/articles/{article.id}/owner", {"owner": people["reader"].id}).status_code
        == 403
    )
    owner = login(people["owner"], make_client())
    assert (
        owner.post(f"/articles/{article.id}/owner", {"owner": people["reader"].id}).status_code
        == 422
    )
    assert owner.post(f"/articles/{article.id}/owner", {"owner": "x"}).status_code == 422
    assert owner.post(f"/articles/{article.id}/owner", {}).status_code == 400
    people["third"].active = False
    db.merge(people["third"])
    db.commit()
    assert (
        owner.post(f"/articles/{article.id}/owner", {"owner": people["third"].id}).status_code
        == 422
    )
    assert owner.post("/articles/99999/owner", {"owner": people["other"].id}).status_code == 404
    assert _owner(db, article.id) == people["owner"].id
    assert db.scalars(select(ArticleCheck)).all() == []
