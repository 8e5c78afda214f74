"""Held bill runs: a run started with `hold` writes its bills but keeps them from the customers (no ledger entry,
not shown, no notice), so a supervisor can look at a sample and at the connections it could not bill first. Its
release is the bills' issue: they are dated that day, their due dates count from it (the customer gets the usual
days to pay from when the bill reaches them, as a utility's bill date is the day it is sent out), the ledger is
charged, and the customers are told.

A run is released once: the run's row leaves "held" by a conditional UPDATE, and the ledger entries are unique per
bill and kind."""

from datetime import date

from sqlalchemy import ColumnElement, exists, func, insert, literal, select, update

from app import audit
from app.accounts.models import Account
from app.billing.models import Bill, BillRun, BillRunStatus, LedgerEntry, LedgerKind
from app.billing.signals import bills_issued
from app.db import today_in_india, utcnow
from app.extensions import db

SAMPLE = 10  # bills of each kind shown to the supervisor: the largest, the smallest, the estimated


class ReleaseError(Exception):
    pass


def released() -> ColumnElement[bool]:
    """The condition on `bills` for a bill its customer may see: not of a run that is still held."""
    return ~exists().where(BillRun.id == Bill.bill_run_id, BillRun.withholding())


def is_withheld(bill: Bill) -> bool:
    return bill.bill_run_id is not None and bool(db.session.scalar(
        select(exists().where(BillRun.id == bill.bill_run_id, BillRun.withholding()))))


def release_run(run: BillRun, actor) -> int:
    """Release a held run that is not running any more: its bills are issued today. Returns how many. The caller
    announces them after the commit (announce_released_run), in chunks."""
    today = today_in_india()
    claimed = db.session.execute(update(BillRun).where(
        BillRun.id == run.id, BillRun.withholding(), BillRun.status != BillRunStatus.RUNNING)
        .values(released_at=utcnow(), released_by_id=actor.id)).rowcount
    if not claimed:
        raise ReleaseError("only a held run that is not running can be released, once")
    _issue_on(run.id, today)
    bills = _charge(run.id, today)
    db.session.refresh(run)
    audit.record("bill_run.released", run, {"before": {"held": True},
                                            "after": {"released_on": today.isoformat(), "bills": bills}},
                 actor=actor)
    return bills


def _issue_on(run_id: int, day: date) -> None:
    """Date the run's bills `day`, each due date as many days after it as the run gave it (the tariff's days to
    pay). The bills were never issued before (nobody saw them): this is their issue, not an edit (the ORM refuses
    edits to bills; this is the one statement that dates a held bill)."""
    terms = db.session.execute(select(Bill.issued_on, Bill.due_date).where(Bill.bill_run_id == run_id)
                               .distinct()).all()
    for issued_on, due_date in terms:
        if issued_on != day:
            db.session.execute(update(Bill).where(Bill.bill_run_id == run_id, Bill.issued_on == issued_on,
                                                  Bill.due_date == due_date)
                               .values(issued_on=day, due_date=day + (due_date - issued_on)))


def _charge(run_id: int, day: date) -> int:
    """The ledger entries the run's bills would have had if not held (the bill, its late fee), in two INSERT …
    SELECT statements whatever the run's size."""
    posted_at = utcnow()

    def post(kind: LedgerKind, amount, text: str, *where) -> int:
        query = select(Bill.account_id, literal(kind.value), amount, literal(day, LedgerEntry.effective_on.type),
                       literal(posted_at, LedgerEntry.posted_at.type), Bill.id,
                       literal(text) + Bill.number).where(Bill.bill_run_id == run_id, *where)
        columns = ["account_id", "kind", "amount", "effective_on", "posted_at", "bill_id", "description"]
        return db.session.execute(insert(LedgerEntry).from_select(columns, query)).rowcount

    bills = post(LedgerKind.BILL, Bill.current_charges, "Bill ")
    post(LedgerKind.LATE_FEE, Bill.late_fee, "Late payment surcharge on bill ", Bill.late_fee > 0)
    return bills


def released_bill_ids(run_id: int) -> list[int]:
    return list(db.session.scalars(select(Bill.id).where(Bill.bill_run_id == run_id, released())
                                   .order_by(Bill.id)))


def announce_chunk(bill_ids: list[int]) -> None:
    """Tell the customers (the same notice as an unheld run's; each written once: its dedupe key)."""
    bills_issued.send(None, bill_ids=bill_ids)


def sample(run: BillRun) -> dict[str, list]:
    """What a supervisor looks at before release: the largest and the smallest bills, and estimated ones (the
    likeliest mistakes), each as (bill, consumer number, holder's name)."""
    of_run = (select(Bill, Account.consumer_number, Account.holder_name)
              .join(Account, Account.id == Bill.account_id).where(Bill.bill_run_id == run.id))

    def rows(query) -> list:
        return db.session.execute(query.limit(SAMPLE)).all()

    largest = rows(of_run.order_by(Bill.current_charges.desc(), Bill.id))
    shown = [bill.id for bill, *_ in largest]  # a small run's bills are all among its largest: not listed twice
    return {
        "largest": largest,
        "smallest": rows(of_run.where(Bill.id.not_in(shown)).order_by(Bill.current_charges, Bill.id)),
        "estimated": rows(of_run.where(Bill.estimated.is_(True)).order_by(Bill.id)),
    }


def estimated_count(run: BillRun) -> int:
    return db.session.scalar(select(func.count(Bill.id)).where(Bill.bill_run_id == run.id,
                                                               Bill.estimated.is_(True)))
