"""One database per service: engines, transactions, the kit's own tables and migrations."""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


# Secrets: SQLAlchemy's engine log at INFO writes statements and at DEBUG the rows they return (a password
# hash, a card's last digits); it stays at WARNING whatever the root level, and engines hide parameters.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


class ReadOnlyViolation(RuntimeError):
    """Something tried to write in a transaction opened with `Database.reading()`."""


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_reading(session: Session, _context, _instances) -> None:
    if session.info.get("readonly") and (session.new or session.dirty or session.deleted):
        raise ReadOnlyViolation("this transaction was opened for reading (Database.reading())")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset of its own)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class KitBase(DeclarativeBase):
    """Tables the kit keeps in every service's database (outbox, inbox, timers, …)."""


def normalize_url(url: str | URL) -> URL:
    url = make_url(url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def database_on_server(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (created if missing)."""
    url = normalize_url(server_url)
    ensure_database(url, name)
    return url.set(database=name).render_as_string(hide_password=False)


def ensure_database(server_url: URL, name: str) -> None:
    engine = sa.create_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool,
                             hide_parameters=True)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                try:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                except sa.exc.ProgrammingError as error:  # another process created it first
                    if "already exists" not in str(error):
                        raise
    finally:
        engine.dispose()


def drop_database(server_url: str | URL, name: str) -> None:
    engine = sa.create_engine(normalize_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool, hide_parameters=True)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


class Database:
    """An engine and a session factory; every transaction goes through `transaction()`."""

    def __init__(self, url: str | URL, *, pool_size: int = 10, max_overflow: int = 10):
        """`pool_size` connections kept open per pool, and `max_overflow` more while they are all taken (a
        further checkout waits); the one-statement reads have a pool of their own, opened on first use."""
        self.url = normalize_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.engine = self._sqlite_engine() if self.is_sqlite else sa.create_engine(
            self.url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, pool_recycle=1800,
            hide_parameters=True,
        )
        # One-statement reads by key (`read`): no transaction of ours and no ping before each.
        self.statement_engine = self.engine.execution_options(marketplace_readonly=True) if self.is_sqlite else \
            sa.create_engine(self.url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=1800,
                             hide_parameters=True, isolation_level="AUTOCOMMIT")
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads: the same pool, marked so that `begin` below takes no write lock on SQLite.
        self.read_sessions = sessionmaker(self.engine.execution_options(marketplace_readonly=True),
                                          expire_on_commit=False)

    def _sqlite_engine(self) -> Engine:
        if self.url.database and self.url.database != ":memory:":
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # pysqlite's own transaction handling is switched off so that BEGIN below is ours.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            # Locking: SQLite has no SELECT … FOR UPDATE; taking the write lock up front
            # serializes writers (as row locks do on PostgreSQL) and avoids busy upgrades.
            # A read (`reading()`) begins deferred: under WAL it sees one snapshot and waits for no writer.
            readonly = conn.get_execution_options().get("marketplace_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine

    @contextmanager
    def transaction(self, *, durable: bool = True, readonly: bool = False) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        `durable=False` is for bookkeeping that is safe to lose: on PostgreSQL the commit does not
        wait for its WAL flush (a crash of the server may undo it, never reorder or half-apply it).
        `readonly=True` is `reading()`."""
        if readonly:
            with self.reading() as session:
                yield session
            return
        with self.sessions() as session:
            with session.begin():
                if not durable and not self.is_sqlite:
                    session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
                yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session in one read-only transaction, for work that only looks. All its statements see one
        snapshot, so a read of several rows (a contract and its milestones, a balance over several
        accounts) never mixes states from before and after another transaction's commit: on PostgreSQL
        it is `REPEATABLE READ, READ ONLY` (which never fails to serialize: it writes nothing), on SQLite a
        deferred `BEGIN` under WAL, which also takes no write lock, so a slow step after it (a password
        check) holds up no writer. Anything it tries to write is refused."""
        with self.read_sessions() as session:
            session.info["readonly"] = True
            with session.begin():
                if not self.is_sqlite:
                    session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
                yield session

    def read(self, statement: sa.Executable, params: dict | None = None) -> list[sa.Row]:
        """The rows of one statement run on its own, the cheapest read there is: one round trip on
        PostgreSQL (one statement sees one snapshot, so no transaction is opened around it, and the
        connection is not pinged first: one found dead is dropped and the statement run once more)."""
        for attempt in (1, 2):
            try:
                with self.statement_engine.connect() as connection:
                    return list(connection.execute(statement, params or {}).all())
            except sa.exc.DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    @property
    def engines(self) -> tuple[Engine, ...]:
        return (self.engine,) if self.is_sqlite else (self.engine, self.statement_engine)

    def insert_new(self, session: Session, model, **values) -> bool:
        """`INSERT … ON CONFLICT DO NOTHING` in one round trip: whether the row is new."""
        table = model.__table__
        statement = self._insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
        return session.execute(statement).first() is not None

    def insert_or_update(self, session: Session, model, values: dict, **changes):
        """`INSERT … ON CONFLICT (primary key) DO UPDATE SET changes` in one round trip, the row back as `model`:
        new with `values`, else as it was with `changes` made (a column in them is the row's value before), and
        locked until commit as any updated row is."""
        statement = (self._insert(model).values(**values)
                     .on_conflict_do_update(index_elements=list(model.__table__.primary_key.columns), set_=changes)
                     .returning(model))
        return session.scalars(statement, execution_options={"populate_existing": True}).one()

    def _insert(self, target):
        """The dialect's `INSERT`, the one with `ON CONFLICT`."""
        return sqlite_insert(target) if self.is_sqlite else postgresql_insert(target)

    def update_if(self, session: Session, row, *conditions, **values) -> bool:
        """A conditional `UPDATE` of `row`, made only while `conditions` hold, its new values back in `row` in
        the same round trip (`RETURNING`). False when another step got there first; `row` then holds what that
        step wrote."""
        model = type(row)
        key = [column == value for column, value in zip(sa.inspect(model).primary_key, sa.inspect(row).identity or ())]
        statement = (sa.update(model).where(*key, *conditions).values(**values).returning(model)
                     .execution_options(synchronize_session=False, populate_existing=True))
        if session.scalar(statement) is None:
            session.refresh(row)
            return False
        return True

    def for_update(self, statement):
        """`SELECT … FOR UPDATE` where the database has row locks (SQLite locks the file)."""
        return statement if self.is_sqlite else statement.with_for_update()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database: Database, versions: Path) -> None:
    """Bring the kit's tables and one service's tables (in `versions`) to their newest revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join([str(MIGRATIONS / "versions"), str(versions)]))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
