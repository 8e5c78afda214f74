"""The reconciliation page (issue 12, collections): attempts pending too long, held payments, webhooks that matched
no order, and settlement files matched against our payments; each with its action, audited, office-scoped."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.extensions import db
from app.payments.gateways import GatewayError
from app.payments.gateways.sandbox import SandboxGateway
from app.payments.models import (
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentState,
    SettlementFile,
    SettlementLine,
    SettlementOutcome,
)
from app.payments.services import new_reference
from app.payments.settlements import parse_amount, parse_day
from app.web.csv_export import csv_safe, csv_text
from tests import factories
from tests.conftest import SUITE_NOW
from tests.functional.test_payment_helpers import attempt_with_order, post_webhook, sandbox

PAGE = "/staff/reconciliation"
YESTERDAY = SUITE_NOW - timedelta(days=1)  # 17 Nov 2026, 10:30 in India


def make_payment(account, state=PaymentState.CAPTURED, method=PaymentMethod.UPI, amount="500.00", **fields):
    fields.setdefault("created_at", YESTERDAY)
    if state in (PaymentState.CAPTURED, PaymentState.REFUNDED):
        fields.setdefault("captured_at", YESTERDAY)
    payment = Payment(account_id=account.id, amount=Decimal(amount), method=method, state=state,
                      reference=new_reference(), gateway="sandbox", refunded_amount=Decimal(0), **fields)
    db.session.add(payment)
    db.session.commit()
    return payment


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, content: bytes | str, filename: str = "settlement.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(f"{PAGE}/settlements", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.fixture
def offices():
    pune = factories.make_account(region="Pune")
    nashik = factories.make_account(region="Nashik")
    db.session.commit()
    return pune, nashik


# --- pending too long ---


def test_attempts_pending_too_long_are_listed_for_the_office(client, login_as, offices):
    pune, nashik = offices
    old = make_payment(pune, PaymentState.PENDING, created_at=SUITE_NOW - timedelta(hours=1))
    recent = make_payment(pune, PaymentState.CREATED, method=PaymentMethod.GATEWAY,
                          created_at=SUITE_NOW - timedelta(minutes=5))
    elsewhere = make_payment(nashik, PaymentState.PENDING, created_at=SUITE_NOW - timedelta(hours=1))
    login_as("billing", office="Pune")
    html = client.get(PAGE).get_data(as_text=True)
    assert old.reference in html and f"payment-{old.id}" in html
    assert recent.reference not in html  # within the window: reconcile has not had its turn yet
    assert elsewhere.reference not in html


def test_ask_the_gateway_now_captures_an_attempt_the_customer_paid(client, login_as, offices):
    pune, _nashik = offices
    payment, order_id = attempt_with_order(pune, "500.00")
    sandbox().pay(order_id, "succeed")
    db.session.commit()
    login_as("billing")
    response = client.post(f"{PAGE}/payments/{payment.id}/ask")
    assert response.status_code == 303 and response.headers["Location"].endswith("#overdue")
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.CAPTURED
    assert "is now captured" in client.get(PAGE).get_data(as_text=True)
    [asked] = audit_rows("payment.asked_gateway")
    assert asked.details == {"before": "pending", "after": "captured"}


def test_a_gateway_that_cannot_be_asked_changes_nothing_and_says_so(client, login_as, offices, monkeypatch):
    pune, _nashik = offices
    payment, _order = attempt_with_order(pune)

    def down(self, order_id):
        raise GatewayError("timed out")

    monkeypatch.setattr(SandboxGateway, "fetch_order_payments", down)
    login_as("admin")
    client.post(f"{PAGE}/payments/{payment.id}/ask")
    assert "could not be asked now (timed out)" in client.get(PAGE).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.PENDING
    assert audit_rows("payment.asked_gateway") == []


def test_only_a_waiting_online_attempt_is_asked_about(client, login_as, offices):
    pune, _nashik = offices
    captured = make_payment(pune, PaymentState.CAPTURED, method=PaymentMethod.CASH)
    login_as("billing")
    client.post(f"{PAGE}/payments/{captured.id}/ask")
    assert "Only an online attempt still waiting can be asked about." in client.get(PAGE).get_data(as_text=True)


def test_asking_about_another_offices_attempt_is_not_found(client, login_as, offices):
    _pune, nashik = offices
    payment, _order = attempt_with_order(nashik)
    login_as("billing", office="Pune")
    assert client.post(f"{PAGE}/payments/{payment.id}/ask").status_code == 404
    assert client.post(f"{PAGE}/payments/{payment.id}/fail", data={"note": "x"}).status_code == 404


def test_mark_failed_needs_a_reason_and_is_audited_with_the_person(client, login_as, offices):
    pune, _nashik = offices
    payment = make_payment(pune, PaymentState.PENDING, created_at=SUITE_NOW - timedelta(hours=3))
    officer = login_as("billing")
    client.post(f"{PAGE}/payments/{payment.id}/fail", data={"note": ""})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.PENDING
    client.post(f"{PAGE}/payments/{payment.id}/fail", data={"note": "Customer says the bank declined it"})
    db.session.expire_all()
    failed = db.session.get(Payment, payment.id)
    assert failed.state == PaymentState.FAILED and "bank declined" in failed.failure_reason
    [row] = audit_rows("payment.failed")
    assert row.actor_id == officer.id and row.details["before"] == "pending"
    # Twice is refused by the state machine's word (nothing waiting any more).
    client.post(f"{PAGE}/payments/{payment.id}/fail", data={"note": "again"})
    assert len(audit_rows("payment.failed")) == 1


def test_a_recent_attempt_cannot_be_marked_failed(client, login_as, offices):
    pune, _nashik = offices
    payment = make_payment(pune, PaymentState.PENDING, created_at=SUITE_NOW - timedelta(minutes=2))
    login_as("admin")
    client.post(f"{PAGE}/payments/{payment.id}/fail", data={"note": "impatient"})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.PENDING


# --- held payments ---


def test_held_payments_link_to_accept_and_refund(client, login_as, offices):
    pune, nashik = offices
    held = make_payment(pune, PaymentState.HELD, received_amount=Decimal("450.00"),
                        failure_reason="the gateway received INR 450.00 for an order of INR 500.00")
    other = make_payment(nashik, PaymentState.HELD, received_amount=Decimal("1.00"))
    login_as("billing", office="Pune")
    html = client.get(PAGE).get_data(as_text=True)
    assert f"/staff/payments/{held.id}/accept" in html and f"/staff/payments/{held.id}#refund" in html
    assert "₹450.00" in html and other.reference not in html
    assert client.post(f"/staff/payments/{held.id}/accept").status_code == 303
    db.session.expire_all()
    assert db.session.get(Payment, held.id).state == PaymentState.CAPTURED
    assert held.reference not in client.get(PAGE).get_data(as_text=True)


# --- webhooks that matched no order ---


def unknown_webhook(client, order_id="order_NOTOURS0001", payment_id="pay_NOTOURS0001", amount_paise=50000,
                    event_id="evt_unmatched_1") -> PaymentEvent:
    entity = {"id": payment_id, "entity": "payment", "amount": amount_paise, "currency": "INR",
              "status": "captured", "order_id": order_id, "method": "upi", "notes": {}, "created_at": 1}
    body = sandbox().event_body("payment.captured", {"payment": entity})
    assert post_webhook(client, body, event_id).status_code == 409
    return db.session.scalar(select(PaymentEvent).where(PaymentEvent.event_id == event_id))


def test_unmatched_webhooks_are_listed_with_what_they_name(client, login_as):
    unknown_webhook(client)
    login_as("support")
    html = client.get(PAGE).get_data(as_text=True)
    assert "pay_NOTOURS0001 · order_NOTOURS0001" in html and "evt_unmatched_1" in html
    assert "/dismiss" not in html  # support look, they do not act


def test_dismissing_a_webhook_needs_a_reason_and_happens_once(client, login_as):
    event = unknown_webhook(client)
    officer = login_as("billing")
    client.post(f"{PAGE}/webhooks/{event.id}/dismiss", data={"note": ""})
    assert audit_rows("payment_event.dismissed") == []
    client.post(f"{PAGE}/webhooks/{event.id}/dismiss", data={"note": "Test payment from the gateway's dashboard"})
    client.post(f"{PAGE}/webhooks/{event.id}/dismiss", data={"note": "again"})
    assert "This webhook was already settled." in client.get(PAGE).get_data(as_text=True)
    [row] = audit_rows("payment_event.dismissed")
    assert row.actor_id == officer.id and row.details["reason"].startswith("Test payment")
    db.session.expire_all()
    stored = db.session.get(PaymentEvent, event.id)
    assert stored.resolved_by_id == officer.id and stored.processed_at is not None
    assert "evt_unmatched_1" not in client.get(PAGE).get_data(as_text=True)


def test_a_webhook_reconcile_matched_meanwhile_is_not_dismissed(client, login_as, offices):
    pune, _nashik = offices
    event = unknown_webhook(client)
    payment, _order = attempt_with_order(pune)
    login_as("billing")
    page = client.get(PAGE).get_data(as_text=True)
    assert f"event-{event.id}" in page
    stored = db.session.get(PaymentEvent, event.id)  # the page was open when reconcile matched it
    stored.processed_at, stored.outcome, stored.payment_id = SUITE_NOW, "captured", payment.id
    db.session.commit()
    client.post(f"{PAGE}/webhooks/{event.id}/dismiss", data={"note": "stale page"})
    db.session.expire_all()
    assert db.session.get(PaymentEvent, event.id).outcome == "captured"
    assert audit_rows("payment_event.dismissed") == []


def test_matching_a_webhook_to_an_attempt_whose_order_call_timed_out_captures_it(client, login_as, offices):
    pune, _nashik = offices
    payment = make_payment(pune, PaymentState.CREATED, method=PaymentMethod.GATEWAY, amount="500.00")
    event = unknown_webhook(client)
    officer = login_as("billing")
    client.post(f"{PAGE}/webhooks/{event.id}/match", data={"payment_reference": payment.reference.lower()})
    db.session.expire_all()
    matched = db.session.get(Payment, payment.id)
    assert matched.state == PaymentState.CAPTURED and matched.gateway_order_id == "order_NOTOURS0001"
    stored = db.session.get(PaymentEvent, event.id)
    assert stored.payment_id == payment.id and stored.resolved_by_id == officer.id
    [row] = audit_rows("payment_event.matched")
    assert row.details["before"] == "created" and row.details["after"] == "captured"
    # Once: a second match (or a dismissal) finds it settled.
    client.post(f"{PAGE}/webhooks/{event.id}/dismiss", data={"note": "late"})
    assert audit_rows("payment_event.dismissed") == []


def test_a_webhook_naming_another_order_does_not_fit_a_payment(client, login_as, offices):
    pune, _nashik = offices
    payment, _order = attempt_with_order(pune, "500.00")
    event = unknown_webhook(client)
    login_as("billing")
    client.post(f"{PAGE}/webhooks/{event.id}/match", data={"payment_reference": payment.reference})
    assert "does not fit payment" in client.get(PAGE).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.PENDING
    assert db.session.get(PaymentEvent, event.id).resolved_at is None


def test_a_webhook_cannot_be_matched_to_another_offices_payment(client, login_as, offices):
    _pune, nashik = offices
    payment = make_payment(nashik, PaymentState.CREATED, method=PaymentMethod.GATEWAY)
    event = unknown_webhook(client)
    login_as("billing", office="Pune")
    client.post(f"{PAGE}/webhooks/{event.id}/match", data={"payment_reference": payment.reference})
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == PaymentState.CREATED
    assert db.session.get(PaymentEvent, event.id).resolved_at is None
    assert f"There is no payment {payment.reference}" in client.get(PAGE).get_data(as_text=True)


# --- settlement files ---


def settlement_case(offices):
    """Our payments of 17 Nov and a file of that day (BOM, odd headers, both date styles, Indian commas)."""
    pune, nashik = offices
    matched = make_payment(pune, instrument_number="431112345678", amount="1234.50")
    differs = make_payment(pune, method=PaymentMethod.GATEWAY, gateway_payment_id="pay_DIFFERS0001", amount="800.00")
    pending = make_payment(pune, PaymentState.PENDING, instrument_number="431100000009", amount="300.00")
    missing = make_payment(nashik, instrument_number="431199999999", amount="99.00")
    text = ("\ufeffSettlement Date,UTR No.,Amount (INR)\r\n"
            "17/11/2026,431112345678,\"1,234.50\"\r\n"
            "2026-11-17,pay_DIFFERS0001,750\r\n"
            "17-11-2026,431100000009,300.00\r\n"
            "17/11/2026 18:05:00,=HYPERLINK(\"http://evil\"),10.00\r\n"
            "\r\n")
    return text, dict(matched=matched, differs=differs, pending=pending, missing=missing)


def test_a_settlement_file_is_matched_against_our_payments(client, login_as, offices):
    text, payments = settlement_case(offices)
    officer = login_as("billing")
    response = upload(client, text)
    assert response.status_code == 303, response.get_data(as_text=True)
    settlement = db.session.scalar(select(SettlementFile))
    assert response.headers["Location"].endswith(f"/settlements/{settlement.id}")
    outcomes = {line.line_number: (line.outcome, line.payment_id) for line in
                db.session.scalars(select(SettlementLine).order_by(SettlementLine.id))}
    assert outcomes == {
        2: (SettlementOutcome.MATCHED, payments["matched"].id),
        3: (SettlementOutcome.AMOUNT_DIFFERS, payments["differs"].id),
        4: (SettlementOutcome.NOT_CAPTURED, payments["pending"].id),
        5: (SettlementOutcome.NOT_OURS, None),
        None: (SettlementOutcome.MISSING, payments["missing"].id),
    }
    assert settlement.line_count == 4 and str(settlement.first_day) == "2026-11-17"
    [row] = audit_rows("settlement.uploaded")
    assert row.actor_id == officer.id and row.details["not_ours"] == 1 and row.details["missing"] == 1
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/staff/payments/{payments['differs'].id}" in html and "₹750.00" in html


def test_uploading_the_same_file_again_opens_the_same_report(client, login_as, offices):
    text, _payments = settlement_case(offices)
    login_as("billing")
    first = upload(client, text)
    again = upload(client, text, filename="copy.csv")
    assert again.headers["Location"] == first.headers["Location"]
    assert count(SettlementFile) == 1 and count(SettlementLine) == 5
    assert "uploaded before" in client.get(again.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("text", [
    "DATE;UTR;AMOUNT\n17/11/2026;431112345678;1234.50\n",
    "Txn Date\tRRN\tCredit Amount\n17-11-2026\t'431112345678\t\"1,234.50\"\n",
    "Transaction ID,Value Date,Amount (Rs)\r\n431112345678,2026-11-17T09:00:00+05:30,Rs. 1234.5\r\n",
])
def test_header_names_separators_and_number_styles_are_tolerated(client, login_as, offices, text):
    pune, _nashik = offices
    paid = make_payment(pune, instrument_number="431112345678", amount="1234.50")
    login_as("billing")
    location = upload(client, text, filename="bank.csv").headers["Location"]
    [line] = db.session.scalars(select(SettlementLine)).all()
    assert (line.outcome, line.payment_id, str(line.settled_on)) == (SettlementOutcome.MATCHED, paid.id, "2026-11-17")
    assert "bank.csv" in client.get(PAGE).get_data(as_text=True)  # listed, and its report opens again
    assert client.get(location).status_code == 200


def test_an_upload_without_a_file_asks_for_one(client, login_as):
    login_as("billing")
    response = client.post(f"{PAGE}/settlements", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose the settlement file." in response.get_data(as_text=True)


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "This is not a CSV file"),
    ("date,utr\n17/11/2026,431112345678\n", "missing: amount"),
    ("utr,amount\n431112345678,10\n", "missing: date"),
    ("", "The file is empty"),
    ("date,utr,amount\n", "no payments in it"),
])
def test_a_file_that_cannot_be_read_says_why(client, login_as, content, message):
    login_as("billing")
    response = upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(SettlementFile) == 0


def test_bad_lines_are_named_and_nothing_is_saved(client, login_as, offices):
    text, _payments = settlement_case(offices)
    bad = text + "17/11/2026,431155555555,12.345\r\n31/02/2026,431166666666,10\r\n17/11/2026,431112345678,5\r\n"
    login_as("billing")
    response = upload(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "3 lines have problems" in html
    cells = '<th scope="row" data-label="Line">%s</th><td class="text-left" data-label="Problem">%s'
    assert cells % ("7", "12.345 is not an amount") in html
    assert cells % ("8", "31/02/2026 is not a date") in html
    assert cells % ("9", "The same UTR or gateway id as line 2") in html
    assert count(SettlementFile) == 0 and count(SettlementLine) == 0


def test_two_references_of_one_payment_refuse_the_file(client, login_as, offices):
    pune, _nashik = offices
    payment = make_payment(pune, method=PaymentMethod.GATEWAY, gateway_payment_id="pay_TWICE00001",
                           gateway_order_id="order_TWICE00001")
    login_as("admin")
    response = upload(client, "date,payment id,amount\n17/11/2026,pay_TWICE00001,500\n"
                              "17/11/2026,order_TWICE00001,500\n")
    assert response.status_code == 422 and "Line 2 names the same payment" in response.get_data(as_text=True)
    assert count(SettlementFile) == 0 and payment.id


def test_the_report_csv_neutralises_spreadsheet_formulas(client, login_as, offices):
    text, _payments = settlement_case(offices)
    login_as("billing")
    location = upload(client, text).headers["Location"]
    response = client.get(location + ".csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    references = [row[2] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\")" in references
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_csv_safe_prefixes_only_formula_starts():
    assert [csv_safe(v) for v in ("=1+1", "+91", "-2", "@SUM(A1)", "\t=1", "plain", None, Decimal("-5.00"))] == [
        "'=1+1", "'+91", "'-2", "'@SUM(A1)", "'\t=1", "plain", "", "-5.00"]
    assert csv_text(["a"], [["=x"]]).splitlines() == ["a", "'=x"]


def test_unmatched_lines_are_investigated_once_with_a_note(client, login_as, offices):
    text, _payments = settlement_case(offices)
    officer = login_as("billing")
    location = upload(client, text).headers["Location"]
    line = db.session.scalar(select(SettlementLine).where(SettlementLine.outcome == SettlementOutcome.NOT_OURS))
    client.post(f"{location}/lines/{line.id}/investigated", data={"note": ""})
    client.post(f"{location}/lines/{line.id}/investigated", data={"note": "Another biller's credit; told the bank"})
    client.post(f"{location}/lines/{line.id}/investigated", data={"note": "again"})
    [row] = audit_rows("settlement.line_investigated")
    assert row.actor_id == officer.id and row.details["note"].startswith("Another biller")
    db.session.expire_all()
    assert db.session.get(SettlementLine, line.id).note.startswith("Another biller")
    assert "already marked as investigated" in client.get(location).get_data(as_text=True)


def test_the_report_shows_an_office_only_its_payments(client, login_as, offices):
    text, payments = settlement_case(offices)
    login_as("billing")
    location = upload(client, text).headers["Location"]
    missing_line = db.session.scalar(select(SettlementLine).where(SettlementLine.outcome == SettlementOutcome.MISSING))
    client.post("/logout")
    login_as("billing", office="Pune")
    html = client.get(location).get_data(as_text=True)
    assert payments["matched"].reference in html and payments["missing"].reference not in html
    exported = client.get(location + ".csv").get_data(as_text=True)
    assert payments["missing"].reference not in exported and payments["matched"].reference in exported
    assert client.post(f"{location}/lines/{missing_line.id}/investigated", data={"note": "x"}).status_code == 404


def test_support_read_the_reports_but_do_not_upload(client, login_as, offices):
    text, _payments = settlement_case(offices)
    login_as("billing")
    location = upload(client, text).headers["Location"]
    client.post("/logout")
    login_as("support")
    page = client.get(location)
    assert page.status_code == 200 and "Mark as investigated" not in page.get_data(as_text=True)
    assert "enctype" not in client.get(PAGE).get_data(as_text=True)
    assert upload(client, text).status_code == 403


def test_the_page_is_in_the_staff_menu(client, login_as):
    login_as("support")
    assert 'href="/staff/reconciliation"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize(("text", "day"), [("05/11/2026", "2026-11-05"), ("5-11-2026", "2026-11-05"),
                                           ("2026-11-05", "2026-11-05"), ("05.11.2026 23:10", "2026-11-05"),
                                           ("2026-11-05T20:00:00+00:00", "2026-11-06")])
def test_settlement_dates_are_read_day_first_or_iso(app_context, text, day):
    assert parse_day(text).isoformat() == day


@pytest.mark.parametrize(("text", "amount"), [("1,23,456.50", "123456.50"), ("₹1,234", "1234.00"),
                                              ("Rs. 99.5", "99.50"), (" 10 ", "10.00")])
def test_settlement_amounts_are_read_with_commas_and_rupee_signs(app_context, text, amount):
    assert parse_amount(text) == Decimal(amount)
