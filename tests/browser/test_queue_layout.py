"""The queue's ten columns fit a 1280 px screen, in English and in Chinese."""

from datetime import timedelta

import pytest

from articles.models import utcnow
from portal.auth.models import Role
from portal.tickets.models import Channel, Status, Ticket

# The live server and Chromium of the core loop test, shared rather than copied.
from tests.browser.test_core_loop import browser, live_server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_the_queue_fits_a_1280_px_screen_in_both_languages(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    make_ticket,
    category,
):
    tech = make_user(Role.TECHNICIAN, username="tech", name="Christopher Montgomery")
    requester = make_user(name="Alexandra Richardson-Whitfield")
    now = utcnow()
    # The widest rows a desk shows: overdue and at risk with their badges, a paused one
    # waiting for the user, long subjects, categories and names.
    rows = [
        (Status.IN_PROGRESS, now - timedelta(days=40), None),
        (Status.ASSIGNED, now + timedelta(hours=2), now - timedelta(hours=1)),
        (Status.WAITING, None, None),
    ]
    for status, due, warn in rows:
        ticket = db.get(
            Ticket,
            make_ticket(
                requester,
                subject="Outlook keeps asking for the password after the VPN reconnects",
                category_id=category("business-systems").id,
                urgency="high",
            ).id,
        )
        ticket.status, ticket.sla_due_at, ticket.sla_warn_at = status, due, warn
        ticket.assignee_id, ticket.channel = tech.id, Channel.PHONE
    db.commit()
    for lang in ("en", "zh_CN"):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sign_in(page, live_server, "tech")
        page.click(f"form.lang-switch button[value={lang}]")
        page.wait_for_load_state()
        page.goto(f"{live_server}/queue?view=open")
        assert page.locator(".queue-table tbody tr").count() == 3
        fit = page.evaluate(
            """() => {
              const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
              const heads = [...document.querySelectorAll('.queue-table th')];
              const right = Math.max(...heads.map(h => h.getBoundingClientRect().right));
              return {wrap: wrap.right, last: right, page: document.documentElement.scrollWidth};
            }"""
        )
        assert fit["last"] <= fit["wrap"] + 0.5, (lang, fit)  # no column is cut off
        assert fit["page"] <= 1280, (lang, fit)
        context.close()
