"""Resolved-ticket notes become redacted article drafts; titles become slugs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from articles.drafting import (
    MAX_SLUG_CHARS,
    MAX_TITLE_CHARS,
    ArticleDraft,
    TicketNotes,
    draft_from_notes,
    slugify,
)
from articles.errors import DraftIncomplete
from articles.rendering import render_markdown

ENGLISH_NOTES = TicketNotes(
    subject="Outlook keeps asking for the password",
    symptom="Outlook prompts for credentials every few minutes.",
    cause="A stale credential in Windows Credential Manager.",
    resolution="1. Open **Credential Manager**.\n2. Remove entries for `outlook.office365.com`.",
    category="email",
)
CHINESE_NOTES = TicketNotes(
    subject="VPN 连接失败，提示错误 809",
    symptom="在家里连接 VPN 时提示错误 809。",
    cause="家用路由器丢弃了 UDP 4500 端口的流量。",
    resolution="添加注册表项后重启电脑：\n\n```\nreg add HKLM\\SYSTEM\\x /v Rule /d 2\n```",
    category="network",
)


def english_notes(**changes: Any) -> TicketNotes:
    return replace(ENGLISH_NOTES, **changes)


def chinese_notes(**changes: Any) -> TicketNotes:
    return replace(CHINESE_NOTES, **changes)


def test_english_notes_make_an_english_draft() -> None:
    draft = draft_from_notes(english_notes())
    assert draft == ArticleDraft(
        title="Outlook keeps asking for the password",
        body=(
            "## Symptom\n\nOutlook prompts for credentials every few minutes.\n\n"
            "## Cause\n\nA stale credential in Windows Credential Manager.\n\n"
            "## Resolution\n\n1. Open **Credential Manager**.\n"
            "2. Remove entries for `outlook.office365.com`.\n"
        ),
        category="email",
    )


def test_chinese_notes_make_a_chinese_draft() -> None:
    draft = draft_from_notes(chinese_notes())
    assert draft.title == "VPN 连接失败，提示错误 809"
    assert draft.body == (
        "## 问题现象\n\n在家里连接 VPN 时提示错误 809。\n\n"
        "## 原因\n\n家用路由器丢弃了 UDP 4500 端口的流量。\n\n"
        "## 解决方法\n\n添加注册表项后重启电脑：\n\n"
        "```\nreg add HKLM\\SYSTEM\\x /v Rule /d 2\n```\n"
    )
    assert draft.category == "network"


def test_a_diagnosis_gets_its_own_section_before_the_cause() -> None:
    english = draft_from_notes(english_notes(diagnosis="- Checked the account\n- Cleared cache"))
    assert "## Symptom" in english.body
    assert english.body.index("## Diagnosis\n\n- Checked the account\n- Cleared cache") < (
        english.body.index("## Cause")
    )
    chinese = draft_from_notes(chinese_notes(diagnosis="用手机热点可以连接。"))
    assert chinese.body.index("## 排查过程\n\n用手机热点可以连接。") < chinese.body.index("## 原因")


def test_without_a_diagnosis_there_is_no_diagnosis_section() -> None:
    assert "Diagnosis" not in draft_from_notes(english_notes()).body
    assert "排查过程" not in draft_from_notes(chinese_notes()).body


def test_a_missing_cause_asks_the_editor_to_fill_it_in() -> None:
    english = draft_from_notes(english_notes(cause="   "))
    assert "## Cause\n\n_Cause not recorded — add it before publishing._\n\n" in english.body
    chinese = draft_from_notes(chinese_notes(cause=""))
    assert "## 原因\n\n_原因未记录，发布前请补充。_\n\n" in chinese.body


def test_a_missing_symptom_is_flagged_and_the_subject_still_titles_the_draft() -> None:
    draft = draft_from_notes(english_notes(symptom=""))
    assert draft.title == "Outlook keeps asking for the password"
    assert draft.body.startswith("## Symptom\n\n_Symptom not recorded")


def test_without_a_subject_the_symptom_titles_the_draft() -> None:
    draft = draft_from_notes(english_notes(subject="", symptom="- Teams shows a blank window\n- x"))
    assert draft.title == "Teams shows a blank window"


@pytest.mark.parametrize(
    "notes",
    [
        english_notes(resolution=""),
        english_notes(resolution=" \n\t"),
        chinese_notes(resolution=""),
        english_notes(subject="", symptom=""),
    ],
)
def test_notes_without_a_resolution_or_any_description_are_incomplete(notes: TicketNotes) -> None:
    with pytest.raises(DraftIncomplete):
        draft_from_notes(notes)


def test_every_field_is_redacted_with_the_tickets_names() -> None:
    draft = draft_from_notes(
        english_notes(
            subject="Zhang Wei cannot print from PC-ZHANGWEI-01",
            symptom="Zhang Wei (zhang.wei@example.com, 13812345678) gets error 0x00000709.",
            diagnosis="Li Na checked 10.1.2.3.",
            cause="Wrong default printer.",
            resolution="Li Na reset the password to Welcome1 and set the default printer.",
            names=("Zhang Wei", "Li Na"),
        )
    )
    assert draft.title == "[name] cannot print from [hostname]"
    assert "[name] ([email], [phone]) gets error 0x00000709." in draft.body
    assert "[name] checked [IP address]." in draft.body
    assert "[name] reset the password to [password] and set" in draft.body
    for secret in ("Zhang", "Li Na", "example.com", "13812345678", "10.1.2.3", "Welcome1"):
        assert secret not in draft.title + draft.body


def test_chinese_tickets_get_chinese_placeholders_in_every_field() -> None:
    draft = draft_from_notes(
        chinese_notes(
            subject="张伟的电脑无法连接 Wi-Fi",
            symptom="用户张伟反映 Wi-Fi 经常断开，手机 13812345678。",
            resolution="更新网卡驱动，Wi-Fi password is fine.",
            names=("张伟",),
        )
    )
    assert draft.title == "[姓名]的电脑无法连接 Wi-Fi"
    assert "用户[姓名]反映 Wi-Fi 经常断开，手机 [电话]。" in draft.body
    assert "## 解决方法" in draft.body


def test_the_title_is_one_trimmed_line_without_reply_prefixes() -> None:
    draft = draft_from_notes(english_notes(subject="  RE: Fwd:  Printer\n  jams  "))
    assert draft.title == "Printer jams"
    assert draft_from_notes(chinese_notes(subject="回复：打印机卡纸")).title == "打印机卡纸"


def test_a_long_subject_is_cut_to_the_title_limit() -> None:
    title = draft_from_notes(english_notes(subject="word " * 100)).title
    assert len(title) == MAX_TITLE_CHARS
    assert title.endswith("…")


def test_the_technicians_markdown_renders_in_the_draft() -> None:
    html = render_markdown(draft_from_notes(english_notes()).body)
    assert '<h2 id="resolution">Resolution</h2>' in html
    assert "<ol>" in html
    assert "<code>outlook.office365.com</code>" in html


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        (
            "How to fix Outlook crashes on Windows 11 23H2",
            "how-to-fix-outlook-crashes-on-windows-11-23h2",
        ),
        ("VPN 连接失败（错误 809）", "vpn-连接失败-错误-809"),
        ("VPN连接失败", "vpn-连接失败"),
        ("Café résumé ＶＰＮ", "cafe-resume-vpn"),
        ("  --Wi-Fi / 802.1X!!  ", "wi-fi-802-1x"),
        ("!!!", "article"),
        ("", "article"),
        ("日本語のテスト", "日本語"),  # kana are not kept
    ],
)
def test_slugs_keep_chinese_and_lowercase_ascii_words(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_long_slugs_end_on_a_whole_word() -> None:
    title = "Reset the password of a locked Active Directory account " * 3
    slug = slugify(title)
    assert len(slug) <= MAX_SLUG_CHARS
    assert slug.startswith("reset-the-password-of-a-locked-active-directory-account-reset")
    assert "-".join(title.lower().split()).startswith(slug + "-")


def test_long_chinese_slugs_are_cut_at_the_limit() -> None:
    assert slugify("无法连接" * 40) == ("无法连接" * 20)
