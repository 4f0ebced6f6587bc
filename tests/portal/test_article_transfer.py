"""`solveloop articles export` and `import`: Markdown with YAML front matter, both ways."""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from articles.models import Article, ArticleState, IndexOutbox, Revision, Visibility
from articles.staleness import ArticleCheck
from articles.transfer import InvalidArticleFile, language_of, parse_file
from portal.auth.models import Role


def counts(db):
    db.rollback()
    db.expire_all()
    return (
        db.scalar(select(func.count(Article.id))),
        db.scalar(select(func.count(Revision.id))),
        db.scalar(select(func.count(IndexOutbox.id))),
        db.scalar(select(func.count(ArticleCheck.id))),
    )


@pytest.fixture
def desk(make_article, make_user, db):
    owner = make_user(Role.TECHNICIAN, username="lina", name="李娜")
    zh = make_article(
        title="VPN 连接失败怎么办",
        body=(
            "## 问题现象\n\n连接 VPN 时提示“错误 809”。\n\n"
            "## 解决方法\n\n1. 重启客户端\n2. 换网络\n"
        ),
        tags=("vpn", "远程办公"),
    )
    en = make_article(
        title="Outlook not receiving mail",
        body="Check the *Offline* switch.\n\n```\nrestart outlook\n```",
        state=ArticleState.DRAFT,
        visibility=Visibility.INTERNAL,
        category_slug="software",
    )
    zh.owner_id = owner.id
    db.commit()
    return zh, en


def exported(cli, tmp_path):
    target = tmp_path / "export"
    result = cli("articles", "export", str(target))
    assert result.exit_code == 0, result.output
    return target


def test_export_writes_front_matter_and_the_body_as_stored(cli, desk, tmp_path):
    zh, en = desk
    files = sorted(exported(cli, tmp_path).glob("*.md"))
    assert [f.name for f in files] == [
        f"{zh.id:05d}-vpn-连接失败怎么办.md",
        f"{en.id:05d}-outlook-not-receiving-mail.md",
    ]
    text = files[0].read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["id"] == zh.id
    assert front["title"] == "VPN 连接失败怎么办"
    assert front["language"] == "zh"
    assert front["category"] == "network"
    assert front["tags"] == ["vpn", "远程办公"]
    assert (front["visibility"], front["state"], front["owner"]) == ("public", "published", "lina")
    assert front["review-by"] and front["published"] and front["created"] and front["updated"]
    assert text.endswith("---\n" + zh.body)
    other = yaml.safe_load(files[1].read_text(encoding="utf-8").split("---\n")[1])
    assert (other["language"], other["state"], other["visibility"]) == ("en", "draft", "internal")
    assert other["review-by"] is None and other["owner"] is None


def test_export_then_import_changes_nothing(cli, desk, tmp_path, db):
    target = exported(cli, tmp_path)
    before = counts(db)
    dry = cli("articles", "import", "--dry-run", str(target))
    assert dry.exit_code == 0, dry.output
    assert "unchanged" in dry.output and "would change" not in dry.output
    result = cli("articles", "import", str(target))
    assert result.exit_code == 0, result.output
    assert "0 new draft(s), 0 changed article(s), 0 with problems" in result.output
    assert counts(db) == before


def test_an_edited_file_becomes_a_revision_and_a_dry_run_only_lists_it(cli, desk, tmp_path, db):
    zh, _en = desk
    target = exported(cli, tmp_path)
    path = next(target.glob(f"{zh.id:05d}-*.md"))
    text = path.read_text(encoding="utf-8")
    text = text.replace("title: VPN 连接失败怎么办", "title: VPN 连不上怎么办")
    text = text.replace("- 远程办公", "- 远程办公\n- 错误809")
    path.write_text(text + "\n3. 联系服务台\n", encoding="utf-8")
    before = counts(db)
    dry = cli("articles", "import", "--dry-run", str(target))
    assert f"article {zh.id} would change: title, body, tags" in dry.output
    assert counts(db) == before
    result = cli("articles", "import", str(target))
    assert result.exit_code == 0, result.output
    assert f"article {zh.id} changed: title, body, tags" in result.output
    articles, revisions, outbox, _checks = counts(db)
    assert (articles, revisions, outbox) == (before[0], before[1] + 1, before[2] + 1)
    article = db.get(Article, zh.id)
    assert article.title == "VPN 连不上怎么办"
    assert article.state is ArticleState.PUBLISHED
    assert {t.name for t in article.tags} == {"vpn", "远程办公", "错误809"}
    assert article.revisions[-1].note == f"imported from {path.name}"
    assert "联系服务台" in article.body_html


def test_a_file_without_an_id_becomes_a_draft(cli, desk, tmp_path, db):
    target = tmp_path / "new"
    target.mkdir()
    (target / "printer.md").write_text(
        "---\ntitle: 打印机脱机 printer offline\ncategory: desktop\ntags: [printer, 打印机]\n"
        "state: published\nowner: lina\n---\n## 解决方法\n\n重新添加打印机。\n",
        encoding="utf-8",
    )
    result = cli("articles", "import", str(target))
    assert result.exit_code == 0, result.output
    assert "printer.md: created draft article" in result.output
    db.rollback()
    article = db.scalar(select(Article).where(Article.title == "打印机脱机 printer offline"))
    assert article.state is ArticleState.DRAFT
    assert article.category.slug == "desktop"
    assert article.owner_id is not None
    assert len(article.revisions) == 1


def test_bad_files_get_a_line_each_and_the_rest_still_imports(cli, desk, tmp_path, db, make_user):
    zh, en = desk
    make_user(Role.USER, username="alice")
    target = exported(cli, tmp_path)
    good = next(target.glob(f"{en.id:05d}-*.md"))
    good.write_text(good.read_text(encoding="utf-8").replace("state: draft", "state: in_review"))
    (target / "no-front.md").write_text("# just markdown\n", encoding="utf-8")
    (target / "broken-yaml.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    (target / "typo.md").write_text("---\ntittle: VPN\n---\nbody\n", encoding="utf-8")
    (target / "category.md").write_text("---\ntitle: X\ncategory: nope\n---\nb\n", encoding="utf-8")
    (target / "missing.md").write_text("---\nid: 99999\ntitle: X\n---\nb\n", encoding="utf-8")
    (target / "owner.md").write_text("---\ntitle: X\nowner: alice\n---\nb\n", encoding="utf-8")
    (target / "latin1.md").write_bytes("---\ntitle: caf\xe9\n---\n".encode("latin-1"))
    zh_file = next(target.glob(f"{zh.id:05d}-*.md"))
    zh_file.write_text(
        zh_file.read_text(encoding="utf-8").replace("state: published", "state: draft")
    )
    before = counts(db)
    result = cli("articles", "import", str(target))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    problems = {line.split(":", 1)[0]: line for line in lines if ": error: " in line}
    assert set(problems) == {
        "no-front.md",
        "broken-yaml.md",
        "typo.md",
        "category.md",
        "missing.md",
        "latin1.md",
        "owner.md",
        zh_file.name,
    }
    assert "no technician or admin 'alice'" in problems["owner.md"]
    assert "front matter" in problems["no-front.md"]
    assert "not valid YAML" in problems["broken-yaml.md"]
    assert "tittle" in problems["typo.md"]
    assert "no category 'nope'" in problems["category.md"]
    assert "no article 99999" in problems["missing.md"]
    assert "UTF-8" in problems["latin1.md"]
    assert "published to draft" in problems[zh_file.name]
    assert f"article {en.id} changed: state in_review" in result.output
    db.rollback()
    db.expire_all()
    assert db.get(Article, en.id).state is ArticleState.IN_REVIEW
    assert db.get(Article, zh.id).state is ArticleState.PUBLISHED
    assert counts(db)[0] == before[0]


def test_a_new_review_date_and_owner_are_recorded(cli, desk, tmp_path, db, make_user):
    zh, _en = desk
    make_user(Role.TECHNICIAN, username="tom")
    target = exported(cli, tmp_path)
    path = next(target.glob(f"{zh.id:05d}-*.md"))
    text = path.read_text(encoding="utf-8")
    front = yaml.safe_load(text.split("---\n")[1])
    text = text.replace(f"review-by: '{front['review-by']}'", "review-by: 2031-01-15")
    path.write_text(text.replace("owner: lina", "owner: tom"), encoding="utf-8")
    result = cli("articles", "import", str(target))
    assert f"article {zh.id} changed: owner, review-by" in result.output, result.output
    db.rollback()
    db.expire_all()
    article = db.get(Article, zh.id)
    assert article.review_by.date().isoformat() == "2031-01-15"
    kinds = [c.kind.value for c in db.scalars(select(ArticleCheck).order_by(ArticleCheck.id))]
    assert kinds == ["owner_changed", "date_set"]
    again = cli("articles", "import", str(target))
    assert f"article {zh.id} unchanged" in again.output


def test_parse_file_keeps_the_body_exactly():
    parsed = parse_file("---\ntitle: a\n---\n\n  indented\n\n---\nrule above\n")
    assert parsed.front == {"title": "a"}
    assert parsed.body == "\n  indented\n\n---\nrule above\n"
    assert parse_file("\ufeff---\r\ntitle: b\r\n---\r\nx\r\n").body == "x\n"
    with pytest.raises(InvalidArticleFile, match="key: value"):
        parse_file("---\n- a list\n---\n")


def test_language_is_read_from_the_text():
    assert language_of("VPN 连接失败，提示错误 809") == "zh"
    assert language_of("Outlook does not receive mail since the update") == "en"


def test_import_of_a_missing_directory_names_it(cli, tmp_path):
    result = cli("articles", "import", str(Path(tmp_path / "nowhere")))
    assert result.exit_code == 2
    assert "nowhere" in result.output
