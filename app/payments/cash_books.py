"""The cashier's day: every counter payment is an entry in its cashier's cash book of the day (in India). The
cashier closes the day once, with the cash counted (a difference needs a reason); a supervisor (an administrator
or a billing officer, never the cashier) accepts it once. A closed day takes no more entries.

Once only, whatever the timing: one book per cashier and day (a unique constraint; the first entry opens it with
INSERT … ON CONFLICT DO NOTHING); an entry locks the book's row and a closing locks it too, so an entry either lands
before the closing (and is counted) or finds the day closed; each state change is a conditional update of the
locked row (open → closed, closed → accepted), and a check constraint keeps the cashier from accepting their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update

from app import audit
from app.accounts.offices import in_office, sees
from app.auth.models import Role
from app.db import ZERO, insert_ignore, today_in_india, utcnow
from app.extensions import db
from app.payments.base import ONE_PAISA, PaymentError, _locked, rupees
from app.payments.models import CashBook, CashBookState, Payment, PaymentMethod

SUPERVISORS = frozenset({Role.ADMIN, Role.BILLING})


def todays_book(cashier, day: date | None = None) -> CashBook | None:
    """The cashier's book for `day` (today in India), if the day has had an entry."""
    return db.session.scalar(select(CashBook).where(CashBook.cashier_id == cashier.id,
                                                    CashBook.day == (day or today_in_india())))


def check_open(cashier) -> None:
    """Refuse now (before the cashier confirms) what book_for_entry would refuse when it writes."""
    book = todays_book(cashier) if getattr(cashier, "id", None) else None
    if book is not None and book.state != CashBookState.OPEN:
        raise PaymentError.refused("day_closed")


def book_for_entry(cashier) -> CashBook:
    """Today's book of `cashier`, opened if need be and locked for this transaction; refused once closed."""
    day = today_in_india()
    opened = db.session.execute(insert_ignore(db.session, CashBook.__table__, ["cashier_id", "day"]).values(
        {"cashier_id": cashier.id, "day": day, "office": getattr(cashier, "office", None), "state": CashBookState.OPEN,
         "opened_at": utcnow()}).returning(CashBook.__table__.c.id)).scalar()  # None: it was there already
    book = _locked(CashBook, CashBook.cashier_id == cashier.id, CashBook.day == day)
    if opened is not None:
        audit.record("cash_book.opened", book, {"after": {"state": book.state.value, "day": day.isoformat(),
                                                          "centre": book.office}}, actor=cashier)
    if book.state != CashBookState.OPEN:
        raise PaymentError.refused("day_closed")
    return book


@dataclass(frozen=True)
class Totals:
    """A book's entries added up by instrument."""

    cash: Decimal = ZERO
    cheques: Decimal = ZERO
    drafts: Decimal = ZERO
    cards: Decimal = ZERO  # paid on the POS terminal: settled by the card acquirer, never in the bank deposit
    cash_count: int = 0
    cheque_count: int = 0
    draft_count: int = 0
    card_count: int = 0

    @property
    def total(self) -> Decimal:
        return self.cash + self.cheques + self.drafts + self.cards

    @property
    def count(self) -> int:
        return self.cash_count + self.cheque_count + self.draft_count + self.card_count

    @property
    def instruments(self) -> Decimal:
        """Cheques and drafts: the paper that goes to the bank with the cash."""
        return self.cheques + self.drafts


def totals_for(book_ids: list[int]) -> dict[int, Totals]:
    """Each book's totals, in one query (a list of books shows them all)."""
    found: dict[int, dict] = {book_id: {} for book_id in book_ids}
    rows = db.session.execute(
        select(Payment.cash_book_id, Payment.method, func.count(), func.coalesce(func.sum(Payment.amount), 0))
        .where(Payment.cash_book_id.in_(book_ids)).group_by(Payment.cash_book_id, Payment.method))
    for book_id, method, count, amount in rows:
        found[book_id][method] = (count, Decimal(amount).quantize(ONE_PAISA))
    return {book_id: _totals(by_method) for book_id, by_method in found.items()}


def _totals(by_method: dict) -> Totals:
    cash, cheques, drafts, cards = (by_method.get(m, (0, ZERO)) for m in (
        PaymentMethod.CASH, PaymentMethod.CHEQUE, PaymentMethod.DEMAND_DRAFT, PaymentMethod.CARD))
    return Totals(cash=cash[1], cheques=cheques[1], drafts=drafts[1], cards=cards[1], cash_count=cash[0],
                  cheque_count=cheques[0], draft_count=drafts[0], card_count=cards[0])


def totals_of(book_id: int) -> Totals:
    return totals_for([book_id])[book_id]


def entries_of(book_id: int) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.cash_book_id == book_id)
                                   .order_by(Payment.created_at, Payment.id)))


def _move(book: CashBook, before: CashBookState, **values) -> None:
    """Move the book out of `before`, once: of two people at the same moment, one does."""
    moved = db.session.execute(update(CashBook).where(CashBook.id == book.id, CashBook.state == before)
                               .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved != 1 and before == CashBookState.OPEN:
        raise PaymentError.refused("cash_book_not_open")
    if moved != 1:
        raise PaymentError.refused("cash_book_accepted")
    db.session.refresh(book)


def close_day(book_id: int, counted_cash: Decimal | None, note: str | None, cashier) -> CashBook:
    """The cashier counted the cash: the day is closed with what was counted and what the entries say."""
    if counted_cash is None or counted_cash < 0 or counted_cash != counted_cash.quantize(ONE_PAISA):
        raise PaymentError.refused("counted_cash")
    book = _locked(CashBook, CashBook.id == book_id)
    if book is None:
        raise PaymentError.refused("cash_book_missing")
    if book.cashier_id != cashier.id:
        raise PaymentError.refused("cash_book_not_yours")
    if book.state != CashBookState.OPEN:
        raise PaymentError.refused("cash_book_not_open")
    totals = totals_of(book.id)  # the row is locked: no entry can land between this sum and the closing
    note = " ".join((note or "").split())[:200] or None
    if counted_cash != totals.cash and note is None:
        raise PaymentError.refused("cash_difference_note", difference=abs(counted_cash - totals.cash))
    _move(book, CashBookState.OPEN, state=CashBookState.CLOSED, counted_cash=counted_cash,
          expected_cash=totals.cash, close_note=note, closed_at=utcnow())
    audit.record("cash_book.closed", book, {
        "before": {"state": CashBookState.OPEN.value},
        "after": {"state": book.state.value, "counted_cash": str(counted_cash), "expected_cash": str(totals.cash),
                  "cheques": str(totals.cheques), "drafts": str(totals.drafts), "cards": str(totals.cards),
                  "entries": totals.count,
                  "note": note}}, actor=cashier)
    return book


def may_supervise(staff, book: CashBook) -> bool:
    return getattr(staff, "role", None) in SUPERVISORS and sees(staff, book.office)


def accept_day(book_id: int, supervisor) -> CashBook:
    """A supervisor checked the closed day (and its deposit slip): accepted, once, by someone else."""
    if getattr(supervisor, "role", None) not in SUPERVISORS:
        raise PaymentError.refused("cash_book_supervisor")
    book = _locked(CashBook, CashBook.id == book_id)
    if book is None or not sees(supervisor, book.office):
        raise PaymentError.refused("cash_book_missing")
    if book.cashier_id == supervisor.id:
        raise PaymentError.refused("cash_book_own")
    if book.state == CashBookState.OPEN:
        raise PaymentError.refused("cash_book_still_open")
    if book.state == CashBookState.ACCEPTED:
        raise PaymentError.refused("cash_book_accepted")
    _move(book, CashBookState.CLOSED, state=CashBookState.ACCEPTED, accepted_by_id=supervisor.id,
          accepted_at=utcnow())
    audit.record("cash_book.accepted", book, {
        "before": {"state": CashBookState.CLOSED.value},
        "after": {"state": book.state.value, "cashier": book.cashier_id,
                  "difference": rupees(book.cash_difference)}}, actor=supervisor)
    return book


def books_for_supervisor(staff, limit: int = 100) -> list[CashBook]:
    """The books of `staff`'s office: those waiting for acceptance first, then the newest days."""
    waiting_first = (CashBook.state != CashBookState.CLOSED)
    return list(db.session.scalars(select(CashBook).where(in_office(staff, CashBook.office))
                                   .order_by(waiting_first, CashBook.day.desc(), CashBook.id.desc()).limit(limit)))


def books_of(cashier, limit: int = 30) -> list[CashBook]:
    """The cashier's own books, newest first."""
    return list(db.session.scalars(select(CashBook).where(CashBook.cashier_id == cashier.id)
                                   .order_by(CashBook.day.desc()).limit(limit)))
