"""Estimated consumption when no reading could be taken. Pure: plain values in and out."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


class NoBasisForEstimate(ValueError):
    pass


@dataclass(frozen=True)
class PastPeriod:
    units: Decimal
    days: int

    @property
    def daily(self) -> Decimal:
        return self.units / self.days


def estimate_units(days: int, recent_actual: Sequence[PastPeriod], same_period_last_year: PastPeriod | None) -> Decimal:
    """Average daily use of the last three actual periods, or of the same period last year when that is higher,
    times the days of this period, in whole units (half-up)."""
    candidates = []
    last_three = list(recent_actual)[-3:]
    if last_three:
        candidates.append(sum(p.units for p in last_three) / sum(p.days for p in last_three))
    if same_period_last_year is not None and same_period_last_year.days > 0:
        candidates.append(same_period_last_year.daily)
    if not candidates:
        raise NoBasisForEstimate("no reading this period and no past consumption to estimate from")
    return (max(candidates) * days).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def settle_units(advance: Decimal, carried: Decimal, estimated_since: Decimal) -> tuple[Decimal, Decimal]:
    """Units to bill on an actual reading, and the units carried to the next bill.

    `advance` is what the meter recorded since the last actual bill's reading, `estimated_since` what estimated
    bills charged since then, `carried` what the last actual bill carried (never positive). If the estimates
    charged more than the meter recorded, this bill charges 0 and the excess is taken off the next ones, so
    over any run of bills the customer pays for exactly the units the meter recorded.
    """
    raw = advance + carried - estimated_since
    return max(raw, Decimal(0)), min(raw, Decimal(0))
