"""`flask backup` and `flask restore` on a SQLite site: back up, change data, restore, and the data are as they
were at the backup; a damaged or foreign file is refused with a reason; PostgreSQL is sent to pg_dump."""

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.auth.models import User
from app.extensions import db
from config import TestingConfig, sqlite_url
from tests import factories


@pytest.fixture
def site(tmp_path):
    """A SQLite site of its own (a file, migrated to head), whatever database the suite runs on."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = sqlite_url(tmp_path / "site.sqlite3")
    app = create_app(config)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def names() -> set[str]:
    db.session.commit()
    return set(db.session.scalars(select(User.name)))


def test_a_restore_brings_back_the_data_as_they_were_at_the_backup(site, tmp_path):
    cli = site.test_cli_runner()
    factories.make_user(name="Asha Patil")
    db.session.commit()
    backup = tmp_path / "backups" / "site-2026-12-04.sqlite3"
    backup.parent.mkdir()

    result = cli.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert f"backed up to {backup}" in result.output and list(backup.parent.iterdir()) == [backup]  # one file
    assert backup.stat().st_mode & 0o777 == 0o600  # personal data: the app's user only

    db.session.execute(User.__table__.update().values(name="Changed"))
    factories.make_user(name="Ravi Kumar")
    db.session.commit()
    assert names() == {"Changed", "Ravi Kumar"}

    refused = cli.invoke(args=["restore", str(backup)])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert names() == {"Changed", "Ravi Kumar"}  # nothing happened without the confirmation

    result = cli.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert "restored" in result.output and "1 users" in result.output
    assert names() == {"Asha Patil"}


@pytest.mark.parametrize("content, reason", [
    (b"not a database at all, just text" * 100, "is not a database of this application"),
    (b"", "is not a database of this application"),  # an empty file: no alembic_version in it
])
def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(site, tmp_path, content, reason):
    factories.make_user(name="Asha Patil")
    db.session.commit()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(content)
    result = site.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0 and reason in result.output
    assert names() == {"Asha Patil"}


def test_a_missing_backup_file_is_named(site, tmp_path):
    result = site.test_cli_runner().invoke(args=["restore", str(tmp_path / "nowhere.sqlite3"), "--yes"])
    assert result.exit_code != 0 and "no such file" in result.output


def test_the_suites_own_database_is_not_backed_up_by_these_commands(app, tmp_path):
    """The suite's database is PostgreSQL (sent to pg_dump) or SQLite built without the migrations (not this
    application's, as far as a backup can tell): refused with what to do, and no file left behind."""
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.sqlite3")])
    assert result.exit_code != 0
    expected = "pg_dump" if db.engine.dialect.name == "postgresql" else "flask db upgrade"
    assert expected in result.output and list(tmp_path.iterdir()) == []
