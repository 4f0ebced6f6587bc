"""Admin: curation dashboard, review queue, history, reports."""
