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
from app.accounts.offices import in_office, regions, sees
from app.auth.models import Role, User
from app.db import INDIA, utcnow
from app.extensions import db
from app.metering.photos import clean_photo, photo_folder, store_photo
from app.notifications.models import NotificationKind
from app.notifications.services import notify
from app.support.models import ACTIVE_STATUSES, WITHOUT_CONNECTION, Ticket, TicketCategory, TicketMessage, TicketStatus

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

def raise_complaint(user: User, account: Account | None, category: TicketCategory, description: str,
                    photo: bytes | None = None, office: str | None = None, locality: str | None = None) -> Ticket:
    """A new complaint with its reference number; the description is its first message (with the photo, cleaned).
    It goes to its connection's office. Without a connection (only a new connection or something else) it gives
    the locality instead, and goes to the `office` the customer chose (None: head office routes it).
    PhotoError if the photo is no photo or too large; ComplaintRefused without a description."""
    description = (description or "").strip()[:MAX_TEXT]
    if len(description) < 2:
        raise ComplaintRefused(_("Please write a few words."))
    locality = " ".join((locality or "").split())[:200] or None
    if account is None:
        check_without_connection(category, locality, office)
    photo_name = store_photo(photos(), clean_photo(photo)) if photo else None
    now = utcnow()
    ticket = Ticket(user_id=user.id, account_id=account.id if account else None, category=category,
                    office=account.region if account else office, locality=None if account else locality,
                    status=TicketStatus.OPEN, subject=description.splitlines()[0][:160], created_at=now,
                    updated_at=now, due_at=now + time_limit(category))
    _insert_numbered(ticket)
    db.session.add(TicketMessage(ticket_id=ticket.id, author_id=user.id, body=description,
                                 attachment_path=photo_name, created_at=now))
    db.session.flush()
    audit.record("complaint.raised", ticket, {"number": ticket.number, "category": category.value,
                                              "account": account.consumer_number if account else None,
                                              "office": ticket.office}, actor=user)
    return ticket


def check_without_connection(category: TicketCategory, locality: str | None, office: str | None) -> None:
    """A complaint without a connection: only about a new connection or something else, with where it is."""
    if category not in WITHOUT_CONNECTION:
        raise ComplaintRefused(_("Choose the connection this complaint is about."))
    if not locality or len(locality) < 3:
        raise ComplaintRefused(_("Give the address or locality."))
    if office is not None and office not in regions():
        raise ComplaintRefused(_("Choose one of the listed offices."))


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
    a fresh time limit. An escalation stays recorded: the pages still show it and the report never counts an
    escalated complaint as resolved in time."""
    now = utcnow()
    reopened = db.session.execute(
        update(Ticket).where(Ticket.id == ticket.id, Ticket.status == TicketStatus.RESOLVED,
                             Ticket.reopened_at.is_(None))
        .values(status=TicketStatus.OPEN, reopened_at=now, resolved_at=None,
                due_at=now + time_limit(ticket.category), updated_at=now)).rowcount
    db.session.refresh(ticket)
    if not reopened:
        raise ComplaintRefused(_("This complaint cannot be reopened again."))
    _add_message(ticket, user, reason, internal=False)
    audit.record("complaint.reopened", ticket, {"before": {"status": "resolved"}, "after": {"status": "open"}},
                 actor=user)


# --- staff -------------------------------------------------------------------------------------------------------

HEAD_OFFICE_FILTER = "head-office"  # the office filter's value for complaints head office handles itself
# The office that handles a complaint: its connection's (where the connection is now), else the one it was given.
handling_office = func.coalesce(Account.region, Ticket.office)


def office_of(ticket: Ticket) -> str | None:
    """handling_office of one complaint."""
    if ticket.account_id is not None:
        return db.session.scalar(select(Account.region).where(Account.id == ticket.account_id))
    return ticket.office


def staff_queue(staff: User, category: TicketCategory | None = None,
                statuses: tuple[TicketStatus, ...] = ACTIVE_STATUSES, office: str | None = None) -> Select:
    """The complaints of the staff member's office (head office: all, or those of `office`, HEAD_OFFICE_FILTER for
    its own), escalated ones first, then by time left."""
    query = (select(Ticket).outerjoin(Account, Account.id == Ticket.account_id)
             .where(in_office(staff, handling_office), Ticket.status.in_(statuses))
             .order_by(Ticket.escalated_at.is_(None), Ticket.due_at, Ticket.id))
    if office == HEAD_OFFICE_FILTER:
        query = query.where(handling_office.is_(None))
    elif office:
        query = query.where(handling_office == office)
    return query if category is None else query.where(Ticket.category == category)


def escalated_to(staff: User) -> int:
    """How many complaints still to act on were escalated to `staff` (their queue says so)."""
    return db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.escalated_to_id == staff.id, Ticket.assigned_to_id == staff.id, Ticket.status.in_(ACTIVE_STATUSES)))


def staff_may_see(staff: User, ticket: Ticket | None) -> bool:
    return ticket is not None and sees(staff, office_of(ticket))


def route(ticket: Ticket, staff: User, office: str | None) -> None:
    """Head office sends a complaint without a connection to the office that serves its locality (or keeps it)."""
    if staff.office is not None:
        raise ComplaintRefused(_("Only head office can send a complaint to another office."))
    if ticket.account_id is not None:
        raise ComplaintRefused(_("This complaint belongs to its connection's office."))
    if office is not None and office not in regions():
        raise ComplaintRefused(_("Choose one of the listed offices."))
    before = ticket.office
    ticket.office = office
    if ticket.assigned_to_id is not None and ticket.assigned_to_id not in {u.id for u in assignable_staff(ticket)}:
        ticket.assigned_to_id = None  # the person it was given to does not work for that office
    audit.record("complaint.routed", ticket, {"before": {"office": before}, "after": {"office": office}},
                 actor=staff)


def assignable_staff(ticket: Ticket) -> list[User]:
    """Who may be given the complaint: active staff of its office, and head office."""
    region = office_of(ticket)
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

def senior_officer(office: str | None) -> User | None:
    """Who an escalated complaint of `office` goes to: the office's administrator (the senior officer there; of
    several, the longest-serving), else head office's; None if there is no active administrator at all."""
    for place in ([office, None] if office is not None else [None]):
        officer = db.session.scalar(select(User).where(
            User.role == Role.ADMIN, User.active.is_(True),
            User.office.is_(None) if place is None else User.office == place).order_by(User.id).limit(1))
        if officer is not None:
            return officer
    return None


def escalate_overdue() -> int:
    """Mark every complaint past its time limit escalated, each once (a conditional UPDATE: a run beside this one,
    or after it, escalates none again), and give it to a senior officer of its office (the audit log keeps who had
    it before; the complaint's page and the officer's queue show it as escalated to them); its customer is told.
    Returns how many were escalated."""
    now = utcnow()
    escalated = 0
    for ticket_id in overdue_ids(now):
        ticket = db.session.get(Ticket, ticket_id)
        officer = senior_officer(office_of(ticket))
        before = ticket.assigned_to_id  # (the UPDATE below also changes the object in the session)
        done = db.session.execute(update(Ticket).where(
            Ticket.id == ticket_id, Ticket.status.in_(ACTIVE_STATUSES), Ticket.escalated_at.is_(None))
            .values(escalated_at=now, escalated_to_id=officer.id if officer else None,
                    assigned_to_id=officer.id if officer else Ticket.assigned_to_id)).rowcount
        if not done:
            continue
        escalated += 1
        db.session.refresh(ticket)
        audit.record("complaint.escalated", ticket, {
            "due_at": ticket.due_at.isoformat(), "before": {"assigned_to": before},
            "after": {"assigned_to": ticket.assigned_to_id, "escalated_to": ticket.escalated_to_id}})
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
