"""Errors of the knowledge domain; ``portal`` turns them into flashes or HTTP codes."""

from __future__ import annotations


class ArticleError(Exception):
    """Base class: something about an article or draft cannot be done; str() is for people."""


class ArticleNotFound(ArticleError):
    """No article with the requested id or slug exists (or the reader may not see it)."""


class InvalidTransition(ArticleError):
    """The article cannot move from its current editorial state to the requested one."""

    def __init__(self, from_state: str, to_state: str) -> None:
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(f"An article cannot go from {from_state} to {to_state}.")


class ArticleTooLarge(ArticleError):
    """The Markdown source is longer than an article may be."""

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        super().__init__(
            f"The article is too long: {length:,} characters, at most {limit:,} are allowed."
        )


class MarkdownTooComplex(ArticleError):
    """The Markdown would take too long to render (deep nesting, runaway brackets…)."""


class DraftIncomplete(ArticleError):
    """The ticket notes lack what an article needs (a resolution, a subject or symptom)."""


class ArticleChanged(ArticleError):
    """Someone saved the article (or changed its state) after the editor was opened."""

    def __init__(self, loaded: int, current: int) -> None:
        self.loaded = loaded
        self.current = current
        super().__init__(
            f"The article changed since you opened it (revision {loaded}; it is now at "
            f"revision {current})."
        )
