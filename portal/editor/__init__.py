"""Staff editing: draft from a ticket, edit with preview, review and publish."""
