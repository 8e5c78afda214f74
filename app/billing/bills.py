"""Issued bills: what they say (the Statement), their status, and their correction by credit note and revision."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select

from app import audit
from app.accounts.models import Account
from app.billing import ledger
from app.billing import tariff as engine
from app.billing.compose import Cycle
from app.billing.models import Bill, TariffVersion
from app.billing.runs import compose_for, insert_bills
from app.billing.statement import MeterRead, SlabRow, Statement, StatementLine, UsagePoint
from app.db import today_in_india
from app.extensions import db
from app.metering.consumption import RegisterRead, register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus
from app.payments.upi import upi_link


class BillCorrectionError(Exception):
    pass


def payment_terms(bill: Bill) -> engine.PaymentTerms:
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    return engine.parse_tariff(version.document).payment_terms


def prompt_rebate(bill: Bill, terms: engine.PaymentTerms, today: date) -> tuple[Decimal, date | None]:
    """The best prompt-payment rebate still open today: (amount, pay-by date), or (0, None)."""
    for tier in sorted(terms.prompt_rebate, key=lambda t: t.within_days):
        pay_by = bill.issued_on + timedelta(days=tier.within_days)
        if today <= pay_by:
            amount = (bill.current_charges * tier.percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return amount, pay_by
    return Decimal("0.00"), None


def latest_bills(account_id: int, limit: int = 6) -> list[Bill]:
    """The account's bills in force, newest first (a revision replaces the bill it revises)."""
    bills = db.session.scalars(
        select(Bill).where(Bill.account_id == account_id)
        .order_by(Bill.period_start.desc(), Bill.revision.desc()).limit(limit * 2)
    ).all()
    cancelled = ledger.cancelled_bill_ids(b.id for b in bills)
    seen, in_force = set(), []
    for bill in bills:
        if bill.cycle in seen or bill.id in cancelled:
            continue
        seen.add(bill.cycle)
        in_force.append(bill)
    return in_force[:limit]


def bill_status(bill: Bill, balance: Decimal, today: date) -> str:
    """paid, due or overdue, from the ledger: a bill is paid when the account owes nothing now."""
    if balance <= 0:
        return "paid"
    return "overdue" if today > bill.due_date else "due"


def _reads(bill: Bill) -> tuple[MeterRead, ...]:
    if bill.estimated or bill.closing_reading_id is None:
        return ()
    opening = db.session.get(Reading, bill.opening_reading_id)
    closing = db.session.get(Reading, bill.closing_reading_id)
    meters = {m.id: m for m in db.session.scalars(select(Meter).where(Meter.id.in_({opening.meter_id,
                                                                                     closing.meter_id})))}
    if opening.meter_id == closing.meter_id:
        meter = meters[closing.meter_id]
        return (MeterRead(meter.serial, opening.read_on, opening.value, closing.read_on, closing.value,
                          meter.multiplying_factor),)
    old, new = meters[opening.meter_id], meters[closing.meter_id]  # the meter was replaced in the period
    return (MeterRead(old.serial, opening.read_on, opening.value, old.removed_on, None, old.multiplying_factor),
            MeterRead(new.serial, new.installed_on, None, closing.read_on, closing.value, new.multiplying_factor))


def recorded_units(bill: Bill) -> Decimal | None:
    """What the meter recorded from the bill's opening to its closing reading (None for an estimate)."""
    if bill.estimated or bill.closing_reading_id is None:
        return None
    opening = db.session.get(Reading, bill.opening_reading_id)
    closing = db.session.get(Reading, bill.closing_reading_id)
    rows = db.session.execute(
        select(Reading, Meter).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == bill.account_id, Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED,
               Reading.read_on >= opening.read_on, Reading.read_on <= closing.read_on)
    ).all()
    reads = [RegisterRead(m.id, r.read_on, r.id, r.value, r.rollover, m.rollover_at, m.multiplying_factor)
             for r, m in rows if (opening.read_on, opening.id) <= (r.read_on, r.id) <= (closing.read_on, closing.id)]
    return register_advance(reads)


def build_statement(bill: Bill, today: date | None = None) -> Statement:
    today = today or today_in_india()
    account = db.session.get(Account, bill.account_id)
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    rebate, pay_by = prompt_rebate(bill, engine.parse_tariff(version.document).payment_terms, today)
    history = list(reversed(latest_bills(bill.account_id, limit=12)))
    history = [b for b in history if b.period_start <= bill.period_start][-6:]
    return Statement(
        utility_name=current_app.config["UTILITY_NAME"], bill_number=bill.number, issued_on=bill.issued_on,
        due_date=bill.due_date, period_start=bill.period_start, period_end=bill.period_end,
        consumer_number=account.consumer_number, holder_name=account.holder_name, address=account.address,
        category=account.category, tariff_name=version.tariff.name, sanctioned_load_kw=account.sanctioned_load_kw,
        units=bill.units, estimated=bill.estimated, reads=_reads(bill),
        lines=tuple(StatementLine(line.code, line.label, line.amount,
                                  tuple(SlabRow(Decimal(d["quantity"]), Decimal(d["rate"]), Decimal(d["amount"]))
                                        for d in line.details)) for line in bill.lines),
        current_charges=bill.current_charges, previous_balance=bill.previous_balance,
        payments_since=bill.payments_since, arrears=bill.previous_balance - bill.payments_since,
        late_fee=bill.late_fee, total_due=bill.total_due, prompt_rebate=rebate, prompt_by=pay_by,
        upi_uri=upi_link(max(bill.total_due, Decimal("0.00")), bill.number, f"Bill {bill.number}"),
        history=tuple(UsagePoint(f"{b.period_end:%b %y}", b.units) for b in history),
        revision=bill.revision, cancelled=ledger.is_cancelled(bill), recorded_units=recorded_units(bill),
    )


@dataclass(frozen=True)
class Comparison:
    title: str  # which bill it is compared with, e.g. "Oct 26"
    units: Decimal
    amount: Decimal
    units_change: Decimal | None  # percent; None when the other bill had no units
    amount_change: Decimal | None


def _percent(now: Decimal, then: Decimal) -> Decimal | None:
    return ((now - then) / then * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP) if then else None


def comparisons(bill: Bill) -> dict[str, Comparison]:
    """This bill against the previous one and against the same period last year, where those exist."""
    in_force = {b.cycle: b for b in latest_bills(bill.account_id, limit=16)}
    ordered = sorted(in_force.values(), key=lambda b: b.period_start)
    earlier = [b for b in ordered if b.period_start < bill.period_start]
    others = {"previous": earlier[-1] if earlier else None,
              "last_year": in_force.get(str(Cycle.parse(bill.cycle).shifted(-12)))}
    return {name: Comparison(f"{other.period_end:%b %y}", other.units, other.current_charges,
                             _percent(bill.units, other.units), _percent(bill.current_charges, other.current_charges))
            for name, other in others.items() if other is not None}


def cancel_bill(bill: Bill, reason: str, actor=None) -> None:
    """Cancel an issued bill with a credit note (the bill itself is never edited)."""
    if not reason.strip():
        raise BillCorrectionError("give the reason for cancelling")
    if ledger.is_cancelled(bill):
        raise BillCorrectionError(f"bill {bill.number} is already cancelled")
    ledger.record_credit_note(bill, reason.strip(), today_in_india(), actor=actor)


def revise_bill(bill: Bill, reason: str, actor=None) -> Bill:
    """Cancel `bill` and issue its next revision for the same cycle from today's data (a corrected reading, say)."""
    cancel_bill(bill, reason, actor)
    db.session.flush()
    cycle = Cycle.parse(bill.cycle)
    composed, errors = compose_for(cycle, [bill.account_id], today_in_india())
    if errors:
        raise BillCorrectionError(errors[bill.account_id])
    revision = 1 + max(db.session.scalars(select(Bill.revision).where(Bill.account_id == bill.account_id,
                                                                       Bill.cycle == bill.cycle)))
    inserted = insert_bills(cycle, today_in_india(), composed, revision=revision, revises={bill.account_id: bill.id})
    revised = db.session.get(Bill, inserted[bill.account_id])
    audit.record("bill.revised", revised, {"revises": bill.number, "reason": reason.strip()}, actor=actor)
    return revised
