"""Which of a customer's connections the pages are showing (kept in the session), and who may see what."""

from collections.abc import Callable
from operator import attrgetter
from typing import TypeVar

from flask import abort, session
from flask_login import current_user

from app.accounts.models import Account
from app.accounts.offices import can_see
from app.accounts.services import find_link, linked_accounts
from app.extensions import db

T = TypeVar("T")


def viewable(thing: T | None, account_id: Callable[[T], int] = attrgetter("account_id")) -> T:
    """`thing` (a bill, a payment, a reading …) if the signed-in user may see it: staff of its connection's office
    (`account_id(thing)`), or a customer linked to it; otherwise 404, not 403: no hint that it exists."""
    if thing is None or not current_user.is_authenticated:
        abort(404)
    if current_user.is_staff:
        allowed = can_see(current_user, db.session.get(Account, account_id(thing)))
    else:
        allowed = find_link(current_user, account_id(thing)) is not None
    if not allowed:
        abort(404)
    return thing


def select_account(account_id: int) -> bool:
    if find_link(current_user, account_id) is None:
        return False
    session["account_id"] = account_id
    return True


def selected_account(accounts: list[Account] | None = None) -> Account | None:
    """The chosen connection if it is still linked, else the first linked one, else None."""
    accounts = linked_accounts(current_user) if accounts is None else accounts
    chosen = session.get("account_id")
    for account in accounts:
        if account.id == chosen:
            return account
    return accounts[0] if accounts else None
