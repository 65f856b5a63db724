"""Words of a job's title and description, found through each database's own full-text index.

PostgreSQL: a stored, generated `search_vector` column (`simple` configuration: no stemming,
no stop words) with a GIN index. SQLite: an FTS5 table over `jobs` kept in step by triggers.
Both match whole words, case-insensitively, every word of the query required.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

FTS_TABLE = "jobs_fts"
_WORD = re.compile(r"[^\W_]+")

# A column rather than an index on the expression: the planner keeps statistics on it, and
# checking a row against it (when an index on created_at drives the page) is cheap.
POSTGRES_DDL = (
    "ALTER TABLE jobs ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, title || ' ' || description)) STORED",
    "CREATE INDEX ix_jobs_search ON jobs USING gin (search_vector)",
)
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, description, content='jobs', content_rowid='rowid')",
    f"""CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, description) VALUES (new.rowid, new.title, new.description);
    END""",
    f"""CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
    END""",
    f"""CREATE TRIGGER jobs_fts_update AFTER UPDATE OF title, description ON jobs BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, description)
        VALUES ('delete', old.rowid, old.title, old.description);
        INSERT INTO {FTS_TABLE}(rowid, title, description) VALUES (new.rowid, new.title, new.description);
    END""",
)
SQLITE_DROP = (f"DROP TABLE IF EXISTS {FTS_TABLE}",)
POSTGRES_DROP = ("DROP INDEX IF EXISTS ix_jobs_search", "ALTER TABLE jobs DROP COLUMN IF EXISTS search_vector")
# What the DDL above makes outside the models, for autogenerate to leave alone (models.py).
UNMODELLED = frozenset({"jobs.search_vector", "ix_jobs_search", FTS_TABLE})


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def matching(terms: list[str], dialect: str):
    """A condition on `jobs`: every term is a word of the title or the description."""
    if dialect == "sqlite":
        query = " ".join(f'"{term}"' for term in terms)
        hits = (sa.select(sa.literal_column("rowid")).select_from(sa.table(FTS_TABLE))
                .where(sa.literal_column(FTS_TABLE).op("MATCH")(query)))
        return sa.literal_column("jobs.rowid").in_(hits)
    return sa.literal_column("jobs.search_vector").op("@@")(
        sa.func.plainto_tsquery(sa.literal_column("'simple'::regconfig"), " ".join(terms)))
