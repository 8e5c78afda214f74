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


def _overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


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
    for existing in db.session.scalars(select(TariffVersion).where(TariffVersion.tariff_id == tariff.id)):
        if existing.checksum == checksum:
            return existing
        if _overlaps(parsed.effective_from, parsed.effective_to, existing.effective_from, existing.effective_to):
            raise TariffImportError(
                f"{parsed.code} from {parsed.effective_from} overlaps the version effective from "
                f"{existing.effective_from}; end that one first (effective_to) or correct the dates."
            )
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
