"""Alembic autogenerate for one branch: the kit's tables (branch `kit`) or one service's.

Every database holds two branches: the kit's tables (outbox, inbox, timers, …, `KitBase`) and one
service's own tables. A branch's models are compared with a database migrated to every head, and
only that branch's tables are looked at, so the other branch's tables are never taken for drift.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData

from shared.db import MIGRATIONS, Database, KitBase

KIT = "kit"
KIT_VERSIONS = MIGRATIONS / "versions"


class Branch:
    """One line of revisions: its label (`kit` or the service's name), models and versions folder."""

    def __init__(self, label: str, metadata: MetaData, versions: Path):
        self.label, self.metadata, self.versions = label, metadata, Path(versions)

    @classmethod
    def kit(cls) -> "Branch":
        return cls(KIT, KitBase.metadata, KIT_VERSIONS)

    @classmethod
    def of(cls, service: Any) -> "Branch":
        """A service's branch, from what it declares (`name`, `metadata`, `migrations`)."""
        return cls(service.name, service.metadata, service.migrations)

    def owns(self, obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        """Alembic's include_object: this branch's tables and what hangs off them, but not what the
        models list in `metadata.info["unmodelled"]` (tables, indexes, `table.column`s a migration
        makes with its own DDL for one database, e.g. a full-text index)."""
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        unmodelled = self.metadata.info.get("unmodelled", ())
        if name in unmodelled or (type_ == "column" and f"{table}.{name}" in unmodelled):
            return False
        return table in self.metadata.tables


def differences(database: Database, branch: Branch) -> list:
    """What autogenerate would write for `branch` against `database` as it stands ([] when none)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "include_object": branch.owns, "render_as_batch": connection.dialect.name == "sqlite"})
        return compare_metadata(context, branch.metadata)


def write_revision(database: Database, branch: Branch, message: str, *, service_versions: Path | None = None
                   ) -> Path | None:
    """Migrate `database` to every head, then write `branch`'s next revision from what its models
    add or change (None, and no file, when there is nothing). `service_versions`: for the kit's
    branch, the versions folder of the service whose database this is."""
    others = service_versions if branch.label == KIT else branch.versions
    config = _config(branch, others)
    written: list[Path] = []

    def only_when_different(context, revision, directives) -> None:
        if directives[0].upgrade_ops.is_empty():
            directives[:] = []

    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    script = ScriptDirectory.from_config(config)
    with database.engine.begin() as connection:
        config.attributes.update(connection=connection, target_metadata=branch.metadata, include_object=branch.owns,
                                 render_item=_render_item, process_revision_directives=only_when_different)
        result = command.revision(config, message, autogenerate=True, head=f"{branch.label}@head",
                                  rev_id=_next_id(script, branch.label), version_path=str(branch.versions))
    for made in result if isinstance(result, list) else [result]:
        if made is not None:
            written.append(Path(made.path))
    return written[0] if written else None


def revise(branch: Branch, message: str, database_url: str | None = None) -> Path | None:
    """`marketplace revision`: `branch`'s next revision, against `database_url` (migrated to every
    head first) or, by default, a fresh SQLite database made for the comparison and removed after."""
    if database_url is not None:
        database = Database(database_url)
        try:
            return write_revision(database, branch, message)
        finally:
            database.dispose()
    with tempfile.TemporaryDirectory(prefix="marketplace-revision-") as folder:
        database = Database(f"sqlite:///{Path(folder) / 'scratch.sqlite'}")
        try:
            return write_revision(database, branch, message)
        finally:
            database.dispose()


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """The kit's own column types (UTCDateTime) rendered by name, with their import."""
    kind = obj.__class__
    if type_ == "type" and not kind.__module__.startswith("sqlalchemy"):
        autogen_context.imports.add(f"from {kind.__module__} import {kind.__name__}")
        return kind.__name__
    return False


def _config(branch: Branch, others: Path | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    locations = {str(KIT_VERSIONS), str(branch.versions)} | ({str(others)} if others else set())
    config.set_main_option("version_locations", os.pathsep.join(sorted(locations)))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def _next_id(script: ScriptDirectory, label: str) -> str:
    """`<label>_<n>`: one more than the branch's highest number (`payments_0001` → `payments_0002`)."""
    numbers = [int(match.group(1)) for revision in script.walk_revisions()
               if (match := re.fullmatch(rf"{re.escape(label)}_(\d+)", revision.revision))]
    return f"{label}_{max(numbers, default=0) + 1:04d}"
