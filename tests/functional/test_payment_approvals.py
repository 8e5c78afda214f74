"""Maker-checker for money moved by staff (issue 9, point 7): refunds and UPI confirmations by a typed UTR.

Support only proposes; an administrator acts alone up to APPROVAL_LIMIT; anything else waits for a second,
different administrator; the money moves once, at approval; every step is audited with proposer and approver."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditLog
from app.billing import ledger
from app.billing.models import LedgerEntry, LedgerKind
from app.extensions import db
from app.payments import services
from app.payments.models import (
    ApprovalAction,
    ApprovalState,
    MoneyApproval,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
)
from tests import factories
from tests.functional.test_payment_helpers import billed_account, ledger_entries

CASH = PaymentMethod.CASH


def key(n: int = 0) -> str:
    return f"approval-test-key-{n:04d}"


@pytest.fixture
def people():
    """A support member and two administrators (the limit is the default ₹5,000)."""
    support = factories.make_user(role="support", email="support@example.com")
    first = factories.make_user(role="admin", email="first-admin@example.com")
    second = factories.make_user(role="admin", email="second-admin@example.com")
    db.session.commit()
    return support, first, second


@pytest.fixture
def cash_payment(people):
    support, _first, _second = people
    account, _bill = billed_account(total="9000.00", terms={"due_days": 15})
    payment = services.record_counter_payment(account.id, CASH, Decimal("9000.00"), support, key(900))
    db.session.commit()
    return account, payment


def upi_attempt(account, amount: str = "7000.00") -> Payment:
    payment = Payment(account_id=account.id, amount=Decimal(amount), method=PaymentMethod.UPI,
                      state=PaymentState.PENDING, reference=services.new_reference(), gateway="sandbox",
                      refunded_amount=Decimal(0))
    db.session.add(payment)
    db.session.commit()
    return payment


def audit_rows(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_support_cannot_refund_directly_whatever_the_amount(people, cash_payment):
    """Regression: support could refund any amount at once."""
    support, _first, _second = people
    account, payment = cash_payment
    with pytest.raises(services.RefundError) as refused:
        services.refund_payment(payment.id, Decimal("1.00"), "Overpaid", support, key(1))
    assert refused.value.code == "needs_approval"
    db.session.rollback()
    assert db.session.scalars(select(Refund)).all() == [] and ledger_entries(account.id, LedgerKind.REFUND) == []


def test_support_cannot_confirm_a_upi_payment_directly(people, cash_payment):
    """Regression: support could credit an account by typing any UTR."""
    support, _first, _second = people
    account, _cash = cash_payment
    attempt = upi_attempt(account, "100.00")
    with pytest.raises(services.PaymentError) as refused:
        services.confirm_upi_by_staff(attempt.id, "412345678901", Decimal("100.00"), support)
    assert refused.value.code == "needs_approval"
    db.session.rollback()
    assert db.session.get(Payment, attempt.id).state == PaymentState.PENDING


def test_an_admin_refunds_alone_within_the_limit_and_is_audited_as_both(people, cash_payment):
    _support, first, _second = people
    account, payment = cash_payment
    done = services.refund_or_propose(payment.id, Decimal("5000.00"), "Overpaid", first, key(1))
    db.session.commit()
    assert isinstance(done, Refund) and done.amount == Decimal("5000.00")
    assert db.session.scalars(select(MoneyApproval)).all() == []
    details = audit_rows("payment.refunded")[0].details
    assert (details["proposed_by"], details["approved_by"]) == (first.id, first.id)


def test_a_refund_split_in_small_ones_still_needs_a_second_person(people, cash_payment):
    """Regression (review): ₹5,000 and then ₹3,855.21 on one payment went through alone, each under the limit."""
    _support, first, _second = people
    _account, payment = cash_payment
    assert isinstance(services.refund_or_propose(payment.id, Decimal("4000.00"), "Overpaid", first, key(1)), Refund)
    db.session.commit()
    second_part = services.refund_or_propose(payment.id, Decimal("1000.01"), "Overpaid", first, key(2))
    assert isinstance(second_part, MoneyApproval)  # 5,000.01 in all: above the limit
    db.session.commit()
    with pytest.raises(services.RefundError) as refused:
        services.refund_payment(payment.id, Decimal("1500.00"), "Overpaid", first, key(3))
    assert refused.value.code == "needs_approval"
    db.session.rollback()
    assert db.session.get(Payment, payment.id).refunded_amount == Decimal("4000.00")


def test_above_the_limit_an_admin_only_proposes(app, people, cash_payment, monkeypatch):
    _support, first, _second = people
    account, payment = cash_payment
    with pytest.raises(services.RefundError, match="second person"):
        services.refund_payment(payment.id, Decimal("5000.01"), "Overpaid", first, key(1))
    db.session.rollback()
    proposal = services.refund_or_propose(payment.id, Decimal("5000.01"), "Overpaid", first, key(2))
    db.session.commit()
    assert isinstance(proposal, MoneyApproval) and proposal.state == ApprovalState.PENDING
    assert ledger_entries(account.id, LedgerKind.REFUND) == []
    monkeypatch.setitem(app.config, "APPROVAL_LIMIT", Decimal("6000"))  # the limit comes from configuration
    assert isinstance(services.refund_or_propose(payment.id, Decimal("5500.00"), "Overpaid", first, key(3)), Refund)


def test_a_second_admin_approves_and_the_money_moves_once_with_both_names_audited(people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    proposal = services.refund_or_propose(payment.id, Decimal("100.00"), "Wrong connection", support, key(1))
    again = services.refund_or_propose(payment.id, Decimal("100.00"), "Wrong connection", support, key(1))
    db.session.commit()
    assert again.id == proposal.id  # a double click proposes once
    assert ledger.balance(account.id) == Decimal("0.00")

    with pytest.raises(services.PaymentError) as own:
        services.approve(proposal.id, support)  # support never decides
    assert own.value.code == "approval_not_admin"
    services.approve(proposal.id, first)
    db.session.commit()
    assert proposal.state == ApprovalState.APPROVED and proposal.decided_by_id == first.id
    refund = db.session.get(Refund, proposal.refund_id)
    assert refund.amount == Decimal("100.00") and ledger.balance(account.id) == Decimal("100.00")
    with pytest.raises(services.PaymentError) as twice:
        services.approve(proposal.id, second)
    assert twice.value.code == "approval_decided"
    db.session.rollback()
    assert len(ledger_entries(account.id, LedgerKind.REFUND)) == 1

    proposed, approved = audit_rows("approval.proposed")[0], audit_rows("approval.approved")[0]
    assert proposed.actor_id == support.id and proposed.details["proposed_by"] == support.id
    assert approved.actor_id == first.id
    assert (approved.details["proposed_by"], approved.details["approved_by"]) == (support.id, first.id)
    refunded = audit_rows("payment.refunded")[0].details
    assert (refunded["proposed_by"], refunded["approved_by"], refunded["approval"]) == (support.id, first.id,
                                                                                        proposal.id)


def test_the_proposer_never_approves_their_own(people, cash_payment):
    _support, first, _second = people
    _account, payment = cash_payment
    proposal = services.refund_or_propose(payment.id, Decimal("6000.00"), "Connection closed", first, key(1))
    db.session.commit()
    for decide in (lambda: services.approve(proposal.id, first), lambda: services.reject(proposal.id, "no", first)):
        with pytest.raises(services.PaymentError) as own:
            decide()
        assert own.value.code == "approval_own"
        db.session.rollback()
    # The database refuses it too.
    proposal = db.session.get(MoneyApproval, proposal.id)
    proposal.decided_by_id = first.id
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_rejected_proposal_moves_nothing_and_cannot_be_approved_after(people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    proposal = services.refund_or_propose(payment.id, Decimal("200.00"), "Asked by phone", support, key(1))
    db.session.commit()
    services.reject(proposal.id, "The customer did not ask", first)
    db.session.commit()
    assert proposal.state == ApprovalState.REJECTED and proposal.decision_note == "The customer did not ask"
    with pytest.raises(services.PaymentError, match="already decided"):
        services.approve(proposal.id, second)
    db.session.rollback()
    assert ledger_entries(account.id, LedgerKind.REFUND) == []
    rejected = audit_rows("approval.rejected")[0]
    assert (rejected.details["proposed_by"], rejected.details["rejected_by"]) == (support.id, first.id)
    # Now another proposal for the payment may wait.
    services.refund_or_propose(payment.id, Decimal("200.00"), "Asked in writing", support, key(2))


def test_one_proposal_of_a_kind_waits_per_payment(people, cash_payment):
    support, _first, _second = people
    _account, payment = cash_payment
    services.refund_or_propose(payment.id, Decimal("100.00"), "Overpaid", support, key(1))
    with pytest.raises(services.PaymentError) as waiting:
        services.refund_or_propose(payment.id, Decimal("50.00"), "Overpaid", support, key(2))
    assert waiting.value.code == "approval_waiting"


def test_a_proposal_is_checked_when_made_and_again_when_approved(people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    with pytest.raises(services.RefundError, match="At most"):
        services.refund_or_propose(payment.id, Decimal("9000.01"), "Overpaid", support, key(1))
    db.session.rollback()
    proposal = services.refund_or_propose(payment.id, Decimal("6000.00"), "Overpaid", support, key(2))
    db.session.commit()
    services.refund_or_propose(payment.id, Decimal("4000.00"), "Other refund", first, key(3))  # meanwhile
    db.session.commit()
    with pytest.raises(services.RefundError, match="At most"):
        services.approve(proposal.id, second)
    db.session.rollback()
    assert db.session.get(MoneyApproval, proposal.id).state == ApprovalState.PENDING  # nothing half-done
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.REFUND)] == [Decimal("4000.00")]


def test_a_upi_payment_confirmed_by_support_is_credited_only_at_approval(people, cash_payment):
    support, first, _second = people
    account, _cash = cash_payment
    attempt = upi_attempt(account, "120.00")
    with pytest.raises(services.PaymentError, match="12-digit"):
        services.confirm_or_propose(attempt.id, "123", Decimal("120.00"), support, key(1))
    proposal = services.confirm_or_propose(attempt.id, "512345678901", Decimal("120.00"), support, key(2))
    db.session.commit()
    assert proposal.action == ApprovalAction.CONFIRM_UPI and attempt.state == PaymentState.PENDING
    assert ledger_entries(account.id, LedgerKind.PAYMENT) == [] or all(
        e.payment_id != attempt.id for e in ledger_entries(account.id, LedgerKind.PAYMENT))
    services.approve(proposal.id, first)
    db.session.commit()
    db.session.expire_all()
    attempt = db.session.get(Payment, attempt.id)
    assert attempt.state == PaymentState.CAPTURED and attempt.instrument_number == "512345678901"
    confirmed = audit_rows("payment.confirmed_by_staff")[0].details
    assert (confirmed["proposed_by"], confirmed["approved_by"]) == (support.id, first.id)


def login(client, user) -> None:
    client.post("/logout")
    assert client.post("/login", data={"login": user.email, "password": factories.PASSWORD}).status_code == 302


def test_staff_pages_propose_list_and_approve(client, people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    login(client, support)
    page = client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert "Propose the refund" in page
    proposed = client.post(f"/staff/payments/{payment.id}/refund", data={
        "amount": "300", "reason": "Overpaid", "idempotency_key": key(1)}, follow_redirects=True)
    assert "waits for a second administrator" in proposed.get_data(as_text=True)
    assert db.session.scalars(select(Refund)).all() == []
    listing = client.get("/staff/approvals").get_data(as_text=True)
    assert "Waiting for an administrator." in listing and "₹300.00" in listing
    proposal = db.session.scalar(select(MoneyApproval))
    assert client.post(f"/staff/approvals/{proposal.id}/approve", follow_redirects=True).status_code == 200
    assert db.session.scalars(select(Refund)).all() == []  # support cannot approve

    login(client, first)
    listing = client.get("/staff/approvals").get_data(as_text=True)
    assert f"/staff/approvals/{proposal.id}/approve" in listing and support.name in listing
    done = client.post(f"/staff/approvals/{proposal.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "Approved: ₹300.00 has moved." in done and "Nothing is waiting for approval." in done
    assert ledger.balance(account.id) == Decimal("300.00")
    detail = client.get(f"/staff/payments/{payment.id}").get_data(as_text=True)
    assert f"proposed by {support.name}" in detail and f"decided by {first.name}" in detail
    assert client.post("/staff/approvals/999999/approve").status_code == 404


def test_staff_pages_in_hindi_and_refusals_shown(client, people, cash_payment):
    support, first, _second = people
    _account, payment = cash_payment
    proposal = services.refund_or_propose(payment.id, Decimal("6000.00"), "Overpaid", first, key(1))
    first.locale = "hi_IN"
    db.session.commit()
    login(client, first)
    page = client.post(f"/staff/approvals/{proposal.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "यह प्रस्ताव आपने स्वयं किया है" in page
    rejected = client.post(f"/staff/approvals/{proposal.id}/reject", data={"note": " "}, follow_redirects=True)
    assert "अस्वीकार करने का कारण बताएँ।" in rejected.get_data(as_text=True)


def test_deciding_needs_the_csrf_token(app, client, people, cash_payment):
    support, first, _second = people
    _account, payment = cash_payment
    proposal = services.refund_or_propose(payment.id, Decimal("100.00"), "Overpaid", support, key(1))
    db.session.commit()
    login(client, first)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/staff/approvals/{proposal.id}/approve").status_code == 400
        assert client.post(f"/staff/approvals/{proposal.id}/reject", data={"note": "x"}).status_code == 400
        page = client.get("/staff/approvals").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert client.post(f"/staff/approvals/{proposal.id}/approve", data={"csrf_token": token}).status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(MoneyApproval, proposal.id).state == ApprovalState.APPROVED


def test_two_admins_approving_at_the_same_moment_move_the_money_once(app, people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    third = factories.make_user(role="admin", email="third-admin@example.com")
    proposals = []
    for n in range(5):
        other, _bill = billed_account(total="500.00", terms={"due_days": 15})
        cash = services.record_counter_payment(other.id, CASH, Decimal("500.00"), support, key(100 + n))
        proposals.append(services.refund_or_propose(cash.id, Decimal("500.00"), "Wrong connection", support,
                                                    key(200 + n)).id)
    db.session.commit()
    clients = [app.test_client(), app.test_client()]
    for own, user in zip(clients, (second, third), strict=True):
        login(own, user)

    def approve(args):
        own, proposal_id, barrier = args
        barrier.wait()
        return own.post(f"/staff/approvals/{proposal_id}/approve").status_code

    for proposal_id in proposals:
        barrier = threading.Barrier(2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(approve, [(own, proposal_id, barrier) for own in clients])) == [303, 303]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 5
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.kind == LedgerKind.REFUND)) == 5
    assert len(audit_rows("approval.approved")) == 5
    assert all(db.session.get(MoneyApproval, p).state == ApprovalState.APPROVED for p in proposals)
    assert first.id not in {db.session.get(MoneyApproval, p).decided_by_id for p in proposals}


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args), env={"DTECH_STAFF_PASSWORD": factories.PASSWORD})


def test_the_cli_follows_the_same_rules(app, people, cash_payment):
    support, first, second = people
    account, payment = cash_payment
    proposed = cli(app, "payments", "refund", str(payment.id), "700", "--reason", "Overpaid", "--by", support.email)
    assert proposed.exit_code == 0, proposed.output
    assert "Proposed as approval" in proposed.output and ledger_entries(account.id, LedgerKind.REFUND) == []
    proposal = db.session.scalar(select(MoneyApproval))
    listed = cli(app, "payments", "approvals")
    assert f"{proposal.id}\trefund\t₹700.00" in listed.output and support.name in listed.output
    refused = cli(app, "payments", "approve", str(proposal.id), "--by", support.email)
    assert refused.exit_code != 0 and "Only an administrator" in refused.output
    done = cli(app, "payments", "approve", str(proposal.id), "--by", first.email)
    assert done.exit_code == 0 and "₹700.00 moved" in done.output
    db.session.expire_all()
    assert [e.amount for e in ledger_entries(account.id, LedgerKind.REFUND)] == [Decimal("700.00")]
    alone = cli(app, "payments", "refund", str(payment.id), "100", "--reason", "Overpaid", "--by", second.email)
    assert alone.exit_code == 0 and "Refunded ₹100.00" in alone.output
    upi = upi_attempt(account, "42.00")
    proposed = cli(app, "payments", "confirm-upi", str(upi.id), "612345678901", "42", "--by", support.email)
    upi_proposal = db.session.scalar(select(MoneyApproval).where(MoneyApproval.action == ApprovalAction.CONFIRM_UPI))
    rejected = cli(app, "payments", "reject", str(upi_proposal.id), "--note", "Not on our statement", "--by",
                   first.email)
    assert rejected.exit_code == 0 and "nothing moved" in rejected.output
    wrong = cli(app, "payments", "refund", str(payment.id), "1", "--reason", "x", "--by", first.email,
                "--password", "wrong password")
    assert wrong.exit_code != 0
