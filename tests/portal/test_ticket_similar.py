"""Similar articles on a ticket, for staff: the decisive words they share are marked."""

import re

from portal.auth.models import Role


def _panel(page: str) -> str:
    found = re.search(r'<section[^>]*aria-labelledby="similar-heading".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_staff_see_similar_articles_with_the_decisive_words_marked(
    make_article, make_user, make_ticket, login, make_client
):
    make_article("VPN 连接失败（错误 809）", body="在家连接公司 VPN 时提示错误 809。")
    make_article("Wireless keyboard not working", body="The keyboard is not working: batteries.")
    make_article("Second monitor not working", body="The monitor is not working: the cable.")
    make_article("Scanner not working", body="Scanning is not working: the mailbox is full.")
    requester = make_user()
    ticket = make_ticket(requester, subject="VPN not working", symptom="The VPN does not work.")
    staff = login(make_user(role=Role.TECHNICIAN), make_client())
    panel = _panel(staff.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "<mark>VPN</mark> 连接失败（错误 809）" in panel
    # Only the word that says what is broken is marked, in the title and the snippet.
    assert panel.count("<mark>VPN</mark>") == 2
    assert "<mark>not" not in panel and "<mark>work" not in panel
    # Articles sharing only the generic words are noise: left out.
    assert "keyboard" not in panel and "monitor" not in panel and "Scanner" not in panel
    own = login(requester, make_client())
    assert _panel(own.get(f"/tickets/{ticket.id}").get_data(as_text=True)) == ""


def test_similar_article_titles_reach_the_page_escaped(
    make_article, make_user, make_ticket, login, make_client
):
    make_article("Printer <script>alert(1)</script> offline", body="The printer is offline.")
    make_article("Outlook shows disconnected", body="Outlook is offline.")
    ticket = make_ticket(make_user(), subject="printer offline", symptom="The printer is offline.")
    staff = login(make_user(role=Role.TECHNICIAN), make_client())
    panel = _panel(staff.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "&lt;script&gt;" in panel and "<script>" not in panel
    assert "<mark>Printer</mark>" in panel
