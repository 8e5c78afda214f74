"""Maker-checker for the staff actions that move money: refunds, and UPI payments confirmed by typing a UTR.

An administrator acts alone up to APPROVAL_LIMIT. Above it, or whenever support asks, the action is a proposal
(a MoneyApproval row) that a second administrator approves or rejects; the proposer never decides their own.
The money moves only at approval, once: the row leaves `pending` by a conditional update of the locked row, and
what it makes (a refund keyed by the approval, the payment's one PAYMENT entry) is unique in the database.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.accounts.offices import can_see
from app.auth import maker_checker
from app.auth.models import Role
from app.db import insert_ignore, utcnow
from app.extensions import db
from app.payments.base import IDEMPOTENCY_KEY, PaymentError, lock_payment, may_act_alone
from app.payments.counter import check_confirm_upi, confirm_upi_by_staff
from app.payments.models import ApprovalAction, ApprovalState, MoneyApproval, Payment, Refund
from app.payments.refunds import check_refund, refund_payment, refunded_with


def refund_or_propose(payment_id: int, amount: Decimal, reason: str, actor, idempotency_key: str
                      ) -> Refund | MoneyApproval:
    """A refund made now (an administrator within the limit, counting what was refunded before), or else proposed
    for a second person."""
    payment = db.session.get(Payment, payment_id)
    if payment is not None and may_act_alone(actor, refunded_with(payment, amount)):
        return refund_payment(payment_id, amount, reason, actor, idempotency_key)
    return propose(ApprovalAction.REFUND, payment_id, amount, reason, actor, idempotency_key)


def confirm_or_propose(payment_id: int, utr: str, amount: Decimal, actor, idempotency_key: str
                       ) -> Payment | MoneyApproval:
    """A UPI payment confirmed now (an administrator within the limit), or else proposed for a second person."""
    if may_act_alone(actor, amount):
        return confirm_upi_by_staff(payment_id, utr, amount, actor)
    return propose(ApprovalAction.CONFIRM_UPI, payment_id, amount, "", actor, idempotency_key, utr=utr)


def propose(action: ApprovalAction, payment_id: int, amount: Decimal, reason: str, actor, idempotency_key: str,
            utr: str | None = None) -> MoneyApproval:
    """Record a proposal, checked as the action itself will be. The same idempotency key returns the same one."""
    if not getattr(getattr(actor, "role", None), "is_staff", False):
        raise PaymentError.refused("approval_not_admin")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise PaymentError.refused("form_expired")
    existing = db.session.scalar(select(MoneyApproval).where(MoneyApproval.idempotency_key == idempotency_key))
    if existing is not None:
        if (existing.payment_id, existing.proposed_by_id) != (payment_id, actor.id):
            raise PaymentError.refused("form_expired")
        return existing
    payment = lock_payment(payment_id)
    reason = (reason or "").strip()
    utr = (utr or "").strip() or None
    if action == ApprovalAction.REFUND:
        check_refund(payment, amount, reason)
    else:
        check_confirm_upi(payment, utr or "")
        reason = reason or f"UTR {utr} on the bank statement"
    try:
        with db.session.begin_nested():
            db.session.execute(insert_ignore(db.session, MoneyApproval.__table__, ["idempotency_key"]).values(
                {"action": action, "payment_id": payment.id, "amount": amount, "reason": reason[:200], "utr": utr,
                 "state": ApprovalState.PENDING, "idempotency_key": idempotency_key, "proposed_by_id": actor.id,
                 "proposed_at": utcnow(), "details": {}}))
    except IntegrityError:  # another proposal of this kind for this payment is waiting
        raise PaymentError.refused("approval_waiting") from None
    approval = db.session.scalar(select(MoneyApproval).where(MoneyApproval.idempotency_key == idempotency_key))
    audit.record("approval.proposed", approval, {"action": action.value, "payment": payment.id,
                                                 "amount": str(amount), "utr": utr, "reason": reason[:200],
                                                 "proposed_by": actor.id}, actor=actor)
    return approval


def _refusal(refused: maker_checker.DecisionRefused) -> PaymentError:
    """The maker-checker's refusal as the payments' own (its codes are REFUSALS too)."""
    return PaymentError.refused(refused.code)


def _decidable(approval_id: int, actor) -> MoneyApproval:
    try:
        approval = maker_checker.decidable(MoneyApproval, approval_id, actor, deciders={Role.ADMIN})
    except maker_checker.DecisionRefused as refused:
        raise _refusal(refused) from None
    payment = db.session.get(Payment, approval.payment_id)
    if not can_see(actor, db.session.get(Account, payment.account_id)):  # another office's: as if there were none
        raise PaymentError.refused("approval_missing")
    return approval


def _claim(approval: MoneyApproval, state: ApprovalState, actor, note: str | None) -> None:
    try:
        maker_checker.claim(MoneyApproval, approval, state, actor, note)
    except maker_checker.DecisionRefused as refused:
        raise _refusal(refused) from None


def approve(approval_id: int, actor) -> MoneyApproval:
    """A second administrator approves: now the money moves (and the proposal is approved), or nothing does."""
    approval = _decidable(approval_id, actor)
    _claim(approval, ApprovalState.APPROVED, actor, None)
    if approval.action == ApprovalAction.REFUND:
        refund = refund_payment(approval.payment_id, approval.amount, approval.reason, actor,
                                f"approval-{approval.id:012d}", approval=approval)
        approval.refund_id = refund.id
    else:
        confirm_upi_by_staff(approval.payment_id, approval.utr, approval.amount, actor, approval=approval)
    audit.record("approval.approved", approval, {"action": approval.action.value, "payment": approval.payment_id,
                                                 "amount": str(approval.amount), "proposed_by":
                                                 approval.proposed_by_id, "approved_by": actor.id}, actor=actor)
    return approval


def reject(approval_id: int, note: str, actor) -> MoneyApproval:
    """A second administrator rejects: nothing moves."""
    note = (note or "").strip()
    approval = _decidable(approval_id, actor)
    _claim(approval, ApprovalState.REJECTED, actor, note[:200] or None)
    audit.record("approval.rejected", approval, {"action": approval.action.value, "payment": approval.payment_id,
                                                 "amount": str(approval.amount), "note": note[:200],
                                                 "proposed_by": approval.proposed_by_id, "rejected_by": actor.id},
                 actor=actor)
    return approval

