"""The other-office walk (issue 11, "Roles and offices"): every staff URL that names an object, generated from the URL
map, is requested for an object of the Pune office by staff of the Nashik office, in each staff role the URL allows.
The answer is 404 (or 403) with nothing of the object in it and nothing written; the same request by the same role in
Pune is not a 404 (so the object was real and the refusal is the office's).

A URL naming a kind of object that is not in MAKERS (how to make one in an office) nor in NOT_OFFICE_BOUND (why it
belongs to no office) fails here: declare it."""

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.auth.models import Role
from app.billing.models import BillCorrection, BillRun, BillRunStatus, CorrectionAction
from app.db import utcnow
from app.extensions import db
from app.metering.models import ImportStatus, ReadingImport, ReadingSource, ReadingStatus
from app.metering.services import upload_folder
from app.notifications.models import Announcement
from app.payments import services as payments
from app.payments.models import PaymentMethod
from app.support import services as support
from app.support.models import Ticket, TicketCategory, TicketMessage
from tests import factories
from tests.functional.test_access import NON_PUBLIC, _listing_app, method_of
from tests.functional.test_payment_helpers import billed_account

HOME, OTHER = "Pune", "Nashik"
STAFF = {Role.SUPPORT, Role.BILLING, Role.ADMIN}

# Kinds of object that belong to no office, and why. Pages marked @head_office are refused to every office (403)
# whatever they name, and need no entry.
NOT_OFFICE_BOUND = {
    "version_id": "a tariff version is the state commission's schedule, the same for every office",
    "event_id": "a webhook that matched no order names no connection of ours; matching it checks the payment's office",
    "settlement_id": "a bank's settlement file covers every office; its report shows each office its own lines only",
    "slug": "a report's name, not an object: its figures are the asker's office's (tests/functional/test_reports.py)",
    "band": "an arrears band (0-30 days …), not an object: its defaulters are the asker's office's (test_reports.py)",
}
# Kinds of object that one person of a role owns, not everyone of that role in the office: the control (the same
# request at home) is made only by the other roles.
OWNED_BY_ONE_PERSON = {
    "book_id": {Role.SUPPORT},  # a cash book is its cashier's (and their office supervisors')
}


@dataclass
class Made:
    values: dict = field(default_factory=dict)  # URL values
    markers: list[str] = field(default_factory=list)  # texts of the object that must not reach another office


@dataclass
class Home:
    """A connection of the home office, with a bill, and the people around it."""

    account: object
    bill: object
    support: object
    billing: object
    customer: object

    @property
    def markers(self) -> list[str]:
        return [self.account.consumer_number, self.account.holder_name]


def _photo(folder, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return name


def make_account(home: Home) -> Made:
    return Made({"account_id": home.account.id}, home.markers)


def make_bill(home: Home) -> Made:
    return Made({"bill_id": home.bill.id}, [*home.markers, home.bill.number])


def _payment(home: Home):
    return payments.record_counter_payment(home.account.id, PaymentMethod.CASH, Decimal("500.00"), home.support,
                                           f"walk-payment-{home.account.id:08d}")


def make_payment(home: Home) -> Made:
    payment = _payment(home)
    return Made({"payment_id": payment.id}, [*home.markers, payment.receipt_number])


def make_approval(home: Home) -> Made:
    proposal = payments.refund_or_propose(_payment(home).id, Decimal("123.45"), "Walk refund reason", home.support,
                                          f"walk-refund-{home.account.id:08d}")
    return Made({"approval_id": proposal.id}, [*home.markers, "Walk refund reason"])


def make_reading(home: Home) -> Made:
    meter = factories.make_meter(home.account)
    reading = factories.make_reading(meter, date(2026, 11, 10), "1234.5", source=ReadingSource.SELF,
                                     status=ReadingStatus.NEEDS_REVIEW,
                                     photo_path=_photo(upload_folder(), "walk-reading.jpg"))
    return Made({"reading_id": reading.id}, [*home.markers, meter.serial])


def make_ticket(home: Home) -> Made:
    ticket = Ticket(number="CMP-2611-424242", user_id=home.customer.id, account_id=home.account.id,
                    category=TicketCategory.VOLTAGE, subject="Walk subject", due_at=utcnow() + timedelta(days=1))
    db.session.add(ticket)
    db.session.flush()
    message = TicketMessage(ticket_id=ticket.id, author_id=home.customer.id, body="Walk complaint text",
                            attachment_path=_photo(support.photos(), "walk-complaint.jpg"))
    db.session.add(message)
    db.session.flush()
    return Made({"ticket_id": ticket.id, "message_id": message.id},
                [*home.markers, ticket.number, "Walk complaint text"])


def make_announcement(home: Home) -> Made:
    announcement = Announcement(title="Walk outage in Kothrud", body="Walk announcement text", region=HOME,
                                starts_at=utcnow() + timedelta(days=1), created_by_id=home.billing.id)
    db.session.add(announcement)
    db.session.flush()
    return Made({"announcement_id": announcement.id}, ["Walk outage in Kothrud", "Walk announcement text"])


def make_run(home: Home) -> Made:
    run = BillRun(cycle="2026-10", region=HOME, status=BillRunStatus.FINISHED, total=1, done=1,
                  started_by_id=home.billing.id, finished_at=utcnow())
    db.session.add(run)
    db.session.flush()
    return Made({"run_id": run.id}, [])


def make_correction(home: Home) -> Made:
    correction = BillCorrection(action=CorrectionAction.DEBIT_NOTE, account_id=home.account.id,
                                amount=Decimal("77.77"), reason="Walk correction reason",
                                idempotency_key=f"walk-correction-{home.account.id:08d}",
                                proposed_by_id=home.billing.id)
    db.session.add(correction)
    db.session.flush()
    return Made({"correction_id": correction.id}, [*home.markers, "Walk correction reason"])


def make_link_request(home: Home) -> Made:
    from app.accounts.models import LinkRequest

    request = LinkRequest(user_id=home.customer.id, account_id=home.account.id, bill_amount=home.bill.total_due)
    db.session.add(request)
    db.session.flush()
    return Made({"request_id": request.id}, home.markers)


def make_cash_book(home: Home) -> Made:
    from app.payments import cash_books

    payment = _payment(home)  # the cashier's first collection of the day opens their book
    book = cash_books.close_day(payment.cash_book_id, Decimal("500.00"), None, home.support)
    return Made({"book_id": book.id}, [home.support.name, payment.receipt_number])


def make_settlement_line(home: Home) -> Made:
    from app.payments.models import SettlementFile, SettlementLine, SettlementOutcome

    payment = _payment(home)
    settlement = SettlementFile(filename="walk-settlement.csv", content_hash="f" * 64, first_day=date(2026, 11, 1),
                                last_day=date(2026, 11, 30), line_count=1, uploaded_by_id=home.billing.id)
    db.session.add(settlement)
    db.session.flush()
    line = SettlementLine(settlement_id=settlement.id, line_number=2, settled_on=date(2026, 11, 18),
                          reference="WALKUTR424242", amount=Decimal("499.00"), payment_id=payment.id,
                          outcome=SettlementOutcome.AMOUNT_DIFFERS)
    db.session.add(line)
    db.session.flush()
    return Made({"settlement_id": settlement.id, "line_id": line.id}, [payment.receipt_number, "WALKUTR424242"])


def make_upload(home: Home) -> Made:
    upload = ReadingImport(filename="walk-pune-readings.csv", content="consumer_number,meter_serial\n",
                           status=ImportStatus.CHECKED, office=HOME, total_rows=1, good_rows=1,
                           uploaded_by_id=home.support.id)
    db.session.add(upload)
    db.session.flush()
    return Made({"upload_id": upload.id}, ["walk-pune-readings.csv"])


# How to make, in the home office, the object each URL value names (one maker may fill several values).
MAKERS = {
    "account_id": make_account, "bill_id": make_bill, "payment_id": make_payment, "approval_id": make_approval,
    "reading_id": make_reading, "ticket_id": make_ticket, "message_id": make_ticket,
    "announcement_id": make_announcement, "run_id": make_run, "correction_id": make_correction,
    "request_id": make_link_request, "upload_id": make_upload, "book_id": make_cash_book,
    "line_id": make_settlement_line,
}


def _is_staff_rule(rule) -> bool:
    return bool(rule.arguments) and bool(_listing_app.view_functions[rule.endpoint].access_policy & STAFF)


OBJECT_RULES = [r for r in NON_PUBLIC if _is_staff_rule(r)]


def _head_office_only(rule) -> bool:
    return getattr(_listing_app.view_functions[rule.endpoint], "head_office_only", False)


def test_every_object_url_is_declared():
    """A new URL naming an object needs a maker (office-bound) or a reason (not office-bound)."""
    undeclared = sorted({f"{rule.endpoint}: <{name}>" for rule in OBJECT_RULES if not _head_office_only(rule)
                         for name in rule.arguments if name not in MAKERS and name not in NOT_OFFICE_BOUND})
    assert undeclared == [], f"declare these in MAKERS or NOT_OFFICE_BOUND: {undeclared}"


def test_no_declaration_is_left_over():
    used = {name for rule in OBJECT_RULES for name in rule.arguments}
    assert set(MAKERS) | set(NOT_OFFICE_BOUND) <= used


@pytest.fixture
def home():
    account, bill = billed_account(total="1234.56")
    account.region = HOME
    made = Home(account, bill, support=factories.make_user(role="support", office=HOME),
                billing=factories.make_user(role="billing", office=HOME), customer=factories.make_user())
    db.session.commit()
    return made


def _made(rule, home: Home) -> Made:
    made = Made()
    for name in sorted(rule.arguments, key=lambda n: n in NOT_OFFICE_BOUND):  # an office-bound maker fills the rest
        if name not in made.values:
            more = MAKERS[name](home)
            made.values.update(more.values)
            made.markers += more.markers
    db.session.commit()
    return made


def _url(rule, values: dict) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _audit_rows() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(AuditLog.id)))


WALK = [(rule, role) for rule in OBJECT_RULES if not all(n in NOT_OFFICE_BOUND for n in rule.arguments)
        for role in sorted(_listing_app.view_functions[rule.endpoint].access_policy & STAFF)]


@pytest.mark.parametrize(("rule", "role"), WALK, ids=lambda v: getattr(v, "endpoint", str(v)))
def test_staff_of_another_office_get_nothing(client, login_as, home, rule, role):
    if _head_office_only(rule):
        login_as(role, office=OTHER)
        assert client.open(_url(rule, {n: home.account.id for n in rule.arguments}),
                           method=method_of(rule)).status_code == 403
        return
    made = _made(rule, home)
    url, method = _url(rule, made.values), method_of(rule)
    before = _audit_rows()

    login_as(role, office=OTHER)
    response = client.open(url, method=method)
    body = response.get_data(as_text=True)
    assert response.status_code in (403, 404), f"{method} {url} as {role} of {OTHER}: {response.status_code}"
    assert [m for m in made.markers if m in body] == []
    assert _audit_rows() == before, "another office's request wrote something"

    if any(role in OWNED_BY_ONE_PERSON.get(name, ()) for name in rule.arguments):
        return
    client.post("/logout")
    login_as(role, office=HOME)  # the control: the same request at home is not a 404
    assert client.open(url, method=method).status_code != 404, f"{method} {url} as {role} of {HOME}"


# Lists that search: asked for the home office's connection by its number (its holder's name for consumers).
SEARCHES = {"staff_consumers.search": "q", "payments.staff_index": "consumer_number",
            "payments.counter": "consumer_number"}

LIST_RULES = [(rule, role) for rule in NON_PUBLIC
              if not rule.arguments and method_of(rule) == "GET" and rule.rule.startswith("/staff")
              and not _head_office_only(rule)
              for role in sorted(_listing_app.view_functions[rule.endpoint].access_policy & STAFF)]


@pytest.mark.parametrize(("rule", "role"), LIST_RULES, ids=lambda v: getattr(v, "endpoint", str(v)))
def test_lists_and_searches_show_nothing_of_another_office(client, login_as, home, rule, role):
    markers = []
    for maker in dict.fromkeys(MAKERS.values()):
        markers += maker(home).markers
    db.session.commit()
    login_as(role, office=OTHER)
    asked = {SEARCHES[rule.endpoint]: home.account.consumer_number} if rule.endpoint in SEARCHES else {}
    for query in (asked, {"q": home.account.holder_name})[:2 if rule.endpoint == "staff_consumers.search" else 1]:
        body = client.get(rule.rule, query_string=query).get_data(as_text=True)
        shown = [m for m in markers if m in body and m not in query.values()]  # what was typed is echoed back
        assert shown == [], f"{rule.rule} {query} as {role} of {OTHER}"
