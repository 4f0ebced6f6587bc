"""Personal data and secrets out of ticket text before it becomes a public article.

Each kind of personal data is found by its own detector; every match becomes a span of
the text with its replacement (a bracketed placeholder), or a kept span for text that
must stay as it is (version numbers, dates, public URLs). Spans are taken in priority
order and a later span never cuts into an earlier one, so a name inside an e-mail
address or a phone number inside a public URL is never half-replaced. ``redact`` returns
the redacted text with the spans it replaced, so an editor can show each one and undo it.
"""

from __future__ import annotations

import enum
import ipaddress
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import phonenumbers
from stdnum import luhn


class Kind(enum.StrEnum):
    """What a redacted span was."""

    EMAIL = "email"
    PHONE = "phone"
    IP = "ip"
    MAC = "mac"
    HOSTNAME = "hostname"
    CREDENTIAL = "credential"
    SECRET = "secret"  # noqa: S105 - the name of a kind, not a password
    ID_NUMBER = "id_number"
    CARD = "card"
    NAME = "name"
    MANUAL = "manual"


_ENGLISH = {
    Kind.EMAIL: "[email]",
    Kind.PHONE: "[phone]",
    Kind.IP: "[IP address]",
    Kind.MAC: "[MAC address]",
    Kind.HOSTNAME: "[hostname]",
    Kind.CREDENTIAL: "[password]",
    Kind.SECRET: "[secret]",
    Kind.ID_NUMBER: "[ID number]",
    Kind.CARD: "[card number]",
    Kind.NAME: "[name]",
    Kind.MANUAL: "[redacted]",
}
_CHINESE = {
    Kind.EMAIL: "[邮箱]",
    Kind.PHONE: "[电话]",
    Kind.IP: "[IP 地址]",
    Kind.MAC: "[MAC 地址]",
    Kind.HOSTNAME: "[主机名]",
    Kind.CREDENTIAL: "[密码]",
    Kind.SECRET: "[密钥]",
    Kind.ID_NUMBER: "[身份证号]",
    Kind.CARD: "[银行卡号]",
    Kind.NAME: "[姓名]",
    Kind.MANUAL: "[已隐去]",
}


def placeholder(kind: Kind, *, chinese: bool) -> str:
    """Return the bracketed placeholder that replaces a span of this kind."""
    return (_CHINESE if chinese else _ENGLISH)[kind]


@dataclass(frozen=True)
class Span:
    """One redaction: ``original`` at [start, end) of the input became ``replacement``."""

    start: int
    end: int
    kind: Kind
    original: str
    replacement: str


@dataclass(frozen=True)
class Redaction:
    """The redacted text and the spans of the input it replaced, in order."""

    text: str
    spans: tuple[Span, ...] = field(default=())

    def __str__(self) -> str:
        return self.text


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


@dataclass(frozen=True)
class _Context:
    labels: dict[Kind, str]
    names: re.Pattern[str] | None
    internal_domains: tuple[str, ...]


# A detector yields (start, end, kind, replacement); kind None keeps the text as it is.
_Found = tuple[int, int, Kind | None, str]
_Detector = Callable[[str, _Context], Iterator[_Found]]


def redact(
    text: str,
    names: Iterable[str] = (),
    *,
    chinese: bool | None = None,
    internal_domains: Iterable[str] = (),
    manual: Sequence[str] = (),
) -> Redaction:
    """Return ``text`` with personal data and secrets replaced by bracketed placeholders,
    and the spans replaced.

    Replaced: e-mail addresses; phone numbers (any number the phonenumbers library finds
    valid for China or with a country code, plus US-style numbers and extensions such as
    "ext. 1234" or "分机 8021"); Chinese resident ID numbers; bank-card numbers (13–19
    digits, spaced or dashed, passing the Luhn check); IPv4 and IPv6 addresses; MAC
    addresses; host names (internal-looking FQDNs, the organisation's
    ``internal_domains`` such as "jira.acme.cn" or "*.corp.example.com" and their
    subdomains, Windows machine names such as PC-ZHANGWEI-01 or LAPTOP-7F3K2Q, UNC
    server names, values after "hostname:"/"计算机名："); passwords after
    password/passwd/pwd/passcode/pin/secret/密码/口令/验证码 and ":", "：", "=", "是",
    "为" (or "is"/"to" when the value has a digit, symbol or inner capital); secrets:
    bearer tokens and JWTs, secret query parameters (token=, access_key=, sig=,
    password=…), AWS access key ids, GitHub and Slack tokens, PEM private-key blocks,
    and long random-looking strings after key/token/secret/令牌/密钥; the given
    ``names``, case-insensitively, including a Latin name's parts reversed or joined by
    ".", "_", "-" or nothing (zhang.wei), a capitalised first or last name alone, an
    e-mail's local part, and "张先生"/"小张"-style mentions of a Chinese name's surname;
    people named in possessives ("Bob's PC", "李娜的电脑"); and every occurrence of the
    ``manual`` strings a technician chose to hide.

    URL rule: a URL keeps its host unless the host looks internal: an IP address, a
    single label other than localhost (http://intranet/), one of the internal domains,
    a name ending in .local, .lan, .internal, .intranet, .corp, .home, .localdomain or
    .home.arpa, a name with a label such as corp, intra, internal, ad or lan, or a
    machine-like first label (pc-zhang.example.com). Only e-mail addresses, secrets, the
    given names and a user:password@ part are replaced in the rest of a URL, so public
    documentation links stay intact. The same host rule decides for bare domain names.
    Version numbers (v2.7.5, "version 1.2.3.4", "Chrome 120.0.6099.130"), hex error
    codes, dates and times, product codes (SKU 13812345678A), loopback and well-known
    public addresses (8.8.8.8, 114.114.114.114, 255.255.255.0, 192.168.1.1) and
    400/800 service numbers are left alone.

    Placeholders are Chinese ([邮箱], [电话], [IP 地址], [主机名], [密码], [姓名]…) when
    ``chinese`` is true, or when it is None and the text is mostly Chinese; otherwise
    English ([email], [phone], [IP address], [hostname], [password], [name]…).
    """
    if chinese is None:
        chinese = is_mostly_chinese(text)
    context = _Context(
        labels=_CHINESE if chinese else _ENGLISH,
        names=_name_pattern(names),
        internal_domains=_domains(internal_domains),
    )
    occupied = bytearray(len(text))
    found: list[tuple[int, int, Kind, str]] = []

    def take(start: int, end: int, kind: Kind | None, replacement: str) -> None:
        if start < end and not any(occupied[start:end]):
            occupied[start:end] = b"\x01" * (end - start)
            if kind is not None:
                found.append((start, end, kind, replacement))

    for start, end, kind, replacement in _manual(text, manual, context):
        take(start, end, kind, replacement)
    for detector in _DETECTORS:
        for start, end, kind, replacement in detector(text, context):
            take(start, end, kind, replacement)
    for start, end, kind, replacement in _people(text, context):
        take(start, end, kind, replacement)
    parts: list[str] = []
    spans: list[Span] = []
    position = 0
    for start, end, kind, replacement in sorted(found):
        parts.append(text[position:start])
        parts.append(replacement)
        spans.append(Span(start, end, kind, text[start:end], replacement))
        position = end
    parts.append(text[position:])
    return Redaction("".join(parts), tuple(spans))


def _manual(text: str, manual: Sequence[str], context: _Context) -> Iterator[_Found]:
    """Every occurrence of the strings a technician chose to hide, longest first."""
    terms = sorted({" ".join(term.split()) for term in manual if term.strip()}, key=len)
    for term in reversed(terms):
        # Any run of white space in the text matches the space of a selected phrase.
        pattern = r"\s+".join(re.escape(word) for word in term.split(" "))
        for match in re.finditer(pattern, text):
            yield match.start(), match.end(), Kind.MANUAL, context.labels[Kind.MANUAL]


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


def _credentials(text: str, context: _Context) -> Iterator[_Found]:
    for pattern in (_CREDENTIAL_STATED, _CREDENTIAL_SAID):
        for match in pattern.finditer(text):
            value = match.group("value").rstrip(_CREDENTIAL_TRAILING)
            if len(value) >= 3 and _looks_like_credential(value):
                start = match.start("value")
                yield start, start + len(value), Kind.CREDENTIAL, context.labels[Kind.CREDENTIAL]


# Secrets. detect-secrets (Yelp) has such patterns, but its last release is from May 2024
# and it scans files line by line without offsets; these follow its plugins' patterns.
_PRIVATE_KEY = _pattern(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
    r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
)
_TOKEN_SHAPES = (
    # JSON Web Tokens: header.payload.signature, each base64url; the header opens with {"
    _pattern(r"(?<![\w-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*(?![\w-])"),
    # AWS access key ids
    _pattern(
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])"
    ),
    # GitHub tokens and fine-grained tokens
    _pattern(
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})(?![A-Za-z0-9_])"
    ),
    # Slack tokens
    _pattern(r"(?<![A-Za-z0-9-])xox[abposr]-[A-Za-z0-9-]{10,}(?![A-Za-z0-9-])"),
    # Stripe, OpenAI-style and Google API keys
    _pattern(
        r"(?<![A-Za-z0-9_])(?:(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|sk-[A-Za-z0-9_-]{20,}|AIza[A-Za-z0-9_-]{35})(?![A-Za-z0-9_-])"
    ),
)
_BEARER = _pattern(
    r"(?i:(?<![A-Za-z])(?:bearer|token|basic)[ \t]+)(?P<value>[A-Za-z0-9._~+/-]{16,}=*)"
)
_SECRET_PARAMETER = _pattern(
    r"(?i)(?<![A-Za-z0-9_])(?:[a-z0-9_-]*(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey"
    r"|access[_-]?key(?:[_-]?id)?|private[_-]?key|credential|signature|session[_-]?id)|sig|key"
    r"|code|auth|x-amz-[a-z-]+)=(?P<value>[^&#\s\"'<>，。；]{4,})"
)
_SECRET_WORDS = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:api[ _-]?key|access[ _-]?key|secret[ _-]?key|client[ _-]?secret"
    r"|secret|token|key|signing[ _-]?key|auth[ _-]?key|webhook)s?(?![A-Za-z]))"
    r"|令牌|密钥|秘钥|私钥|口令牌|访问密钥|签名)"
)
# A random-looking run: long, with letters and digits mixed (hex or base64 alphabets).
_RANDOM_RUN = _pattern(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")


def _looks_random(value: str) -> bool:
    """Return whether a run reads like a key, not a word: long, letters and digits mixed."""
    digits = sum(char.isdigit() for char in value)
    letters = sum(char.isalpha() for char in value)
    if digits == 0 or letters == 0:
        return len(value) >= 32 and digits == len(value)  # a long digit-only token
    if re.fullmatch(r"[0-9a-fA-F-]+", value):
        return len(value.replace("-", "")) >= 16
    upper = sum(char.isupper() for char in value)
    return len(value) >= 20 or (0 < upper < letters and digits >= 2)


def _secret_spans(text: str, context: _Context, offset: int = 0) -> Iterator[_Found]:
    label = context.labels[Kind.SECRET]
    for match in _PRIVATE_KEY.finditer(text):
        yield offset + match.start(), offset + match.end(), Kind.SECRET, label
    for pattern in _TOKEN_SHAPES:
        for match in pattern.finditer(text):
            yield offset + match.start(), offset + match.end(), Kind.SECRET, label
    for match in _BEARER.finditer(text):
        if _looks_random(match.group("value")) or "." in match.group("value"):
            yield offset + match.start("value"), offset + match.end("value"), Kind.SECRET, label
    for match in _SECRET_PARAMETER.finditer(text):
        yield offset + match.start("value"), offset + match.end("value"), Kind.SECRET, label
    for match in _SECRET_WORDS.finditer(text):
        # The key is within a few words after the keyword, and may run on past them.
        window = text[match.end() : match.end() + 300]
        run = _RANDOM_RUN.search(window)
        if run is not None and run.start() <= 40 and _looks_random(run.group()):
            start = offset + match.end() + run.start()
            yield start, start + len(run.group()), Kind.SECRET, label


def _secrets(text: str, context: _Context) -> Iterator[_Found]:
    yield from _secret_spans(text, context)


_HOSTNAME_STATED = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:host|computer|machine|device|pc)[ \t]?name(?![A-Za-z]))"
    r"|主机名|计算机名|电脑名|设备名)[ \t]*(?:[:：=]|是|为|(?i:is))[ \t]*"
    r"(?P<value>[A-Za-z0-9][A-Za-z0-9._-]{0,62}[A-Za-z0-9])"
)


def _stated_hostnames(text: str, context: _Context) -> Iterator[_Found]:
    for match in _HOSTNAME_STATED.finditer(text):
        yield match.start("value"), match.end("value"), Kind.HOSTNAME, context.labels[Kind.HOSTNAME]


_EMAIL = _pattern(
    r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}(?![\w-])"
)


def _emails(text: str, context: _Context) -> Iterator[_Found]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), Kind.EMAIL, context.labels[Kind.EMAIL]


_URL = _pattern(r"(?i)\b(?:https?|ftps?|smb|file)://[^\s<>\"'`，。；！？、）】」]+")
_URL_HOST = _pattern(
    r"(?P<prefix>[A-Za-z]+://)(?:(?P<user>[^/?#@\s]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.%]+\]|[^/?#:\s]*)"
)
_INTERNAL_SUFFIXES = (
    ".local", ".lan", ".internal", ".intranet", ".corp", ".home", ".localdomain",
    ".home.arpa",
)  # fmt: skip
_INTERNAL_LABELS = frozenset(
    {"corp", "intra", "intranet", "internal", "int", "ad", "lan", "local", "localdomain"}
)


def _urls(text: str, context: _Context) -> Iterator[_Found]:
    for match in _URL.finditer(text):
        url = _trim_url(match.group())
        parsed = _URL_HOST.match(url)
        if parsed is None:  # pragma: no cover - every _URL match has a scheme
            continue
        base = match.start()
        found: list[_Found] = []
        if parsed.group("user") is not None:  # user:password@ belongs to a person
            found.append((parsed.start("user"), parsed.end("user"), Kind.NAME, ""))
        host = parsed.group("host")
        if _looks_like_ip(host.strip("[]").split("%")[0]):
            found.append((parsed.start("host"), parsed.end("host"), Kind.IP, ""))
        elif host and _is_internal_host(host, context.internal_domains):
            found.append((parsed.start("host"), parsed.end("host"), Kind.HOSTNAME, ""))
        rest = url[parsed.end() :]
        inside = list(_secret_spans(rest, context))
        inside += [(m.start(), m.end(), Kind.EMAIL, "") for m in _EMAIL.finditer(rest)]
        if context.names is not None:
            inside += [(m.start(), m.end(), Kind.NAME, "") for m in context.names.finditer(rest)]
        found += [(s + parsed.end(), e + parsed.end(), k, r) for s, e, k, r in inside]
        # Only those parts are replaced; the rest of the URL stays as written, so no
        # phone or ID number is seen inside a public link.
        position = 0
        for start, end, kind, _ in sorted(found, key=lambda f: (f[0], -f[1])):
            if start < position or kind is None:
                continue
            if start > position:
                yield base + position, base + start, None, url[position:start]
            yield base + start, base + end, kind, context.labels[kind]
            position = end
        if position < len(url):
            yield base + position, base + len(url), None, url[position:]


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


def _domains(domains: Iterable[str]) -> tuple[str, ...]:
    """Return the internal domains lower-cased, "*.example.com" as "example.com"."""
    cleaned = (d.strip().lower().rstrip(".").removeprefix("*.") for d in domains)
    return tuple(d for d in cleaned if d)


def _is_internal_host(host: str, internal_domains: tuple[str, ...] = ()) -> bool:
    """Return whether a host name looks like a company-internal machine, not a public site."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if host == "localhost":
        return False
    if any(host == domain or host.endswith("." + domain) for domain in internal_domains):
        return True
    if len(labels) == 1 or host.endswith(_INTERNAL_SUFFIXES):
        return True
    if any(label in _INTERNAL_LABELS for label in labels[:-1]):
        return True
    return _is_machine_name(labels[0], lowercase_ok=True)


_UNC = _pattern(r"(?<![\\\w])\\\\(?P<server>[A-Za-z0-9][A-Za-z0-9._$-]*)(?=[\\\s]|$)")


def _unc_paths(text: str, context: _Context) -> Iterator[_Found]:
    for match in _UNC.finditer(text):
        kind = Kind.IP if _looks_like_ip(match.group("server")) else Kind.HOSTNAME
        yield match.start("server"), match.end("server"), kind, context.labels[kind]


_VERSION = _pattern(
    r"(?i)(?<![\w.])(?:v|version[ \t]*:?[ \t]*|ver\.?[ \t]*|build[ \t]*:?[ \t]*"
    r"|版本号?[ \t]*[:：]?[ \t]*)\d+(?:\.\d+)+[a-z0-9-]*"
)
# A dotted number after a product name is its version ("Chrome 120.0.6099.130").
_PRODUCT_VERSION = _pattern(
    r"(?i)(?<![\w.])(?:chrome|chromium|edge|firefox|safari|opera|windows|win|office|outlook"
    r"|teams|word|excel|java|jre|jdk|python|node|zoom|wechat|webex|acrobat|reader|anyconnect"
    r"|forticlient|globalprotect|vpn[ \t]client|client|agent|driver|firmware|bios|kernel"
    r"|ios|android|macos|ubuntu|debian|centos|openssl|openssh|nginx|apache|tomcat|wps|dingtalk"
    r"|feishu|企业微信|微信|钉钉|飞书|驱动|固件|客户端)[ \t]*(?P<value>\d+(?:\.\d+){1,4})"
    r"(?![\w.]|\.\d)"
)
_HEX_CODE = _pattern(r"(?<![\w])0x[0-9A-Fa-f]+(?![\w])")
_DATE_TIME = _pattern(
    r"(?<![\d.])(?:\d{4}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}:\d{2}(?::\d{2})?)(?![\d.])"
)
_SERVICE_NUMBER = _pattern(r"(?<![\d+])[48]00[- ]?\d{3}[- ]?\d{4}(?!\d)")
# Product codes and part numbers: digits joined to letters are one token, never a phone.
_PRODUCT_CODE = _pattern(r"(?<![\w-])(?:[A-Za-z]+\d[\w]*|\d+[A-Za-z][\w]*)(?![\w])")


def _versions_and_codes(text: str, context: _Context) -> Iterator[_Found]:
    for pattern in (_VERSION, _HEX_CODE):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), None, match.group()
    for match in _PRODUCT_VERSION.finditer(text):
        yield match.start("value"), match.end("value"), None, match.group("value")


def _dates_and_service_numbers(text: str, context: _Context) -> Iterator[_Found]:
    for pattern in (_DATE_TIME, _SERVICE_NUMBER):
        for match in pattern.finditer(text):
            yield match.start(), match.end(), None, match.group()


def _product_codes(text: str, context: _Context) -> Iterator[_Found]:
    for match in _PRODUCT_CODE.finditer(text):
        if sum(char.isdigit() for char in match.group()) >= 7:
            yield match.start(), match.end(), None, match.group()


_MAC = _pattern(
    r"(?<![\w:.-])(?:(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4})(?![\w:.-])"
)


def _macs(text: str, context: _Context) -> Iterator[_Found]:
    for match in _MAC.finditer(text):
        yield match.start(), match.end(), Kind.MAC, context.labels[Kind.MAC]


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


def _ip_addresses(text: str, context: _Context) -> Iterator[_Found]:
    label = context.labels[Kind.IP]
    for match in _IPV6.finditer(text):
        address = match.group().split("/")[0].split("%")[0]
        if not _looks_like_ip(address):
            continue
        public = address.lower() in _PUBLIC_ADDRESSES
        yield match.start(), match.end(), None if public else Kind.IP, label
    for match in _IPV4.finditer(text):
        address = match.group().split("/")[0]
        public = address in _PUBLIC_ADDRESSES or address.startswith(("0.", "127.", "255."))
        yield match.start(), match.end(), None if public else Kind.IP, label


_EXTENSION = r"(?:[ \t]*(?:(?i:ext\.?|extension|x)|转|分机号?)[ \t]*[:：#]?[ \t]*\d{1,6})?"
_PHONES = (
    # Chinese mobiles: 13812345678, 138-1234-5678, +86 138 1234 5678, 0086 13812345678
    _pattern(r"(?<![\w+])(?:(?:\+|00)86[ \t-]?)?1[3-9]\d[ \t-]?\d{4}[ \t-]?\d{4}(?![\w])"),
    # Chinese landlines: 010-12345678, (021) 8765 4321, 0755 86013388
    _pattern(
        r"(?<![\w+-])(?:(?:\+|00)86[ \t-]?)?(?:\(0\d{2,3}\)|0\d{2,3})[ \t-]?"
        r"\d{3,4}[ \t-]?\d{4}(?![\w])" + _EXTENSION
    ),
    # International: +44 20 7946 0958, +1 (555) 123-4567, +49-30-123456
    _pattern(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ \t.-]?\(?\d{1,4}\)?){2,5}(?![\w])" + _EXTENSION),
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567
    _pattern(r"(?<![\w(+-])(?:\(\d{3}\)[ \t]?|\d{3}[-.])\d{3}[-.]\d{4}(?![\w])" + _EXTENSION),
)
_STATED_PHONE = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:phone|tel|telephone|mobile|cell)(?:[ \t]?(?:no\.?|number))?)"
    r"|电话|手机号?|座机|联系方式)[ \t]*(?:[:：]|是|为|(?i:is))?[ \t]*"
    r"(?P<value>\+?\d[\d \t()-]{4,}\d)(?![\w])"
)
_STANDALONE_EXTENSION = _pattern(
    r"(?:(?i:(?<![A-Za-z])(?:ext\.?|extension)(?![A-Za-z]))|分机号?|内线)"
    r"[ \t]*[:：#]?[ \t]*(?P<value>\d{2,8})(?!\d)"
)


def _phones(text: str, context: _Context) -> Iterator[_Found]:
    label = context.labels[Kind.PHONE]
    for pattern in _PHONES:
        for match in pattern.finditer(text):
            if 7 <= sum(char.isdigit() for char in match.group()) <= 20:
                yield match.start(), match.end(), Kind.PHONE, label
    for pattern in (_STATED_PHONE, _STANDALONE_EXTENSION):
        for match in pattern.finditer(text):
            yield match.start("value"), match.end("value"), Kind.PHONE, label
    # Whatever else Google's numbering plans call a valid number in China or abroad.
    for number in phonenumbers.PhoneNumberMatcher(text, "CN", leniency=phonenumbers.Leniency.VALID):
        yield number.start, number.end, Kind.PHONE, label


_ID_NUMBER = _pattern(
    r"(?<![\w])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]"
    r"(?![\w])"
)


def _id_numbers(text: str, context: _Context) -> Iterator[_Found]:
    for match in _ID_NUMBER.finditer(text):
        yield match.start(), match.end(), Kind.ID_NUMBER, context.labels[Kind.ID_NUMBER]


# 13–19 digits in groups of 4 (Visa, Mastercard, UnionPay), 4-6-5 (Amex) or 4-6-4
# (Diners), with one kind of separator, or unbroken.
_CARD = _pattern(
    r"(?<![\w.-])(?:\d{4}(?P<sep>[ -]?)\d{4}(?P=sep)\d{4}(?P=sep)\d{1,4}(?:(?P=sep)\d{1,3})?"
    r"|\d{4}[ -]?\d{6}[ -]?\d{4,5}|\d{13,19})(?![\w.-])"
)


def _cards(text: str, context: _Context) -> Iterator[_Found]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits):
            yield match.start(), match.end(), Kind.CARD, context.labels[Kind.CARD]


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


def _hostnames(text: str, context: _Context) -> Iterator[_Found]:
    label = context.labels[Kind.HOSTNAME]
    for match in _DOMAIN.finditer(text):
        if _is_internal_host(match.group(), context.internal_domains):
            yield match.start(), match.end(), Kind.HOSTNAME, label
    for match in _HYPHENATED.finditer(text):
        if _is_machine_name(match.group()):
            yield match.start(), match.end(), Kind.HOSTNAME, label


# Highest priority first: a span is dropped if it overlaps one already taken.
_DETECTORS: tuple[_Detector, ...] = (
    _urls,
    _credentials,
    _secrets,
    _stated_hostnames,
    _emails,
    _unc_paths,
    _macs,
    _versions_and_codes,
    _ip_addresses,
    _dates_and_service_numbers,
    _id_numbers,
    _cards,
    _product_codes,
    _phones,
    _hostnames,
)


_HONORIFICS = "先生|女士|小姐|老师|经理|同学|师傅|总|工"
# Account names that are words, not people: never redact "admin" or "support" as a name.
_GENERIC_ACCOUNTS = frozenset(
    {
        "admin", "administrator", "root", "support", "helpdesk", "servicedesk", "service",
        "it", "user", "users", "test", "guest", "system", "desk", "info", "noreply",
        "no-reply", "mail", "office", "tech", "staff", "team", "printer", "scanner",
    }
)  # fmt: skip
# A first or last name alone is only taken capitalised and when it is not a common word.
_COMMON_WORDS = frozenset(
    {
        "will", "may", "june", "april", "mark", "bill", "grant", "rose", "frank", "art",
        "bob", "sky", "win", "ray", "dawn", "hope", "joy", "guy", "max", "chase", "lane",
        "long", "young", "king", "white", "black", "brown", "green", "gray", "grey", "new",
        "li", "lin", "an", "he", "ma", "hu", "wu", "yu", "ye", "du", "bo", "jo", "al",
    }
)  # fmt: skip


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Return one pattern matching every given name in the forms people write it."""
    alternatives: set[str] = set()
    for raw in names:
        name = unicodedata.normalize("NFKC", raw).strip()
        if "@" in name:  # an e-mail address: its local part names the person
            name = name.split("@", 1)[0]
        if len(name) < 2 or name.lower() in _GENERIC_ACCOUNTS:
            continue
        if _HAN.search(name):
            compact = re.sub(r"\s+", "", name)
            alternatives.add(re.escape(compact))
            if 2 <= len(compact) <= 4:
                surname = re.escape(compact[0])
                alternatives.add(f"{surname}(?:{_HONORIFICS})|[小老]{surname}")
            continue
        parts = [part for part in re.split(r"[\s._+-]+", name) if part]
        orders = [parts, parts[::-1]] if len(parts) == 2 else [parts]
        for order in orders:
            joined = r"[\s._-]?".join(re.escape(part) for part in order)
            alternatives.add(rf"(?<![A-Za-z0-9]){joined}(?![A-Za-z0-9])")
        if len(parts) >= 2:
            for part in parts:
                if len(part) >= 3 and part.lower() not in _COMMON_WORDS and part[0].isalpha():
                    # "Bob's PC", "ask Smith": capitalised, as a name is written alone.
                    first, rest = re.escape(part[0].upper()), re.escape(part[1:].lower())
                    alternatives.add(rf"(?-i:(?<![A-Za-z0-9]){first}{rest}(?![A-Za-z0-9]))")
    if not alternatives:
        return None
    return re.compile("|".join(sorted(alternatives, key=len, reverse=True)), re.IGNORECASE)


_BELONGINGS = (
    r"(?:PC|laptop|computer|desktop|notebook|machine|phone|mobile|iPhone|iPad|Mac|MacBook"
    r"|account|mailbox|inbox|e-?mail|printer|monitor|screen|desk|VPN|password|profile|drive"
    r"|files?|calendar|headset|keyboard|mouse|badge|manager|team|office)"
)
# "Bob's PC": a capitalised word in the possessive before one of a person's belongings.
_POSSESSIVE = _pattern(rf"(?<![\w.])(?P<name>[A-Z][a-z]{{1,14}})['’]s[ \t]+{_BELONGINGS}\b")
_NOT_PEOPLE = frozenset(
    {
        "Microsoft", "Apple", "Google", "Windows", "Outlook", "Office", "Teams", "Dell",
        "Lenovo", "Cisco", "Zoom", "Adobe", "Chrome", "Firefox", "Today", "Yesterday",
        "Everyone", "Someone", "Nobody", "Company", "User", "Customer", "Client", "Manager",
        "Team", "Department", "It", "Its", "That", "This", "Who", "Everybody", "Somebody",
        "Guest", "Visitor", "Printer", "Server", "Vendor", "Boss", "Admin", "Intern",
    }
)  # fmt: skip
# Common Chinese surnames, for "李娜的电脑"-style mentions of people not on the ticket.
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤"
)
_CHINESE_BELONGINGS = (
    "电脑|笔记本|台式机|手机|邮箱|账号|帐号|账户|打印机|显示器|工位|密码|文件|网盘|桌面|VPN"
)
_CHINESE_POSSESSIVE = re.compile(
    rf"(?P<name>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}}?)的(?:{_CHINESE_BELONGINGS})"
)
_CHINESE_NOT_PEOPLE = frozenset(
    {
        "王者",
        "张贴",
        "李子",
        "周末",
        "周边",
        "高层",
        "林业",
        "方案",
        "白色",
        "金色",
        "黄色",
        "程序",
        "任务",
        "余下",
        "于是",
        "向导",
        "马上",
        "万能",
        "钱包",
        "江湖",
        "石头",
        "龙头",
        "史上",
        "陆续",
        "严重",
        "武器",
        "叶子",
        "段落",
        "雷达",
        "毛病",
        "孔位",
        "汤姆",
    }
)


def _people(text: str, context: _Context) -> Iterator[_Found]:
    label = context.labels[Kind.NAME]
    if context.names is not None:
        for match in context.names.finditer(text):
            yield match.start(), match.end(), Kind.NAME, label
    for match in _POSSESSIVE.finditer(text):
        if match.group("name") not in _NOT_PEOPLE:
            yield match.start("name"), match.end("name"), Kind.NAME, label
    for match in _CHINESE_POSSESSIVE.finditer(text):
        if match.group("name") not in _CHINESE_NOT_PEOPLE:
            yield match.start("name"), match.end("name"), Kind.NAME, label
