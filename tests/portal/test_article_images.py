"""Images in articles: uploaded by staff in the editor into the attachment store (images
only, content-checked), served with the article's own visibility and nosniff."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

from sqlalchemy import select

from articles.models import ArticleImage, ArticleState, Visibility
from portal.auth.models import Role
from portal.tickets.attachments import Store, sweep_orphans
from tests.portal.test_attachments import PDF, fetch, png


def upload(browser, article, name, content):
    return browser.post(
        f"/editor/articles/{article.id}/images",
        {"image": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def test_staff_upload_an_image_and_get_its_markdown(db, make_article, make_user, login, client):
    article = make_article("VPN 设置", state=ArticleState.DRAFT)
    login(make_user(Role.TECHNICIAN))
    response = upload(client, article, "VPN 设置 [1].png", png())
    assert response.status_code == 201
    db.rollback()
    image = db.scalars(select(ArticleImage)).one()
    assert image.article_id == article.id and image.content_type == "image/png"
    assert f"![VPN 设置 1](/kb/images/{image.id})" in response.get_data(as_text=True)
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert f"/kb/images/{image.id}" in page


def test_only_images_whose_content_matches_are_accepted(db, make_article, make_user, login, client):
    article = make_article("VPN 设置")
    login(make_user(Role.TECHNICIAN))
    assert upload(client, article, "guide.pdf", PDF).status_code == 422
    assert (
        upload(client, article, "fake.png", b"<html><script>alert(1)</script>").status_code == 422
    )
    assert upload(client, article, "page.svg", b"<svg onload=alert(1)>").status_code == 422
    none = client.post(
        f"/editor/articles/{article.id}/images", {}, content_type="multipart/form-data"
    )
    assert none.status_code == 422
    assert upload(client, article, "a.png", png()).status_code == 201
    assert client.post("/editor/articles/999/images", {}).status_code == 404
    db.rollback()
    assert len(db.scalars(select(ArticleImage)).all()) == 1


def test_users_cannot_upload(make_article, make_user, login, client):
    article = make_article("VPN 设置")
    login(make_user())
    assert upload(client, article, "a.png", png()).status_code == 403


def test_an_image_is_served_with_its_articles_visibility(
    db, make_article, make_user, login, client, make_client
):
    public = make_article("Public guide")
    internal = make_article("Internal guide", visibility=Visibility.INTERNAL)
    draft = make_article("Draft guide", state=ArticleState.DRAFT)
    staff = login(make_user(Role.TECHNICIAN), on=make_client())
    ids = {}
    for article in (public, internal, draft):
        assert upload(staff, article, "shot.png", png()).status_code == 201
        db.rollback()
        ids[article.title] = db.scalars(
            select(ArticleImage.id).where(ArticleImage.article_id == article.id)
        ).one()
    anonymous = make_client()
    reader = login(make_user(), on=make_client())
    for browser in (anonymous, reader):
        shown = fetch(browser, f"/kb/images/{ids['Public guide']}")
        assert shown.status_code == 200 and shown.data == png()
        assert shown.headers["Content-Type"] == "image/png"
        assert shown.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in shown.headers["Content-Security-Policy"]
        assert browser.get(f"/kb/images/{ids['Internal guide']}").status_code == 404
        assert browser.get(f"/kb/images/{ids['Draft guide']}").status_code == 404
    for image_id in ids.values():
        assert fetch(staff, f"/kb/images/{image_id}").status_code == 200
    assert anonymous.get("/kb/images/9999").status_code == 404


def test_an_article_body_shows_its_uploaded_image(db, make_article, make_user, login, client):
    article = make_article("VPN 设置", state=ArticleState.DRAFT)
    login(make_user(Role.TECHNICIAN))
    assert upload(client, article, "dialog.png", png()).status_code == 201
    db.rollback()
    image = db.scalars(select(ArticleImage)).one()
    preview = client.post(
        "/editor/preview", {"body": f"1. Open:\n\n   ![dialog](/kb/images/{image.id})\n"}
    )
    assert f'<img src="/kb/images/{image.id}" alt="dialog">' in preview.get_data(as_text=True)


def test_the_sweep_keeps_article_images(app, db, make_article, make_user, login, client):
    article = make_article("VPN 设置")
    login(make_user(Role.TECHNICIAN))
    assert upload(client, article, "a.png", png()).status_code == 201
    db.rollback()
    image = db.scalars(select(ArticleImage)).one()
    store = Store(app.config["ATTACHMENTS_PATH"])
    path = Path(store.path(image.storage_name))
    old = time.time() - 7200
    os.utime(path, (old, old))
    assert sweep_orphans(db, store, older_than_seconds=60) == 0
    assert path.is_file()
