import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.accounts.models import Account
from app.demo.seed import demo_logins, seed
from app.extensions import db

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database already holds connections.")
def seed_command(if_empty: bool) -> None:
    """Create the demo utility (idempotent: running it again adds only what is missing)."""
    if not current_app.config.get("DEMO_DATA_ALLOWED"):
        raise click.ClickException("Demo data is refused in this configuration (production?).")
    if if_empty and db.session.scalar(select(Account.id).limit(1)):
        click.echo("The database already has data; demo seed skipped.")
    else:
        created = seed()
        db.session.commit()
        click.echo("Demo data: " + ", ".join(f"{n} {what}" for what, n in created.items()) + " created.")
    click.echo("Demo logins:")
    for who, login, password in demo_logins():
        click.echo(f"  {who:<22} {login:<24} {password}")
