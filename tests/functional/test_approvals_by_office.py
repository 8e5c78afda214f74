"""/staff/approvals by office: staff of an office see and decide only the proposals for their office's
connections (another office's is a 404, in the page and in the service); head office sees and decides all."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.payments import services
from app.payments.models import ApprovalState, MoneyApproval, PaymentMethod, Refund
from tests import factories
from tests.functional.test_payment_helpers import billed_account


@pytest.fixture
def proposals():
    """A refund proposed by support for a Pune payment and one for a Nashik payment, each waiting."""
    support = factories.make_user(role="support")
    waiting = {}
    for n, region in enumerate(("Pune", "Nashik")):
        account, _bill = billed_account(total="900.00")
        account.region = region
        payment = services.record_counter_payment(account.id, PaymentMethod.CASH, Decimal("900.00"), support,
                                                  f"office-approval-pay-{n:04d}")
        waiting[region] = services.refund_or_propose(payment.id, Decimal(f"10{n}.00"), f"Overpaid in {region}",
                                                     support, f"office-approval-ref-{n:04d}")
    db.session.commit()
    return waiting


def test_an_office_sees_only_its_own_proposals_and_head_office_all(client, login_as, proposals):
    login_as("admin", office="Pune")
    page = client.get("/staff/approvals").get_data(as_text=True)
    assert "Overpaid in Pune" in page and "Overpaid in Nashik" not in page
    client.post("/logout")
    login_as("admin")
    page = client.get("/staff/approvals").get_data(as_text=True)
    assert "Overpaid in Pune" in page and "Overpaid in Nashik" in page


def test_another_office_cannot_decide_a_proposal(client, login_as, proposals):
    nashik_proposal = proposals["Nashik"]
    login_as("admin", office="Pune")
    assert client.post(f"/staff/approvals/{nashik_proposal.id}/approve").status_code == 404
    assert client.post(f"/staff/approvals/{nashik_proposal.id}/reject", data={"note": "No"}).status_code == 404
    assert client.post(f"/staff/approvals/{nashik_proposal.id}/reject").status_code == 404
    db.session.refresh(nashik_proposal)
    assert nashik_proposal.state == ApprovalState.PENDING and db.session.scalars(select(Refund)).all() == []


def test_the_service_refuses_another_offices_proposal_as_if_it_did_not_exist(proposals):
    pune_admin = factories.make_user(role="admin", office="Pune")
    with pytest.raises(services.PaymentError) as refused:
        services.approve(proposals["Nashik"].id, pune_admin)
    assert refused.value.code == "approval_missing"
    db.session.rollback()
    with pytest.raises(services.PaymentError):
        services.reject(proposals["Nashik"].id, "no", pune_admin)
    db.session.rollback()
    assert {p.state for p in db.session.scalars(select(MoneyApproval))} == {ApprovalState.PENDING}


def test_an_office_decides_its_own_and_head_office_anothers(client, login_as, proposals):
    login_as("admin", office="Pune")
    assert client.post(f"/staff/approvals/{proposals['Pune'].id}/approve").status_code == 303
    client.post("/logout")
    login_as("admin")
    assert client.post(f"/staff/approvals/{proposals['Nashik'].id}/reject", data={"note": "Not asked"}).status_code \
        == 303
    db.session.commit()
    assert [r.amount for r in db.session.scalars(select(Refund))] == [Decimal("100.00")]
    assert db.session.get(MoneyApproval, proposals["Nashik"].id).state == ApprovalState.REJECTED
