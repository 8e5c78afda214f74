"""Corrections with maker-checker: a bill cancelled by a credit note, the latest bill revised, debit and credit
notes. Proposed by a billing officer or an administrator, made only when another administrator approves, once;
the customer sees the corrected bill and the reason, and the next bill's arrears come from the ledger."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.auth.maker_checker import ApprovalState
from app.billing import corrections, ledger
from app.billing.compose import Cycle
from app.billing.models import Bill, BillCorrection, CorrectionAction, LedgerEntry, LedgerKind
from app.billing.runs import run_bills
from app.extensions import db
from tests import factories

NOV = Cycle(2024, 11)


def billed_connection(**fields):
    """A connection billed for November 2024 (221 units, ₹2,424.12), with a customer linked to it."""
    account = factories.make_read_connection(factories.make_tariff(), **fields)
    customer = factories.make_user()
    factories.link(customer, account)
    db.session.commit()
    run_bills(NOV, issued_on=date(2024, 11, 12))
    db.session.commit()
    return account, db.session.scalar(select(Bill).where(Bill.account_id == account.id)), customer


def key() -> str:
    return corrections.new_idempotency_key()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_cancellation_changes_nothing_until_another_administrator_approves_it_once(app):
    account, bill, _customer = billed_connection()
    officer = factories.make_user(role="billing")
    admin = factories.make_user(role="admin")
    db.session.commit()
    proposal = corrections.propose(CorrectionAction.CANCEL, account.id, "billed in error", officer, key(),
                                   bill_id=bill.id)
    db.session.commit()
    assert proposal.state == ApprovalState.PENDING and proposal.amount == bill.total_due
    assert not ledger.is_cancelled(bill) and ledger.balance(account.id) == bill.total_due  # nothing yet

    corrections.approve(proposal.id, admin)
    db.session.commit()
    assert ledger.is_cancelled(bill) and ledger.balance(account.id) == Decimal("0.00")
    assert proposal.state == ApprovalState.APPROVED and proposal.decided_by_id == admin.id
    assert proposal.ledger_entry_id == ledger.credit_note_of(bill).id

    with pytest.raises(corrections.CorrectionRefused) as again:
        corrections.approve(proposal.id, factories.make_user(role="admin"))
    assert again.value.code == "approval_decided"
    db.session.rollback()
    assert count(LedgerEntry) == 2  # the bill and one credit note
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "correction.approved"))
    assert audit.details["proposed_by"] == officer.id and audit.details["approved_by"] == admin.id
    assert audit.details["before"]["balance"] == str(bill.total_due) and audit.details["after"]["balance"] == "0.00"


def test_the_proposer_never_approves_their_own_and_the_database_refuses_it_too(app):
    account, bill, _customer = billed_connection()
    admin = factories.make_user(role="admin")
    db.session.commit()
    proposal = corrections.propose(CorrectionAction.CREDIT_NOTE, account.id, "meter test fee refunded", admin,
                                   key(), amount=Decimal("150.00"))
    db.session.commit()
    with pytest.raises(corrections.CorrectionRefused) as own:
        corrections.approve(proposal.id, admin)
    assert own.value.code == "approval_own"
    db.session.rollback()
    proposal.decided_by_id = admin.id  # past the service: the check constraint
    with pytest.raises(Exception, match="(?i)check|second_person"):
        db.session.flush()
    db.session.rollback()
    assert ledger.balance(account.id) == bill.total_due


@pytest.mark.parametrize(("role", "code"), [("support", "not_allowed"), ("customer", "not_allowed")])
def test_support_and_customers_cannot_propose(app, role, code):
    account, bill, _customer = billed_connection()
    with pytest.raises(corrections.CorrectionRefused) as refused:
        corrections.propose(CorrectionAction.CANCEL, account.id, "x", factories.make_user(role=role), key(),
                            bill_id=bill.id)
    assert refused.value.code == code


def test_only_an_administrator_approves(app):
    account, _bill, _customer = billed_connection()
    proposal = corrections.propose(CorrectionAction.DEBIT_NOTE, account.id, "meter tampering penalty",
                                   factories.make_user(role="admin"), key(), amount=Decimal("500"))
    db.session.commit()
    for role in ("billing", "support"):
        with pytest.raises(corrections.CorrectionRefused) as refused:
            corrections.approve(proposal.id, factories.make_user(role=role))
        assert refused.value.code == "approval_not_admin"
    db.session.rollback()
    assert db.session.get(BillCorrection, proposal.id).state == ApprovalState.PENDING


def test_notes_move_the_balance_and_the_next_bill_shows_them(app):
    account, bill, _customer = billed_connection()
    officer, admin = factories.make_user(role="billing"), factories.make_user(role="admin")
    db.session.commit()
    credit = corrections.propose(CorrectionAction.CREDIT_NOTE, account.id, "overcharged meter rent", officer,
                                 key(), amount=Decimal("200.00"))
    debit = corrections.propose(CorrectionAction.DEBIT_NOTE, account.id, "reconnection fee", officer, key(),
                                amount=Decimal("50.50"))
    db.session.commit()
    corrections.approve(credit.id, admin)
    corrections.approve(debit.id, admin)
    db.session.commit()
    kinds = dict(db.session.execute(select(LedgerEntry.kind, LedgerEntry.amount)
                                    .where(LedgerEntry.kind != LedgerKind.BILL)).all())
    assert kinds == {LedgerKind.CREDIT_NOTE: Decimal("-200.00"), LedgerKind.DEBIT_NOTE: Decimal("50.50")}
    assert ledger.balance(account.id) == bill.total_due - Decimal("149.50")
    assert not ledger.is_cancelled(bill)  # a credit note without a bill cancels none

    from app.metering.models import Reading
    meter_id = db.session.scalar(select(Reading.meter_id))
    db.session.add(Reading(meter_id=meter_id, read_on=date(2024, 12, 5), value=Decimal("1321"),
                           source="meter_reader", status="accepted"))
    db.session.commit()
    run_bills(Cycle(2024, 12), issued_on=date(2024, 12, 12))
    db.session.commit()
    december = db.session.scalar(select(Bill).where(Bill.cycle == "2024-12"))
    assert december.previous_balance == bill.total_due
    assert december.payments_since == Decimal("149.50")  # the notes, as "payments and adjustments since"
    assert december.total_due == bill.total_due - Decimal("149.50") + december.current_charges + december.late_fee


def test_a_revision_is_made_on_approval_and_the_customer_sees_why(app, client):
    account, bill, customer = billed_connection()
    officer, admin = factories.make_user(role="billing"), factories.make_user(role="admin")
    db.session.commit()
    proposal = corrections.propose(CorrectionAction.REVISE, account.id, "reading corrected", officer, key(),
                                   bill_id=bill.id)
    db.session.commit()
    assert count(Bill) == 1
    corrections.approve(proposal.id, admin)
    db.session.commit()
    revised = db.session.scalar(select(Bill).where(Bill.revision == 1))
    assert proposal.revised_bill_id == revised.id and revised.revises_id == bill.id
    assert proposal.details["after"]["revised_bill"] == revised.number

    client.post("/login", data={"login": customer.email or customer.mobile, "password": factories.PASSWORD})
    old_page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "Revised: reading corrected. A revised bill replaces this one." in old_page
    new_page = client.get(f"/bills/{revised.id}").get_data(as_text=True)
    assert "Revised: reading corrected" in new_page and "Revised bill (revision 1)" in new_page
    listing = client.get("/bills").get_data(as_text=True)
    assert "Corrections to your account" in listing and "reading corrected" in listing


def test_the_customer_sees_a_cancellation_and_its_reason_in_hindi_too(app, client):
    account, bill, customer = billed_connection()
    proposal = corrections.propose(CorrectionAction.CANCEL, account.id, "billed twice", factories.make_user(
        role="billing"), key(), bill_id=bill.id)
    corrections.approve(proposal.id, factories.make_user(role="admin"))
    db.session.commit()
    client.post("/login", data={"login": customer.email or customer.mobile, "password": factories.PASSWORD})
    page = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "Cancelled: billed twice" in page
    assert "Bill cancelled by a credit note" in client.get("/bills").get_data(as_text=True)
    customer.locale = "hi_IN"
    db.session.commit()
    hindi = client.get(f"/bills/{bill.id}").get_data(as_text=True)
    assert "billed twice" in hindi and "Cancelled:" not in hindi


def test_a_rejected_proposal_changes_nothing_and_cannot_then_be_approved(app):
    account, bill, _customer = billed_connection()
    proposal = corrections.propose(CorrectionAction.CANCEL, account.id, "typo", factories.make_user(role="billing"),
                                   key(), bill_id=bill.id)
    admin = factories.make_user(role="admin")
    corrections.reject(proposal.id, "the bill is right", admin)
    db.session.commit()
    assert proposal.state == ApprovalState.REJECTED and proposal.decision_note == "the bill is right"
    with pytest.raises(corrections.CorrectionRefused):
        corrections.approve(proposal.id, factories.make_user(role="admin"))
    db.session.rollback()
    assert not ledger.is_cancelled(bill)
    assert db.session.scalar(select(AuditLog.details).where(AuditLog.action == "correction.rejected"))[
        "rejected_by"] == admin.id


def test_proposals_are_checked_as_the_correction_will_be(app):
    account, bill, _customer = billed_connection()
    officer = factories.make_user(role="billing")
    db.session.commit()

    def refused(action, **kwargs) -> str:
        with pytest.raises(corrections.CorrectionRefused) as refusal:
            corrections.propose(action, account.id, kwargs.pop("reason", "why"), officer, key(), **kwargs)
        db.session.rollback()
        return refusal.value.code

    assert refused(CorrectionAction.CANCEL, bill_id=bill.id, reason="  ") == "reason"
    assert refused(CorrectionAction.CANCEL, bill_id=None) == "no_bill"
    assert refused(CorrectionAction.DEBIT_NOTE, amount=None) == "amount"
    assert refused(CorrectionAction.DEBIT_NOTE, amount=Decimal("0")) == "amount"
    assert refused(CorrectionAction.CREDIT_NOTE, amount=Decimal("1.005")) == "amount"
    other = factories.make_account()
    db.session.commit()
    with pytest.raises(corrections.CorrectionRefused) as foreign:
        corrections.propose(CorrectionAction.CANCEL, other.id, "x", officer, key(), bill_id=bill.id)
    assert foreign.value.code == "no_bill"
    db.session.rollback()
    first = corrections.propose(CorrectionAction.CANCEL, account.id, "one", officer, key(), bill_id=bill.id)
    db.session.commit()
    assert refused(CorrectionAction.REVISE, bill_id=bill.id) == "waiting"
    same_key = corrections.propose(CorrectionAction.CANCEL, account.id, "one", officer, first.idempotency_key,
                                   bill_id=bill.id)
    assert same_key.id == first.id and count(BillCorrection) == 1


def test_a_proposal_that_no_longer_fits_is_refused_at_approval_and_nothing_moves(app):
    account, bill, _customer = billed_connection()
    officer, admin = factories.make_user(role="billing"), factories.make_user(role="admin")
    db.session.commit()
    cancel = corrections.propose(CorrectionAction.CANCEL, account.id, "first", officer, key(), bill_id=bill.id)
    corrections.approve(cancel.id, admin)
    db.session.commit()
    revise = corrections.propose  # a second proposal on the cancelled bill is refused at once
    with pytest.raises(corrections.CorrectionRefused) as refused:
        revise(CorrectionAction.REVISE, account.id, "second", officer, key(), bill_id=bill.id)
    assert refused.value.code == "cancelled"


# --- the pages ---


def propose_form(bill=None, **data) -> dict:
    form = {"idempotency_key": key(), "reason": "billed in error", "action": "cancel"}
    if bill is not None:
        form["bill_id"] = str(bill.id)
    return form | data


def test_staff_pages_propose_list_and_approve(app, client, login_as):
    account, bill, _customer = billed_connection()
    officer = login_as("billing")
    page = client.get(f"/staff/consumers/{account.id}").get_data(as_text=True)
    assert "Cancel with credit note" in page and "Debit/credit note" in page
    response = client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill))
    assert response.status_code == 303
    proposal = db.session.scalar(select(BillCorrection))
    assert proposal.proposed_by_id == officer.id and not ledger.is_cancelled(bill)
    listing = client.get("/staff/corrections").get_data(as_text=True)
    assert "billed in error" in listing and "Waiting for an administrator." in listing
    assert client.post(f"/staff/corrections/{proposal.id}/approve").status_code == 403  # an officer

    client.post("/logout")
    login_as("admin")
    assert f"/staff/corrections/{proposal.id}/approve" in client.get("/staff/corrections").get_data(as_text=True)
    assert client.post(f"/staff/corrections/{proposal.id}/approve").status_code == 303
    db.session.expire_all()
    assert ledger.is_cancelled(bill)
    again = client.post(f"/staff/corrections/{proposal.id}/approve", follow_redirects=True)
    assert "already decided" in again.get_data(as_text=True)
    assert count(LedgerEntry) == 2


def test_the_pages_refuse_the_proposer_missing_reasons_and_support(app, client, login_as):
    account, bill, _customer = billed_connection()
    login_as("admin")
    no_reason = client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill, reason=""))
    assert 'id="bill-reason-errors"><li>Please fill this in.' in no_reason.get_data(as_text=True)
    bad_amount = client.post(f"/staff/consumers/{account.id}/corrections",
                             data=propose_form(action="debit_note", amount="12.345"), follow_redirects=True)
    assert "Enter an amount from" in bad_amount.get_data(as_text=True)
    client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill))
    proposal = db.session.scalar(select(BillCorrection))
    own = client.post(f"/staff/corrections/{proposal.id}/approve", follow_redirects=True)
    assert "You proposed this yourself" in own.get_data(as_text=True)
    assert "You proposed this; another administrator decides it." in client.get("/staff/corrections").get_data(
        as_text=True)
    db.session.expire_all()
    assert not ledger.is_cancelled(bill)
    client.post("/logout")
    login_as("support")
    assert client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill)).status_code == 403
    listing = client.get("/staff/corrections")  # support looks it up, read-only
    assert listing.status_code == 200 and "billed in error" in listing.get_data(as_text=True)
    assert f"/staff/corrections/{proposal.id}/approve" not in listing.get_data(as_text=True)
    assert client.post(f"/staff/corrections/{proposal.id}/approve").status_code == 403
    assert "Debit/credit note" not in client.get(f"/staff/consumers/{account.id}").get_data(as_text=True)


def test_a_note_refused_for_its_reason_keeps_what_was_typed_with_the_error_at_the_field(app, client, login_as):
    account, _bill, _customer = billed_connection()
    login_as("admin")
    typed = propose_form(action="debit_note", amount="1,234.50", reason="")
    response = client.post(f"/staff/consumers/{account.id}/corrections", data=typed)
    assert response.status_code == 422  # the page again, not a redirect that loses what was typed
    page = response.get_data(as_text=True)
    assert 'id="note-amount" name="amount" type="text" value="1,234.50"' in page
    assert 'value="debit_note" checked' in page and typed["idempotency_key"] in page
    assert '<ul class="errors" id="note-reason-errors"><li>Please fill this in.</li></ul>' in page
    assert count(BillCorrection) == 0
    # A refusal of the service (an amount it cannot take) comes back the same way, at the amount.
    refused = client.post(f"/staff/consumers/{account.id}/corrections",
                          data=propose_form(action="credit_note", amount="12.345", reason="meter misread"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="meter misread"' in page
    assert 'id="note-amount-errors"><li>Enter an amount from' in page


def test_the_pages_reject_with_a_note(app, client, login_as):
    account, bill, _customer = billed_connection()
    proposal = corrections.propose(CorrectionAction.CANCEL, account.id, "x", factories.make_user(role="billing"),
                                   key(), bill_id=bill.id)
    db.session.commit()
    login_as("admin")
    response = client.post(f"/staff/corrections/{proposal.id}/reject", data={"note": "not needed"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(BillCorrection, proposal.id).state == ApprovalState.REJECTED
    assert not ledger.is_cancelled(bill)


def test_an_office_proposes_sees_and_decides_its_own_connections_only(app, client, login_as):
    account, bill, _customer = billed_connection()  # in Pune
    proposal = corrections.propose(CorrectionAction.CANCEL, account.id, "x", factories.make_user(role="billing"),
                                   key(), bill_id=bill.id)
    db.session.commit()
    login_as("admin", office="Nagpur")
    assert "correction-" not in client.get("/staff/corrections").get_data(as_text=True)
    assert client.post(f"/staff/corrections/{proposal.id}/approve").status_code == 404
    assert client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill)).status_code == 404
    db.session.expire_all()
    assert not ledger.is_cancelled(bill) and count(BillCorrection) == 1
    client.post("/logout")
    login_as("admin", office="Pune")
    assert f"correction-{proposal.id}" in client.get("/staff/corrections").get_data(as_text=True)
    assert client.post(f"/staff/corrections/{proposal.id}/approve").status_code == 303
    db.session.expire_all()
    assert ledger.is_cancelled(bill)


def test_the_forms_need_their_csrf_token(app, client, login_as, monkeypatch):
    account, bill, _customer = billed_connection()
    login_as("admin")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/staff/consumers/{account.id}/corrections", data=propose_form(bill)).status_code == 400
    assert count(BillCorrection) == 0


def test_the_command_line_proposes_and_another_administrator_decides(app):
    account, bill, _customer = billed_connection()
    runner = app.test_cli_runner()
    proposed = runner.invoke(args=["bills", "cancel", bill.number, "--reason", "duplicate",
                                   *factories.staff_cli_args("billing")])
    assert proposed.exit_code == 0, proposed.output
    assert not ledger.is_cancelled(bill)
    officer_decides = runner.invoke(args=["bills", "approve", "1", *factories.staff_cli_args("billing")])
    assert officer_decides.exit_code != 0 and "Only an administrator" in officer_decides.output
    rejected = runner.invoke(args=["bills", "reject", "1", "--note", "not a duplicate",
                                   *factories.staff_cli_args("admin")])
    assert rejected.exit_code == 0, rejected.output
    db.session.expire_all()
    assert not ledger.is_cancelled(bill)
    assert db.session.get(BillCorrection, 1).state == ApprovalState.REJECTED


def test_every_maker_checker_refusal_has_a_text_for_each_user_of_it():
    """The shared four-eyes rule refuses with codes; payments and corrections each show every one of them."""
    import inspect

    from app.auth import maker_checker
    from app.payments.base import REFUSALS as PAYMENT_REFUSALS

    codes = {"approval_not_admin", "approval_missing", "approval_own", "approval_decided"}
    source = inspect.getsource(maker_checker)
    assert all(f'"{code}"' in source for code in codes)
    assert codes <= set(PAYMENT_REFUSALS) and codes <= set(corrections.REFUSALS)
