"""The migrations make exactly the tables of the models: for the kit's tables and every service's,
on SQLite and PostgreSQL, a fresh database migrated to head leaves autogenerate nothing to write.
And `marketplace revision` writes what a model adds as the branch's next revision."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from marketplace import registry
from marketplace.cli import cli
from shared.db import UTCDateTime, migrate
from shared.revisions import Branch, differences, write_revision

NAMES = list(registry.available({}))


@pytest.mark.parametrize("name", NAMES)
class TestNoDrift:
    def test_the_services_migrations_match_its_models(self, name, make_database):
        service = registry.get(name)
        database = make_database(f"drift_{name}")
        migrate(database, service.migrations)
        assert differences(database, Branch.of(service)) == []

    def test_the_kits_migrations_match_its_tables(self, name, make_database):
        service = registry.get(name)
        database = make_database(f"drift_kit_{name}")
        migrate(database, service.migrations)
        assert differences(database, Branch.kit()) == []


class TestRevision:
    def test_a_model_change_becomes_the_branchs_next_revision(self, make_sqlite_database, tmp_path):
        service = registry.get("reviews")
        versions = tmp_path / "versions"
        shutil.copytree(service.migrations, versions)
        metadata = sa.MetaData()
        for model in service.metadata.sorted_tables:
            model.to_metadata(metadata)
        table = next(iter(metadata.tables.values()))
        table.append_column(sa.Column("flagged_at", UTCDateTime))
        branch = Branch(service.name, metadata, versions)
        database = make_sqlite_database("revision")

        written = write_revision(database, branch, "flag a row")
        assert written is not None and written.parent == versions
        assert written.name == "reviews_0002_flag_a_row.py"
        text = written.read_text()
        assert "down_revision = 'reviews_0001'" in text and "flagged_at" in text
        assert "from shared.db import UTCDateTime" in text

        assert write_revision(database, branch, "again") is None, "nothing left to write once it is applied"
        assert "flagged_at" in {column["name"] for column in sa.inspect(database.engine).get_columns(table.name)}
        assert differences(database, branch) == []
        assert sorted(path.name for path in versions.glob("*.py")) == ["reviews_0001_initial.py",
                                                                       "reviews_0002_flag_a_row.py"]


class TestRevisionCommand:
    def test_with_nothing_changed_it_writes_nothing_and_says_so(self):
        result = CliRunner().invoke(cli, ["revision", "reviews", "-m", "nothing"])

        assert result.exit_code == 0, result.output
        assert "reviews: the models match the migrations; nothing to write" in result.output

    def test_an_unknown_branch_is_refused(self):
        result = CliRunner().invoke(cli, ["revision", "nope", "-m", "x"])

        assert result.exit_code == 2 and "nope" in result.output
