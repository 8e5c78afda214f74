"""Issued bills: what they say (the Statement), their status, and their correction by credit note and revision."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import select

from app import audit
from app.accounts.models import Account
from app.billing import ledger
from app.billing import tariff as engine
from app.billing.compose import Cycle
from app.billing.models import Bill, BillStatus, LedgerEntry, TariffVersion
from app.billing.release import is_withheld
from app.billing.runs import compose_for, insert_bills
from app.billing.signals import payment_link, uncleared_money
from app.billing.statement import MeterRead, SlabRow, Statement, StatementLine, UsagePoint
from app.db import today_in_india
from app.extensions import db
from app.i18n import month_label
from app.metering.consumption import register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus


def pay_link(amount: Decimal, reference: str, note: str) -> str:
    """The link a bill's QR code and pay button carry, from the domain that takes payments ("" if none does)."""
    links = [link for _receiver, link in payment_link.send(None, amount=amount, reference=reference, note=note)
             if link]
    return links[0] if links else ""


class BillCorrectionError(Exception):
    pass


def payment_terms(bill: Bill) -> engine.PaymentTerms:
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    return engine.stored_tariff(version.document).payment_terms


def prompt_rebate(bill: Bill, terms: engine.PaymentTerms, today: date) -> tuple[Decimal, date | None]:
    """The best prompt-payment rebate still open today: (amount, pay-by date), or (0, None)."""
    for tier in sorted(terms.prompt_rebate, key=lambda t: t.within_days):
        pay_by = bill.issued_on + timedelta(days=tier.within_days)
        if today <= pay_by:
            amount = (bill.current_charges * tier.percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            return amount, pay_by
    return Decimal("0.00"), None


def latest_bills(account_id: int, limit: int = 6, up_to: date | None = None) -> list[Bill]:
    """The account's bills in force, newest first (a revision replaces the bill it revises); with `up_to`,
    only bills whose period started by then."""
    query = select(Bill).where(Bill.account_id == account_id, ledger.in_force())
    if up_to is not None:
        query = query.where(Bill.period_start <= up_to)
    return list(db.session.scalars(query.order_by(Bill.period_start.desc()).limit(limit)))


def next_bill(bill: Bill) -> Bill | None:
    """The bill in force that followed this one, if any (the nearest later one, however many there are)."""
    return db.session.scalar(select(Bill).where(Bill.account_id == bill.account_id, ledger.in_force(),
                                                Bill.period_start > bill.period_start)
                             .order_by(Bill.period_start).limit(1))


def statuses(bills: list[Bill], balance: Decimal, today: date) -> dict[int, BillStatus]:
    """bill_status of each of an account's bills in force among `bills`, in one query whatever their number: each
    is judged by the bill in force that followed it, the latest by what the account owes now."""
    if not bills:
        return {}
    account_id, shown = bills[0].account_id, {b.id for b in bills}
    in_force = list(db.session.scalars(
        select(Bill).where(Bill.account_id == account_id, ledger.in_force(),
                           Bill.period_start >= min(b.period_start for b in bills))
        .order_by(Bill.period_start)))
    following = {earlier.id: later for earlier, later in zip(in_force, in_force[1:], strict=False)}
    return {bill.id: bill_status(bill, balance, today, following.get(bill.id)) for bill in in_force
            if bill.id in shown}


def uncleared(account_id: int) -> Decimal:
    """What the ledger credits to the connection that a bank may still return (cheques clearing)."""
    return sum((Decimal(value) for _receiver, value in uncleared_money.send(None, account_id=account_id)),
               Decimal("0.00"))


def bill_status(bill: Bill, balance: Decimal, today: date, following: Bill | None = None) -> BillStatus:
    """Paid, due or overdue for the latest bill, from what the account owes now; an older bill is paid when the
    next bill found nothing left of it, or else carried (its unpaid amount moved onto the next bill)."""
    if following is not None:
        left_over = following.total_due - following.current_charges - following.late_fee
        return BillStatus.PAID if left_over <= 0 else BillStatus.CARRIED
    if balance <= 0:
        # Settled only thanks to a cheque the bank may still return: not paid until it clears.
        return BillStatus.CLEARING if balance + uncleared(bill.account_id) > 0 else BillStatus.PAID
    return BillStatus.OVERDUE if today > bill.due_date else BillStatus.DUE


def _reads(bill: Bill) -> tuple[MeterRead, ...]:
    if bill.estimated or bill.closing_reading_id is None:
        return _estimated_from(bill)
    opening = db.session.get(Reading, bill.opening_reading_id)
    closing = db.session.get(Reading, bill.closing_reading_id)
    meters = {m.id: m for m in db.session.scalars(select(Meter).where(Meter.id.in_({opening.meter_id,
                                                                                     closing.meter_id})))}
    if opening.meter_id == closing.meter_id:
        meter = meters[closing.meter_id]
        return (MeterRead(meter.serial, opening.read_on, opening.value, closing.read_on, closing.value,
                          meter.multiplying_factor),)
    old, new = meters[opening.meter_id], meters[closing.meter_id]  # the meter was replaced in the period
    final = _edge_reading(old.id, newest=True, by=closing.read_on)
    first = _edge_reading(new.id, newest=False, by=closing.read_on)
    return (MeterRead(old.serial, opening.read_on, opening.value, final and final.read_on, final and final.value,
                      old.multiplying_factor),
            MeterRead(new.serial, first and first.read_on, first and first.value, closing.read_on, closing.value,
                      new.multiplying_factor))


def _estimated_from(bill: Bill) -> tuple[MeterRead, ...]:
    """An estimate's meter and the last actual reading it was estimated from (its opening reading)."""
    opening = db.session.get(Reading, bill.opening_reading_id) if bill.opening_reading_id else None
    if opening is None:
        return ()
    meter = db.session.get(Meter, opening.meter_id)
    return (MeterRead(meter.serial, opening.read_on, opening.value, None, None, meter.multiplying_factor),)


def _edge_reading(meter_id: int, newest: bool, by: date) -> Reading | None:
    """A meter's last (or first) accepted actual reading on or before `by`."""
    order = (Reading.read_on.desc(), Reading.id.desc()) if newest else (Reading.read_on, Reading.id)
    return db.session.scalar(select(Reading).where(
        Reading.meter_id == meter_id, Reading.status == ReadingStatus.ACCEPTED,
        Reading.source != ReadingSource.ESTIMATED, Reading.read_on <= by).order_by(*order).limit(1))


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
    reads = [r.register_read(m)
             for r, m in rows if (opening.read_on, opening.id) <= (r.read_on, r.id) <= (closing.read_on, closing.id)]
    return register_advance(reads)


def _slab_row(detail: dict) -> SlabRow:
    def number(key: str) -> Decimal | None:
        return None if detail.get(key) is None else Decimal(detail[key])

    return SlabRow(Decimal(detail["quantity"]), Decimal(detail["rate"]), Decimal(detail["amount"]),
                   number("above"), number("upto"))


def after_due_amount(bill: Bill, terms: engine.PaymentTerms) -> Decimal | None:
    """The amount due plus the surcharge the next bill charges on it if it is paid in the first month after the
    due date (the tariff's rule, as bill runs apply it); None when the tariff has no late payment surcharge."""
    if terms.late_surcharge is None:
        return None
    return bill.total_due + terms.late_surcharge.amount(bill.total_due, bill.current_charges, months=1)


HISTORY_BILLS = 6  # the usage history printed on a bill
COMPARED_BILLS = 16  # enough bills back to find the same period last year, for monthly and bimonthly cycles


def build_statement(bill: Bill, today: date | None = None) -> Statement:
    return _statement(bill, today or today_in_india(),
                      latest_bills(bill.account_id, limit=HISTORY_BILLS, up_to=bill.period_start),
                      ledger.balance(bill.account_id), next_bill(bill))


def _statement(bill: Bill, today: date, earlier: list[Bill], balance: Decimal, following: Bill | None) -> Statement:
    """The bill as a document. `earlier`: the account's bills in force up to this one, newest first."""
    account = db.session.get(Account, bill.account_id)
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    priced_by = engine.stored_tariff(version.document)  # the version this bill used, with its own name
    history = list(reversed(earlier[:HISTORY_BILLS]))
    cancelled = ledger.is_cancelled(bill)
    # Only the latest bill standing asks for money, and only what is still owed: no QR to pay a bill twice.
    payable = following is None and not cancelled and balance > 0
    pay_amount = min(balance, bill.total_due) if payable else Decimal("0.00")
    # A rebate for paying early is offered only while there is something to pay.
    rebate, pay_by = (prompt_rebate(bill, priced_by.payment_terms, today) if payable
                      else (Decimal("0.00"), None))
    return Statement(
        utility_name=current_app.config["UTILITY_NAME"], bill_number=bill.number, issued_on=bill.issued_on,
        due_date=bill.due_date, period_start=bill.period_start, period_end=bill.period_end,
        consumer_number=account.consumer_number, holder_name=account.holder_name, address=account.address,
        category=account.category, tariff_name=priced_by.name, sanctioned_load_kw=account.sanctioned_load_kw,
        units=bill.units, estimated=bill.estimated, reads=_reads(bill),
        lines=tuple(StatementLine(line.code, line.label, line.amount, tuple(_slab_row(d) for d in line.details))
                    for line in bill.lines),
        current_charges=bill.current_charges, previous_balance=bill.previous_balance,
        payments_since=bill.payments_since, arrears=bill.previous_balance - bill.payments_since,
        late_fee=bill.late_fee, total_due=bill.total_due, prompt_rebate=rebate, prompt_by=pay_by,
        upi_uri=pay_link(pay_amount, bill.number, f"Bill {bill.number}") if payable else "",
        payable=payable, pay_amount=pay_amount,
        after_due_amount=after_due_amount(bill, priced_by.payment_terms) if payable else None,
        history=tuple(UsagePoint(f"{b.period_end:%b %y}", b.units, b.period_end) for b in history),
        revision=bill.revision, cancelled=cancelled, recorded_units=recorded_units(bill),
    )


@dataclass(frozen=True)
class Comparison:
    title: str  # which bill it is compared with, e.g. "Oct 26" (in the user's language)
    units: Decimal
    amount: Decimal
    units_change: Decimal | None  # percent; None when the other bill had no units
    amount_change: Decimal | None


def _percent(now: Decimal, then: Decimal) -> Decimal | None:
    return ((now - then) / then * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP) if then else None


def comparisons(bill: Bill, earlier: list[Bill]) -> dict[str, Comparison]:
    """This bill against the previous one and against the same period last year, where those exist, among
    `earlier` (the bills in force up to this one)."""
    in_force = {b.cycle: b for b in earlier}
    ordered = sorted(in_force.values(), key=lambda b: b.period_start)
    earlier = [b for b in ordered if b.period_start < bill.period_start]
    others = {"previous": earlier[-1] if earlier else None,
              "last_year": in_force.get(str(Cycle.parse(bill.cycle).shifted(-12)))}
    return {name: Comparison(month_label(other.period_end), other.units, other.current_charges,
                             _percent(bill.units, other.units), _percent(bill.current_charges, other.current_charges))
            for name, other in others.items() if other is not None}


@dataclass(frozen=True)
class BillView:
    """What a bill's page shows, from one set of queries: the statement, its status and the comparisons."""

    statement: Statement
    status: BillStatus
    balance: Decimal
    comparisons: dict[str, Comparison]


def bill_view(bill: Bill, today: date | None = None) -> BillView:
    today = today or today_in_india()
    earlier = latest_bills(bill.account_id, limit=COMPARED_BILLS, up_to=bill.period_start)
    balance, following = ledger.balance(bill.account_id), next_bill(bill)
    statement = _statement(bill, today, earlier, balance, following)
    status = BillStatus.CANCELLED if statement.cancelled else bill_status(bill, balance, today, following)
    return BillView(statement, status, balance, comparisons(bill, earlier))


def cancel_bill(bill: Bill, reason: str, actor=None) -> LedgerEntry:
    """Cancel an issued bill with a credit note for its charges and late fee (the bill itself is never edited)."""
    _check_correctable(bill, reason)
    return ledger.record_credit_note(bill, reason.strip(), today_in_india(), actor=actor)


def revise_bill(bill: Bill, reason: str, actor=None) -> Bill:
    """Replace the latest bill by a revision priced from today's readings and tariff.

    The charges of the period are re-priced: a credit note takes back the old current charges and the revision
    charges the new ones. The account part is the ledger's as it stands today (arrears, payments, surcharges
    already charged are in it, the old charges are not): a revision of a paid bill asks only for the difference,
    and one of a bill in credit says so.
    """
    _check_correctable(bill, reason)
    ledger.record_credit_note(bill, reason.strip(), today_in_india(), actor=actor, amount=bill.current_charges)
    db.session.flush()
    cycle = Cycle.parse(bill.cycle)
    composed, errors = compose_for(cycle, [bill.account_id], today_in_india())
    if errors:
        raise BillCorrectionError(str(errors[bill.account_id]))
    (account, fresh), = composed
    standing = ledger.balance(bill.account_id)  # after the credit note, before the revised charges
    # The surcharge the original charged stays on its own line (it is in the ledger already: not charged again).
    # The previous bill stays the original's; what came in since (payments after it too) is what brings it to today.
    arrears = standing - bill.late_fee
    kept = replace(fresh, previous_balance=bill.previous_balance, payments_since=bill.previous_balance - arrears,
                   late_fee=bill.late_fee, total_due=standing + fresh.current_charges)
    revision = 1 + max(db.session.scalars(select(Bill.revision).where(Bill.account_id == bill.account_id,
                                                                       Bill.cycle == bill.cycle)))
    inserted = insert_bills(cycle, today_in_india(), [(account, kept)], revision=revision,
                            revises={bill.account_id: bill.id}, post_late_fees=False)
    revised = db.session.get(Bill, inserted[bill.account_id])
    audit.record("bill.revised", revised, {"revises": bill.number, "reason": reason.strip()}, actor=actor)
    return revised


def _check_correctable(bill: Bill, reason: str) -> None:
    if not reason.strip():
        raise BillCorrectionError("give the reason")
    if is_withheld(bill):
        raise BillCorrectionError(f"bill {bill.number} is in a held bill run: it is not issued yet")
    if ledger.is_cancelled(bill):
        raise BillCorrectionError(f"bill {bill.number} is already cancelled")
    if next_bill(bill) is not None:
        raise BillCorrectionError(f"bill {bill.number} is not the latest bill of its connection; correct an older "
                                  "bill with an adjustment on the next one")


def usual_daily_use(account_id: int) -> Decimal | None:
    """Units a day over the last three actual (not estimated) bills; None without one."""
    actual = [b for b in latest_bills(account_id, limit=6) if not b.estimated][:3]
    days = sum((b.period_end - b.period_start).days + 1 for b in actual)
    return sum(b.units for b in actual) / days if days else None
