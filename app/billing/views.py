"""A bill on screen and as a PDF, for its connection's linked customers and for staff."""

from flask import Blueprint, abort, make_response, request
from flask_login import current_user

from app.accounts.services import find_link
from app.auth.access import signed_in
from app.billing import ledger
from app.billing.bills import bill_status, build_statement
from app.billing.models import Bill
from app.billing.pdf import render_bill_pdf
from app.db import today_in_india
from app.extensions import db
from app.web.templating import render

bp = Blueprint("billing", __name__)


def viewable_bill(bill_id: int) -> Bill:
    """The bill, if this user may see it; otherwise 404 (not 403: no hint that it exists)."""
    bill = db.session.get(Bill, bill_id)
    if bill is None or not (current_user.is_staff or find_link(current_user, bill.account_id)):
        abort(404)
    return bill


@bp.route("/bills/<int:bill_id>")
@signed_in
def bill(bill_id: int):
    bill = viewable_bill(bill_id)
    statement = build_statement(bill)
    status = bill_status(bill, ledger.balance(bill.account_id), today_in_india())
    return render("billing/bill.html", bill=bill, statement=statement, status=status)


@bp.route("/bills/<int:bill_id>.pdf")
@signed_in
def bill_pdf(bill_id: int):
    bill = viewable_bill(bill_id)
    language = "hi" if request.args.get("lang") == "hi" else "en"
    response = make_response(render_bill_pdf(build_statement(bill), language))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{bill.number}-{language}.pdf"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
