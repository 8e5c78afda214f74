"""`flask push keys`: a VAPID key pair for a new install."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.notifications.push import new_vapid_key, public_key_for
from config import vapid_key_file

push_cli = AppGroup("push", help="Web push.")


@push_cli.command("keys")
@click.option("--force", is_flag=True, help="Replace the key development keeps (every browser must opt in again).")
def keys(force: bool) -> None:
    """Make a VAPID key pair. Development keeps it in instance/; elsewhere it is printed for the environment.
    Browsers subscribe with the public key: a new key ends every existing subscription."""
    private_key = new_vapid_key()
    if current_app.config.get("VAPID_KEYS_IN_INSTANCE"):
        path = vapid_key_file()
        if path.exists() and not force:
            click.echo(f"{path} exists; its public key: {public_key_for(path.read_text().strip())}")
            click.echo("Use --force to replace it (every browser must then opt in again).")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.chmod(0o600)  # a key replaced with --force too
        path.write_text(private_key)
        click.echo(f"Saved the private key to {path}; restart the app to use it.")
    else:
        click.echo("Set these in the environment of the web and task processes:")
        click.echo(f"DTECH_VAPID_PRIVATE_KEY={private_key}")
        click.echo("DTECH_VAPID_SUBJECT=mailto:<an address the push services can write to>")
    click.echo(f"Public key (given to the pages): {public_key_for(private_key)}")
