"""Offices: a staff member with an office (one of the accounts' regions) sees and acts on that office's
connections only; head-office staff (no office) on all. Every staff query for connections goes through here."""

from sqlalchemy import ColumnElement, func, select, true

from app.accounts.models import Account
from app.extensions import db


def in_office(staff, region_column) -> ColumnElement[bool]:
    """The condition on a region column (a connection's, a bill run's, an import's) for what `staff` may see."""
    return true() if staff.office is None else region_column == staff.office


def sees(staff, region: str | None) -> bool:
    """Whether `staff` may see what belongs to `region`."""
    return staff.office is None or region == staff.office


def visible_to(staff) -> ColumnElement[bool]:
    """The condition on Account that limits a query to what `staff` may see."""
    return in_office(staff, Account.region)


def can_see(staff, account: Account | None) -> bool:
    return account is not None and sees(staff, account.region)


def regions() -> list[str]:
    """Every region (office) that has connections, in order. Walked along the region index one region at a time
    (the next is the smallest one after the last), so it costs a probe per region; SELECT DISTINCT read every
    connection (440 ms at a million, on every report page: bench/scale.py)."""
    walk = select(func.min(Account.region).label("region")).cte("walk", recursive=True)
    following = select(func.min(Account.region)).where(Account.region > walk.c.region).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.region.is_not(None)))
    return list(db.session.scalars(select(walk.c.region).where(walk.c.region.is_not(None)).order_by(walk.c.region)))


def regions_of(staff) -> list[str]:
    """The regions `staff` work in: their office's, or every one for head office."""
    return [staff.office] if staff.office is not None else regions()
