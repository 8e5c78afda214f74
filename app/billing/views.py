"""A bill on screen and as a PDF, for its connection's linked customers and for staff."""

from flask import Blueprint, abort, current_app, make_response, redirect, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import select

from app.accounts.selection import selected_account, viewable
from app.auth.access import customer_only, signed_in
from app.billing import corrections, ledger
from app.billing.bills import bill_view, build_statement, statuses
from app.billing.models import Bill, BillStatus
from app.billing.pdf import render_bill_pdf
from app.billing.release import is_withheld, released
from app.billing.wording import slab_range, translated_line_label
from app.db import today_in_india
from app.extensions import db
from app.i18n import quantity
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("billing", __name__)


@bp.app_template_filter("line_label")
def line_label(line) -> str:
    """A bill line's name: the tariff's own words in English, the catalogue's in other languages."""
    if str(get_locale() or "en").startswith("en"):
        return line.label
    return translated_line_label(line.code, line.label, gettext)


@bp.app_template_filter("slab_range")
def slab_range_filter(row) -> str:
    """"101–300 units" for a slab row that knows its range; "" otherwise."""
    return slab_range(row, quantity, gettext) or ""


BILLS_PER_PAGE = 10


@bp.route("/bills")
@customer_only
def bills():
    """Bill history, newest first; htmx appends the next page, a plain link does the same without JS."""
    account = selected_account()
    if account is None:
        return redirect(url_for("accounts.link"))
    shown = page_of(select(Bill).where(Bill.account_id == account.id, released())
                    .order_by(Bill.period_start.desc(), Bill.revision.desc()), BILLS_PER_PAGE)
    cancelled = ledger.cancelled_bill_ids(b.id for b in shown.items)
    balance = ledger.balance(account.id)
    return render("billing/bills.html", fragment="bill_rows", account=account, bills=shown.items, page=shown.page,
                  has_more=shown.has_next, cancelled=cancelled,
                  statuses=statuses(shown.items, balance, today_in_india()), balance=balance,
                  corrections=corrections.made_for(account.id, limit=10) if shown.page == 1 else [])


def _shown(bill_id: int) -> Bill:
    """The bill if the signed-in user may see it: a held run's bill only by staff (they check it before release);
    a customer gets 404 as for any bill not theirs."""
    bill = viewable(db.session.get(Bill, bill_id))
    if not current_user.is_staff and is_withheld(bill):
        abort(404)
    return bill


@bp.route("/bills/<int:bill_id>")
@signed_in
def bill(bill_id: int):
    bill = _shown(bill_id)
    view = bill_view(bill)
    # The latest bill in force, unpaid: it can be paid from here (a customer's own; staff use the counter). Only
    # the latest has status due or overdue (an earlier one is paid or carried).
    payable = (view.status in (BillStatus.DUE, BillStatus.OVERDUE) and not view.statement.cancelled
               and not current_user.is_staff and "payments.pay" in current_app.view_functions)
    return render("billing/bill.html", bill=bill, statement=view.statement, status=view.status, balance=view.balance,
                  payable=payable, comparisons=view.comparisons, reasons=corrections.reasons_for(bill),
                  withheld=current_user.is_staff and is_withheld(bill))


@bp.route("/bills/<int:bill_id>.pdf")
@signed_in
def bill_pdf(bill_id: int):
    bill = _shown(bill_id)
    language = "hi" if request.args.get("lang") == "hi" else "en"
    response = make_response(render_bill_pdf(build_statement(bill), language))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{bill.number}-{language}.pdf"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
