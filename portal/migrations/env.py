"""Alembic environment: runs on the connection handed over by portal.schema."""

from alembic import context

from portal.models import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through `solveloop init-db` (portal.schema.upgrade).")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
