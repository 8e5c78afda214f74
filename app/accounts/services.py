"""Linking users to service connections and choosing which one they are looking at.

A connection with a registered mobile number is linked by a one-time code sent to that number (as Indian
utilities' apps do): knowing the consumer number is not enough. A connection without one may be asked for with its
latest bill's amount, and then staff approve or reject the request. The holder's mobile is told of every link.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app import audit
from app.accounts.models import Account, AccountLink, LinkFactor, LinkRequest, LinkRequestStatus
from app.accounts.offices import can_see, visible_to
from app.accounts.signals import account_linked, first_answer, latest_bill_amount
from app.auth import codes, throttle
from app.auth.codes import Purpose
from app.auth.models import User
from app.auth.throttle import Limit
from app.db import utcnow
from app.extensions import db
from app.i18n import indian_date, indian_time, parse_rupees
from app.messaging.kinds import MessageKind
from app.messaging.outbox import queue_message
from app.messaging.quiet import release_time


class LinkError(Exception):
    """A refusal whose message may be shown to the user."""


class LinkThrottled(LinkError):
    pass


class NextStep(StrEnum):
    CODE = "code"  # a code went (or had gone) to the registered mobile number
    BILL = "bill"  # no registered mobile: the latest bill's amount, then staff approval
    LINKED = "linked"  # already linked to this user


@dataclass(frozen=True)
class LinkStart:
    account: Account
    step: NextStep


def _throttle_limits(user: User, ip: str) -> list[tuple[str, str, Limit]]:
    # Per user and per address, never per connection: a guesser must not block the connection's holder.
    config = current_app.config
    return [("link", str(user.id), Limit.from_config(config["LINK_LIMIT_PER_USER"])),
            ("link_ip", ip, Limit.from_config(config["LINK_LIMIT_PER_IP"]))]


def _count_attempt(limits) -> None:
    """Count this attempt before it is tried (parallel attempts count too); a successful one is forgiven."""
    retry_at = throttle.attempt(limits)
    if retry_at:
        raise LinkThrottled(_("Too many attempts to link a connection. Try again after %(time)s.",
                              time=indian_time(retry_at)))


def find_account(consumer_number: str) -> Account | None:
    number = (consumer_number or "").strip().upper()
    return db.session.scalar(select(Account).where(Account.consumer_number == number))


def start_link(user: User, consumer_number: str, ip: str) -> LinkStart:
    """The first step of linking: which connection, and how its holder will confirm it. Sends the code to the
    registered mobile unless one sent earlier still works (the customer can ask for a new one)."""
    limits = _throttle_limits(user, ip)
    _count_attempt(limits)
    account = find_account(consumer_number)
    if account is None:  # counted: probing for consumer numbers is slowed down
        raise LinkError(_("We found no connection with that consumer number. Check it on your bill."))
    throttle.forgive(limits)
    if find_link(user, account.id):
        return LinkStart(account, NextStep.LINKED)
    if not account.registered_mobile:
        return LinkStart(account, NextStep.BILL)
    if codes.live_code(user, Purpose.LINK, str(account.id)) is None:
        with suppress(codes.TooSoon):  # the code page says when a new one can be sent
            send_link_code(user, account)
    return LinkStart(account, NextStep.CODE)


def send_link_code(user: User, account: Account) -> datetime:
    """Send a new code to the connection's registered mobile (codes.TooSoon if asked too often)."""
    issued = codes.issue(user, Purpose.LINK, str(account.id))
    minutes = codes.ttl_minutes()
    with force_locale(_holder_locale(account)):
        queue_message(
            to=account.registered_mobile,
            subject=_("Code to link connection %(number)s", number=account.consumer_number),
            body=_("%(code)s is the code to link electricity connection %(number)s to a D-Tech account. It works for "
                   "%(minutes)d minutes. Never share it with anyone, not even our staff. If you did not ask for "
                   "it, ignore this message.", code=issued.code, number=account.consumer_number, minutes=minutes),
            expires_at=issued.expires_at, kind=MessageKind.OTP, params={"code": issued.code},
        )
    audit.record("account.link_code_sent", account, {"user_id": user.id}, actor=user)
    return issued.expires_at


def confirm_link(user: User, account: Account, typed_code: str, ip: str) -> AccountLink:
    """Finish linking with the code sent to the registered mobile. Only the code sent for this user works."""
    try:
        outcome = codes.check(user, Purpose.LINK, str(account.id), typed_code, ip)
    except codes.TooSoon as wait:
        raise LinkThrottled(_("Too many wrong codes. Try again after %(time)s.",
                              time=indian_time(wait.retry_at))) from None
    if message := codes.refusal(outcome):
        raise LinkError(message)
    return _create_link(user, account, LinkFactor.MOBILE, actor=user)


def request_link_by_bill(user: User, account: Account, amount_text: str, ip: str) -> LinkRequest:
    """A connection without a registered mobile: if the latest bill's amount is right, a request for staff."""
    if account.registered_mobile:  # such a connection is linked by a code to that mobile only
        raise LinkError(_("This connection is linked with a code sent to its registered mobile number."))
    limits = _throttle_limits(user, ip)
    _count_attempt(limits)
    bill_amount = first_answer(latest_bill_amount, account)  # billing answers: the latest bill in force
    amount = parse_rupees(amount_text)
    # A bill of ₹0 (or a credit) is no secret: such a connection is linked by the utility's office instead.
    if bill_amount is None or bill_amount <= 0 or amount != bill_amount:  # counted
        raise LinkError(_("That amount does not match the latest bill of this connection. "
                          "Type it as printed on the bill, e.g. 1,234.50."))
    throttle.forgive(limits)
    pending = pending_request(user, account.id)
    if pending:
        return pending
    per_user = Limit.from_config(current_app.config["LINK_REQUESTS_PER_USER"])
    retry_at = throttle.attempt([("link_request", str(user.id), per_user)])  # each counts: staff read each one
    if retry_at:
        raise LinkThrottled(_("You have asked for several connections today. Try again after %(time)s.",
                              time=indian_time(retry_at)))
    request = LinkRequest(user_id=user.id, account_id=account.id, bill_amount=amount)
    db.session.add(request)
    db.session.flush()
    audit.record("link_request.created", request, {"account_id": account.id}, actor=user)
    return request


def pending_request(user: User, account_id: int) -> LinkRequest | None:
    return db.session.scalar(select(LinkRequest).where(
        LinkRequest.user_id == user.id, LinkRequest.account_id == account_id,
        LinkRequest.status == LinkRequestStatus.PENDING))


def pending_requests(user: User | None = None, staff: User | None = None) -> list[LinkRequest]:
    """Requests waiting for staff: the user's own, or (for `staff`) those of their office, oldest first."""
    query = select(LinkRequest).where(LinkRequest.status == LinkRequestStatus.PENDING)
    if user is not None:
        query = query.where(LinkRequest.user_id == user.id)
    if staff is not None:
        query = query.join(Account, Account.id == LinkRequest.account_id).where(visible_to(staff))
    return list(db.session.scalars(query.order_by(LinkRequest.created_at, LinkRequest.id)))


def decide_link_request(request_id: int, staff: User, approve: bool) -> LinkRequest:
    """Staff approve (the customer is linked) or reject a pending request. Only one decision counts."""
    request = db.session.get(LinkRequest, request_id)
    if request is None or not can_see(staff, request.account):
        raise LookupError(request_id)  # another office's request is as good as none
    status = LinkRequestStatus.APPROVED if approve else LinkRequestStatus.REJECTED
    decided = db.session.execute(
        update(LinkRequest).where(LinkRequest.id == request_id, LinkRequest.status == LinkRequestStatus.PENDING)
        .values(status=status, decided_at=utcnow(), decided_by=staff.id)
        .execution_options(synchronize_session=False)).rowcount
    if decided != 1:
        raise LinkError(_("Someone has already decided this request."))
    db.session.refresh(request)
    audit.record(f"link_request.{status.value}", request, {"account_id": request.account_id,
                                                          "user_id": request.user_id}, actor=staff)
    if approve:
        _create_link(request.user, request.account, LinkFactor.BILL_AMOUNT, actor=staff)
    _tell_requester(request)
    return request


def _tell_requester(request: LinkRequest) -> None:
    user = request.user
    if not (user.mobile or user.email) or not user.active:
        return
    number = request.account.consumer_number
    with force_locale(user.locale):
        if request.status is LinkRequestStatus.APPROVED:
            subject = _("Connection %(number)s is linked", number=number)
            body = _("Your request to link connection %(number)s is approved. Open the D-Tech app to see its bills.",
                     number=number)
        else:
            subject = _("Connection %(number)s was not linked", number=number)
            body = _("Your request to link connection %(number)s was not approved. For help, call %(helpline)s.",
                     number=number, helpline=current_app.config["UTILITY_HELPLINE"])
        queue_message(to=user.mobile or user.email, subject=subject, body=body, kind=MessageKind.LINK_REQUEST,
                      params={"number": number, "outcome": request.status.value})


def _create_link(user: User, account: Account, factor: LinkFactor, actor: User) -> AccountLink:
    existing = find_link(user, account.id)
    if existing:
        return existing
    link = AccountLink(user_id=user.id, account_id=account.id, linked_by=factor)
    db.session.add(link)
    db.session.flush()
    audit.record("account.linked", account, {"user_id": user.id, "factor": factor.value}, actor=actor)
    _tell_holder(account, user)
    account_linked.send(link, user=user, account=account)  # the others who see the connection: their inbox
    return link


def _holder_locale(account: Account) -> str:
    """Texts to a connection's registered mobile: in the language of the app user with that number, if any."""
    locale = db.session.scalar(select(User.locale).where(User.mobile == account.registered_mobile))
    return locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def _tell_holder(account: Account, linked_by: User) -> None:
    """The registered holder learns of every new link but their own, so a stranger's link does not go unnoticed
    (by SMS, held through the night like every notice)."""
    if not account.registered_mobile or account.registered_mobile == linked_by.mobile:
        return
    holder = db.session.scalar(select(User).where(User.mobile == account.registered_mobile))
    helpline = current_app.config["UTILITY_HELPLINE"]
    with force_locale(_holder_locale(account)):
        day = indian_date(utcnow())
        queue_message(
            to=account.registered_mobile,
            subject=_("Connection %(number)s was linked", number=account.consumer_number),
            body=_("Your electricity connection %(number)s was linked to a D-Tech account on %(date)s. If this was "
                   "not you, call %(helpline)s.", number=account.consumer_number, date=day, helpline=helpline),
            kind=MessageKind.LINK_NOTICE, params={"number": account.consumer_number, "date": day, "helpline": helpline},
            not_before=release_time(holder, utcnow()),
        )


def find_link(user: User, account_id: int) -> AccountLink | None:
    return db.session.scalar(
        select(AccountLink).where(AccountLink.user_id == user.id, AccountLink.account_id == account_id)
    )


def linked_accounts(user: User) -> list[Account]:
    return list(db.session.scalars(
        select(Account).join(AccountLink, AccountLink.account_id == Account.id)
        .where(AccountLink.user_id == user.id).order_by(AccountLink.created_at, Account.id)
    ))


NICKNAME_LENGTH = 30


def connection_names(user: User) -> dict[int, str]:
    """What the user calls each of their connections: the name they gave it ("Home", "Shop") or its holder's."""
    rows = db.session.execute(
        select(Account.id, AccountLink.nickname, Account.holder_name)
        .join(AccountLink, AccountLink.account_id == Account.id).where(AccountLink.user_id == user.id))
    return {account_id: nickname or holder for account_id, nickname, holder in rows}


def name_connection(user: User, account_id: int, nickname: str) -> bool:
    """Give a linked connection the user's own name for it (empty: back to the holder's name)."""
    link = find_link(user, account_id)
    if link is None:
        return False
    link.nickname = " ".join(nickname.split())[:NICKNAME_LENGTH] or None
    return True


def unlink_account(user: User, account_id: int) -> bool:
    link = find_link(user, account_id)
    if link is None:
        return False
    db.session.delete(link)
    audit.record("account.unlinked", link.account, {"user_id": user.id}, actor=user)
    return True
