"""Billing services: tariffs in the database. (Bill runs and the ledger build on these.)"""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app import audit
from app.billing import tariff as engine
from app.billing.models import Tariff, TariffParam, TariffVersion
from app.extensions import db

BUNDLED_TARIFFS = Path(__file__).with_name("tariffs")


class TariffImportError(Exception):
    pass


def _windows_clash(versions: list[tuple[date, date | None]]) -> str | None:
    """Why these (effective_from, effective_to) windows cannot stand together, or None.

    An open-ended version ends the day before the next one starts (TARIFF_FORMAT), so a new version may follow
    it; a version with an explicit end may not overlap the next one, and two may not start on the same day.
    """
    ordered = sorted(versions, key=lambda window: window[0])
    for (first, end), (following, _end) in zip(ordered, ordered[1:], strict=False):
        if first == following:
            return f"two versions start on {first}"
        if end is not None and end >= following:
            return f"the version from {first} runs to {end}, past the start of the next one on {following}"
    return None


def import_tariff(text: str, actor=None) -> TariffVersion:
    """Store a validated tariff document as a new version. Importing the same document again is a no-op.

    Bills keep the version they were computed with, so a new version never changes an issued bill.
    """
    parsed = engine.parse_tariff(text)  # raises TariffError naming the place
    checksum = hashlib.sha256(text.encode()).hexdigest()
    tariff = db.session.scalar(select(Tariff).where(Tariff.code == parsed.code))
    if tariff is None:
        tariff = Tariff(code=parsed.code, name=parsed.name, utility=parsed.utility, unit=parsed.unit)
        db.session.add(tariff)
        db.session.flush()
    existing = db.session.scalars(select(TariffVersion).where(TariffVersion.tariff_id == tariff.id)).all()
    for version in existing:
        if version.checksum == checksum:
            return version
    clash = _windows_clash([(v.effective_from, v.effective_to) for v in existing]
                           + [(parsed.effective_from, parsed.effective_to)])
    if clash:
        raise TariffImportError(f"{parsed.code} from {parsed.effective_from} overlaps another version: {clash}.")
    version = TariffVersion(
        tariff_id=tariff.id,
        effective_from=parsed.effective_from,
        effective_to=parsed.effective_to,
        document=text,
        checksum=checksum,
        imported_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    db.session.flush()
    audit.record("tariff.imported", version, {"code": parsed.code, "from": str(parsed.effective_from)}, actor=actor)
    return version


def import_bundled_tariffs() -> list[TariffVersion]:
    return [import_tariff(path.read_text()) for path in sorted(BUNDLED_TARIFFS.glob("*.json"))]


def find_version(code: str, on_day: date | None = None) -> TariffVersion | None:
    query = select(TariffVersion).join(Tariff).where(Tariff.code == code)
    if on_day:
        query = query.where(TariffVersion.effective_from <= on_day,
                            (TariffVersion.effective_to.is_(None)) | (TariffVersion.effective_to >= on_day))
    return db.session.scalar(query.order_by(TariffVersion.effective_from.desc()).limit(1))


def set_monthly_param(code: str, month: date, name: str, value: Decimal, actor=None) -> TariffParam:
    """Set (or correct) a tariff's parameter for one month. Bills already issued keep the amounts they had."""
    tariff = db.session.scalar(select(Tariff).where(Tariff.code == code))
    if tariff is None:
        raise TariffImportError(f"no tariff {code}")
    param = db.session.scalar(select(TariffParam).where(TariffParam.tariff_id == tariff.id,
                                                        TariffParam.month == month, TariffParam.name == name))
    if param is None:
        param = TariffParam(tariff_id=tariff.id, month=month, name=name, value=value)
        db.session.add(param)
    else:
        param.value = value
    db.session.flush()
    audit.record("tariff.param_set", param, {"code": code, "month": str(month), "name": name, "value": str(value)},
                 actor=actor)
    return param
