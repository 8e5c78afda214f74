"""Changes to a connection's terms by staff: each one dated from the day it takes effect, kept as history
(ConnectionChange) and audited with what it was before and after."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.accounts.models import Account, ConnectionChange
from app.db import today_in_india
from app.extensions import db

CHANGEABLE = ("holder_name", "category", "tariff_id", "sanctioned_load_kw", "registered_mobile")


class ChangeRefused(ValueError):
    """The change cannot be made as asked; the message says why (in the user's language)."""


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
