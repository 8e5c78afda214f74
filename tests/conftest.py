"""Fixtures: a fixed clock, an app on SQLite (default) or on PostgreSQL (TEST_DATABASE_URL), a clean database
per test, a test client, `login_as(role)`, and the message outbox."""

import logging
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import time_machine
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import create_app
from app.demo.seed import DEMO_PASSWORD
from app.extensions import db
from app.i18n import TRANSLATIONS_DIR
from app.web.logs import log_handler
from app.web.static_files import build_if_stale
from config import TestingConfig, new_data_key, normalise_database_url, sqlite_url
from tests import factories

RUN_LOG = pytest.StashKey[tuple]()

# One data key (app/crypto/) for the whole run, in the environment: the processes a test starts (a consumer, a
# command) read what the test wrote, and the test reads what they wrote.
os.environ.setdefault("DTECH_DATA_KEYS", new_data_key())
# Production settings need the site's address; the testing settings ignore it (links carry the client's host).
os.environ.setdefault("DTECH_PUBLIC_URL", "https://bills.test.example")

# The suite's "now": a Wednesday in mid-November, 10:30 in India. Tests never read the real clock; a test that
# needs another moment moves the `clock` fixture (clock.move_to(...)), and calendar tests travel to awkward days.
SUITE_NOW = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    """Every test starts at SUITE_NOW; time then runs on from there as it does in production (so rows written
    one after another keep their order). `clock.move_to(when, tick=False)` stops it at a chosen moment."""
    with time_machine.travel(SUITE_NOW, tick=True) as traveller:
        yield traveller


def missing(what: str) -> None:
    """A test needs something this machine lacks: skipped on a developer's machine, a failure in CI (where
    .ci/run installs everything), so that a skip can never hide a missing install step."""
    if os.environ.get("CI") or os.environ.get("DTECH_REQUIRE_TOOLS"):
        pytest.fail(f"{what} is missing (.ci/run installs it)")
    pytest.skip(f"{what} is missing")


def compile_stale_catalogues() -> None:
    """The compiled catalogues (.mo) are not in git and `make` builds them; for a bare `pytest` after a clone,
    compile any that is missing or older than its .po (tests/functional/test_i18n.py checks the .po itself)."""
    for po in TRANSLATIONS_DIR.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        partial = mo.with_name(f"{mo.name}.{os.getpid()}.tmp")
        with partial.open("wb") as target:
            write_mo(target, catalog)
        partial.replace(mo)


def pytest_configure(config) -> None:
    compile_stale_catalogues()  # before any app reads (and caches) its translations
    build_if_stale()  # the static build (hashed names, .br, .gz) that `make` writes, for a bare `pytest` too


# The whole run's log as production writes it (JSON, the request's context, personal data masked), kept in a file
# and searched at the end: the demo's mobile numbers and every password the tests type must be in no line.
NEVER_LOGGED = ("9876500001", "9876500002", "9876500003", "98765 00001", DEMO_PASSWORD, factories.PASSWORD,
                "monsoon-meter-42", "kharif-harvest-77", "a-long-new-password")


def pytest_sessionstart(session) -> None:
    cache = getattr(session.config, "cache", None)  # None with -p no:cacheprovider
    path = Path(cache.mkdir("logs") if cache else tempfile.mkdtemp(prefix="dtech-run-log-")) / "run.log"
    handler = log_handler("json", path.open("w", encoding="utf-8"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, logging.INFO))
    session.config.stash[RUN_LOG] = (handler, path)


def pytest_sessionfinish(session, exitstatus) -> None:
    handler, path = session.config.stash.get(RUN_LOG, (None, None))
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    handler.close()
    leaks = [(number, line[:200]) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for secret in NEVER_LOGGED if secret in line]
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"The run's log ({path}) holds a mobile number or password:", red=True)
        for number, line in leaks[:10]:
            reporter.write_line(f"  line {number}: {line}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def ensure_postgres_database(url: str) -> None:
    """Create the test database if it does not exist yet (connecting to the server's `postgres` db)."""
    parsed = make_url(url)
    admin_dsn = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def test_database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = normalise_database_url(url)
        ensure_postgres_database(url)
        return url
    # A file, not :memory:, so the browser tests' server thread sees the same database.
    return sqlite_url(tmp_path_factory.mktemp("db") / "test.sqlite3")


class RequestIsolatingClient(FlaskClient):
    """Each request runs in its own app context (a fresh `g` and database session), as in production,
    not in the test's context; afterwards the test's session ends its transaction to see what it wrote."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():  # a client used from another thread has no test context to refresh
            db.session.commit()
        return response


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = test_database_url(tmp_path_factory)
    app = create_app(config, UPLOAD_FOLDER=str(tmp_path_factory.mktemp("uploads")))
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_all_tables(attempts: int = 5) -> None:
    """Empty every table. A browser test's server thread may still be finishing a request (a service worker's
    background fetch): PostgreSQL can then report a deadlock with TRUNCATE, so the cleanup waits and retries."""
    tables = list(reversed(db.metadata.sorted_tables))
    for attempt in range(attempts):
        try:
            if db.engine.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    db.session.execute(table.delete())
            db.session.commit()
            return
        except OperationalError:
            db.session.rollback()
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


@pytest.fixture(autouse=True)
def app_context(app):
    """Each test runs inside an app context and leaves an empty database behind."""
    with app.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    from app.messaging.senders import message_sender

    sender = message_sender()
    sender.outbox.clear()
    return sender.outbox


@pytest.fixture
def login_as(client):
    """login_as("admin") → a new user of that role, signed in on `client`."""

    def login(role: str = "customer", **fields):
        user = factories.make_user(role=role, **fields)
        db.session.commit()
        response = client.post("/login", data={"login": user.email or user.mobile, "password": factories.PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login
