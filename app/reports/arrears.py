"""Arrears ageing: who owes money past its due date, and for how long, as of today (read live: it is a snapshot,
not a sum over months).

A connection's arrears are its ledger balance when that is above zero. Payments settle the oldest charges first,
so what is still owed is the newest bills' charges: walking back from the newest bill in force until their
charges cover the balance finds the oldest bill not fully paid, and its due date says how old the debt is.
A debt whose oldest unpaid bill is not yet due is not arrears."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import Account
from app.billing.ledger import in_force
from app.billing.models import Bill, LedgerEntry
from app.extensions import db

# (code, label, first day overdue, last day overdue or None)
BANDS = (("0-30", _l("0–30 days"), 0, 30), ("31-60", _l("31–60 days"), 31, 60),
         ("61-90", _l("61–90 days"), 61, 90), ("90+", _l("Over 90 days"), 91, None))
BAND_CODES = tuple(code for code, *_rest in BANDS)


@dataclass(frozen=True)
class Debtor:
    account_id: int
    consumer_number: str
    holder_name: str
    region: str
    owed: Decimal
    oldest_due: date
    days_overdue: int

    @property
    def band(self) -> str:
        return next(code for code, _label, first, last in BANDS
                    if self.days_overdue >= first and (last is None or self.days_overdue <= last))


# PostgreSQL takes at most 65,535 parameters in one statement: the debtors' ids go a batch at a time (at a million
# connections, 6.5% in arrears would otherwise make the report fail; bench/scale.py).
IDS_PER_STATEMENT = 10_000


def _batches(ids: list[int]) -> list[list[int]]:
    return [ids[start:start + IDS_PER_STATEMENT] for start in range(0, len(ids), IDS_PER_STATEMENT)]


def _positive_balances(regions) -> dict[int, Decimal]:
    query = (select(LedgerEntry.account_id, func.sum(LedgerEntry.amount))
             .join(Account, Account.id == LedgerEntry.account_id)
             .group_by(LedgerEntry.account_id).having(func.sum(LedgerEntry.amount) > 0))
    if regions is not None:
        query = query.where(Account.region.in_(list(regions)))
    return {account_id: Decimal(owed) for account_id, owed in db.session.execute(query)}


def _oldest_unpaid_due(balances: dict[int, Decimal]) -> dict[int, date]:
    """For each account, the due date of its oldest bill the balance still includes."""
    bills = defaultdict(list)
    for batch in _batches(list(balances)):
        for account_id, charges, due in db.session.execute(
                select(Bill.account_id, Bill.current_charges + Bill.late_fee, Bill.due_date)
                .where(Bill.account_id.in_(batch), in_force())
                .order_by(Bill.account_id, Bill.period_start.desc())):
            bills[account_id].append((charges, due))
    oldest = {}
    for account_id, owed in balances.items():
        covered = Decimal(0)
        for charges, due in bills.get(account_id, []):
            oldest[account_id] = due
            covered += charges
            if covered >= owed:
                break
    return oldest


def debtors(regions, today: date) -> list[Debtor]:
    """Every connection in arrears in the regions (None: all), the largest debt first."""
    balances = _positive_balances(regions)
    oldest = _oldest_unpaid_due(balances) if balances else {}
    accounts = {a.id: a for batch in _batches(list(oldest))
                for a in db.session.scalars(select(Account).where(Account.id.in_(batch)))}
    found = [Debtor(account_id, accounts[account_id].consumer_number, accounts[account_id].holder_name,
                    accounts[account_id].region, balances[account_id], due, (today - due).days)
             for account_id, due in oldest.items() if due < today]
    return sorted(found, key=lambda debtor: (-debtor.owed, debtor.consumer_number))


def ageing(found: list[Debtor]) -> list[tuple[str, str, int, Decimal]]:
    """(band code, label, connections, amount owed) for each band, youngest first."""
    counts, owed = defaultdict(int), defaultdict(Decimal)
    for debtor in found:
        counts[debtor.band] += 1
        owed[debtor.band] += debtor.owed
    return [(code, str(label), counts[code], owed[code]) for code, label, _first, _last in BANDS]
