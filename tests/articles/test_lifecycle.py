"""Editorial lifecycle rules."""

import pytest

from articles.errors import InvalidTransition
from articles.lifecycle import check_transition, may_read
from articles.models import ArticleState, Visibility


def test_a_draft_goes_to_review_and_review_to_published():
    check_transition(ArticleState.DRAFT, ArticleState.IN_REVIEW)
    check_transition(ArticleState.IN_REVIEW, ArticleState.PUBLISHED)


def test_a_published_article_can_only_be_archived():
    with pytest.raises(InvalidTransition):
        check_transition(ArticleState.PUBLISHED, ArticleState.DRAFT)
    check_transition(ArticleState.PUBLISHED, ArticleState.ARCHIVED)


def test_users_read_only_published_public_articles():
    assert may_read(ArticleState.PUBLISHED, Visibility.PUBLIC, staff=False)
    assert not may_read(ArticleState.PUBLISHED, Visibility.INTERNAL, staff=False)
    assert not may_read(ArticleState.DRAFT, Visibility.PUBLIC, staff=False)
    assert not may_read(ArticleState.ARCHIVED, Visibility.PUBLIC, staff=False)


def test_staff_read_every_article():
    for state in ArticleState:
        for visibility in Visibility:
            assert may_read(state, visibility, staff=True)
