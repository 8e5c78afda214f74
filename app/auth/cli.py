import click
from flask.cli import AppGroup

from app.auth.models import Role
from app.auth.passwords import password_problem
from app.auth.services import AuthError, register_user
from app.extensions import db

users_cli = AppGroup("users", help="User accounts.")


@users_cli.command("create-admin")
@click.option("--name", prompt=True)
@click.option("--email", default=None, help="Email address to sign in with.")
@click.option("--mobile", default=None, help="Indian mobile number to sign in with.")
@click.password_option(help="Prompted for, hidden, if not given.")
@click.option("--role", type=click.Choice([r.value for r in Role if r.is_staff]), default=Role.ADMIN.value)
def create_admin(name: str, email: str | None, mobile: str | None, password: str, role: str) -> None:
    """Create a staff user (the first admin, say)."""
    if not (email or mobile):
        raise click.UsageError("Give --email or --mobile.")
    problem = password_problem(password)
    if problem:
        raise click.UsageError(str(problem))
    try:
        user = register_user(name, password, mobile=mobile, email=email, role=Role(role))
    except AuthError as refusal:
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.name} (id {user.id}).")
