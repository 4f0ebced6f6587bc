"""Ticket text loses its personal data and keeps its technical content."""
# ruff: noqa: E501 - the token table reads best with one case per line

from __future__ import annotations

import pytest

from articles.redaction import Kind, Span, is_mostly_chinese, redact


def redacted(text: str, names: tuple[str, ...] | list[str] = (), **options: object) -> str:
    return redact(text, names, **options).text  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail zhang.wei@corp.example.com today.", "Mail [email] today."),
        ("From: Li.Na+it@example.cn", "From: [email]"),
        ("请发邮件到zhangwei@example.com。", "请发邮件到[邮箱]。"),
    ],
)
def test_email_addresses_are_replaced(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 13812345678 now", "Call [phone] now"),
        ("Call +86 138 1234 5678 now", "Call [phone] now"),
        ("Call 138-1234-5678 now", "Call [phone] now"),
        ("Desk 010-12345678 ext. 1234", "Desk [phone]"),
        ("Office (021) 8765 4321 please", "Office [phone] please"),
        ("London +44 20 7946 0958", "London [phone]"),
        ("US +1 (555) 123-4567 or (555) 123-4567", "US [phone] or [phone]"),
        ("Her extension is ext. 4410", "Her extension is ext. [phone]"),
        ("用户手机13812345678，请回电", "用户手机[电话]，请回电"),
        ("座机 0755-86013388 转 8021", "座机 [电话]"),
        ("请拨分机 8021 联系", "请拨分机 [电话] 联系"),
        ("电话：66781234", "电话：[电话]"),
    ],
)
def test_phone_numbers_and_extensions_are_replaced(text: str, expected: str) -> None:
    assert redacted(text) == expected


def test_ip_addresses_are_replaced_but_ports_stay() -> None:
    assert redacted("RDP to 10.1.2.3:3389 from 172.16.0.25 on 10.0.0.0/24.") == (
        "RDP to [IP address]:3389 from [IP address] on [IP address]."
    )


@pytest.mark.parametrize(
    "address",
    ["fe80::1ff:fe23:4567:890a%12", "2001:db8::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
)
def test_ipv6_addresses_are_replaced(address: str) -> None:
    assert redacted(f"Client address {address} dropped.") == "Client address [IP address] dropped."


def test_well_known_addresses_are_kept() -> None:
    text = "Set DNS to 8.8.8.8 or 114.114.114.114, mask 255.255.255.0, ping 127.0.0.1 and ::1"
    assert redacted(text) == text


def test_mac_addresses_are_replaced() -> None:
    assert redacted("MACs 00:1A:2B:3C:4D:5E, 00-1a-2b-3c-4d-5e and 001a.2b3c.4d5e") == (
        "MACs [MAC address], [MAC address] and [MAC address]"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reimaged PC-ZHANGWEI-01 today", "Reimaged [hostname] today"),
        ("Joined LAPTOP-7F3K2Q to the domain", "Joined [hostname] to the domain"),
        ("DESKTOP-ABC1234 and ZHANGWEI-PC", "[hostname] and [hostname]"),
        ("Ping pc-zhang.corp.example.com", "Ping [hostname]"),
        ("Share \\\\fileserver01\\share\\finance", "Share \\\\[hostname]\\share\\finance"),
        ("Share \\\\10.1.2.3\\scans", "Share \\\\[IP address]\\scans"),
        ("Host fs01.ad.example.com and nas.local", "Host [hostname] and [hostname]"),
        ("Computer name: WS1234.", "Computer name: [hostname]."),
        ("计算机名：BJ0231，已重启", "计算机名：[主机名]，已重启"),
    ],
)
def test_host_names_are_replaced(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Password: Summer2024!", "Password: [password]"),
        ("pwd=abc123 and PIN: 4821.", "pwd=[password] and PIN: [password]."),
        ("the password for the VPN is P@ssw0rd.", "the password for the VPN is [password]."),
        ("Her password was reset to Welcome1", "Her password was reset to [password]"),
        ("临时密码：Abc@1234，请尽快修改", "临时密码：[密码]，请尽快修改"),
        ("初始密码为 Welcome1。", "初始密码为 [密码]。"),
        ("密码已重置为 Qwe!2345，验证码是 883102", "密码已重置为 [密码]，验证码是 [密码]"),
        ("口令：tiger-77", "口令：[密码]"),
    ],
)
def test_passwords_and_codes_after_keywords_are_replaced(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The password is expired.",
        "The password is incorrect; reset it in the portal.",
        "密码是错误的，请重新输入。",
        "密码策略：至少八位。",
        "Pin the app to the taskbar.",
    ],
)
def test_words_about_passwords_are_not_mistaken_for_passwords(text: str) -> None:
    assert redacted(text) == text


def test_given_names_are_replaced_in_any_case_and_common_forms() -> None:
    text = "Zhang Wei (wei.zhang, ZHANGWEI) called; Li Na took it. zhang wei again."
    assert redacted(text, ["Zhang Wei", "Li Na"]) == (
        "[name] ([name], [name]) called; [name] took it. [name] again."
    )


def test_chinese_names_and_their_polite_forms_are_replaced() -> None:
    assert redacted("张伟说张先生的电脑坏了，李娜已处理。", ["张伟", "李娜"]) == (
        "[姓名]说[姓名]的电脑坏了，[姓名]已处理。"
    )


def test_names_inside_other_words_are_left_alone() -> None:
    assert redacted("Annabelle and Joann met Ann.", ["Ann"]) == "Annabelle and Joann met [name]."


def test_a_name_inside_an_email_address_becomes_one_placeholder() -> None:
    assert redacted("Write to wei.zhang@example.com", ["Wei Zhang"]) == "Write to [email]"


def test_mixed_chinese_text_gets_chinese_placeholders() -> None:
    text = "张伟的 Outlook 无法连接，IP 10.1.2.3，邮箱 zhangwei@example.com，电话 13812345678。"
    assert redacted(text, ["张伟"]) == (
        "[姓名]的 Outlook 无法连接，IP [IP 地址]，邮箱 [邮箱]，电话 [电话]。"
    )


def test_mixed_english_text_gets_english_placeholders() -> None:
    text = "User 张伟 reports that Outlook cannot reach the server at 10.1.2.3."
    assert (
        redacted(text, ["张伟"])
        == "User [name] reports that Outlook cannot reach the server at [IP address]."
    )


def test_the_placeholder_language_can_be_chosen() -> None:
    assert redacted("Call 13812345678", chinese=True) == "Call [电话]"
    assert redacted("请致电 13812345678", chinese=False) == "请致电 [phone]"


@pytest.mark.parametrize(
    "text",
    [
        "Upgrade to Windows 11 23H2 and AnyConnect v2.7.5 (version 1.2.3.4, build 1.2.3).",
        "Error 0x8007000d, 0x80070005 and 错误 809; KB5034441; INC0012345.",
        "Open port 443 and 3389/tcp; set MTU 1400.",
        "Happened on 2026-11-01 at 14:30:05 and 2026/11/02 9:15.",
        "Wi-Fi, Outlook, AnyConnect, Office 365, TLS 1.2, SHA-256, UTF-8, Win-10, TP-LINK.",
        "x86 and x64 builds; USB-C; NB-IoT; WS-Management; Windows 10 22H2.",
        "See https://support.microsoft.com/en-us/help/4023057 and https://learn.microsoft.com/a-b.",
        "Docs at [the guide](https://docs.example.com/vpn/setup-13812345678.html).",
        "Call Microsoft on 400-820-3800 or 800-642-7676.",
        "C++ std::vector; time 10:30:00; Chrome 120.0.6099.130.",
        "Run setup.exe; mail goes through outlook.office365.com:587.",
        "Test with http://localhost:8080/health first.",
        "Wi-Fi 6E and 802.1X with WPA2-Enterprise; host-based firewall.",
    ],
)
def test_technical_content_is_not_mangled(text: str) -> None:
    assert redacted(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Open http://intranet/helpdesk now", "Open http://[hostname]/helpdesk now"),
        ("Go to https://pc-zhang.corp.example.com:8443/x.", "Go to https://[hostname]:8443/x."),
        ("Admin at http://10.0.0.5/admin", "Admin at http://[IP address]/admin"),
        ("Login http://[2001:db8::5]/ok", "Login http://[IP address]/ok"),
        (
            "Files at https://wei:Secret1@files.example.com/a",
            "Files at https://[name]@files.example.com/a",
        ),
    ],
)
def test_urls_with_internal_hosts_lose_only_the_host(text: str, expected: str) -> None:
    assert redacted(text) == expected


def test_personal_data_inside_a_public_url_is_still_replaced() -> None:
    url = "https://forms.example.com/?to=zhang@example.com&n=zhang.wei"
    assert redacted(url, ["Zhang Wei"]) == "https://forms.example.com/?to=[email]&n=[name]"


def test_chinese_resident_id_numbers_are_replaced() -> None:
    assert redacted("身份证号 110101199003077777 已核实") == "身份证号 [身份证号] 已核实"


def test_markdown_structure_survives_redaction() -> None:
    text = "1. Ping `10.1.2.3`\n2. Run:\n\n    ipconfig /all\n\n**Caller:** Zhang Wei"
    assert redacted(text, ["Zhang Wei"]) == (
        "1. Ping `[IP address]`\n2. Run:\n\n    ipconfig /all\n\n**Caller:** [name]"
    )


def test_text_without_personal_data_is_returned_unchanged() -> None:
    text = "重启路由器后 Wi-Fi 恢复正常。Restart the router."
    assert redacted(text, ["张伟"]) == text


def test_a_long_ticket_thread_is_redacted() -> None:
    line = "From zhang.wei@example.com, tel 13812345678, host PC-ZHANGWEI-01: VPN 错误 809 again.\n"
    thread = redacted(line * 2000)
    assert thread.count("[email]") == 2000
    assert "13812345678" not in thread


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("VPN 连接失败", True),
        ("打开 Outlook，点击文件 > 账户设置", True),
        ("Outlook 无法启动", True),
        ("The VPN client shows 错误 809 when connecting", False),
        ("请访问 https://support.microsoft.com/en-us/windows/help 查看", True),
        ("", False),
        ("12345", False),
    ],
)
def test_mostly_chinese_text_is_recognised(text: str, chinese: bool) -> None:
    assert is_mostly_chinese(text) is chinese


def test_redact_returns_the_spans_it_replaced_with_their_kind_and_original() -> None:
    text = "Mail li.na@example.com or call 13812345678."
    result = redact(text)
    assert result.text == "Mail [email] or call [phone]."
    assert result.spans == (
        Span(5, 22, Kind.EMAIL, "li.na@example.com", "[email]"),
        Span(31, 42, Kind.PHONE, "13812345678", "[phone]"),
    )
    assert all(text[s.start : s.end] == s.original for s in result.spans)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer [secret]"),
        (f"cookie id_token {JWT} expired", "cookie id_token [secret] expired"),
        ("curl -H 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0'", "curl -H 'Authorization: Bearer [secret]'"),
        ("https://api.example.com/v1/files?access_key=Q2x9Lm3Np8&lang=en", "https://api.example.com/v1/files?access_key=[secret]&lang=en"),
        ("https://cdn.example.com/a.pdf?sig=Ab12Cd34Ef56&exp=1700", "https://cdn.example.com/a.pdf?sig=[secret]&exp=1700"),
        ("https://x.example.com/login?user=a&password=Hunter22", "https://x.example.com/login?user=a&password=[secret]"),
        ("Key AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A", "Key [secret] and [secret]"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [secret]"),
        ("PAT ghp_16C7e42F292c6912E7710c838347Ae178B4a works", "PAT [secret] works"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123", "[secret]"),
        ("bot xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "bot [secret]"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAA\n-----END OPENSSH PRIVATE KEY-----\nDone.", "[secret]\nDone."),
        ("The API key is 3f2a9c8b7d6e5f4a3b2c1d0e9f8a7b6c.", "The API key is [secret]."),
        ("接口密钥：3f2a9c8b7d6e5f4a3b2c1d0e9f8a7b6c，令牌 Zx81kPq02LmN93vB", "接口密钥：[密钥]，令牌 [密钥]"),
    ],
)  # fmt: skip
def test_tokens_and_keys_are_replaced(text: str, expected: str) -> None:
    assert redacted(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Rotate the API key in the portal; the token expires after 8 hours.",
        "密钥已轮换，令牌有效期 8 小时。",
        "Commit 3f2a9c8 fixed it; see KB5034441.",
        "The secret sauce is patience.",
    ],
)
def test_words_about_keys_are_not_mistaken_for_keys(text: str) -> None:
    assert redacted(text) == text


def test_the_organisations_internal_domains_are_host_names() -> None:
    text = "Open https://jira.acme.cn/browse/IT-7 or build01.corp.example.com; see www.acme.com."
    assert redacted(text, internal_domains=["jira.acme.cn", "*.corp.example.com"]) == (
        "Open https://[hostname]/browse/IT-7 or [hostname]; see www.acme.com."
    )
    assert redacted("wiki.acme.cn is down", internal_domains=["acme.cn"]) == "[hostname] is down"


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5500 0000 0000 0004",
        "3782 822463 10005",
        "6222021234567890128",
        "6212 2602 0000 0000 006",
    ],
)
def test_bank_card_numbers_passing_the_luhn_check_are_replaced(card: str) -> None:
    from stdnum import luhn

    assert luhn.is_valid("".join(c for c in card if c.isdigit()))
    assert redacted(f"Card {card} was charged.") == "Card [card number] was charged."


@pytest.mark.parametrize(
    "text",
    [
        "Chrome 120.0.6099.130 and Edge 120.0.2210.91 crash.",
        "Roll back to v1.2.3.4; version 10.0.19045.3693 is affected.",
        "企业微信 4.1.22.6019 和 Firefox 115.2.1.4 都有问题。",
        "SKU 13812345678A is out of stock; part 4111111111111111X too.",
        "Order 20261101123456, ticket #48213, asset 100234, 1234 5678 9012 3456.",
        "Resolution 1920x1080, 3 monitors, 16 GB, 512 GB SSD, 2026-11-02.",
    ],
)
def test_versions_codes_and_ordinary_numbers_stay(text: str) -> None:
    assert redacted(text) == text


def test_everyone_on_the_ticket_is_replaced_alone_and_in_possessives() -> None:
    text = "Bob's PC froze; Hughes said Tom Hughes (tom.hughes) fixed it. Ask admin."
    names = ["Bob Stone", "Tom Hughes", "tom.hughes@corp.example.com", "admin"]
    assert redacted(text, names) == (
        "[name]'s PC froze; [name] said [name] ([name]) fixed it. Ask admin."
    )


def test_people_named_in_possessives_are_replaced_without_being_on_the_ticket() -> None:
    assert redacted("Alice's laptop and Microsoft's account page.") == (
        "[name]'s laptop and Microsoft's account page."
    )
    assert redacted("李娜的笔记本和王小明的电脑都蓝屏了，周末的电脑不受影响。") == (
        "[姓名]的笔记本和[姓名]的电脑都蓝屏了，周末的电脑不受影响。"
    )
    assert redacted("小张说老王的工位没网。", ["张伟", "王芳"]) == "[姓名]说[姓名]的工位没网。"


def test_text_hidden_by_hand_is_replaced_wherever_it_appears() -> None:
    result = redact("Room B-12, then room  B-12 again", manual=["room B-12", "Room B-12"])
    assert result.text == "[redacted], then [redacted] again"
    assert [s.kind for s in result.spans] == [Kind.MANUAL, Kind.MANUAL]
