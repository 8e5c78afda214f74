"""`flask rotate-data-keys`: every encrypted field re-encrypted under the current key (docs/deployment.md)."""

import click

from app.crypto import ROTATE_BATCH, DataKeyError, encrypted_columns, rotate_column
from app.extensions import db


@click.command("rotate-data-keys")
@click.option("--batch", default=ROTATE_BATCH, show_default=True, help="Rows re-encrypted per transaction.")
def rotate_data_keys_command(batch: int) -> None:
    """Re-encrypt every encrypted field under the first key of DTECH_DATA_KEYS (run after putting a new key
    first; then the old ones can be removed). Safe to run again or after an interruption."""
    for table, name in encrypted_columns():
        count = 0
        try:
            for rewritten in rotate_column(table, name, batch):
                db.session.commit()  # one transaction a batch: an interrupted run keeps what it did
                count += rewritten
        except DataKeyError as error:  # what was done is kept; the message says where it stopped and why
            raise click.ClickException(str(error)) from None
        click.echo(f"{table.name}.{name}: {count} re-encrypted")
    click.echo("Every encrypted field is under the current key; older keys may now be removed.")
