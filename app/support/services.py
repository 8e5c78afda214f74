"""Complaints: raised by customers, answered, assigned, resolved and reopened (once) by staff; escalated once when
past their category's time limit. The only place that writes tickets; every change is audited, and the customer
is told of each public reply, the resolution and an escalation (never of an internal note)."""

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.models import Account
from app.accounts.offices import can_see, visible_to
from app.auth.models import Role, User
from app.db import INDIA, utcnow
from app.extensions import db
from app.metering.photos import clean_photo, photo_folder, store_photo
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.support.models import ACTIVE_STATUSES, Ticket, TicketCategory, TicketMessage, TicketStatus

NUMBER_PREFIX = "CMP"
NUMBER_ATTEMPTS = 5
MAX_TEXT = 2000


class ComplaintRefused(Exception):
    """Why a complaint cannot be changed that way, for the person who tried (translated)."""


def photos() -> Path:
    return photo_folder("complaints")


def time_limit(category: TicketCategory) -> timedelta:
    """The category's time limit (config.py: COMPLAINT_TIME_LIMITS, from the state's Standards of Performance)."""
    return current_app.config["COMPLAINT_TIME_LIMITS"][category.value]


# --- reference numbers -------------------------------------------------------------------------------------------

def number_prefix(when: datetime) -> str:
    """CMP-2611- for a complaint raised in November 2026 (India's calendar)."""
    return f"{NUMBER_PREFIX}-{when.astimezone(INDIA):%y%m}-"


def next_number(when: datetime) -> str:
    """The month's next serial: CMP-2611-000123. Two complaints raised at once may both be given the same one; the
    unique index lets one of them in and the other takes the next (raise_complaint)."""
    prefix = number_prefix(when)
    last = db.session.scalar(select(func.max(Ticket.number)).where(Ticket.number.like(f"{prefix}%")))
    serial = int(last[len(prefix):]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _insert_numbered(ticket: Ticket) -> None:
    for _attempt in range(NUMBER_ATTEMPTS):
        ticket.number = next_number(ticket.created_at)
        try:
            with db.session.begin_nested():  # a twin that took this number fails only this SAVEPOINT
                db.session.add(ticket)
                db.session.flush()
            return
        except IntegrityError:  # the SAVEPOINT's rollback took the ticket out of the session again
            if not db.session.scalar(select(func.count()).where(Ticket.number == ticket.number)):
                raise  # not the number: something else is wrong
    raise RuntimeError("no free complaint number after several attempts")


# --- the customer's side -----------------------------------------------------------------------------------------

def raise_complaint(user: User, account: Account, category: TicketCategory, description: str,
                    photo: bytes | None = None) -> Ticket:
    """A new complaint with its reference number; the description is its first message (with the photo, cleaned).
    PhotoError if the photo is no photo or too large; ComplaintRefused without a description."""
    description = (description or "").strip()[:MAX_TEXT]
    if len(description) < 2:
        raise ComplaintRefused(_("Please write a few words."))
    photo_name = store_photo(photos(), clean_photo(photo)) if photo else None
    now = utcnow()
    ticket = Ticket(user_id=user.id, account_id=account.id, category=category, status=TicketStatus.OPEN,
                    subject=description.splitlines()[0][:160], created_at=now, updated_at=now,
                    due_at=now + time_limit(category))
    _insert_numbered(ticket)
    db.session.add(TicketMessage(ticket_id=ticket.id, author_id=user.id, body=description,
                                 attachment_path=photo_name, created_at=now))
    db.session.flush()
    audit.record("complaint.raised", ticket, {"number": ticket.number, "category": category.value,
                                              "account": account.consumer_number}, actor=user)
    return ticket


def customer_complaints(user: User) -> Select:
    return select(Ticket).where(Ticket.user_id == user.id).order_by(Ticket.created_at.desc(), Ticket.id.desc())


def own_complaint(user: User, ticket_id: int) -> Ticket | None:
    """The customer's own complaint; None for anyone else's (the view answers 404)."""
    ticket = db.session.get(Ticket, ticket_id)
    return ticket if ticket is not None and ticket.user_id == user.id else None


def add_comment(ticket: Ticket, user: User, text: str) -> TicketMessage:
    """The customer adds to their complaint while it is being worked on (once resolved: reopen it)."""
    if ticket.status not in ACTIVE_STATUSES:
        raise ComplaintRefused(_("This complaint is resolved. If you are not satisfied, reopen it."))
    message = _add_message(ticket, user, text, internal=False)
    audit.record("complaint.commented", ticket, {"message": message.id}, actor=user)
    return message


def may_reopen(ticket: Ticket) -> bool:
    return ticket.status is TicketStatus.RESOLVED and ticket.reopened_at is None


def reopen(ticket: Ticket, user: User, reason: str) -> None:
    """Not satisfied: the complaint is open again, once (a conditional UPDATE: a double tap reopens it once), with
    a fresh time limit."""
    now = utcnow()
    reopened = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == TicketStatus.RESOLVED,
                             Ticket.reopened_at.is_(None))
        .values(status=TicketStatus.OPEN, reopened_at=now, resolved_at=None, escalated_at=None,
                due_at=now + time_limit(ticket.category), updated_at=now)).rowcount
    db.session.refresh(ticket)
    if not reopened:
        raise ComplaintRefused(_("This complaint cannot be reopened again."))
    _add_message(ticket, user, reason, internal=False)
    audit.record("complaint.reopened", ticket, {"before": {"status": "resolved"}, "after": {"status": "open"}},
                 actor=user)


# --- staff -------------------------------------------------------------------------------------------------------

def staff_queue(staff: User, category: TicketCategory | None = None,
                statuses: tuple[TicketStatus, ...] = ACTIVE_STATUSES) -> Select:
    """The complaints of the staff member's office (head office: all), escalated ones first, then by time left."""
    query = (select(Ticket).outerjoin(Account, Account.id == Ticket.account_id)
             .where(visible_to(staff), Ticket.status.in_(statuses))  # no connection: head office's (true())
             .order_by(Ticket.escalated_at.is_(None), Ticket.due_at, Ticket.id))
    return query if category is None else query.where(Ticket.category == category)


def staff_may_see(staff: User, ticket: Ticket | None) -> bool:
    if ticket is None:
        return False
    if ticket.account_id is None:
        return staff.office is None
    return can_see(staff, db.session.get(Account, ticket.account_id))


def assignable_staff(ticket: Ticket) -> list[User]:
    """Who may be given the complaint: active staff of its connection's office, and head office."""
    region = db.session.scalar(select(Account.region).where(Account.id == ticket.account_id))
    offices = or_(User.office.is_(None), User.office == region) if region else User.office.is_(None)
    return list(db.session.scalars(select(User).where(
        User.role.in_((Role.SUPPORT, Role.BILLING, Role.ADMIN)), User.active.is_(True), offices)
        .order_by(User.name, User.id)))


def assign(ticket: Ticket, staff: User, assignee: User | None) -> None:
    if assignee is not None and assignee not in assignable_staff(ticket):
        raise ComplaintRefused(_("Choose someone who works on this office's complaints."))
    before = ticket.assigned_to_id
    ticket.assigned_to_id = assignee.id if assignee else None
    audit.record("complaint.assigned", ticket, {"before": {"assigned_to": before},
                                                "after": {"assigned_to": ticket.assigned_to_id}}, actor=staff)


def reply(ticket: Ticket, staff: User, text: str, internal: bool) -> TicketMessage:
    """A public reply (the customer is told) or an internal note (staff only, never shown to the customer), while
    the complaint is open (once resolved, the customer may reopen it)."""
    if ticket.status not in ACTIVE_STATUSES:
        raise ComplaintRefused(_("This complaint is already resolved."))
    message = _add_message(ticket, staff, text, internal=internal)
    if ticket.status is TicketStatus.OPEN and not internal:
        ticket.status = TicketStatus.IN_PROGRESS  # someone is on it
    audit.record("complaint.noted" if internal else "complaint.replied", ticket,
                 {"message": message.id, "status": ticket.status.value}, actor=staff)
    if not internal:
        _tell_customer(ticket, _l("Reply to your complaint %(number)s", number=ticket.number), message.body,
                       f"ticket-message:{message.id}")
    return message


def set_status(ticket: Ticket, staff: User, status: TicketStatus) -> None:
    """Open or in progress (resolving takes the resolution: resolve)."""
    if status not in ACTIVE_STATUSES:
        raise ComplaintRefused(_("To resolve a complaint, write the resolution."))
    if ticket.status not in ACTIVE_STATUSES:
        raise ComplaintRefused(_("This complaint is already resolved."))
    before, ticket.status = ticket.status, status
    audit.record("complaint.status", ticket, {"before": {"status": before.value}, "after": {"status": status.value}},
                 actor=staff)


def resolve(ticket: Ticket, staff: User, resolution: str) -> None:
    """Resolved, with what was done (a public message); the customer is told and may reopen it once."""
    now = utcnow()
    resolved = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status.in_(ACTIVE_STATUSES))
        .values(status=TicketStatus.RESOLVED, resolved_at=now, updated_at=now)).rowcount
    if not resolved:
        raise ComplaintRefused(_("This complaint is already resolved."))
    before = ticket.status.value
    db.session.refresh(ticket)
    message = _add_message(ticket, staff, resolution, internal=False)
    audit.record("complaint.resolved", ticket, {"before": {"status": before}, "after": {"status": "resolved"},
                                                "message": message.id}, actor=staff)
    _tell_customer(ticket, _l("Complaint %(number)s resolved", number=ticket.number), message.body,
                   f"ticket:{ticket.id}:resolved:{_round(ticket)}")


# --- escalation ----------------------------------------------------------------------------------------------------

def escalate_overdue() -> int:
    """Mark every complaint past its time limit escalated, each once (a conditional UPDATE: a run beside this one,
    or after it, escalates none again); its customer is told. Returns how many were escalated."""
    now = utcnow()
    escalated = 0
    for ticket_id in overdue_ids(now):
        done = db.session.execute(update(Ticket).where(
            Ticket.id == ticket_id, Ticket.status.in_(ACTIVE_STATUSES), Ticket.escalated_at.is_(None))
            .values(escalated_at=now)).rowcount
        if not done:
            continue
        escalated += 1
        ticket = db.session.get(Ticket, ticket_id)
        db.session.refresh(ticket)
        audit.record("complaint.escalated", ticket, {"due_at": ticket.due_at.isoformat()})
        _tell_customer(ticket, _l("Complaint %(number)s escalated", number=ticket.number),
                       _l("Your complaint has passed its time limit and has been passed to a senior officer."),
                       f"ticket:{ticket.id}:escalated:{_round(ticket)}")
    return escalated


def overdue_ids(now: datetime) -> list[int]:
    """Complaints past their time limit and not escalated yet (as read now: another run may mark them next)."""
    return list(db.session.scalars(select(Ticket.id).where(
        Ticket.status.in_(ACTIVE_STATUSES), Ticket.escalated_at.is_(None), Ticket.due_at < now)))


# --- shared --------------------------------------------------------------------------------------------------------

def _add_message(ticket: Ticket, author: User, text: str, internal: bool) -> TicketMessage:
    text = (text or "").strip()
    if len(text) < 2:
        raise ComplaintRefused(_("Please write a few words."))
    message = TicketMessage(ticket_id=ticket.id, author_id=author.id, body=text[:MAX_TEXT], internal=internal,
                            created_at=utcnow())
    db.session.add(message)
    ticket.updated_at = message.created_at
    db.session.flush()
    db.session.expire(ticket, ["messages"])
    return message


def _round(ticket: Ticket) -> int:
    """1 before the customer reopened the complaint, 2 after: each round is resolved (and escalated) once."""
    return 2 if ticket.reopened_at is not None else 1


def _tell_customer(ticket: Ticket, title, body, dedupe_key: str) -> None:
    customer = db.session.get(User, ticket.user_id) if ticket.user_id else None
    if customer is None or customer.erased_at is not None:
        return
    notify(customer, NotificationKind.TICKET, title, body, f"/complaints/{ticket.id}", account=ticket.account_id,
           dedupe_key=dedupe_key)


def delete_old_photos() -> int:
    """Photos of complaints closed (resolved or closed) over KEEP["complaint_photos"] ago are deleted: the files and
    their names. The complaint and its messages stay."""
    cutoff = utcnow() - current_app.config["KEEP"]["complaint_photos"]
    closed_long_ago = select(Ticket.id).where(Ticket.status.not_in(ACTIVE_STATUSES),
                                              func.coalesce(Ticket.resolved_at, Ticket.updated_at) < cutoff)
    messages = db.session.scalars(select(TicketMessage).where(TicketMessage.ticket_id.in_(closed_long_ago),
                                                              TicketMessage.attachment_path.is_not(None))).all()
    for message in messages:
        (photos() / message.attachment_path).unlink(missing_ok=True)
        message.attachment_path = None
    return len(messages)
