"""The article editor in a real browser: upload an image, insert it, see it (and a code
block inside a list item) in the live preview; compare revisions in the history."""

import pytest

from articles.models import ArticleState
from portal.auth.models import Role
from tests.browser.test_core_loop import browser, live_server, sign_in  # noqa: F401 - fixtures
from tests.portal.test_attachments import png

pytestmark = pytest.mark.browser


def test_an_uploaded_image_is_inserted_and_shown_in_the_preview(
    browser,  # noqa: F811 - the fixture
    live_server,  # noqa: F811 - the fixture
    make_user,
    make_article,
    tmp_path,
):
    make_user(Role.TECHNICIAN, username="tina")
    article = make_article(
        "Renew the address",
        body="5. Run:\n\n   ```\n   ipconfig /renew\n   ```\n6. Restart.\n",
        state=ArticleState.DRAFT,
    )
    picture = tmp_path / "对话框.png"
    picture.write_bytes(png(40, 20))
    page = browser.new_page()
    sign_in(page, live_server, "tina")
    page.goto(f"{live_server}/editor/articles/{article.id}/edit")
    page.wait_for_selector("#preview li pre code")
    assert "ipconfig /renew" in page.inner_text("#preview li")
    page.set_input_files("#image-file", str(picture))
    page.click(".image-upload button[type=submit]")
    page.click("[data-insert-text]")
    assert "](/kb/images/" in page.input_value("#body")
    image = page.wait_for_selector("#preview img[src^='/kb/images/']")
    page.wait_for_function("img => img.complete && img.naturalWidth === 40", arg=image)
    page.click("#article-form button.button-large")
    page.wait_for_load_state()
    page.goto(f"{live_server}/editor/articles/{article.id}/history")
    assert page.locator(".diff-body ins").count() >= 1
