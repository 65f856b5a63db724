"""Alembic environment shared by every service: the caller hands over an open connection, and for
autogenerate (shared/revisions.py) the branch's models and which tables are the branch's."""
from alembic import context

attributes = context.config.attributes
connection = attributes["connection"]
context.configure(
    connection=connection, render_as_batch=connection.dialect.name == "sqlite",
    target_metadata=attributes.get("target_metadata"), include_object=attributes.get("include_object"),
    render_item=attributes.get("render_item"), process_revision_directives=attributes.get("process_revision_directives"),
)
with context.begin_transaction():
    context.run_migrations()
