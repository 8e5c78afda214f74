"""Staff landing page and the component style guide."""

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint
from sqlalchemy import func, select

from app.accounts.forms import LinkForm
from app.accounts.models import Account
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
    return render("staff/home.html", figures=figures)


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
    return render("staff/styleguide.html", bill=sample_bill, payment=sample_payment, form=form)
