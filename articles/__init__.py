"""The knowledge domain: articles, revisions, categories, lifecycle, rendering, drafting."""
