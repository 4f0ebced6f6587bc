"""Realistic generated articles and queries for the benchmark, from this machine's man pages.

English articles take their sentences from the roff source of the man pages under
/usr/share/man (read with gzip, markup stripped); Chinese articles are sentences built from
a small list of generic IT words written here. Everything is drawn from one seeded
generator, so the first 20k articles of the 100k corpus are the 20k corpus. The output is
deterministic for a given set of installed man pages.
"""

from __future__ import annotations

import gzip
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import rjieba

from portal.demo import DEFAULT_CATEGORIES

MAN_ROOT = Path("/usr/share/man")
# Reading every page takes a while and adds little variety; a seeded sample is enough.
MAN_PAGES = 4000
# gcloud alone installs thousands of pages; cap each family (the name up to - _ . or ::).
PAGES_PER_FAMILY = 12
CHINESE_SHARE = 0.12
INTERNAL_SHARE = 0.15
CATEGORIES = tuple(slug for slug, _name_en, _name_zh in DEFAULT_CATEGORIES)
SKIPPED_SECTIONS = {"SYNOPSIS", "AUTHOR", "AUTHORS", "COPYRIGHT", "SEE ALSO", "REPORTING BUGS"}
TEXT_MACROS = {"B", "I", "BI", "BR", "IB", "IR", "RB", "RI", "SM", "SB"}

_ESCAPES = [
    (re.compile(r"\\f(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\s[-+]?\d+"), ""),
    (re.compile(r"\\\*(\[[^\]]*\]|\(..|.)"), ""),
    (re.compile(r"\\\((aq|cq)"), "'"),
    (re.compile(r"\\\((lq|rq|dq)"), '"'),
    (re.compile(r"\\\(..|\\\[[^\]]*\]"), " "),
    (re.compile(r"\\[-e]"), "-"),
    (re.compile(r"\\[&,/|^%:]"), ""),
    (re.compile(r"\\(.)"), r"\1"),
]
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z]")

ZH_NOUNS = [
    "电脑",
    "打印机",
    "网络",
    "密码",
    "账户",
    "邮箱",
    "服务器",
    "文件",
    "共享盘",
    "权限",
    "驱动",
    "蓝牙",
    "无线网络",
    "显示器",
    "键盘",
    "鼠标",
    "会议室",
    "投影仪",
    "软件",
    "许可证",
    "备份",
    "数据",
    "病毒",
    "钓鱼邮件",
    "附件",
    "浏览器",
    "证书",
    "代理",
    "防火墙",
    "端口",
    "地址",
    "域名",
    "缓存",
    "系统",
    "用户",
    "管理员",
    "工单",
    "手机",
    "客户端",
    "日历",
    "磁盘",
    "空间",
    "内存",
    "性能",
    "版本",
    "补丁",
    "双因素认证",
    "验证码",
    "令牌",
    "远程桌面",
    "虚拟机",
    "内网",
    "外网",
    "信号",
    "路由器",
    "交换机",
    "网线",
    "扫描仪",
    "墨盒",
    "表格",
    "文档",
    "视频",
    "耳机",
    "麦克风",
    "摄像头",
    "会议",
    "软件中心",
    "应用",
    "注册表",
    "组策略",
    "日志",
    "告警",
    "资产",
    "笔记本",
    "台式机",
    "扩展坞",
    "电源",
    "适配器",
    "电池",
    "更新",
    "设置",
    "配置",
    "安装包",
    "共享文件夹",
    "打印队列",
    "邮件规则",
    "通讯录",
    "输入法",
    "字体",
    "屏幕",
    "分辨率",
    "声卡",
    "网卡",
    "硬盘",
    "固态硬盘",
    "加密",
    "签名",
]
ZH_VERBS = [
    "无法连接",
    "无法登录",
    "重置",
    "安装",
    "卸载",
    "更新",
    "升级",
    "同步",
    "打开",
    "关闭",
    "重启",
    "配置",
    "修改",
    "删除",
    "恢复",
    "备份",
    "共享",
    "映射",
    "激活",
    "申请",
    "审批",
    "检查",
    "清除",
    "导出",
    "导入",
    "下载",
    "上传",
    "打印",
    "扫描",
    "加密",
    "解锁",
    "锁定",
    "访问",
    "识别",
    "显示",
    "启动",
    "断开",
    "切换",
    "绑定",
    "迁移",
]
ZH_STATES = [
    "失败",
    "报错",
    "很慢",
    "卡顿",
    "崩溃",
    "过期",
    "被锁定",
    "没有反应",
    "提示错误",
    "异常",
    "丢失",
    "不可用",
]
ZH_FUNCTION = [
    "我的",
    "公司",
    "今天",
    "一直",
    "突然",
    "已经",
    "需要",
    "可以",
    "然后",
    "请",
    "先",
    "再",
    "如果",
    "之后",
    "时候",
    "总是",
]
ZH_ASK = ("如何", "怎么", "为什么", "怎样")
ZH_LATIN = [
    "VPN",
    "Outlook",
    "Wi-Fi",
    "Windows",
    "Teams",
    "Excel",
    "192.168.1.1",
    "SAP",
    "OA",
    "U盘",
    "IE",
    "Chrome",
]
EN_TITLE_FRAMES = (
    "How to {desc}",
    "{cmd}: {desc}",
    "Cannot {desc} on my laptop",
    "Error when using {cmd} to {desc}",
    "{desc} fails after the update",
    "Why does {cmd} {fragment}",
    "Troubleshooting {cmd} {fragment}",
    "{cmd} {fragment} not working",
)
TITLE_PADDING = ("on Windows", "in the office", "over VPN", "for new staff", "on the server")


@dataclass(frozen=True)
class Article:
    """One generated article."""

    id: int
    title: str
    body: str
    category: str
    visibility: str
    language: str


@dataclass(frozen=True)
class ManPage:
    """The useful text of one man page."""

    command: str
    description: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Queries:
    """The sampled query sets."""

    short: tuple[str, ...]
    ticket: tuple[str, ...]
    typed: tuple[str, ...]


def _unescape(line: str) -> str:
    for pattern, replacement in _ESCAPES:
        line = pattern.sub(replacement, line)
    return line


def parse_man_page(source: str) -> ManPage | None:
    """Return the NAME line and prose sentences of a roff man page, or None if it has little."""
    section = ""
    name_line = ""
    paragraphs: list[list[str]] = [[]]
    for raw in source.splitlines():
        if raw.startswith(('.\\"', "'\\\"", '.\\"')):
            continue
        if raw.startswith((".", "'")):
            macro, _, rest = raw[1:].partition(" ")
            if macro in ("SH", "SS"):
                section = _unescape(rest).strip().strip('"').upper()
                paragraphs.append([])
                continue
            if macro not in TEXT_MACROS:
                paragraphs.append([])
                continue
            raw = rest.replace('"', "")
        text = _unescape(raw).strip()
        if not text:
            paragraphs.append([])
        elif section == "NAME":
            name_line += " " + text
        elif section not in SKIPPED_SECTIONS:
            paragraphs[-1].append(text)
    command, dash, description = name_line.strip().partition(" - ")
    if not dash:
        return None
    sentences = []
    for paragraph in paragraphs:
        for sentence in _SENTENCE_END.split(" ".join(paragraph)):
            words = sentence.split()
            wordy = sum(1 for w in words if _WORD.fullmatch(w.strip(".,;:()")))
            if 6 <= len(words) <= 40 and wordy >= 0.7 * len(words):
                sentences.append(" ".join(words))
    if len(sentences) < 8:
        return None
    command = command.split(",")[0].strip()
    return ManPage(command, description.strip().rstrip("."), tuple(sentences))


def load_man_pages(seed: int, limit: int = MAN_PAGES) -> list[ManPage]:
    """Return up to ``limit`` parsed English man pages, a seeded sample of those installed."""
    paths = sorted(MAN_ROOT.glob("man[1-8]/*.gz"))
    random.Random(seed).shuffle(paths)  # noqa: S311 - test data, not secrets
    pages = []
    families: dict[str, int] = {}
    for path in paths:
        if len(pages) >= limit:
            break
        family = re.split(r"[-_.:]", path.name, maxsplit=1)[0]
        if families.get(family, 0) >= PAGES_PER_FAMILY:
            continue
        try:
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
                page = parse_man_page(handle.read())
        except (OSError, EOFError):
            continue
        if page is not None:
            pages.append(page)
            families[family] = families.get(family, 0) + 1
    if not pages:
        raise RuntimeError(f"no usable man pages under {MAN_ROOT}")
    return pages


def _fit_words(text: str, rng: random.Random, low: int = 4, high: int = 10) -> str:
    words = text.split()[:high]
    while len(words) < low:
        words.extend(rng.choice(TITLE_PADDING).split())
    return " ".join(words[:high])


def _english(rng: random.Random, pages: list[ManPage]) -> tuple[str, str]:
    page = rng.choice(pages)
    frame = rng.choice(EN_TITLE_FRAMES)
    fragment_words = rng.choice(page.sentences).split()
    start = rng.randrange(max(1, len(fragment_words) - 4))
    fragment = " ".join(fragment_words[start : start + rng.randint(2, 5)]).strip(".,;:")
    title = frame.format(cmd=page.command, desc=page.description, fragment=fragment)
    title = _fit_words(title, rng)
    target = rng.randint(150, 300)
    paragraphs: list[str] = []
    sentences: list[str] = []
    count = 0
    position = rng.randrange(len(page.sentences))
    source = page
    while count < target:
        if position >= len(source.sentences):
            source, position = rng.choice(pages), 0
        sentence = source.sentences[position]
        position += 1
        sentences.append(sentence)
        count += len(sentence.split())
        if len(sentences) >= rng.randint(3, 5):
            paragraphs.append(" ".join(sentences))
            sentences = []
    if sentences:
        paragraphs.append(" ".join(sentences))
    return title, "\n\n".join(paragraphs)


def _chinese_sentence(rng: random.Random) -> str:
    parts = []
    if rng.random() < 0.5:
        parts.append(rng.choice(ZH_FUNCTION))
    parts.append(rng.choice(ZH_NOUNS))
    if rng.random() < 0.25:
        parts.append(rng.choice(ZH_LATIN))
    parts.append(rng.choice(ZH_VERBS))
    parts.append(rng.choice(ZH_NOUNS))
    if rng.random() < 0.4:
        parts.append(rng.choice(ZH_STATES))
    if rng.random() < 0.3:
        parts.extend([rng.choice(ZH_FUNCTION), rng.choice(ZH_VERBS), rng.choice(ZH_NOUNS)])
    end = rng.choice("。！？") if rng.random() < 0.2 else "。"
    return "".join(parts) + end


def _chinese(rng: random.Random) -> tuple[str, str]:
    shape = rng.randrange(3)
    if shape == 0:
        title = rng.choice(ZH_ASK) + rng.choice(ZH_VERBS) + rng.choice(ZH_NOUNS)
    elif shape == 1:
        title = rng.choice(ZH_NOUNS) + rng.choice(ZH_VERBS) + rng.choice(ZH_STATES)
    else:
        title = rng.choice(ZH_LATIN) + rng.choice(ZH_NOUNS) + rng.choice(ZH_STATES)
    if rng.random() < 0.5:
        title += rng.choice(ZH_FUNCTION) + rng.choice(ZH_VERBS) + rng.choice(ZH_NOUNS)
    target = rng.randint(150, 300)
    paragraphs = []
    words = 0
    while words < target:
        paragraph = [_chinese_sentence(rng) for _ in range(rng.randint(3, 6))]
        words += sum(len(rjieba.cut(s)) for s in paragraph)
        paragraphs.append("".join(paragraph))
    return title, "\n\n".join(paragraphs)


def generate(count: int, seed: int, pages: list[ManPage]) -> Iterator[Article]:
    """Yield ``count`` articles with ids 1..count, deterministically for ``seed``."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    for number in range(1, count + 1):
        if rng.random() < CHINESE_SHARE:
            language = "zh"
            title, body = _chinese(rng)
        else:
            language = "en"
            title, body = _english(rng, pages)
        visibility = "internal" if rng.random() < INTERNAL_SHARE else "public"
        yield Article(number, title, body, rng.choice(CATEGORIES), visibility, language)


def _words(article: Article, text: str) -> list[str]:
    if article.language == "zh":
        return [w for w in rjieba.cut(text) if len(w) >= 2 and not w.isspace() and w.isalnum()]
    return [
        w.strip(".,;:()'\"").lower() for w in text.split() if _WORD.fullmatch(w.strip(".,;:()"))
    ]


def _join(article: Article, words: list[str]) -> str:
    return "".join(words) if article.language == "zh" else " ".join(words)


def sample_queries(
    articles: list[Article], seed: int, short: int, ticket: int, typed: int
) -> Queries:
    """Return query sets drawn from the corpus vocabulary.

    short: 2–6 consecutive words of a body; ticket: 30 consecutive words of a body;
    typed: what a user has typed into the request form so far, 0–2 whole words of a title
    and then 2–5 characters of the next word (a Chinese title: its first 2–5 characters).
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    shorts, tickets, typeds = [], [], []
    while len(shorts) < short:
        article = rng.choice(articles)
        words = _words(article, article.body)
        size = rng.randint(2, 6)
        if len(words) > size:
            start = rng.randrange(len(words) - size)
            shorts.append(_join(article, words[start : start + size]))
    while len(tickets) < ticket:
        article = rng.choice(articles)
        words = _words(article, article.body)
        if len(words) > 30:
            start = rng.randrange(len(words) - 30)
            tickets.append(_join(article, words[start : start + 30]))
    while len(typeds) < typed:
        article = rng.choice(articles)
        length = rng.randint(2, 5)
        if article.language == "zh":
            typeds.append(article.title[:length])
            continue
        words = article.title.split()
        whole = rng.choice((0, 0, 1, 1, 2))
        if len(words) > whole:
            text = " ".join([*words[:whole], words[whole][:length]])
            typeds.append(text)
    return Queries(tuple(shorts), tuple(tickets), tuple(typeds))
