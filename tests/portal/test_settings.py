"""Desk settings: defaults until saved, checks that refuse bad values, a record of changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from articles.models import ArticleState
from portal.admin import settings
from portal.admin.forms import parse_overrides
from portal.admin.models import ChangesAreAppendOnly, Setting, SettingChange
from portal.admin.settings import DEFAULT_SLA, InvalidSetting
from portal.auth.models import Role
from portal.tickets.workflow import DEFAULT_MATRIX, IMPACTS, URGENCIES


def matrix_form(matrix: dict[str, dict[str, str]]) -> dict[str, str]:
    return {f"{i}__{u}": matrix[i][u] for i in IMPACTS for u in URGENCIES}


def targets_form(hours: dict[str, tuple[str, str]]) -> dict[str, str]:
    form = {}
    for priority, (response, resolution) in hours.items():
        form[f"{priority}__response"] = response
        form[f"{priority}__resolution"] = resolution
    return form


DEFAULT_HOURS = {"P1": ("0.5", "4"), "P2": ("2", "8"), "P3": ("4", "24"), "P4": ("8", "40")}
CALENDAR = {
    "timezone": "Asia/Shanghai",
    "days": ["1", "2", "3", "4", "5"],
    "start": "09:00",
    "end": "18:00",
    "overrides": "",
}
MAIL = {"mail_address": "", "internal_domains": "", "unknown_senders": "internal"}


@pytest.fixture
def admin_client(client, login, make_user):
    login(make_user(role=Role.ADMIN, username="desk-admin", name="Desk Admin"))
    return client


def test_until_an_admin_saves_one_each_setting_is_its_default(db):
    values = settings.current(db)
    assert values["priority_matrix"] == DEFAULT_MATRIX
    assert values["sla_targets"] == DEFAULT_SLA
    assert values["sla_targets"]["P1"] == {"response": 30, "resolution": 240}
    assert values["business_calendar"]["timezone"] == "Asia/Shanghai"
    assert values["business_calendar"]["days"] == [1, 2, 3, 4, 5]
    assert values["auto_close_days"] == 3
    assert values["technicians_can_publish"] is False
    assert db.scalar(select(Setting)) is None


def test_changing_a_value_read_from_the_defaults_leaves_the_defaults_alone(db):
    settings.current(db)["sla_targets"]["P1"]["response"] = 1
    settings.get(db, "internal_domains").append("corp.example.com")
    assert settings.get(db, "sla_targets")["P1"]["response"] == 30
    assert settings.current(db)["internal_domains"] == []
    assert DEFAULT_SLA["P1"]["response"] == 30


def test_the_settings_page_shows_the_defaults(admin_client):
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'name="organisation__critical"' in page
    assert 'value="0.5"' in page  # P1's first response, in hours
    assert 'value="Asia/Shanghai"' in page
    assert "No setting has been changed yet" in page


def test_a_saved_matrix_sets_the_priority_of_new_tickets_and_the_change_is_recorded(
    admin_client, db, make_user, make_ticket
):
    matrix = {i: dict(row) for i, row in DEFAULT_MATRIX.items()}
    matrix["me"]["critical"] = "P1"
    response = admin_client.post("/admin/settings/priority", matrix_form(matrix))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings#priority")

    ticket = make_ticket(make_user(), impact="me", urgency="critical")
    assert ticket.priority == "P1"

    change = db.scalars(select(SettingChange)).one()
    assert change.key == "priority_matrix"
    assert change.old_value["me"]["critical"] == "P2"
    assert change.new_value["me"]["critical"] == "P1"
    assert change.actor.username == "desk-admin"

    page = admin_client.get("/admin/settings").get_data(as_text=True)
    changes = page[page.index('id="changes"') :]
    assert "Desk Admin" in changes
    assert "Only me × Critical — work has stopped and cannot wait: P2 → P1" in changes


def test_the_record_of_changes_reads_in_chinese(admin_client):
    hours = dict(DEFAULT_HOURS, P2=("1.5", "8"))
    assert admin_client.post("/admin/settings/targets", targets_form(hours)).status_code == 302
    admin_client.post("/language", {"lang": "zh_CN", "next": "/admin/settings"})
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    changes = page[page.index('id="changes"') :]
    assert "服务级别目标" in changes
    assert "P2 首次响应: 2 小时 → 1.5 小时" in changes


def test_saving_the_same_values_records_nothing(admin_client, db):
    response = admin_client.post("/admin/settings/targets", targets_form(DEFAULT_HOURS))
    assert response.status_code == 302
    assert db.scalar(select(SettingChange)) is None
    assert db.scalar(select(Setting)) is None


@pytest.mark.parametrize(
    "section,form,message",
    [
        (
            "targets",
            targets_form(dict(DEFAULT_HOURS, P3=("30", "24"))),
            "P3: the first response cannot be due after the resolution.",
        ),
        ("targets", targets_form(dict(DEFAULT_HOURS, P1=("0", "4"))), "Check the fields"),
        (
            "calendar",
            dict(CALENDAR, timezone="Mars/Olympus"),
            "Mars/Olympus is not a time zone",
        ),
        ("calendar", dict(CALENDAR, start="18:00", end="09:00"), "must end after it starts"),
        (
            "calendar",
            {k: v for k, v in CALENDAR.items() if k != "days"},
            "at least one working day",
        ),
        (
            "calendar",
            dict(CALENDAR, overrides="2026-10-10 work\n2026-13-01 off"),
            "2026-13-01 is not a date",
        ),
        ("calendar", dict(CALENDAR, overrides="2026-10-10 holiday"), "Line 1:"),
        (
            "mail",
            dict(MAIL, internal_domains="corp.example.com\nhttp://bad"),
            "http://bad is not a domain",
        ),
        ("mail", dict(MAIL, mail_address="help desk@corp"), "is not an e-mail address"),
        ("mail", dict(MAIL, unknown_senders="everyone"), "Check the fields"),
        ("confirmation", {"auto_close_days": "0"}, "Check the fields"),
    ],
)
def test_a_bad_value_is_refused_with_its_reason_and_nothing_is_saved(
    admin_client, db, section, form, message
):
    response = admin_client.post(f"/admin/settings/{section}", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(Setting)) is None
    assert db.scalar(select(SettingChange)) is None


def test_a_section_sent_without_its_fields_is_a_400_naming_them(admin_client):
    response = admin_client.post("/admin/settings/calendar", {"timezone": "UTC"})
    assert response.status_code == 400
    assert "start" in response.get_data(as_text=True)


def test_the_calendar_keeps_overrides_in_date_order_once_each(admin_client, db):
    overrides = "2026-10-10 work National Day make-up\n2026-10-01 off 国庆节\n2026-10-01 off 国庆节"
    form = dict(CALENDAR, overrides=overrides, p1_around_the_clock="y")
    assert admin_client.post("/admin/settings/calendar", form).status_code == 302
    calendar = settings.get(db, "business_calendar")
    assert calendar["p1_around_the_clock"] is True
    assert calendar["overrides"] == [
        {"date": "2026-10-01", "working": False, "name": "国庆节"},
        {"date": "2026-10-10", "working": True, "name": "National Day make-up"},
    ]
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "2026-10-01 off 国庆节\n2026-10-10 work National Day make-up" in page


def test_mail_settings_normalise_domains_and_the_address(admin_client, db):
    form = {
        "mail_address": " ServiceDesk@Corp.Example.com ",
        "internal_domains": "Corp.Example.com, *.corp.example.com\njira.acme.cn.",
        "unknown_senders": "reject",
    }
    assert admin_client.post("/admin/settings/mail", form).status_code == 302
    assert settings.get(db, "mail_address") == "servicedesk@corp.example.com"
    assert settings.get(db, "internal_domains") == [
        "corp.example.com",
        "*.corp.example.com",
        "jira.acme.cn",
    ]
    assert settings.get(db, "unknown_senders") == "reject"


def test_publishing_rights_follow_the_setting_over_the_site_configuration(
    admin_client, db, make_user, make_article, login, make_client
):
    draft = make_article("VPN notes", state=ArticleState.IN_REVIEW)
    technician = login(make_user(role=Role.TECHNICIAN), on=make_client())
    assert (
        technician.post(
            f"/editor/articles/{draft.id}/publish", {"version": str(draft.version)}
        ).status_code
        == 403
    )
    form = {"technicians_can_publish": "y"}
    assert admin_client.post("/admin/settings/publishing", form).status_code == 302
    assert (
        technician.post(
            f"/editor/articles/{draft.id}/publish", {"version": str(draft.version)}
        ).status_code
        == 302
    )


class TestPublishingConfiguredForTheSite:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        """A site whose configuration lets technicians publish."""
        return {**app_config, "TECHNICIANS_CAN_PUBLISH": True}

    def test_the_site_configuration_is_the_default_until_an_admin_saves_the_setting(
        self, admin_client, make_user, make_article, login, make_client
    ):
        draft = make_article("Printer notes", state=ArticleState.IN_REVIEW)
        technician = login(make_user(role=Role.TECHNICIAN), on=make_client())
        page = admin_client.get("/admin/settings").get_data(as_text=True)
        assert 'checked id="technicians_can_publish"' in page
        assert (
            technician.post(
                f"/editor/articles/{draft.id}/publish", {"version": str(draft.version)}
            ).status_code
            == 302
        )
        assert admin_client.post("/admin/settings/publishing", {}).status_code == 302
        other = make_article("Scanner notes", state=ArticleState.IN_REVIEW)
        assert (
            technician.post(
                f"/editor/articles/{other.id}/publish", {"version": str(other.version)}
            ).status_code
            == 403
        )


def test_setting_changes_are_append_only_in_the_orm_and_the_database(db, make_user):
    admin = make_user(role=Role.ADMIN)
    settings.change(db, "auto_close_days", 5, admin.id)
    db.commit()
    change = db.scalars(select(SettingChange)).one()
    change.new_value = 7
    with pytest.raises(ChangesAreAppendOnly):
        db.flush()
    db.rollback()
    for statement in ("UPDATE setting_changes SET new_value = '9'", "DELETE FROM setting_changes"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.execute(text(statement))
        db.rollback()
    assert db.scalars(select(SettingChange)).one().new_value == 5


def test_the_checks_refuse_values_the_forms_cannot_send(db):
    with pytest.raises(InvalidSetting):
        settings.change(db, "auto_close_days", True, None)
    with pytest.raises(InvalidSetting):
        settings.change(db, "priority_matrix", {"me": {"low": "P5"}}, None)
    with pytest.raises(InvalidSetting):
        settings.change(
            db, "sla_targets", {p: {"response": 1.5, "resolution": 2} for p in DEFAULT_SLA}, None
        )
    with pytest.raises(settings.UnknownSetting):
        settings.change(db, "colour", "blue", None)
    assert parse_overrides("\n  \n2026-05-01 off Labour Day\n") == [
        {"date": "2026-05-01", "working": False, "name": "Labour Day"}
    ]
