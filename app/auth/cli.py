"""`flask users …`, and `as_staff`: the commands that change money, bills or tariffs run as a named staff member
who proves it with their password, and are audited as theirs."""

import functools

import click
from flask.cli import AppGroup

from app.auth.models import Role
from app.auth.passwords import password_problem
from app.auth.services import AuthError, register_user, verify_staff
from app.extensions import db

users_cli = AppGroup("users", help="User accounts.")


def as_staff(command):
    """The command gets `actor`: the staff member named by --by, once their password is right (prompted, hidden;
    scripts may set DTECH_STAFF_PASSWORD). Wrong passwords count against that member's sign-in limit."""
    @click.option("--by", "by_login", required=True, help="Email or mobile of the staff member doing it (audited).")
    @click.option("--password", envvar="DTECH_STAFF_PASSWORD", prompt="Your password", hide_input=True,
                  help="Prompted for, hidden, if not given (or set DTECH_STAFF_PASSWORD).")
    @functools.wraps(command)
    def run_as_staff(*args, by_login: str, password: str, **kwargs):
        try:
            actor = verify_staff(by_login, password)
        except AuthError as refusal:
            db.session.commit()  # the failed attempt stays counted
            raise click.ClickException(f"{by_login}: {refusal}") from None
        return command(*args, actor=actor, **kwargs)

    return run_as_staff


@users_cli.command("create-admin")
@click.option("--name", prompt=True)
@click.option("--email", default=None, help="Email address to sign in with.")
@click.option("--mobile", default=None, help="Indian mobile number to sign in with.")
@click.password_option(help="Prompted for, hidden, if not given.")
@click.option("--role", type=click.Choice([r.value for r in Role if r.is_staff]), default=Role.ADMIN.value)
@click.option("--office", default=None, help="The region whose connections they see; without it: head office, all.")
def create_admin(name: str, email: str | None, mobile: str | None, password: str, role: str,
                 office: str | None) -> None:
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
    user.office = office
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.name} (id {user.id}).")
