"""`flask --app wsgi tariff …`: quote a bill from a tariff file, and validate tariff files.

`quote` and `validate` read files only: they need no app context and no database. Commands that do
(import, export) can be added to the same group with `@tariff_cli.command()` and
`flask.cli.with_appcontext`; the app registers the group with `app.cli.add_command(tariff_cli)`.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.accounts.models import Account
from app.auth.cli import as_staff
from app.billing import corrections
from app.billing.compose import Cycle
from app.billing.models import Bill, CorrectionAction
from app.billing.runs import CHUNK_SIZE, run_bills
from app.billing.services import (
    TariffApprovalRefused,
    TariffImportError,
    approve_tariff,
    find_version,
    propose_tariff,
    reject_tariff,
    set_monthly_param,
)
from app.billing.tariff import (
    NAME,
    NUMBER,
    PHASES,
    Quote,
    QuoteInput,
    Tariff,
    TariffError,
    parse_tariff,
    quote,
)
from app.extensions import db

# QuoteInput names its fields; on the command line the user knows them as options.
_OPTIONS = {
    "units": "--units",
    "days": "--days",
    "period_from": "--from",
    "period_to": "--to",
    "load_kw": "--load-kw",
    "phase": "--phase",
}


class DecimalType(click.ParamType):
    """A non-negative decimal such as 221 or 2.5, parsed exactly (never through float)."""

    name = "decimal"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if not NUMBER.fullmatch(str(value)) or str(value).startswith("-"):
            self.fail(f"{value!r} is not a non-negative decimal number", param, ctx)
        return Decimal(value)


class IsoDateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):  # fromisoformat alone also takes 20240401
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(f"{value!r} is not a date like 2024-04-01", param, ctx)


class ParamAssignmentType(click.ParamType):
    """NAME=VALUE for a tariff parameter, e.g. fac_rate=0.25."""

    name = "NAME=VALUE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, Decimal]:
        if isinstance(value, tuple):
            return value
        name, _, number = value.partition("=")
        if not NAME.fullmatch(name) or not NUMBER.fullmatch(number):
            self.fail(f"{value!r} is not NAME=VALUE with a decimal VALUE (e.g. fac_rate=0.25)", param, ctx)
        return name, Decimal(number)


@click.group("tariff")
def tariff_cli() -> None:
    """Tariffs in the dtech-tariff/1 format."""


def read_tariff(path: Path) -> Tariff:
    """The validated tariff in a file; every problem becomes a ClickException (no traceback)."""
    try:
        return parse_tariff(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path}: cannot read: {error}") from None
    except TariffError as error:
        raise click.ClickException(f"{path} does not validate:\n" + _indented(error.problems)) from None


def _indented(problems: tuple[str, ...]) -> str:
    return "\n".join(f"  {problem}" for problem in problems)


def _as_options(problem: str) -> str:
    """`load_kw: …` -> `--load-kw: …`, `params.x: …` -> `--param x: …`."""
    place, separator, message = problem.partition(": ")
    if place in _OPTIONS:
        return f"{_OPTIONS[place]}{separator}{message}"
    if place.startswith("params."):
        return f"--param {place.removeprefix('params.')}{separator}{message}"
    return problem


def _params(assignments: tuple[tuple[str, Decimal], ...]) -> dict[str, Decimal]:
    params: dict[str, Decimal] = {}
    for name, value in assignments:
        if name in params:
            raise click.UsageError(f"--param {name} is given twice")
        params[name] = value
    return params


@tariff_cli.command("quote")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--units", required=True, type=DecimalType(), help="Units consumed in the period.")
@click.option("--days", type=click.IntRange(min=1), help="Days in the period (optional with --from/--to).")
@click.option("--from", "period_from", type=IsoDateType(), help="First day of the period (inclusive).")
@click.option("--to", "period_to", type=IsoDateType(), help="Last day of the period (inclusive).")
@click.option("--load-kw", type=DecimalType(), help="Sanctioned load in kW.")
@click.option("--phase", type=click.Choice(PHASES), help="Supply phase (default: single).")
@click.option("--flag", "flags", multiple=True, metavar="NAME", help="A consumer flag, e.g. subsidy_opted.")
@click.option("--param", "params", multiple=True, type=ParamAssignmentType(), help="A tariff parameter.")
@click.option("--json", "as_json", is_flag=True, help="Print the quote as one JSON object.")
def quote_command(
    file: Path,
    units: Decimal,
    days: int | None,
    period_from: date | None,
    period_to: date | None,
    load_kw: Decimal | None,
    phase: str | None,
    flags: tuple[str, ...],
    params: tuple[tuple[str, Decimal], ...],
    as_json: bool,
) -> None:
    """Quote the bill lines of FILE for one consumer's period."""
    tariff = read_tariff(file)
    try:
        inp = QuoteInput(
            units=units,
            days=days,
            period_from=period_from,
            period_to=period_to,
            load_kw=load_kw,
            phase=phase,
            flags=frozenset(flags),
            params=_params(params),
        )
        result = quote(tariff, inp)
    except TariffError as error:
        raise click.ClickException("\n".join(_as_options(problem) for problem in error.problems)) from None
    click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False) if as_json else render(tariff, result))


def render(tariff: Tariff, result: Quote) -> str:
    """A quote as a table: one row per line, its detail rows under it, then the total."""
    data = result.to_json()  # the same number formatting as --json
    rows: list[tuple[str, str, str]] = []
    for line in data["lines"]:
        rows.append((line["code"], line["label"], line["amount"]))
        rows += [("", f"  {d['quantity']} x {d['rate']} = {d['amount']}", "") for d in line["details"]]
    widths = [max(len(row[column]) for row in [*rows, ("", "Total", data["total"])]) for column in range(3)]

    def row(code: str, label: str, amount: str) -> str:
        return f"{code:<{widths[0]}}  {label:<{widths[1]}}  {amount:>{widths[2]}}".rstrip()

    until = f" to {tariff.effective_to}" if tariff.effective_to else ""
    return "\n".join(
        [
            f"{tariff.name} ({tariff.code}, effective {tariff.effective_from}{until})",
            f"Period: {result.days} days, factor {data['factor']}",
            "",
            *(row(*cells) for cells in rows),
            "-" * (sum(widths) + 4),
            row("", "Total", data["total"]),
        ]
    )


@tariff_cli.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check tariff FILES against dtech-tariff/1; exit non-zero if any is invalid."""
    invalid = 0
    for path in files:
        try:
            tariff = read_tariff(path)
        except click.ClickException as error:
            invalid += 1
            click.echo(error.message)
        else:
            click.echo(f"{path}: OK ({tariff.code}, effective {tariff.effective_from})")
    if invalid:
        raise click.ClickException(f"{invalid} of {len(files)} files do not validate")


# --- Commands on the database (they need the app: `flask --app wsgi tariff import …`).


@tariff_cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
@as_staff
def import_command(files: tuple[Path, ...], actor) -> None:
    """Propose FILES as tariff versions: each is used only once another billing officer or administrator
    approves it (`tariff approve`). Bills already issued keep the version they used."""
    for path in files:
        read_tariff(path)  # validation errors name the place
        try:
            version = propose_tariff(path.read_text(encoding="utf-8"), actor)
        except TariffImportError as error:
            db.session.rollback()
            raise click.ClickException(f"{path}: {error}") from None
        db.session.commit()
        click.echo(f"{path}: {version.tariff.code} effective {version.effective_from} stored (version {version.id}, "
                   f"{version.state.value})")


def _decide_tariff(decide, version_id: int) -> None:
    try:
        version = decide()
    except TariffApprovalRefused as refusal:
        db.session.rollback()
        raise click.ClickException(f"version {version_id}: {_TARIFF_REFUSALS[refusal.code]}") from None
    db.session.commit()
    click.echo(f"{version.tariff.code} effective {version.effective_from} (version {version.id}): "
               f"{version.state.value}")


_TARIFF_REFUSALS = {"approval_not_admin": "only a billing officer or an administrator decides",
                    "approval_missing": "no such version",
                    "approval_own": "you imported it yourself; another billing officer or administrator decides",
                    "approval_decided": "already decided",
                    "reason_required": "give the reason it is rejected (--note)"}


@tariff_cli.command("approve")
@click.argument("version_id", type=int)
@with_appcontext
@as_staff
def approve_tariff_command(version_id: int, actor) -> None:
    """Approve the proposed tariff VERSION_ID (not by the person who imported it): it is in force from now."""
    _decide_tariff(lambda: approve_tariff(version_id, actor), version_id)


@tariff_cli.command("reject")
@click.argument("version_id", type=int)
@click.option("--note", default="", help="Why it is rejected.")
@with_appcontext
@as_staff
def reject_tariff_command(version_id: int, note: str, actor) -> None:
    """Reject the proposed tariff VERSION_ID: it is never used."""
    _decide_tariff(lambda: reject_tariff(version_id, note, actor), version_id)


@tariff_cli.command("export")
@click.argument("code")
@click.option("--on", "on_day", type=IsoDateType(), help="The version in force on this day (default: the latest).")
@with_appcontext
def export_command(code: str, on_day: date | None) -> None:
    """Print the stored document of tariff CODE exactly as it was imported."""
    version = find_version(code, on_day)
    if version is None:
        raise click.ClickException(f"no version of tariff {code}" + (f" in force on {on_day}" if on_day else ""))
    click.echo(version.document, nl=False)


@tariff_cli.command("set-param")
@click.argument("code")
@click.option("--month", required=True, help="The month, YYYY-MM.")
@click.argument("assignments", nargs=-1, required=True, type=ParamAssignmentType())
@with_appcontext
@as_staff
def set_param_command(code: str, month: str, assignments: tuple[tuple[str, Decimal], ...], actor) -> None:
    """Set monthly parameters of tariff CODE, e.g. `set-param MH-MSEDCL-LT1B --month 2026-11 fac_rate=0.35`."""
    try:
        first_day = Cycle.parse(month).first_day
        for name, value in _params(assignments).items():
            set_monthly_param(code, first_day, name, value, actor=actor)
    except (ValueError, TariffImportError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{code} {month}: " + ", ".join(f"{n}={v}" for n, v in assignments))


bills_cli = AppGroup("bills", help="Bill runs and bills.")


@bills_cli.command("run")
@click.option("--cycle", required=True, help="The billing cycle, YYYY-MM.")
@click.option("--region", default=None, help="Only this region.")
@click.option("--dry-run", is_flag=True, help="Compute and report; write nothing.")
@click.option("--issued-on", type=IsoDateType(), default=None, help="Issue date (default: today in India).")
@click.option("--chunk-size", type=click.IntRange(min=1), default=CHUNK_SIZE, show_default=True)
@as_staff
def run_command(cycle: str, region: str | None, dry_run: bool, issued_on: date | None, chunk_size: int,
                actor) -> None:
    """Bill every connection due in CYCLE exactly once. Safe to run again, or after a crash."""
    try:
        parsed = Cycle.parse(cycle)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--cycle") from None
    try:
        summary = run_bills(parsed, region=region, issued_on=issued_on, dry_run=dry_run, chunk_size=chunk_size,
                            actor=actor)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--cycle") from None
    verb = "would bill" if dry_run else "billed"
    click.echo(f"{summary.cycle}: {verb} {summary.billed} of {summary.total} due connections, "
               f"current charges {summary.amount}; {len(summary.errors)} could not be billed")
    numbers = dict(db.session.execute(select(Account.id, Account.consumer_number)
                                      .where(Account.id.in_(list(summary.errors)[:50]))).all())
    for account_id, reason in sorted(summary.errors.items())[:50]:
        click.echo(f"  consumer {numbers.get(account_id, account_id)}: {reason}")


def _bill_by_number(number: str):
    bill = db.session.scalar(select(Bill).where(Bill.number == number))
    if bill is None:
        raise click.ClickException(f"no bill {number}")
    return bill


def _propose(action: CorrectionAction, number: str, reason: str, actor) -> None:
    bill = _bill_by_number(number)
    try:
        proposal = corrections.propose(action, bill.account_id, reason, actor, corrections.new_idempotency_key(),
                                       bill_id=bill.id)
    except corrections.CorrectionRefused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(f"{number}: {action.value} proposed as correction {proposal.id}; it takes effect when another "
               f"administrator approves it (`flask bills approve {proposal.id} --by …`)")


@bills_cli.command("cancel")
@click.argument("number")
@click.option("--reason", required=True)
@with_appcontext
@as_staff
def cancel_command(number: str, reason: str, actor) -> None:
    """Propose to cancel bill NUMBER with a credit note (another administrator approves it)."""
    _propose(CorrectionAction.CANCEL, number, reason, actor)


@bills_cli.command("revise")
@click.argument("number")
@click.option("--reason", required=True)
@with_appcontext
@as_staff
def revise_command(number: str, reason: str, actor) -> None:
    """Propose to revise bill NUMBER from the current readings and tariff (another administrator approves it)."""
    _propose(CorrectionAction.REVISE, number, reason, actor)


@bills_cli.command("approve")
@click.argument("correction_id", type=int)
@with_appcontext
@as_staff
def approve_command(correction_id: int, actor) -> None:
    """Approve correction CORRECTION_ID (an administrator other than its proposer): it is made now."""
    try:
        correction = corrections.approve(correction_id, actor)
    except corrections.CorrectionRefused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    made = correction.details.get("after", {})
    click.echo(f"correction {correction.id} ({correction.action.value}) approved: "
               + ", ".join(f"{name} {value}" for name, value in made.items()))


@bills_cli.command("reject")
@click.argument("correction_id", type=int)
@click.option("--note", default="", help="Why it is rejected.")
@with_appcontext
@as_staff
def reject_command(correction_id: int, note: str, actor) -> None:
    """Reject correction CORRECTION_ID: nothing changes."""
    try:
        corrections.reject(correction_id, note, actor)
    except corrections.CorrectionRefused as refusal:
        db.session.rollback()
        raise click.ClickException(str(refusal)) from None
    db.session.commit()
    click.echo(f"correction {correction_id} rejected; nothing changed")
