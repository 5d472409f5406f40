"""Alembic environment: runs on the connection that `app.adapters.db.migrate` hands it."""

from __future__ import annotations

from alembic import context

from app.adapters.db.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
