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


def test_the_encryption_migration_turns_plain_text_into_tokens_and_back(empty_database_url):
    """0025: addresses and complaint texts written before encryption become tokens the app reads; down again, text."""
    from datetime import UTC, date, datetime

    from cryptography.fernet import Fernet
    from sqlalchemy import MetaData, select, text

    from app.accounts.models import Account
    from app.support.models import Ticket

    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = empty_database_url
    migrated = create_app(config)
    when = datetime(2026, 11, 1, tzinfo=UTC)
    address, description = "Flat 12, Shanti Niwas, Pune", "No power since 8 am"
    with migrated.app_context():
        upgrade(revision="0024")
        tables = MetaData()
        tables.reflect(db.engine, only=["accounts", "tickets", "ticket_messages"])
        with db.engine.begin() as conn:
            conn.execute(tables.tables["accounts"].insert().values(
                id=1, consumer_number="170000000001", holder_name="Asha Patil", address=address, region="Pune",
                category="LT-I(B) Residential", sanctioned_load_kw=3, phase="single", billing_cycle="monthly",
                cycle_offset=0, subsidy_opted=False, bpl=False, paperless=False, status="active",
                connected_on=date(2015, 1, 1), created_at=when))
            conn.execute(tables.tables["tickets"].insert().values(
                id=1, number="CMP-2611-000001", account_id=1, category="no_supply", subject=description,
                status="open", created_at=when, updated_at=when, due_at=when))
            conn.execute(tables.tables["ticket_messages"].insert().values(
                id=1, ticket_id=1, body=description, internal=False, created_at=when))

        upgrade()
        key = Fernet(config.DATA_KEYS[0])
        with db.engine.connect() as conn:
            stored = [conn.execute(text(f"SELECT {column} FROM {table}")).scalar_one()
                      for table, column in (("accounts", "address"), ("tickets", "subject"),
                                            ("ticket_messages", "body"))]
        assert address not in stored[0] and description not in stored[1] + stored[2]
        assert [key.decrypt(token.encode()).decode() for token in stored] == [address, description, description]
        assert db.session.scalars(select(Account)).one().address == address
        assert db.session.scalars(select(Ticket)).one().messages[0].body == description
        db.session.remove()

        downgrade(revision="0024")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT address FROM accounts")).scalar_one() == address
            assert conn.execute(text("SELECT subject FROM tickets")).scalar_one() == description
            assert conn.execute(text("SELECT body FROM ticket_messages")).scalar_one() == description
        with db.engine.begin() as conn:  # older downgrades copy tables, which rows referring to them would stop
            for table in ("ticket_messages", "tickets", "accounts"):
                conn.execute(text(f"DELETE FROM {table}"))
        downgrade(revision="base")
        db.engine.dispose()
