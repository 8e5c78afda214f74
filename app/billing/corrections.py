"""Corrections with maker-checker: a bill cancelled by a credit note, the latest bill revised from today's data,
and manual debit and credit notes. A billing officer or an administrator proposes one with a reason; it is made
only when another administrator approves it (app.auth.maker_checker), once, and the customer is shown the reason.

Nothing changes at the proposal. At approval the bill functions (bills.cancel_bill, bills.revise_bill) and the
ledger do the work, checked again then; the ledger drives the next bill's arrears.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.accounts.offices import can_see
from app.auth import maker_checker
from app.auth.maker_checker import ApprovalState
from app.auth.models import Role
from app.billing import ledger
from app.billing.bills import BillCorrectionError, cancel_bill, next_bill, revise_bill
from app.billing.models import Bill, BillCorrection, CorrectionAction, LedgerKind
from app.billing.release import is_withheld
from app.db import today_in_india
from app.extensions import db
from app.i18n import N_
from app.web.idempotency import IDEMPOTENCY_KEY, new_idempotency_key  # noqa: F401 - views call it here

PROPOSERS = frozenset({Role.BILLING, Role.ADMIN})
APPROVERS = frozenset({Role.ADMIN})  # money and bills change on an administrator's word, as in a utility's office
NOTE_CEILING = Decimal("1000000.00")  # a note above ₹10,00,000 is a mistake of the form, not a correction
BILL_ACTIONS = (CorrectionAction.CANCEL, CorrectionAction.REVISE)

# Every refusal staff may see, by code; the pages translate them.
REFUSALS = {
    "not_allowed": N_("Only a billing officer or an administrator can propose a correction."),
    "form_expired": N_("This form has expired. Please reload the page and try again."),
    "no_connection": N_("There is no such connection."),
    "no_bill": N_("There is no such bill on this connection."),
    "reason": N_("Give the reason; the customer is shown it."),
    "cancelled": N_("Bill %(number)s is already cancelled."),
    "not_latest": N_("Bill %(number)s is not the latest bill of this connection: correct it with a note instead."),
    "held": N_("Bill %(number)s is in a bill run that is held: it is not issued yet, so it cannot be corrected."),
    "amount": N_("Enter an amount from ₹0.01 to ₹10,00,000.00, in rupees and paise."),
    "waiting": N_("A correction of this bill is already waiting for approval."),
    "cannot_revise": N_("The bill cannot be revised now: %(why)s"),
    "approval_not_admin": N_("Only an administrator can approve or reject a correction."),
    "approval_own": N_("You proposed this yourself; another administrator must decide it."),
    "approval_decided": N_("This proposal was already decided."),
    "approval_missing": N_("There is no such proposal."),
}


class CorrectionRefused(Exception):
    def __init__(self, code: str, **params: object):
        super().__init__(REFUSALS[code] % params if params else REFUSALS[code])
        self.code = code
        self.params = params


def _bill_of(account: Account, bill_id: int | None) -> Bill:
    bill = db.session.get(Bill, bill_id) if bill_id else None
    if bill is None or bill.account_id != account.id:
        raise CorrectionRefused("no_bill")
    if is_withheld(bill):
        raise CorrectionRefused("held", number=bill.number)
    if ledger.is_cancelled(bill):
        raise CorrectionRefused("cancelled", number=bill.number)
    if next_bill(bill) is not None:
        raise CorrectionRefused("not_latest", number=bill.number)
    return bill


def _note_amount(amount: Decimal | None) -> Decimal:
    if amount is None or amount != amount.quantize(Decimal("0.01")) or not Decimal("0.01") <= amount <= NOTE_CEILING:
        raise CorrectionRefused("amount")
    return amount


def propose(action: CorrectionAction, account_id: int, reason: str, actor, idempotency_key: str,
            bill_id: int | None = None, amount: Decimal | None = None) -> BillCorrection:
    """Record a proposal, checked as the correction itself will be; nothing changes yet. The same form sent again
    (its idempotency key) returns the same proposal."""
    if getattr(actor, "role", None) not in PROPOSERS:
        raise CorrectionRefused("not_allowed")
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise CorrectionRefused("form_expired")
    existing = db.session.scalar(select(BillCorrection).where(BillCorrection.idempotency_key == idempotency_key))
    if existing is not None:
        if (existing.account_id, existing.proposed_by_id) != (account_id, actor.id):
            raise CorrectionRefused("form_expired")
        return existing
    account = db.session.get(Account, account_id)
    if not can_see(actor, account):
        raise CorrectionRefused("no_connection")
    reason = (reason or "").strip()[:200]
    if not reason:
        raise CorrectionRefused("reason")
    before = {"balance": str(ledger.balance(account.id))}
    if action in BILL_ACTIONS:
        bill = _bill_of(account, bill_id)
        before |= {"bill": bill.number, "current_charges": str(bill.current_charges),
                   "total_due": str(bill.total_due)}
        # A cancellation credits the bill's charges and late fee; a revision's amount is known when it is made.
        amount = bill.current_charges + bill.late_fee if action == CorrectionAction.CANCEL else None
        amount = amount if amount and amount > 0 else None
    else:
        bill, amount = None, _note_amount(amount)
    correction = BillCorrection(action=action, account_id=account.id, bill_id=bill and bill.id, amount=amount,
                                reason=reason, state=ApprovalState.PENDING, idempotency_key=idempotency_key,
                                proposed_by_id=actor.id, details={"before": before})
    try:
        with db.session.begin_nested():
            db.session.add(correction)
            db.session.flush()
    except IntegrityError:  # another correction of this bill is waiting
        raise CorrectionRefused("waiting") from None
    audit.record("correction.proposed", correction, {
        "action": action.value, "account": account.consumer_number, "bill": bill and bill.number,
        "amount": None if amount is None else str(amount), "reason": reason, "proposed_by": actor.id,
        "before": before}, actor=actor)
    return correction


def _decidable(correction_id: int, actor) -> BillCorrection:
    try:
        correction = maker_checker.decidable(BillCorrection, correction_id, actor, APPROVERS)
    except maker_checker.DecisionRefused as refusal:
        raise CorrectionRefused(refusal.code) from None
    if not can_see(actor, db.session.get(Account, correction.account_id)):
        raise CorrectionRefused("approval_missing")  # another office's: as if it did not exist
    return correction


def _claim(correction: BillCorrection, state: ApprovalState, actor, note: str | None) -> None:
    try:
        maker_checker.claim(BillCorrection, correction, state, actor, note)
    except maker_checker.DecisionRefused as refusal:
        raise CorrectionRefused(refusal.code) from None


def _make(correction: BillCorrection, actor) -> dict:
    """Make the approved correction; what it made, for the record."""
    today = today_in_india()
    if correction.action in BILL_ACTIONS:
        bill = _bill_of(db.session.get(Account, correction.account_id), correction.bill_id)  # checked again
        if correction.action == CorrectionAction.CANCEL:
            entry = cancel_bill(bill, correction.reason, actor=actor)
            correction.ledger_entry_id = entry.id
            return {"credit_note": str(-entry.amount)}
        try:
            revised = revise_bill(bill, correction.reason, actor=actor)
        except BillCorrectionError as error:
            raise CorrectionRefused("cannot_revise", why=str(error)) from None
        correction.revised_bill_id = revised.id
        correction.ledger_entry_id = ledger.credit_note_of(bill).id
        return {"revised_bill": revised.number, "current_charges": str(revised.current_charges),
                "total_due": str(revised.total_due)}
    debit = correction.action == CorrectionAction.DEBIT_NOTE
    entry = ledger.post(correction.account_id, LedgerKind.DEBIT_NOTE if debit else LedgerKind.CREDIT_NOTE,
                        correction.amount if debit else -correction.amount, today,
                        f"{'Debit' if debit else 'Credit'} note: {correction.reason}"[:200], actor=actor)
    correction.ledger_entry_id = entry.id
    return {"ledger_entry": entry.id}


def approve(correction_id: int, actor) -> BillCorrection:
    """Another administrator approves: the correction is made now, once, or (refused) nothing is."""
    correction = _decidable(correction_id, actor)
    _claim(correction, ApprovalState.APPROVED, actor, None)
    made = _make(correction, actor)
    after = made | {"balance": str(ledger.balance(correction.account_id))}
    correction.details = {**correction.details, "after": after}
    db.session.flush()
    audit.record("correction.approved", correction, {
        "action": correction.action.value, "reason": correction.reason, "before": correction.details.get("before"),
        "after": after, **maker_checker.signatories(correction, actor)}, actor=actor)
    return correction


def reject(correction_id: int, note: str, actor) -> BillCorrection:
    """Another administrator rejects: nothing changes."""
    note = (note or "").strip()[:200]
    correction = _decidable(correction_id, actor)
    _claim(correction, ApprovalState.REJECTED, actor, note or None)
    audit.record("correction.rejected", correction, {
        "action": correction.action.value, "note": note, "proposed_by": correction.proposed_by_id,
        "rejected_by": actor.id}, actor=actor)
    return correction


@dataclass(frozen=True)
class BillReasons:
    """Why a bill was cancelled or revised, and why a revision was issued, as the customer is told."""

    cancelled: str | None = None
    revised: str | None = None  # this bill was replaced by a revision
    revision: str | None = None  # this bill is a revision


def reasons_for(bill: Bill) -> BillReasons:
    made = db.session.scalars(select(BillCorrection).where(
        BillCorrection.state == ApprovalState.APPROVED,
        (BillCorrection.bill_id == bill.id) | (BillCorrection.revised_bill_id == bill.id))).all()
    found = {}
    for correction in made:
        if correction.revised_bill_id == bill.id:
            found["revision"] = correction.reason
        elif correction.action == CorrectionAction.CANCEL:
            found["cancelled"] = correction.reason
        else:
            found["revised"] = correction.reason
    return BillReasons(**found)


def made_for(account_id: int, limit: int = 20) -> list[BillCorrection]:
    """The account's corrections that were made, newest first (what the customer is shown)."""
    return list(db.session.scalars(
        select(BillCorrection).where(BillCorrection.account_id == account_id,
                                     BillCorrection.state == ApprovalState.APPROVED)
        .order_by(BillCorrection.decided_at.desc(), BillCorrection.id.desc()).limit(limit)))


def of_account(account_id: int, limit: int = 20) -> list[BillCorrection]:
    """All of an account's corrections, waiting and decided, newest first (for staff)."""
    return list(db.session.scalars(
        select(BillCorrection).where(BillCorrection.account_id == account_id)
        .order_by(BillCorrection.proposed_at.desc(), BillCorrection.id.desc()).limit(limit)))
