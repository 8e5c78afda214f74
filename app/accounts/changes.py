"""Changes to a connection's terms by staff: each one dated from the day it takes effect, kept as history
(ConnectionChange) and audited with what it was before and after."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit
from app.accounts.models import Account, ConnectionChange
from app.db import today_in_india
from app.extensions import db

CHANGEABLE = ("holder_name", "category", "tariff_id", "sanctioned_load_kw", "registered_mobile")


class ChangeRefused(ValueError):
    """The change cannot be made as asked; the message says why (in the user's language), `field` where."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class TariffDoesNotFit(ValueError):
    """The tariff is not one a connection of that category in that region is on (the message says which are)."""


@dataclass(frozen=True)
class Terms:
    """What staff may change on a connection, all given (unchanged ones as they are)."""

    holder_name: str
    category: str
    tariff_id: int | None
    sanctioned_load_kw: Decimal
    registered_mobile: str | None


def _shown(field: str, value) -> str | None:
    """A value as the history keeps it: the tariff by its code, a load without trailing zeros."""
    if value is None:
        return None
    if field == "tariff_id":
        tariff = db.session.get(Account.tariff.property.mapper.class_, value)  # billing's model, by the relation
        return tariff.code if tariff else str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def fitting_tariff_ids(region: str, category: str, other_than: int | None = None) -> set[int] | None:
    """The tariffs a connection of `category` in `region` may be on, as the region's connections show (a state's
    commission sets a tariff per category; a region is one state's): those its connections of the same category
    (in any case) are on; for a category new to the region, those any of its connections are on. None for a region
    with no connection on a tariff yet: nothing to go by, any tariff. `other_than`: a connection left out (the one
    being changed)."""
    in_region = select(Account.tariff_id).distinct().where(Account.region == region, Account.tariff_id.is_not(None))
    if other_than is not None:
        in_region = in_region.where(Account.id != other_than)
    same_category = set(db.session.scalars(
        in_region.where(func.lower(func.trim(Account.category)) == category.strip().lower())))
    return same_category or set(db.session.scalars(in_region)) or None


def check_tariff_fits(tariff_id: int | None, region: str, category: str, other_than: int | None = None) -> None:
    """TariffDoesNotFit unless `tariff_id` is one that connections of this category in this region are on."""
    fitting = fitting_tariff_ids(region, category, other_than)
    if fitting is None or tariff_id in fitting:
        return
    codes = sorted(filter(None, (_shown("tariff_id", tariff_id) for tariff_id in fitting)))
    raise TariffDoesNotFit(_("%(category)s connections in %(region)s are on %(fitting)s, not %(tariff)s: choose a "
                             "tariff that fits the category and region.", category=category, region=region,
                             fitting=", ".join(codes), tariff=_shown("tariff_id", tariff_id) or "—"))


def change_connection(account: Account, terms: Terms, effective_on: date, staff) -> list[ConnectionChange]:
    """Apply the terms that differ from the account's, each as a dated change; ChangeRefused if none differ or
    the date is impossible (before the connection existed, or in the future)."""
    if effective_on > today_in_india():
        raise ChangeRefused(_("A change cannot take effect in the future."))
    if effective_on < account.connected_on:
        raise ChangeRefused(_("A change cannot take effect before the connection was made."))
    differing = {name: getattr(terms, name) for name in CHANGEABLE if getattr(terms, name) != getattr(account, name)}
    if not differing:
        raise ChangeRefused(_("Nothing is different from the connection as it is."))
    if "category" in differing or "tariff_id" in differing:
        try:
            check_tariff_fits(terms.tariff_id, account.region, terms.category, other_than=account.id)
        except TariffDoesNotFit as refusal:
            raise ChangeRefused(str(refusal), field="tariff_id") from None
    before = {name: _shown(name, getattr(account, name)) for name in differing}
    after = {name: _shown(name, value) for name, value in differing.items()}
    changes = [ConnectionChange(account_id=account.id, field=name, before=before[name], after=after[name],
                                effective_on=effective_on, changed_by_id=staff.id) for name in differing]
    for name, value in differing.items():
        setattr(account, name, value)
    db.session.add_all(changes)
    db.session.flush()
    audit.record("connection.changed", account, {"effective_on": effective_on.isoformat(), "before": before,
                                                  "after": after}, actor=staff)
    return changes


def history(account_id: int, limit: int) -> list[ConnectionChange]:
    return list(db.session.scalars(select(ConnectionChange).where(ConnectionChange.account_id == account_id)
                                   .order_by(ConnectionChange.effective_on.desc(), ConnectionChange.id.desc())
                                   .limit(limit)))
