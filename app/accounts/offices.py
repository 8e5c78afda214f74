"""Offices: a staff member with an office (one of the accounts' regions) sees and acts on that office's
connections only; head-office staff (no office) on all. Every staff query for connections goes through here."""

from sqlalchemy import ColumnElement, true

from app.accounts.models import Account


def visible_to(staff) -> ColumnElement[bool]:
    """The condition on Account that limits a query to what `staff` may see."""
    return true() if staff.office is None else Account.region == staff.office


def can_see(staff, account: Account | None) -> bool:
    return account is not None and (staff.office is None or account.region == staff.office)
