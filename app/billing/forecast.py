"""This period so far, from the database: the meter's advance since the last actual reading, projected to the whole
period and priced (billing.projection does the arithmetic). The dashboard shows it; usage alerts watch it."""

from datetime import timedelta

from sqlalchemy import select

from app.accounts.models import Account
from app.billing import tariff as engine
from app.billing.models import Bill, TariffParam, TariffVersion
from app.billing.projection import Projection, project
from app.extensions import db
from app.metering.consumption import ConsumptionError, register_advance
from app.metering.models import Meter, Reading, ReadingSource, ReadingStatus


def current_projection(account: Account, bill: Bill | None, extra: Reading | None = None) -> Projection | None:
    """This period so far: the meter's advance since the last actual reading, extended to a whole period.
    `extra` counts a reading not yet accepted (one just submitted that staff will check)."""
    anchor = _last_actual_reading(account, bill) if bill is not None else None
    if anchor is None:
        return None
    rows = list(db.session.execute(
        select(Reading, Meter).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == account.id, Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED, Reading.read_on >= anchor.read_on)
        .order_by(Reading.read_on, Reading.id)
    ).all())
    if extra is not None and extra.status is not ReadingStatus.ACCEPTED:
        rows.append((extra, db.session.get(Meter, extra.meter_id)))
    reads = [r.register_read(m) for r, m in rows if (r.read_on, r.id) >= (anchor.read_on, anchor.id)]
    if len(reads) < 2:
        return None
    try:
        units = register_advance(reads)
    except ConsumptionError:
        return None
    version = db.session.get(TariffVersion, bill.tariff_version_id)
    tariff = engine.stored_tariff(version.document)
    params = dict(db.session.execute(select(TariffParam.name, TariffParam.value).where(
        TariffParam.tariff_id == version.tariff_id, TariffParam.month == bill.period_end.replace(day=1))).all())
    period_days = (bill.period_end - bill.period_start).days + 1
    try:
        return project(tariff, units, anchor.read_on + timedelta(days=1), reads[-1].read_on, period_days,
                       account.sanctioned_load_kw, account.phase.value, account.flags, params)
    except engine.TariffError:
        return None  # the projection is a courtesy; a tariff that cannot price it simply shows none


def _last_actual_reading(account: Account, bill: Bill) -> Reading | None:
    """Where this period's use is counted from: the latest bill's closing reading when the meter was read for it;
    after an estimated bill, the last actual reading up to that bill's end, wherever it is."""
    if not bill.estimated and bill.closing_reading_id is not None:
        return db.session.get(Reading, bill.closing_reading_id)
    return db.session.scalar(
        select(Reading).join(Meter, Meter.id == Reading.meter_id)
        .where(Meter.account_id == account.id, Reading.status == ReadingStatus.ACCEPTED,
               Reading.source != ReadingSource.ESTIMATED, Reading.read_on <= bill.period_end)
        .order_by(Reading.read_on.desc(), Reading.id.desc()).limit(1))
