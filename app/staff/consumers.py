"""Staff: find a consumer by number, holder name, mobile number or meter serial, and see everything about one
connection on one page. Staff with an office find and open their office's connections only."""

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, func, or_, select, union

from app.accounts import changes
from app.accounts.models import Account, AccountLink
from app.accounts.offices import can_see, visible_to
from app.auth.access import staff_only
from app.auth.contacts import normalise_mobile
from app.auth.models import User
from app.billing import corrections, ledger
from app.billing.bills import latest_bills, statuses
from app.billing.models import LedgerEntry
from app.db import today_in_india
from app.extensions import db
from app.i18n import indian_date
from app.metering import connections
from app.metering.models import Meter, ReaderStatus, Reading, ReadingStatus
from app.notifications.models import Notification
from app.payments import queries as payment_queries
from app.staff.forms import READER_LABELS, ManualReadingForm
from app.support.models import Ticket
from app.web.pagination import page_of
from app.web.templating import render

bp = Blueprint("staff_consumers", __name__)

PER_PAGE = 20
MIN_NAME_LENGTH = 2
ON_PAGE = 12  # of each history (readings, bills, payments …) on a consumer's page


def _name_matches(text: str) -> Select:
    """Any part of the name: a trigram-indexed ILIKE on PostgreSQL; word prefixes on SQLite (small installs)."""
    if db.engine.dialect.name == "postgresql":
        return select(Account.id).where(Account.holder_name.icontains(text, autoescape=True))
    return select(Account.id).where(or_(Account.holder_name.istartswith(text, autoescape=True),
                                        Account.holder_name.icontains(" " + text, autoescape=True)))


def _mobile_matches(mobile: str) -> list[Select]:
    return [select(Account.id).where(Account.registered_mobile == mobile),
            select(AccountLink.account_id).join(User, User.id == AccountLink.user_id).where(User.mobile == mobile)]


def matches(query: str) -> ColumnElement[bool] | None:
    """What `query` can mean: a consumer number (or its start), a meter serial (or its start), a mobile number,
    or part of the holder's name. None when it is too short to look for anything.

    Each meaning is its own query on its own index (consumer_number and upper(serial) with text_pattern_ops, the
    holder's name with pg_trgm, the mobile numbers' btrees), and the connections are those any of them finds: a
    UNION, which PostgreSQL plans branch by branch, where one OR across the columns would read the whole table
    (bench/consumer_search.py)."""
    text = re.sub(r"\s+", " ", query).strip()
    if len(text) < MIN_NAME_LENGTH:
        return None
    compact = re.sub(r"[\s-]", "", text)  # numbers as people type them: "98765 00001", "1700-0000"
    serial = text.replace(" ", "").upper()
    found = [select(Account.id).where(Account.consumer_number.startswith(compact.upper(), autoescape=True)),
             select(Meter.account_id).where(func.upper(Meter.serial).startswith(serial, autoescape=True)),
             _name_matches(text)]
    mobile = normalise_mobile(compact)
    if mobile is not None:
        found += _mobile_matches(mobile)
    return Account.id.in_(union(*found))


@bp.route("/staff/consumers")
@staff_only
def search():
    """As you type (htmx swaps the results), or a plain form without JavaScript."""
    query = request.args.get("q", "")[:120]
    condition = matches(query)
    shown = None
    if condition is not None:
        shown = page_of(select(Account).where(condition, visible_to(current_user))
                        .order_by(Account.consumer_number), PER_PAGE)
    return render("staff/consumers.html", fragment="results", query=query, shown=shown,
                  too_short=bool(query.strip()) and condition is None)


@dataclass(frozen=True)
class LedgerLine:
    entry: LedgerEntry
    balance_after: Decimal


def ledger_with_balance(account_id: int, limit: int, balance: Decimal) -> list[LedgerLine]:
    """The latest entries, newest first, each with the balance right after it (walking back from today's,
    `balance`)."""
    running = balance
    lines = []
    for entry in ledger.history(account_id, limit):
        lines.append(LedgerLine(entry, running))
        running -= entry.amount
    return lines


def _newest(model, *conditions, order=None, limit: int = ON_PAGE) -> list:
    return list(db.session.scalars(select(model).where(*conditions).order_by(*(order or (model.id.desc(),)))
                                   .limit(limit)))


def page_with_correction(account: Account, form, problem: str | None = None):
    """The consumer's page again with a refused correction form filled in as it was sent (422)."""
    reading_form = ManualReadingForm(formdata=None, read_on=today_in_india().isoformat())
    return _page(account, reading_form, 422, correction_form=form, correction_problem=problem)


def _seen(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if not can_see(current_user, account):
        abort(404)  # as for a connection that does not exist: no hint about other offices
    return account


@bp.route("/staff/consumers/<int:account_id>")
@staff_only
def consumer(account_id: int):
    form = ManualReadingForm(formdata=None, read_on=today_in_india().isoformat())
    return _page(_seen(account_id), form)


def _page(account: Account, reading_form: ManualReadingForm, status: int = 200, correction_form=None,
          correction_problem: str | None = None):
    """The consumer's page; a refused correction comes back in `correction_form` (what was typed, its errors)
    with `correction_problem` for a refusal that belongs to no one field."""
    meters = _newest(Meter, Meter.account_id == account.id, order=(Meter.installed_on.desc(), Meter.id.desc()),
                     limit=50)
    meter_ids = [m.id for m in meters]
    bills = latest_bills(account.id, limit=ON_PAGE)
    balance = ledger.balance(account.id)
    return render(
        "staff/consumer.html", account=account, balance=balance, meters=meters,
        meter_in_use=next((m for m in meters if m.removed_on is None), None),
        serials={m.id: m.serial for m in meters},
        users=list(db.session.scalars(select(User).join(AccountLink, AccountLink.user_id == User.id)
                                      .where(AccountLink.account_id == account.id).order_by(User.name))),
        readings=_newest(Reading, Reading.meter_id.in_(meter_ids),
                         order=(Reading.read_on.desc(), Reading.id.desc())),
        visits=connections.visits(meter_ids, ON_PAGE), changes=changes.history(account.id, ON_PAGE),
        reading_form=reading_form, reader_statuses=READER_LABELS,
        bills=bills, bill_statuses=statuses(bills, balance, today_in_india()),
        ledger_lines=ledger_with_balance(account.id, ON_PAGE, balance),
        payments=list(db.session.scalars(payment_queries.history(account.id).limit(ON_PAGE))),
        tickets=_newest(Ticket, Ticket.account_id == account.id),
        notifications=_newest(Notification, Notification.account_id == account.id),
        corrections=corrections.of_account(account.id, limit=ON_PAGE),
        bill_key=corrections.new_idempotency_key(), note_key=corrections.new_idempotency_key(),
        correction_form=correction_form, correction_problem=correction_problem,
    ), status


@bp.route("/staff/consumers/<int:account_id>/readings", methods=["POST"])
@staff_only
def enter_reading(account_id: int):
    """A reading from a reader's book typed by staff (checked as every reading is), or the reader's status code
    instead (a visit; the bill for the period is then estimated)."""
    account = _seen(account_id)
    form = ManualReadingForm()
    if not form.validate_on_submit():
        return _page(account, form, 422)
    try:
        if form.status.data:
            new = connections.record_visit(account, form.read_on.value, ReaderStatus(form.status.data), current_user)
            done = _("Recorded: %(status)s on %(day)s; the bill for this period will be estimated.",
                     status=READER_LABELS[form.status.data], day=indian_date(form.read_on.value))
        else:
            reading = connections.enter_reading(account, form.read_on.value, form.value.value, current_user)
            new = reading is not None
            done = new and (_("Reading recorded and accepted.") if reading.status is ReadingStatus.ACCEPTED
                            else _("Reading recorded; it waits in the review queue."))
    except connections.MeterRefused as refusal:
        getattr(form, refusal.field).errors.append(str(refusal))
        return _page(account, form, 422)
    flash(done if new else _("This was already recorded: nothing changed."), "success" if new else "info")
    return redirect(url_for("staff_consumers.consumer", account_id=account.id), 303)
