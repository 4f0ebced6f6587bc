"""Personal data out of ticket text before it becomes a public article.

Each kind of personal data is found by its own pattern; every match becomes a span of
the text with its replacement (a bracketed placeholder, or the original text for spans
that must stay as they are, like version numbers and public URLs). Spans are taken in
priority order and a later span never cuts into an earlier one, so a name inside an
e-mail address or a phone number inside a public URL is never half-replaced.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class _Placeholders:
    email: str
    phone: str
    ip: str
    mac: str
    hostname: str
    credential: str
    id_number: str
    name: str


_ENGLISH = _Placeholders(
    email="[email]",
    phone="[phone]",
    ip="[IP address]",
    mac="[MAC address]",
    hostname="[hostname]",
    credential="[password]",
    id_number="[ID number]",
    name="[name]",
)
_CHINESE = _Placeholders(
    email="[邮箱]",
    phone="[电话]",
    ip="[IP 地址]",
    mac="[MAC 地址]",
    hostname="[主机名]",
    credential="[密码]",
    id_number="[身份证号]",
    name="[姓名]",
)


def _pattern(source: str) -> re.Pattern[str]:
    """Compile with ASCII \\w, \\d and \\b, so a number right after Chinese text is found."""
    return re.compile(source, re.ASCII)


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")


def is_mostly_chinese(text: str) -> bool:
    """Return whether Chinese characters outnumber Latin words (URLs and e-mails aside)."""
    text = unicodedata.normalize("NFKC", text)
    text = _EMAIL.sub(" ", _URL.sub(" ", text))
    return len(_HAN.findall(text)) > len(_LATIN_WORD.findall(text))


def redact(text: str, names: Iterable[str] = (), *, chinese: bool | None = None) -> str:
    """Return ``text`` with personal data replaced by bracketed placeholders.

    Replaced: e-mail addresses; phone numbers (Chinese mobiles and landlines,
    international "+" numbers, US-style numbers, extensions such as "ext. 1234" or
    "分机 8021"); Chinese resident ID numbers; IPv4 and IPv6 addresses; MAC addresses;
    host names (internal-looking FQDNs, Windows machine names such as PC-ZHANGWEI-01
    or LAPTOP-7F3K2Q, UNC server names, values after "hostname:"/"计算机名："); secrets
    after password/passwd/pwd/passcode/pin/secret/密码/口令/验证码 and ":", "：", "=", "是",
    "为" (or "is"/"to" when the value has a digit, symbol or inner capital); and the
    given ``names``, case-insensitively, including a Latin name's parts reversed or
    joined by ".", "_", "-" or nothing (zhang.wei) and "张先生"-style mentions of a
    Chinese name's surname.

    URL rule: a URL keeps its host unless the host looks internal: an IP address, a
    single label other than localhost (http://intranet/), a name ending in .local,
    .lan, .internal, .intranet, .corp, .home, .localdomain or .home.arpa, a name with
    a label such as corp, intra, internal, ad or lan (pc-zhang.corp.example.com), or
    a machine-like first label (pc-zhang.example.com). Only e-mail addresses, the
    given names and a user:password@ part are replaced in the rest of a URL, so
    public documentation links stay intact. The same host rule decides for bare
    domain names in the text. Version numbers (v2.7.5,
    "version 1.2.3.4"), hex error codes, dates and times, loopback and well-known
    public addresses (8.8.8.8, 114.114.114.114, 255.255.255.0, 192.168.1.1) and
    400/800 service numbers are left alone.

    Placeholders are Chinese ([邮箱], [电话], [IP 地址], [主机名], [密码], [姓名]…) when
    ``chinese`` is true, or when it is None and the text is mostly Chinese; otherwise
    English ([email], [phone], [IP address], [hostname], [password], [name]…).
    """
    if chinese is None:
        chinese = is_mostly_chinese(text)
    labels = _CHINESE if chinese else _ENGLISH
    name_pattern = _name_pattern(names)
    occupied = bytearray(len(text))
    spans: list[tuple[int, int, str]] = []
    for detector in _DETECTORS:
        for start, end, replacement in detector(text, labels, name_pattern):
            if start < end and not any(occupied[start:end]):
                occupied[start:end] = b"\x01" * (end - start)
                spans.append((start, end, replacement))
    if name_pattern is not None:
        for match in name_pattern.finditer(text):
            start, end = match.span()
            if not any(occupied[start:end]):
                occupied[start:end] = b"\x01" * (end - start)
                spans.append((start, end, labels.name))
    parts: list[str] = []
    position = 0
    for start, end, replacement in sorted(spans):
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)


_Span = tuple[int, int, str]
_Detector = Callable[[str, _Placeholders, re.Pattern[str] | None], Iterator[_Span]]

_PUNCTUATION = re.escape(string.punctuation)
# A secret value: printable ASCII with a digit, a symbol or a capital after the first
# letter, so "the password is expired" and "密码是错误的" stay as they are.
_CREDENTIAL_VALUE = rf"(?P<value>(?=[!-~]*[0-9{_PUNCTUATION}]|[!-~]+[A-Z])[!-~]{{3,}})"
_CREDENTIAL_WORDS = (
    r"(?:(?i:(?<![A-Za-z])(?:pass(?:word|wd|code|phrase)s?|pwd|pin|secret)(?![A-Za-z]))"
    r"|密码|口令|验证码|动态码|校验码)"
)
# "密码：x", "初始密码为 x", "密码已重置为 x", "PIN 码是 x", "password = x".
_CREDENTIAL_STATED = _pattern(
    _CREDENTIAL_WORDS
    + r"(?:[ \t]?[\u4e00-\u9fff]{1,4}?)?[ \t]*(?:[:：=]|是|为)[ \t]*"
    + _CREDENTIAL_VALUE
)
# "the password for the VPN is x", "password was reset to x".
_CREDENTIAL_SAID = _pattern(
    _CREDENTIAL_WORDS
    + r"(?:[ \t]+[A-Za-z'’-]{1,15}){0,3}?[ \t]+(?i:is|to|was)[ \t]+"
    + _CREDENTIAL_VALUE
)
_CREDENTIAL_TRAILING = ".,;:)]"


def _looks_like_credential(value: str) -> bool:
    """Return whether a word has a digit, a symbol or an inner capital, as passwords do."""
    return any(char.isdigit() or char in string.punctuation for char in value) or any(
        char.isupper() for char in value[1:]
    )


def _credentials(
    text: str, labels: _Placeholders, names: re.Pattern[str] | None
) -> Iterator[_Span]:
    for pattern in (_CREDENTIAL_STATED, _CREDENTIAL_SAID):
        for match in pattern.finditer(text):
            value = match.group("value").rstrip(_CREDENTIAL_TRAILING)
            if len(value) >= 3 and _looks_like_credential(value):
                start = match.start("value")
                yield start, start + len(value), labels.credential


_HOSTNAME_STATED = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:host|computer|machine|device|pc)[ \t]?name(?![A-Za-z]))"
    r"|主机名|计算机名|电脑名|设备名)[ \t]*(?:[:：=]|是|为|(?i:is))[ \t]*"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9._-]{0,62}[A-Za-z0-9])"
)


def _stated_hostnames(
    text: str, labels: _Placeholders, names: re.Pattern[str] | None
) -> Iterator[_Span]:
    for match in _HOSTNAME_STATED.finditer(text):
        yield match.start("value"), match.end("value"), labels.hostname


_EMAIL = _pattern(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}(?![\w-])"
)


def _emails(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), labels.email


_URL = _pattern(r"(?i)\b(?:https?|ftps?|smb|file)://[^\s<>\"'`，。；！？、）】」]+")
_URL_HOST = _pattern(
    r"(?P<prefix>[A-Za-z]+://(?:[^/?#@\s]*@)?)"
    r"(?P<host>\[[0-9A-Fa-f:.%]+\]|[^/?#:\s]*)"
)
_INTERNAL_SUFFIXES = (
    ".local", ".lan", ".internal", ".intranet", ".corp", ".home", ".localdomain",
    ".home.arpa",
)  # fmt: skip
_INTERNAL_LABELS = frozenset(
    {"corp", "intra", "intranet", "internal", "int", "ad", "lan", "local", "localdomain"}
)


def _urls(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        parsed = _URL_HOST.match(url)
        if parsed is None:  # pragma: no cover - every _URL match has a scheme
            continue
        prefix, host = parsed.group("prefix"), parsed.group("host")
        if prefix.endswith("@"):  # user:password@ belongs to a person
            prefix = prefix[: prefix.index("//") + 2] + labels.name + "@"
        rest = url[parsed.end() :]
        rest = _EMAIL.sub(labels.email, rest)
        if names is not None:
            rest = names.sub(labels.name, rest)
        if _looks_like_ip(host.strip("[]").split("%")[0]):
            host = labels.ip
        elif host and _is_internal_host(host):
            host = labels.hostname
        yield match.start(), match.start() + len(url), prefix + host + rest


def _trim_url(url: str) -> str:
    # Sentence punctuation and a closing bracket that was never opened are not the URL's.
    while url and url[-1] in ".,;:!?)]*_~":
        closer = url[-1]
        opener = {")": "(", "]": "["}.get(closer)
        if opener and url.count(opener) >= url.count(closer):
            break
        url = url[:-1]
    return url


def _looks_like_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_internal_host(host: str) -> bool:
    """Return whether a host name looks like a company-internal machine, not a public site."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if host == "localhost":
        return False
    if len(labels) == 1 or host.endswith(_INTERNAL_SUFFIXES):
        return True
    if any(label in _INTERNAL_LABELS for label in labels[:-1]):
        return True
    return _is_machine_name(labels[0], lowercase_ok=True)


_UNC = _pattern(r"(?<![\\\w])\\\\(?P<server>[A-Za-z0-9][A-Za-z0-9._$-]*)(?=[\\\s]|$)")


def _unc_paths(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _UNC.finditer(text):
        server = match.group("server")
        placeholder = labels.ip if _looks_like_ip(server) else labels.hostname
        yield match.start("server"), match.end("server"), placeholder


_VERSION = _pattern(
    r"(?i)(?<![\w.])(?:v|version[ \t]*:?[ \t]*|ver\.?[ \t]*|版本号?[ \t]*[:：]?[ \t]*)"
    r"\d+(?:\.\d+)+[a-z0-9-]*"
)
_HEX_CODE = _pattern(r"(?<![\w])0x[0-9A-Fa-f]+(?![\w])")
_DATE_TIME = _pattern(
    r"(?<![\d.])(?:\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?)(?![\d.])"
)
_SERVICE_NUMBER = _pattern(r"(?<![\d+])[48]00[- ]?\d{3}[- ]?\d{4}(?!\d)")


def _versions_and_codes(
    text: str, labels: _Placeholders, names: re.Pattern[str] | None
) -> Iterator[_Span]:
    for pattern in (_VERSION, _HEX_CODE):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), match.group()


def _dates_and_service_numbers(
    text: str, labels: _Placeholders, names: re.Pattern[str] | None
) -> Iterator[_Span]:
    for pattern in (_DATE_TIME, _SERVICE_NUMBER):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), match.group()


_MAC = _pattern(
    r"(?<![\w:.-])(?:(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:.-])"
)


def _macs(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _MAC.finditer(text):
        yield match.start(), match.end(), labels.mac


_IPV4 = _pattern(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?:/(?:3[0-2]|[12]?\d))?(?![\w]|\.\d)"
)
_IPV6 = _pattern(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?"
    r"(?:%[\w.]+)?(?:/\d{1,3})?(?![\w:])"
)
# Addresses that say nothing about a person or a company network.
_PUBLIC_ADDRESSES = frozenset(
    {
        "255.255.255.255", "8.8.8.8", "8.8.4.4", "1.1.1.1",
        "1.0.0.1", "9.9.9.9", "208.67.222.222", "208.67.220.220", "114.114.114.114",
        "114.114.115.115", "223.5.5.5", "223.6.6.6", "119.29.29.29", "180.76.76.76",
        "192.168.0.1", "192.168.1.1", "::", "::1",
    }
)  # fmt: skip


def _ip_addresses(
    text: str, labels: _Placeholders, names: re.Pattern[str] | None
) -> Iterator[_Span]:
    for match in _IPV6.finditer(text):
        address = match.group().split("/")[0].split("%")[0]
        if not _looks_like_ip(address):
            continue
        replacement = match.group() if address.lower() in _PUBLIC_ADDRESSES else labels.ip
        yield match.start(), match.end(), replacement
    for match in _IPV4.finditer(text):
        address = match.group().split("/")[0]
        if address in _PUBLIC_ADDRESSES or address.startswith(("0.", "127.", "255.")):
            yield match.start(), match.end(), match.group()
        else:
            yield match.start(), match.end(), labels.ip


_EXTENSION = r"(?:[ \t]*(?:(?i:ext\.?|extension|x)|转|分机号?)[ \t]*[:：#]?[ \t]*\d{1,6})?"
_PHONES = (
    # Chinese mobiles: 13812345678, 138-1234-5678, +86 138 1234 5678, 0086 13812345678
    _pattern(r"(?<![\w+])(?:(?:\+|00)86[ \t-]?)?1[3-9]\d[ \t-]?\d{4}[ \t-]?\d{4}(?!\d)"),
    # Chinese landlines: 010-12345678, (021) 8765 4321, 0755 86013388
    _pattern(
        r"(?<![\w+-])(?:(?:\+|00)86[ \t-]?)?(?:\(0\d{2,3}\)|0\d{2,3})[ \t-]?"
        r"\d{3,4}[ \t-]?\d{4}(?!\d)" + _EXTENSION
    ),
    # International: +44 20 7946 0958, +1 (555) 123-4567, +49-30-123456
    _pattern(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ \t.-]?\(?\d{1,4}\)?){2,5}(?!\d)" + _EXTENSION),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567
    _pattern(r"(?<![\w(+-])(?:\(\d{3}\)[ \t]?|\d{3}[-.])\d{3}[-.]\d{4}(?!\d)" + _EXTENSION),
)
_STATED_PHONE = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:phone|tel|telephone|mobile|cell)(?:[ \t]?(?:no\.?|number))?)"
    r"|电话|手机号?|座机|联系方式)[ \t]*(?:[:：]|是|为|(?i:is))?[ \t]*"
    r"(?P<value>\+?\d[\d \t()-]{4,}\d)"
)
_STANDALONE_EXTENSION = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:ext\.?|extension)(?![A-Za-z]))|分机号?|内线)"
    r"[ \t]*[:：#]?[ \t]*(?P<value>\d{2,8})(?!\d)"
)


def _phones(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for pattern in _PHONES:
        for match in pattern.finditer(text):
            if 7 <= sum(char.isdigit() for char in match.group()) <= 20:
                yield match.start(), match.end(), labels.phone
    for pattern in (_STATED_PHONE, _STANDALONE_EXTENSION):
        for match in pattern.finditer(text):
            yield match.start("value"), match.end("value"), labels.phone


_ID_NUMBER = _pattern(
    r"(?<![\w])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![\w])"
)


def _id_numbers(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _ID_NUMBER.finditer(text):
        yield match.start(), match.end(), labels.id_number


_MACHINE_PARTS = frozenset(
    {
        "pc", "laptop", "desktop", "notebook", "nb", "ws", "wks", "win", "srv", "svr",
        "vm", "host", "mbp", "macbook", "imac", "thinkpad",
    }
)  # fmt: skip
_HYPHENATED = _pattern(r"(?<![\w.\\/-])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+(?![\w-])")
_DOMAIN = _pattern(
    r"(?<![\w.@/\\-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9](?![\w-]|\.[A-Za-z0-9])"
)


def _is_machine_name(token: str, *, lowercase_ok: bool = False) -> bool:
    """Return whether a hyphenated token reads like a machine name (PC-ZHANGWEI-01)."""
    parts = token.split("-")
    if len(parts) < 2 or not any(part.lower() in _MACHINE_PARTS for part in parts):
        return False
    rest = "".join(part for part in parts if part.lower() not in _MACHINE_PARTS)
    if len(rest) < 3:
        return False
    # "host-based" and "Win-Tools" are words; machine names are upper case or numbered.
    return lowercase_ok or token.isupper() or any(char.isdigit() for char in token)


def _hostnames(text: str, labels: _Placeholders, names: re.Pattern[str] | None) -> Iterator[_Span]:
    for match in _DOMAIN.finditer(text):
        if _is_internal_host(match.group()):
            yield match.start(), match.end(), labels.hostname
    for match in _HYPHENATED.finditer(text):
        if _is_machine_name(match.group()):
            yield match.start(), match.end(), labels.hostname


# Highest priority first: a span is dropped if it overlaps one already taken.
_DETECTORS: tuple[_Detector, ...] = (
    _credentials,
    _stated_hostnames,
    _urls,
    _emails,
    _unc_paths,
    _macs,
    _versions_and_codes,
    _ip_addresses,
    _dates_and_service_numbers,
    _id_numbers,
    _phones,
    _hostnames,
)

_HONORIFICS = "先生|女士|小姐|老师|经理|同学|师傅"


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Return one pattern matching every given name in the forms people write it."""
    alternatives: set[str] = set()
    for raw in names:
        name = unicodedata.normalize("NFKC", raw).strip()
        if len(name) < 2:
            continue
        if _HAN.search(name):
            compact = re.sub(r"\s+", "", name)
            alternatives.add(re.escape(compact))
            if 2 <= len(compact) <= 4:
                alternatives.add(re.escape(compact[0]) + f"(?:{_HONORIFICS})")
            continue
        parts = [part for part in re.split(r"[\s._-]+", name) if part]
        orders = [parts, parts[::-1]] if len(parts) == 2 else [parts]
        for order in orders:
            joined = r"[\s._-]?".join(re.escape(part) for part in order)
            alternatives.add(rf"(?<![A-Za-z0-9]){joined}(?![A-Za-z0-9])")
    if not alternatives:
        return None
    return re.compile("|".join(sorted(alternatives, key=len, reverse=True)), re.IGNORECASE)
