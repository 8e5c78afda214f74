"""`flask backup PATH` and `flask restore PATH`: a SQLite site's database copied to a file and back.

The copy uses SQLite's online backup API, so it is consistent while the app and the task worker go on writing;
it is written beside PATH first and renamed when complete and checked (`PRAGMA integrity_check`), so a backup
that was interrupted never looks like a good one. Restoring copies a backup over the live database the same way:
stop gunicorn and the task worker first (docs/deployment.md), so nothing writes in between.

PostgreSQL is backed up with its own tools (pg_dump, and WAL archiving for point-in-time recovery): see
docs/deployment.md. These commands say so rather than half-doing it.
"""

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import click
from alembic.script import ScriptDirectory
from flask.cli import with_appcontext
from sqlalchemy import text

from app.extensions import db, migrate


class BackupError(Exception):
    """What an operator must be told: the backup or restore did not happen."""


def backup_to(path: Path) -> str:
    """Copy the live SQLite database to `path` (replaced if it exists). Returns the schema revision it holds."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)  # everyone's personal data: readable by the app's user only, whatever the umask
    try:
        with closing(_live_connection()) as live, closing(sqlite3.connect(partial)) as copy:
            live.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (the live one may be in WAL mode)
        revision = _checked(partial, "the database")
    except BaseException:
        for leftover in (partial, *(partial.with_name(partial.name + end) for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return revision


def restore_from(path: Path) -> str:
    """Replace the live SQLite database with the backup at `path`. Returns the schema revision it holds."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    revision = _checked(path, str(path))
    db.session.remove()
    db.engine.dispose()  # no pooled connection keeps the old schema or a read open
    with closing(sqlite3.connect(path)) as backup, closing(_live_connection()) as live:
        backup.backup(live)
    db.engine.dispose()
    return revision


def _live_connection() -> sqlite3.Connection:
    if db.engine.dialect.name != "sqlite":
        raise BackupError("this database is PostgreSQL: back it up with pg_dump and restore with pg_restore "
                          "(docs/deployment.md, Backups)")
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return sqlite3.connect(database)


def _checked(path: Path, name: str) -> str:
    """The schema revision of the SQLite database at `path` (called `name` in messages), once it is known to be
    whole and this application's (migrated with `flask db upgrade`)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as copy:
            (integrity,) = copy.execute("PRAGMA integrity_check").fetchone()
            (revision,) = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{name} is not a database of this application, migrated with `flask db upgrade` "
                          f"({error})") from None
    if integrity != "ok":
        raise BackupError(f"{name} is damaged: {integrity}")
    if _scripts().get_revision(revision) is None:
        raise BackupError(f"{name} holds schema {revision}, which this version of the application does not know")
    return revision


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.get_config())


def head_revision() -> str:
    return _scripts().get_current_head()


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH, consistently, while the app runs."""
    try:
        revision = backup_to(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up to {path} (schema {revision}, {path.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm: the live database is replaced by the backup.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH (stop gunicorn and the task worker first)."""
    if not yes:
        raise click.ClickException("this replaces everything in the database with the backup: add --yes to do it")
    try:
        revision = restore_from(path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    users = db.session.scalar(text("SELECT count(*) FROM users"))
    click.echo(f"restored from {path} (schema {revision}; {users} users)")
    if revision != head_revision():
        click.echo("the backup's schema is older than this version's: run `flask db upgrade` next")
