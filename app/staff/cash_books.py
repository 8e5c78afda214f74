"""Staff: the cashier's day. My cash book (today's counter collections by instrument, closed with the cash counted),
the supervisors' list of cash books to accept, one cash book, and its printable deposit slip.

A cash book is seen by its cashier and by the supervisors (administrators, billing officers) of its centre's office;
to anyone else it is as if there were none (404)."""

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import Account
from app.auth.access import billing_staff, staff_only
from app.auth.models import User
from app.extensions import db
from app.payments import cash_books
from app.payments.base import PaymentError
from app.payments.forms import ActionForm, CloseDayForm
from app.payments.models import INSTRUMENT_METHODS, CashBook, CashBookState
from app.payments.views import refusal_text
from app.web.templating import render

bp = Blueprint("staff_cash_books", __name__)


def _seen(book_id: int) -> CashBook:
    book = db.session.get(CashBook, book_id)
    if book is None or not (book.cashier_id == current_user.id or cash_books.may_supervise(current_user, book)):
        abort(404)
    return book


def _names(user_ids) -> dict[int, str]:
    ids = {user_id for user_id in user_ids if user_id}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all()) if ids else {}


def _book_context(book: CashBook | None) -> dict:
    if book is None:
        return {"book": None}
    entries = cash_books.entries_of(book.id)
    consumers = dict(db.session.execute(select(Account.id, Account.consumer_number).where(
        Account.id.in_({p.account_id for p in entries}))).all()) if entries else {}
    return {"book": book, "totals": cash_books.totals_of(book.id), "entries": entries, "consumers": consumers,
            "names": _names([book.cashier_id, book.accepted_by_id]),
            "may_close": book.cashier_id == current_user.id and book.state == CashBookState.OPEN,
            "may_accept": (book.state == CashBookState.CLOSED and book.cashier_id != current_user.id
                           and cash_books.may_supervise(current_user, book))}


@bp.route("/staff/cash-book")
@staff_only
def my_day():
    """Today's cash book of the signed-in cashier, and their earlier days."""
    book = cash_books.todays_book(current_user)
    return render("staff/cash_book.html", mine=True, recent=cash_books.books_of(current_user),
                  close_form=CloseDayForm(formdata=None), action_form=ActionForm(), **_book_context(book))


@bp.route("/staff/cash-books/<int:book_id>")
@staff_only
def book(book_id: int):
    return _book_page(_seen(book_id))


def _book_page(book: CashBook, status: int = 200, close_form: CloseDayForm | None = None):
    return render("staff/cash_book.html", mine=False, recent=[], action_form=ActionForm(),
                  close_form=close_form or CloseDayForm(formdata=None), **_book_context(book)), status


@bp.route("/staff/cash-books/<int:book_id>/close", methods=["POST"])
@staff_only
def close(book_id: int):
    book = _seen(book_id)
    form = CloseDayForm()
    if form.validate_on_submit():
        try:
            cash_books.close_day(book.id, form.counted_cash.amount, form.note.data, current_user)
        except PaymentError as refusal:
            db.session.rollback()
            field = {"counted_cash": form.counted_cash, "cash_difference_note": form.note}.get(refusal.code)
            if field is None:  # closed already, or not theirs: nothing to correct in the form
                flash(refusal_text(refusal), "error")
                return redirect(url_for("staff_cash_books.book", book_id=book_id), 303)
            field.errors.append(refusal_text(refusal))
        else:
            flash(_("Day closed. Print the deposit slip; a supervisor accepts the cash book."), "success")
            return redirect(url_for("staff_cash_books.book", book_id=book_id), 303)
    return _book_page(db.session.get(CashBook, book_id), 422, close_form=form)


@bp.route("/staff/cash-books/<int:book_id>/accept", methods=["POST"])
@billing_staff
def accept(book_id: int):
    book = _seen(book_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        cash_books.accept_day(book.id, current_user)
    except PaymentError as refusal:
        db.session.rollback()
        flash(refusal_text(refusal), "error")
    else:
        flash(_("Cash book accepted."), "success")
    return redirect(url_for("staff_cash_books.book", book_id=book_id), 303)


@bp.route("/staff/cash-books")
@billing_staff
def index():
    """The supervisors' list: the closed days waiting for acceptance first, then the newest."""
    books = cash_books.books_for_supervisor(current_user)
    return render("staff/cash_books.html", books=books, totals=cash_books.totals_for([b.id for b in books]),
                  names=_names(b.cashier_id for b in books))


@bp.route("/staff/cash-books/<int:book_id>/deposit-slip")
@staff_only
def deposit_slip(book_id: int):
    book = _seen(book_id)
    if book.state == CashBookState.OPEN:
        flash(_("Close the day first: the deposit slip lists what the closed day holds."), "error")
        return redirect(url_for("staff_cash_books.book", book_id=book_id))
    context = _book_context(book)
    # Cash and the paper go to the bank; cards are settled by the acquirer and only noted.
    context["instruments"] = [p for p in context["entries"] if p.method in INSTRUMENT_METHODS]
    return render("staff/deposit_slip.html", **context)
