"""Knowledge base: browse, read, search, suggest."""
