"""Tickets: the models, the status workflow, the priority matrix and the views."""
