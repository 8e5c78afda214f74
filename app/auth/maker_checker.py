"""Maker-checker (four eyes): an action proposed by one staff member takes effect only when another, with the
right role, approves it. What every such proposal shares, whatever it changes (a refund, a bill correction, a
tariff version): who may decide it, that the proposer never decides their own, that of two people deciding at
the same moment one does (a conditional update of the locked row), and the audit of proposer and approver.

A model using it has `state` (ApprovalState), `decided_by_id`, `decided_at` and `decision_note` columns, and a
check constraint that the decider is not the proposer.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from sqlalchemy import select, update

from app.auth.models import Role
from app.db import utcnow
from app.extensions import db


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class DecisionRefused(Exception):
    """Why this person may not decide this proposal now; `code` is one of the callers' refusal codes:
    approval_not_admin, approval_missing, approval_own, approval_decided."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def locked(model, *criteria):
    """The row, locked for this transaction (PostgreSQL) and re-read from the database."""
    return db.session.scalar(select(model).where(*criteria).with_for_update()
                             .execution_options(populate_existing=True))


def decidable(model, row_id: int, actor, deciders: Collection[Role], proposer_column: str = "proposed_by_id"):
    """The pending proposal `row_id`, locked, if `actor` may decide it; else DecisionRefused."""
    if getattr(actor, "role", None) not in deciders:
        raise DecisionRefused("approval_not_admin")
    row = locked(model, model.id == row_id)
    if row is None:
        raise DecisionRefused("approval_missing")
    if getattr(row, proposer_column) == actor.id:
        raise DecisionRefused("approval_own")
    if row.state != ApprovalState.PENDING:
        raise DecisionRefused("approval_decided")
    return row


def claim(model, row, state: ApprovalState, actor, note: str | None = None) -> None:
    """Move the proposal out of `pending`, once: of two people deciding at the same moment, one does."""
    moved = db.session.execute(
        update(model).where(model.id == row.id, model.state == ApprovalState.PENDING)
        .values(state=state, decided_by_id=actor.id, decided_at=utcnow(), decision_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise DecisionRefused("approval_decided")
    db.session.refresh(row)


def signatories(proposal, actor, proposer_column: str = "proposed_by_id") -> dict:
    """Who proposed and who approved, for the audit row of what the proposal made (one person when an action
    needs no second one)."""
    acting = getattr(actor, "id", None)
    return {"proposed_by": getattr(proposal, proposer_column) if proposal is not None else acting,
            "approved_by": acting, "approval": proposal.id if proposal is not None else None}
