"""The intake evaluation set: realistic requests judged against the demo articles."""

import json

from click.testing import CliRunner

from portal.cli import main
from portal.demo.evaluation import REQUESTS, demo_corpus, intake_collection
from search.analysis import has_cjk
from search.evaluation import evaluate_collection

# Regression floors, just below what eval-search measures (README, search section):
# .793 full, .725 typing.
INTAKE_MRR = 0.78
INTAKE_TYPING_MRR = 0.71


def test_the_intake_set_judges_only_articles_an_end_user_can_find():
    collection = intake_collection()
    findable = {record["id"] for record in demo_corpus()}
    assert len(collection.queries) >= 80
    assert len({query.id for query in collection.queries}) == len(collection.queries)
    for query in collection.queries:
        assert collection.qrels[query.id], query
        assert collection.qrels[query.id] <= findable, query


def test_the_intake_set_asks_in_english_chinese_and_both_short_and_long():
    texts = [query.text for query in intake_collection().queries]
    chinese = [text for text in texts if has_cjk(text)]
    mixed = [text for text in chinese if any("a" <= ch.lower() <= "z" for ch in text)]
    assert len(chinese) >= 30 and len(texts) - len(chinese) >= 30 and len(mixed) >= 10
    assert min(map(len, texts)) <= 12 and max(map(len, texts)) >= 100


def test_search_on_the_intake_set_stays_above_its_floors():
    figures = evaluate_collection(intake_collection())
    assert figures["full"].mrr >= INTAKE_MRR
    assert figures["typing"].mrr >= INTAKE_TYPING_MRR


def test_eval_search_reports_the_intake_set_beside_the_public_sets(tmp_path):
    result = CliRunner().invoke(main, ["eval-search", "--bench", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert list(figures) == ["intake"]
    assert figures["intake"]["full"]["queries"] == len(REQUESTS.read_text().splitlines())
