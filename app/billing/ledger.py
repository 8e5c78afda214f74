"""The account ledger: immutable entries; balances are sums, never stored counters."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import aliased

from app import audit
from app.billing.models import Bill, LedgerEntry, LedgerKind
from app.billing.release import released
from app.extensions import db

# Entries that are money coming in (or going back out) rather than charges.
MONEY_KINDS = (LedgerKind.PAYMENT, LedgerKind.REVERSAL, LedgerKind.REFUND, LedgerKind.REBATE)


def balance(account_id: int) -> Decimal:
    """What the customer owes now (negative: in credit)."""
    return balances([account_id])[account_id]


def balances(account_ids: Iterable[int]) -> dict[int, Decimal]:
    ids = list(account_ids)
    rows = db.session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.account_id.in_(ids)).group_by(LedgerEntry.account_id)
    )
    found = {account_id: Decimal(total).quantize(Decimal("0.01")) for account_id, total in rows}
    return {account_id: found.get(account_id, Decimal("0.00")) for account_id in ids}


def money_in_between(account_ids: Iterable[int], first: date) -> list[tuple[int, date, Decimal]]:
    """(account, effective date, amount received) of money entries on or after `first`."""
    rows = db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.effective_on, LedgerEntry.amount)
        .where(LedgerEntry.account_id.in_(list(account_ids)), LedgerEntry.effective_on >= first,
               LedgerEntry.kind.in_(MONEY_KINDS))
    )
    return [(account_id, day, -amount) for account_id, day, amount in rows]


def post(account_id: int, kind: LedgerKind, amount: Decimal, effective_on: date, description: str,
         bill_id: int | None = None, payment_id: int | None = None, reverses_id: int | None = None,
         actor=None) -> LedgerEntry:
    entry = LedgerEntry(account_id=account_id, kind=kind, amount=amount, effective_on=effective_on,
                        description=description, bill_id=bill_id, payment_id=payment_id, reverses_id=reverses_id,
                        created_by_id=getattr(actor, "id", None))
    db.session.add(entry)
    db.session.flush()
    return entry


def cancelled_bill_ids(bill_ids: Iterable[int]) -> set[int]:
    """Bills that a credit note has cancelled."""
    return set(db.session.scalars(
        select(LedgerEntry.bill_id).where(LedgerEntry.kind == LedgerKind.CREDIT_NOTE,
                                          LedgerEntry.bill_id.in_(list(bill_ids)))
    ))


# The aliases in_force() names, made once: making an alias builds a proxy of every column (milliseconds each
# time), and every page asks for the bills in force.
_LATER, _LATER_POSTED, _NOTE = (aliased(Bill, name="later_bill"), aliased(LedgerEntry, name="later_posted"),
                                aliased(LedgerEntry, name="credit_note"))


def in_force(before_entry: int | None = None) -> ColumnElement[bool]:
    """The condition on `bills` for a bill in force: the latest revision of its cycle (a revision replaces the bill
    it revises), not cancelled by a credit note, and released (not of a held run: see billing.release). The one
    definition the pages and the bill runs share. With
    `before_entry`, as the ledger stood before that entry (a receipt names the bills as they were when paid)."""
    if before_entry is None:
        return _in_force_now()
    return and_(standing(before_entry), released())


@cache
def _in_force_now() -> ColumnElement[bool]:
    return and_(_standing_now(), released())


def standing(before_entry: int | None = None) -> ColumnElement[bool]:
    """The condition on `bills` for a bill neither replaced by a revision nor cancelled by a credit note (released
    or still held): in_force without the release."""
    if before_entry is None:
        return _standing_now()
    revised = _revised().where(exists().where(_LATER_POSTED.bill_id == _LATER.id, _LATER_POSTED.kind == LedgerKind.BILL,
                                              _LATER_POSTED.id < before_entry))
    return and_(~revised, ~_cancelled().where(_NOTE.id < before_entry))


@cache
def _standing_now() -> ColumnElement[bool]:
    return and_(~_revised(), ~_cancelled())


def _revised():
    return exists().where(_LATER.account_id == Bill.account_id, _LATER.cycle == Bill.cycle,
                          _LATER.revision > Bill.revision)


def _cancelled():
    return exists().where(_NOTE.kind == LedgerKind.CREDIT_NOTE, _NOTE.bill_id == Bill.id)


def credit_note_of(bill: Bill) -> LedgerEntry | None:
    return db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.CREDIT_NOTE,
                                                       LedgerEntry.bill_id == bill.id))


def is_cancelled(bill: Bill) -> bool:
    return bool(cancelled_bill_ids([bill.id]))


def history(account_id: int, limit: int = 50) -> list[LedgerEntry]:
    return list(db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.effective_on.desc(), LedgerEntry.id.desc()).limit(limit)
    ))


def record_credit_note(bill: Bill, reason: str, effective_on: date, actor=None,
                       amount: Decimal | None = None) -> LedgerEntry:
    """Cancel an issued bill by crediting its charges (by default its current charges and late fee).
    The unique (kind, bill) constraint makes it once only."""
    charged = bill.current_charges + bill.late_fee if amount is None else amount
    entry = post(bill.account_id, LedgerKind.CREDIT_NOTE, -charged, effective_on,
                 f"Credit note cancelling bill {bill.number}: {reason}"[:200], bill_id=bill.id, actor=actor)
    audit.record("bill.cancelled", bill, {"reason": reason, "credited": str(charged)}, actor=actor)
    return entry
