"""Linking users to service connections and choosing which one they are looking at."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.accounts.models import Account, AccountLink, LinkFactor
from app.accounts.signals import account_linked, first_answer, latest_bill_amount
from app.auth import throttle
from app.auth.contacts import normalise_mobile
from app.auth.models import User
from app.auth.throttle import Limit
from app.extensions import db
from app.i18n import indian_time, parse_rupees


class LinkError(Exception):
    """A refusal whose message may be shown to the user."""


class LinkThrottled(LinkError):
    pass


def _factor_matches(account: Account, factor: LinkFactor, answer: str) -> bool:
    if factor is LinkFactor.MOBILE:
        mobile = normalise_mobile(answer)
        return mobile is not None and mobile == account.registered_mobile
    bill_amount = first_answer(latest_bill_amount, account)  # billing answers: the latest bill in force
    amount = parse_rupees(answer)
    # A bill of ₹0 (or a credit) is no secret: such a connection is linked by its mobile number instead.
    return bill_amount is not None and bill_amount > 0 and amount == bill_amount


def link_account(user: User, consumer_number: str, factor: LinkFactor, answer: str) -> AccountLink:
    """Link a connection to the user if they know its second factor. Wrong answers are throttled."""
    number = (consumer_number or "").strip().upper()
    # Per user, and per connection so that new sign-ups cannot keep guessing one connection's factor.
    limits = [("link", str(user.id), Limit.from_config(current_app.config["LINK_LIMIT_PER_USER"])),
              ("link_connection", number, Limit.from_config(current_app.config["LINK_LIMIT_PER_CONNECTION"]))]
    for scope, key, limit in limits:
        retry_at = throttle.blocked_until(scope, key, limit)
        if retry_at:
            raise LinkThrottled(_("Too many attempts to link a connection. Try again after %(time)s.",
                                  time=indian_time(retry_at)))

    account = db.session.scalar(select(Account).where(Account.consumer_number == number))
    if account is None or not _factor_matches(account, factor, answer):
        for scope, key, _limit in limits:
            throttle.record_failure(scope, key)
        what = _("mobile number") if factor is LinkFactor.MOBILE else _("latest bill amount")
        # One message whether or not the number exists, so numbers cannot be probed.
        raise LinkError(_("That consumer number and %(what)s do not match our records. "
                          "Check your bill and try again.", what=what))

    existing = find_link(user, account.id)
    if existing:
        return existing
    link = AccountLink(user_id=user.id, account_id=account.id, linked_by=factor)
    db.session.add(link)
    db.session.flush()
    audit.record("account.linked", account, {"user_id": user.id, "factor": factor.value}, actor=user)
    account_linked.send(link, user=user, account=account)
    return link


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
