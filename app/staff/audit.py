"""Staff: the audit log, read-only, newest first (head-office admins only: it covers every office and the people
pages). Filtered by person, by consumer (the rows about that connection and its bills, payments, readings, link
requests and approvals), by the start of the action's name and by dates in India. Each filter is an indexed
condition (actor_id, object_type + object_id, action + created_at, created_at), so a large table stays fast."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Blueprint, request, url_for
from sqlalchemy import ColumnElement, String, and_, cast, false, or_, select

from app.accounts.models import Account, LinkRequest
from app.audit.models import AuditLog
from app.auth.access import admin_only, head_office
from app.auth.contacts import normalise_email, normalise_mobile
from app.auth.models import User
from app.billing.models import Bill
from app.db import INDIA
from app.extensions import db
from app.metering.models import Meter, Reading
from app.payments.models import MoneyApproval, Payment
from app.web.pagination import MAX_PAGE
from app.web.templating import render

bp = Blueprint("staff_audit", __name__)

PER_PAGE = 50


def _ids(query) -> ColumnElement[str]:
    """A subquery of ids as text: audit rows name their object by a string id."""
    return query.with_only_columns(cast(query.selected_columns[0], String)).scalar_subquery()


def about_account(account_id: int) -> ColumnElement[bool]:
    """The rows about a connection or one of its objects (each an indexed (object_type, object_id) lookup)."""
    payments = select(Payment.id).where(Payment.account_id == account_id)
    meters = select(Meter.id).where(Meter.account_id == account_id)
    objects = {
        "Account": select(Account.id).where(Account.id == account_id),
        "Bill": select(Bill.id).where(Bill.account_id == account_id),
        "Payment": payments,
        "MoneyApproval": select(MoneyApproval.id).where(MoneyApproval.payment_id.in_(payments)),
        "Reading": select(Reading.id).where(Reading.meter_id.in_(meters)),
        "LinkRequest": select(LinkRequest.id).where(LinkRequest.account_id == account_id),
    }
    return or_(*(and_(AuditLog.object_type == kind, AuditLog.object_id.in_(_ids(ids)))
                 for kind, ids in objects.items()))


def people_matching(text: str) -> ColumnElement[bool]:
    """Rows by the person with this email or mobile number, or whose name contains `text`."""
    conditions = [User.name.icontains(text, autoescape=True)]
    if normalise_mobile(text):
        conditions.append(User.mobile == normalise_mobile(text))
    if "@" in text and normalise_email(text):
        conditions.append(User.email == normalise_email(text))
    return AuditLog.actor_id.in_(select(User.id).where(or_(*conditions)))


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=INDIA)


@dataclass
class Filters:
    person: str = ""
    consumer: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    unknown_consumer: bool = False
    bad_dates: bool = False  # a date that is none, or "to" before "from": nothing is shown, and why

    @classmethod
    def from_args(cls, args) -> "Filters":
        typed = {name: (args.get(name) or "").strip() for name in ("from", "to")}
        since, until = _day(typed["from"]), _day(typed["to"])
        bad = any(text and day is None for text, day in ((typed["from"], since), (typed["to"], until))) \
            or bool(since and until and since > until)
        return cls(person=" ".join(args.get("person", "").split())[:120],
                   consumer=args.get("consumer", "").strip()[:40], action=args.get("action", "").strip()[:60],
                   since=since, until=until, bad_dates=bad)

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = [false()] if self.bad_dates else []
        if self.person:
            conditions.append(people_matching(self.person))
        if self.consumer:
            account_id = db.session.scalar(select(Account.id).where(Account.consumer_number == self.consumer))
            self.unknown_consumer = account_id is None
            conditions.append(false() if account_id is None else about_account(account_id))
        if self.action:
            conditions.append(AuditLog.action.startswith(self.action, autoescape=True))
        if self.since:
            conditions.append(AuditLog.created_at >= _start_of(self.since))
        if self.until:
            conditions.append(AuditLog.created_at < _start_of(self.until + timedelta(days=1)))
        return conditions

    def args(self) -> dict:
        """The query string that keeps these filters (for the pager's links)."""
        given = {"person": self.person, "consumer": self.consumer, "action": self.action,
                 "from": self.since.isoformat() if self.since else "",
                 "to": self.until.isoformat() if self.until else ""}
        return {key: value for key, value in given.items() if value}


def _page() -> int | None:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return None
    return page if 1 <= page <= MAX_PAGE else None


# Where a row's object can be opened (staff pages that exist for it).
OBJECT_PAGES = {
    "Account": ("staff_consumers.consumer", "account_id"),
    "User": ("staff_users.person", "user_id"),
    "Bill": ("billing.bill", "bill_id"),
    "BillRun": ("staff_bill_runs.run", "run_id"),
    "Payment": ("payments.staff_payment", "payment_id"),
    "ReadingImport": ("staff_readings.upload_report", "upload_id"),
    "TariffVersion": ("staff_tariffs.version", "version_id"),
}


def object_url(entry: AuditLog) -> str | None:
    page = OBJECT_PAGES.get(entry.object_type)
    if page is None or not entry.object_id.isdigit():
        return None
    return url_for(page[0], **{page[1]: int(entry.object_id)})


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object


def readable_details(details: dict) -> tuple[list[Change], list[tuple[str, object]]]:
    """The changes (fields whose value differs between details["before"] and details["after"]) and the other
    details, as (name, value) pairs."""
    before, after = details.get("before"), details.get("after")
    changes = []
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name) or not before:
                changes.append(Change(name, before.get(name), after.get(name)))
    others = [(name, value) for name, value in details.items() if name not in ("before", "after")]
    return changes, others


@bp.route("/staff/audit")
@admin_only
@head_office
def index():
    filters = Filters.from_args(request.args)
    page = _page()
    if page is None:
        return render("staff/audit.html", filters=filters, rows=[], page=1, has_next=False, bad_page=True), 404
    query = (select(AuditLog, User).outerjoin(User, User.id == AuditLog.actor_id).where(*filters.conditions())
             .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
             .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1))  # one more: is there a next page? (no count(*))
    found = db.session.execute(query).all()
    rows = [(entry, actor, object_url(entry), *readable_details(entry.details or {}))
            for entry, actor in found[:PER_PAGE]]
    return render("staff/audit.html", filters=filters, rows=rows, page=page, has_next=len(found) > PER_PAGE,
                  bad_page=False), 400 if filters.bad_dates else 200
