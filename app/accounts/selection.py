"""Which of a customer's connections the pages are showing (kept in the session)."""

from flask import session
from flask_login import current_user

from app.accounts.models import Account
from app.accounts.services import find_link, linked_accounts


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
