"""Collapsible admonitions (``???``, ``???+``) in the editor's preview and on the article."""

from portal.auth.models import Role

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
SOURCE = (
    '??? tip "先重启 Restart first"\n    Hold the power button for 10 s.\n\n'
    "???+ warning\n    Back up the mail first.\n\n"
    '??? danger "<img src=x onerror=alert(1)> [x](javascript:alert(1))"\n    body\n'
)


def test_the_preview_shows_collapsible_admonitions_as_details_with_a_safe_summary(
    make_user, login, client
):
    login(make_user(role=Role.TECHNICIAN))
    page = client.post("/editor/preview", {"body": SOURCE}).get_data(as_text=True)
    assert '<details class="admonition tip">' in page
    assert '<summary class="admonition-title">先重启 Restart first</summary>' in page
    assert '<details class="admonition warning" open="">' in page
    assert '<summary class="admonition-title">Warning · 警告</summary>' in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=" not in page and "javascript:" not in page
    assert "onerror=alert" not in page.replace("&lt;img src=x onerror=alert(1)&gt;", "")


def test_a_published_article_shows_them_to_readers_in_both_languages(
    make_article, make_user, login, client
):
    article = make_article(title="Outlook 收不到邮件", body=SOURCE)
    login(make_user())
    for headers in ({}, ZH):
        page = client.get(f"/articles/{article.id}", headers=headers).get_data(as_text=True)
        assert '<details class="admonition tip">' in page
        assert '<summary class="admonition-title">Warning · 警告</summary>' in page
        assert "<img src=x" not in page
