"""What this period's bill is heading for, from the readings so far. Pure: plain values in and out."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.billing import tariff as engine

# Warn when the projected use is this close below the next, dearer slab.
WARN_WITHIN_UNITS = Decimal(30)
WARN_WITHIN_SHARE = Decimal("0.15")


@dataclass(frozen=True)
class SlabWarning:
    units_left: Decimal  # units before the next slab starts
    rate_now: Decimal
    rate_next: Decimal


@dataclass(frozen=True)
class SlabCrossing:
    at_units: Decimal  # where the dearer slab begins (this period's units)
    rate_now: Decimal
    rate_next: Decimal


@dataclass(frozen=True)
class Projection:
    units_so_far: Decimal
    days_so_far: int
    period_days: int
    projected_units: Decimal
    projected_amount: Decimal
    slab_warning: SlabWarning | None
    crossing: SlabCrossing | None = None  # the projection goes past a dearer slab the use so far has not reached


def project(tariff: engine.Tariff, units_so_far: Decimal, period_start: date, read_on: date, period_days: int,
            load_kw: Decimal, phase: str, flags: frozenset[str], params: dict[str, Decimal]) -> Projection:
    """Extend the use so far at the same daily rate to the whole period and price it."""
    days_so_far = max((read_on - period_start).days + 1, 1)
    projected = (units_so_far / days_so_far * period_days).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    projected = max(projected, units_so_far.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    inp = engine.QuoteInput(units=projected, period_from=period_start,
                            period_to=period_start + timedelta(days=period_days - 1), load_kw=load_kw, phase=phase,
                            flags=flags, params={k: v for k, v in params.items() if k in tariff.param_names})
    quote = engine.quote(tariff, inp)
    steps = engine.slab_steps(tariff, inp)
    return Projection(units_so_far, days_so_far, period_days, projected, quote.total,
                      slab_warning(steps, projected), slab_crossing(steps, units_so_far, projected))


def slab_warning(steps: list[engine.SlabStep], units: Decimal) -> SlabWarning | None:
    """A warning when `units` sits just below a slab boundary after which units cost more."""
    for step, following in zip(steps, steps[1:], strict=False):
        if step.upto is None or units > step.upto:
            continue
        left = step.upto - units
        near = left <= max(WARN_WITHIN_UNITS, step.upto * WARN_WITHIN_SHARE)
        if near and following.rate > step.rate:
            return SlabWarning(left, step.rate, following.rate)
        return None
    return None


def slab_crossing(steps: list[engine.SlabStep], units_so_far: Decimal, projected: Decimal) -> SlabCrossing | None:
    """The first boundary after which units cost more that the use so far is below and the projection passes."""
    for step, following in zip(steps, steps[1:], strict=False):
        if step.upto is None:
            return None
        if units_so_far <= step.upto < projected and following.rate > step.rate:
            return SlabCrossing(step.upto, step.rate, following.rate)
    return None
