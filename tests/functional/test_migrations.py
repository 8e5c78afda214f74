"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from config import TestingConfig, sqlite_url
from tests.conftest import ensure_postgres_database


@pytest.fixture
def empty_database_url(app, tmp_path):
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        yield sqlite_url(tmp_path / "migrations.sqlite3")
        return
    migrations_url = url.set(database=f"{url.database}_migrations").render_as_string(hide_password=False)
    ensure_postgres_database(migrations_url)
    engine = create_engine(migrations_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    yield migrations_url


@pytest.mark.filterwarnings("ignore:.*expression-based index")  # upper(serial): neither side can reflect it
def test_migrations_match_the_models_and_run_down_again(empty_database_url):
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = empty_database_url
    migrated = create_app(config)
    with migrated.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"bills", "ledger_entries", "payments", "push_subscriptions"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()



def test_migrations_import_no_app_code():
    """A migration must build the same schema years later, whatever app.db then says: plain SQLAlchemy only."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "migrations"
    for path in [folder / "script.py.mako", *sorted((folder / "versions").glob("*.py"))]:
        source = path.read_text()
        if path.suffix == ".mako":
            assert "import app" not in source and "from app" not in source, path.name
            continue
        for node in ast.walk(ast.parse(source)):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name == "app" or name.startswith("app.") for name in names), (path.name, names)


def test_autogenerate_writes_the_apps_types_as_plain_sqlalchemy(app):
    """migrations/env.py renders app.db.UTCDateTime as the DateTime it stores, so a new migration imports no app."""
    import runpy
    from pathlib import Path
    from unittest import mock

    from app.db import UTCDateTime

    env = Path(__file__).resolve().parents[2] / "migrations" / "env.py"
    with mock.patch("alembic.context") as context:
        context.is_offline_mode.return_value = True
        context.config.config_file_name = None
        with mock.patch("logging.config.fileConfig"):
            render_item = runpy.run_path(str(env))["render_item"]
    assert render_item("type", UTCDateTime(), None) == "sa.DateTime(timezone=True)"
