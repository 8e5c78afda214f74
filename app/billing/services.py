"""Billing services: tariffs in the database. (Bill runs and the ledger build on these.)"""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app import audit
from app.auth import maker_checker
from app.auth.maker_checker import ApprovalState
from app.auth.models import Role
from app.billing import tariff as engine
from app.billing.models import Bill, Tariff, TariffParam, TariffVersion
from app.extensions import db
from app.i18n import N_

BUNDLED_TARIFFS = Path(__file__).with_name("tariffs")


# Tariff versions are proposed and approved by billing officers and administrators (a tariff is their work).
TARIFF_DECIDERS = frozenset({Role.BILLING, Role.ADMIN})


class TariffImportError(Exception):
    pass


class TariffApprovalRefused(Exception):
    """`code`: approval_not_admin, approval_missing, approval_own or approval_decided (app.auth.maker_checker), or
    reason_required (a rejection without its reason)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


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


def import_tariff(text: str) -> TariffVersion:
    """Store a validated tariff document as a version in force at once: the install-time path (the bundled
    tariffs, the demo), with nobody to ask yet. Staff propose versions with propose_tariff instead.
    Importing the same document again is a no-op; bills keep the version they were computed with."""
    return _store(text, None, ApprovalState.APPROVED)


def propose_tariff(text: str, actor) -> TariffVersion:
    """Store a validated tariff document as a version waiting for approval: it is not used (quoted, billed, in
    force) until another billing officer or administrator approves it (approve_tariff)."""
    if getattr(actor, "role", None) not in TARIFF_DECIDERS:
        raise TariffImportError("only a billing officer or an administrator can propose a tariff version")
    return _store(text, actor, ApprovalState.PENDING)


def _store(text: str, actor, state: ApprovalState) -> TariffVersion:
    parsed = engine.parse_tariff(text)  # raises TariffError naming the place
    checksum = hashlib.sha256(text.encode()).hexdigest()
    tariff = db.session.scalar(select(Tariff).where(Tariff.code == parsed.code))
    if tariff is None:
        tariff = Tariff(code=parsed.code, name=parsed.name, utility=parsed.utility, unit=parsed.unit)
        db.session.add(tariff)
        db.session.flush()
    # A rejected version is kept for the record only: it neither holds its dates nor stops a new import.
    existing = db.session.scalars(select(TariffVersion).where(TariffVersion.tariff_id == tariff.id,
                                                              TariffVersion.state != ApprovalState.REJECTED)).all()
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
        state=state,
    )
    db.session.add(version)
    db.session.flush()
    audit.record("tariff.imported" if state == ApprovalState.APPROVED else "tariff.proposed", version,
                 {"code": parsed.code, "from": str(parsed.effective_from), "checksum": checksum,
                  "proposed_by": getattr(actor, "id", None)}, actor=actor)
    return version


def _decidable_version(version_id: int, actor) -> TariffVersion:
    try:
        return maker_checker.decidable(TariffVersion, version_id, actor, TARIFF_DECIDERS,
                                       proposer_column="imported_by_id")
    except maker_checker.DecisionRefused as refusal:
        raise TariffApprovalRefused(refusal.code) from None


def _claim_version(version: TariffVersion, state: ApprovalState, actor, note: str | None) -> None:
    try:
        maker_checker.claim(TariffVersion, version, state, actor, note)
    except maker_checker.DecisionRefused as refusal:
        raise TariffApprovalRefused(refusal.code) from None


def approve_tariff(version_id: int, actor) -> TariffVersion:
    """A second billing officer or administrator approves a proposed version: from now on it is in force."""
    version = _decidable_version(version_id, actor)
    _claim_version(version, ApprovalState.APPROVED, actor, None)
    audit.record("tariff.approved", version, {
        "code": version.tariff.code, "from": str(version.effective_from), "checksum": version.checksum,
        **maker_checker.signatories(version, actor, proposer_column="imported_by_id")}, actor=actor)
    return version


def reject_tariff(version_id: int, note: str, actor) -> TariffVersion:
    """A second billing officer or administrator rejects it: it is never used, and frees its dates."""
    note = (note or "").strip()[:200]
    version = _decidable_version(version_id, actor)
    if not note:  # the importer has to learn what to correct
        raise TariffApprovalRefused("reason_required")
    _claim_version(version, ApprovalState.REJECTED, actor, note or None)
    audit.record("tariff.rejected", version, {
        "code": version.tariff.code, "from": str(version.effective_from), "note": note,
        "proposed_by": version.imported_by_id, "rejected_by": actor.id}, actor=actor)
    return version


def import_bundled_tariffs() -> list[TariffVersion]:
    return [import_tariff(path.read_text()) for path in sorted(BUNDLED_TARIFFS.glob("*.json"))]


def find_version(code: str, on_day: date | None = None) -> TariffVersion | None:
    query = select(TariffVersion).join(Tariff).where(Tariff.code == code, TariffVersion.in_force())
    if on_day:
        query = query.where(TariffVersion.effective_from <= on_day,
                            (TariffVersion.effective_to.is_(None)) | (TariffVersion.effective_to >= on_day))
    return db.session.scalar(query.order_by(TariffVersion.effective_from.desc()).limit(1))


def monthly_params(tariff_id: int, month: date) -> dict[str, Decimal]:
    """The monthly parameters (fuel adjustment and the like) entered for a tariff and month."""
    return dict(db.session.execute(select(TariffParam.name, TariffParam.value)
                                   .where(TariffParam.tariff_id == tariff_id, TariffParam.month == month)).all())


# The format declares no bounds for parameters: a value below this floor (₹ −10 a unit, −10 %) is a typo.
PARAM_FLOOR = Decimal("-10")

PARAM_REFUSALS = {
    "param_below_floor": N_("%(name)s cannot be below %(floor)s: %(value)s is refused."),
    "param_month_billed": N_("%(month)s is already billed with this tariff: its parameters can no longer change."),
}


class ParamRefused(ValueError):
    """Why a monthly parameter was not set: `code` (PARAM_REFUSALS) and its parameters."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(PARAM_REFUSALS[code] % params)


def set_monthly_param(code: str, month: date, name: str, value: Decimal | str, actor=None) -> TariffParam:
    """Set (or correct) a tariff's parameter for one month not billed yet: bills issued with the month's values
    would no longer match them."""
    value = Decimal(value)
    tariff = db.session.scalar(select(Tariff).where(Tariff.code == code))
    if tariff is None:
        raise TariffImportError(f"no tariff {code}")
    if value < PARAM_FLOOR:
        raise ParamRefused("param_below_floor", name=name, floor=str(PARAM_FLOOR), value=str(value))
    cycle = f"{month.year:04d}-{month.month:02d}"
    if db.session.scalar(select(Bill.id).join(TariffVersion, TariffVersion.id == Bill.tariff_version_id)
                         .where(TariffVersion.tariff_id == tariff.id, Bill.cycle == cycle).limit(1)) is not None:
        raise ParamRefused("param_month_billed", month=cycle)
    param = db.session.scalar(select(TariffParam).where(TariffParam.tariff_id == tariff.id,
                                                        TariffParam.month == month, TariffParam.name == name))
    before = None if param is None else str(param.value)  # the audit keeps what a correction replaced
    if param is None:
        param = TariffParam(tariff_id=tariff.id, month=month, name=name, value=value)
        db.session.add(param)
    else:
        param.value = value
    db.session.flush()
    audit.record("tariff.param_set", param, {"code": code, "month": str(month), "name": name, "before": before,
                                             "after": str(value), "value": str(value)}, actor=actor)
    return param
