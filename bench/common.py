"""What the benchmarks share: a database of their own, on SQLite or on a PostgreSQL server."""

import argparse
import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from config import TestingConfig, normalise_database_url, sqlite_url


def database_arguments(parser: argparse.ArgumentParser, default_name: str) -> None:
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a PostgreSQL server; the benchmark creates and empties its own database there")
    parser.add_argument("--database-name", default=default_name, help="the benchmark's own database on it")


def bench_database(url: str | None, name: str) -> str:
    """A temporary SQLite file, or the database `name` on the PostgreSQL server of `url` (created if missing)."""
    if not url:
        return sqlite_url(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    from tests.conftest import ensure_postgres_database

    bench_url = make_url(normalise_database_url(url)).set(database=name).render_as_string(False)
    ensure_postgres_database(bench_url)
    return bench_url


def bench_app(args: argparse.Namespace, **settings):
    """The app on the benchmark's own database (database_arguments), with any other settings given."""
    from app import create_app

    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = bench_database(args.database_url, args.database_name)
    for name, value in settings.items():
        setattr(config, name, value)
    return create_app(config)
