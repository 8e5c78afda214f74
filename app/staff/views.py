"""Staff landing page, link requests to approve, and the component style guide."""

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts import services as accounts
from app.accounts.forms import LanguageForm, LinkForm
from app.accounts.models import Account, LinkRequest, LinkRequestStatus
from app.auth.access import staff_only
from app.auth.models import Role, User
from app.db import today_in_india
from app.extensions import db
from app.metering.models import Meter, Reading, ReadingStatus
from app.web.templating import render

bp = Blueprint("staff", __name__)


def _count(statement) -> int:
    return db.session.scalar(statement) or 0


@bp.route("/staff")
@staff_only
def home():
    figures = {
        "connections": _count(select(func.count(Account.id))),
        "meters": _count(select(func.count(Meter.id)).where(Meter.removed_on.is_(None))),
        "readings to review": _count(
            select(func.count(Reading.id)).where(Reading.status == ReadingStatus.NEEDS_REVIEW)),
        "customers": _count(select(func.count(User.id)).where(User.role == Role.CUSTOMER)),
    }
    waiting = _count(select(func.count(LinkRequest.id)).where(LinkRequest.status == LinkRequestStatus.PENDING))
    return render("staff/home.html", figures=figures, link_requests_waiting=waiting)


@bp.route("/staff/link-requests")
@staff_only
def link_requests():
    """Customers asking for connections with no registered mobile number: staff check and decide."""
    return render("staff/link_requests.html", requests=accounts.pending_requests(staff=current_user))


def _decide(request_id: int, approve: bool):
    try:
        decided = accounts.decide_link_request(request_id, current_user, approve)
    except LookupError:
        abort(404)
    except accounts.LinkError as refusal:
        flash(str(refusal), "error")
    else:
        number = decided.account.consumer_number
        flash(_("Approved: %(number)s is linked.", number=number) if approve
              else _("Rejected: %(number)s is not linked.", number=number), "success")
    return redirect(url_for("staff.link_requests"))


@bp.route("/staff/link-requests/<int:request_id>/approve", methods=["POST"])
@staff_only
def approve_link_request(request_id: int):
    return _decide(request_id, approve=True)


@bp.route("/staff/link-requests/<int:request_id>/reject", methods=["POST"])
@staff_only
def reject_link_request(request_id: int):
    return _decide(request_id, approve=False)


@bp.route("/styleguide")
@staff_only
def styleguide():
    """Every component macro with sample values, so pages are built from them."""
    today = today_in_india()
    sample_bill = {
        "number": "MH/2611/000123", "period_start": today - timedelta(days=30), "period_end": today,
        "total_due": Decimal("123456.78"), "due_date": today + timedelta(days=9), "units": Decimal("221"),
        "status": "due", "url": "#",
    }
    sample_payment = {"date": today, "amount": Decimal("1520.00"), "method": "UPI",
                      "receipt": "RC2611000045", "status": "paid"}
    form = LinkForm(formdata=None, meta={"csrf": False}, consumer_number="12AB")
    form.consumer_number.errors = ["Use the consumer number as printed on your bill."]
    choice_form = LanguageForm(formdata=None, meta={"csrf": False}, language="en_IN")
    return render("staff/styleguide.html", bill=sample_bill, payment=sample_payment, form=form,
                  choice_form=choice_form)
