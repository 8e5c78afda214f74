"""Quoting one period under one tariff: the period factor, each component's charge, the total."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import (
    ROUND_HALF_UP,
    Decimal,
    localcontext,
)
from fractions import Fraction
from functools import cached_property
from math import floor
from typing import Any

from app.billing.tariff.model import (
    _CONTEXT,
    ROUNDING_CODE,
    ROUNDING_LABEL,
    Detail,
    Line,
    PeriodRule,
    PhaseRate,
    Quote,
    QuoteInput,
    Rate,
    Step,
    Tariff,
    TariffError,
    Value,
    _fail,
    _quantum,
    inclusive_days,
    round_to,
)

# ---------------------------------------------------------------------------------------------
# Period factor
# ---------------------------------------------------------------------------------------------


def _month_fractions(first: date, last: date) -> Fraction:
    """Sum over the calendar months the period touches of (its days in the month / days of the month)."""
    total = Fraction(0)
    day = first
    while day <= last:
        month_days = monthrange(day.year, day.month)[1]
        end = min(day.replace(day=month_days), last)
        total += Fraction(inclusive_days(day, end), month_days)
        day = end + timedelta(days=1)
    return total


def _to_decimal(value: Fraction, places: int | None) -> Decimal:
    """Half-up to `places` computed on the exact fraction; None keeps 28 significant digits."""
    with localcontext(_CONTEXT):
        if places is None:
            return Decimal(value.numerator) / Decimal(value.denominator)
        return Decimal(floor(value * 10**places + Fraction(1, 2))).scaleb(-places)


def period_factor(
    rule: PeriodRule, days: int | None = None, first: date | None = None, last: date | None = None
) -> Decimal:
    """The factor `f` that scales bounds and per-period money amounts (TARIFF_FORMAT, Period scaling)."""
    if rule.factor == "calendar":
        if first is None or last is None:
            _fail("period.factor", "'calendar' needs the period's first and last day (--from/--to)")
        exact = _month_fractions(first, last) * Fraction(30, rule.base_days)
    else:
        if first is not None and last is not None:
            days = inclusive_days(first, last)
        if days is None:
            _fail("period", "the quote needs the period: days, or first and last day (--days, --from/--to)")
        exact = Fraction(days, rule.base_days)
    return _to_decimal(exact, rule.factor_places)


# ---------------------------------------------------------------------------------------------
# Quoting
# ---------------------------------------------------------------------------------------------


@dataclass
class _Quoting:
    """The state of one quote while its components are evaluated in order."""

    tariff: Tariff
    inp: QuoteInput
    factor: Decimal
    lines: list[Line] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)  # rounded line amounts so far, by code

    @property
    def units(self) -> Decimal:
        return self.inp.units

    @property
    def phase(self) -> str:
        return self.inp.phase or "single"  # the format's rule for a missing phase

    def value(self, value: Value, path: str) -> Decimal:
        if isinstance(value, Decimal):
            return value
        for source in (self.inp.params, self.tariff.params):
            if value.name in source:
                return source[value.name]
        _fail(path, f"parameter {value.name} has no value: give it with the bill or a default in params")

    def rate(self, rate: Rate, path: str) -> Decimal:
        if isinstance(rate, PhaseRate):
            return self.value(getattr(rate, self.phase), f"{path}.{self.phase}")
        return self.value(rate, path)

    def load(self, path: str) -> Decimal:
        if self.inp.load_kw is None:
            _fail(path, "needs the sanctioned load (load_kw, --load-kw)")
        return self.inp.load_kw

    def scale_bound(self, bound: Decimal) -> Decimal:
        scaled = bound * self.factor
        if self.tariff.period.bound_rounding == "integer":
            return scaled.to_integral_value(rounding=ROUND_HALF_UP)
        return scaled

    def bound(self, value: Value, path: str) -> Decimal:
        return self.scale_bound(self.value(value, path))

    def money(self, amount: Decimal, scaled: bool) -> Decimal:
        return amount * self.factor if scaled else amount

    def uppers(self, steps: tuple[Step, ...], path: str, scaled: bool) -> list[Decimal | None]:
        """The steps' upper bounds; those from parameters must still increase before scaling."""
        bounds: list[Decimal | None] = []
        for index, step in enumerate(steps):
            where = f"{path}[{index}].upto"
            bound = None if step.upto is None else self.value(step.upto, where)
            if bound is not None and bound < 0:
                _fail(where, f"must not be negative, is {bound}")
            if bound is not None and bounds and bound <= bounds[-1]:
                _fail(where, f"bounds must strictly increase ({bounds[-1]} then {bound})")
            bounds.append(bound)
        if not scaled:
            return bounds
        return [None if bound is None else self.scale_bound(bound) for bound in bounds]

    def rates(self, steps: tuple[Step, ...], path: str) -> list[Decimal]:
        # A component that applies needs every parameter it names, used by this consumption or not.
        return [self.rate(step.rate, f"{path}[{index}].rate") for index, step in enumerate(steps)]

    def sum_of(self, codes: tuple[str, ...]) -> Decimal:
        return sum((self.totals.get(code, Decimal(0)) for code in codes), Decimal(0))

    def line(self, component: Component, amount: Decimal, details: Sequence[Detail] = ()) -> Line:
        rounded = round_to(amount, self.tariff.rounding.line)
        return Line(component.code, component.label, rounded, list(details))

    def add(self, line: Line) -> None:
        self.lines.append(line)
        self.totals[line.code] = self.totals.get(line.code, Decimal(0)) + line.amount


def _telescope(units: Decimal, uppers: list[Decimal | None]) -> Iterator[tuple[int, Decimal]]:
    """(slab index, units in it) for each non-empty slab; bounds that coincide leave an empty slab."""
    lower = Decimal(0)
    for index, upper in enumerate(uppers):
        top = units if upper is None else min(units, upper)
        if top > lower:
            yield index, top - lower
        if upper is not None:
            lower = max(lower, upper)


def _range(uppers: list[Decimal | None], index: int) -> tuple[Decimal, Decimal | None]:
    """(above, up to) of slab or band `index`: from the bound before it (0 for the first) to its own."""
    return (uppers[index - 1] if index else Decimal(0)), uppers[index]


def _band_index(measure: Decimal, uppers: list[Decimal | None]) -> int:
    """The first band whose upper bound the measure does not exceed (the last one is open)."""
    return next(i for i, upper in enumerate(uppers) if upper is None or measure <= upper)


@dataclass(frozen=True)
class When:
    units_upto: Value | None = None
    units_above: Value | None = None
    load_upto: Decimal | None = None
    load_above: Decimal | None = None
    phase: str | None = None
    flag: str | None = None

    @cached_property
    def always(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)

    def holds(self, q: _Quoting, path: str) -> bool:
        if self.always:  # most components have no condition; a bill run asks this millions of times
            return True
        # Checked in this order and lazily, so that a component that does not apply for a cheap
        # reason (flag, phase) needs no parameter or load for its other conditions.
        conditions: tuple[tuple[Any, Callable[[Any], bool]], ...] = (
            (self.flag, lambda flag: flag in q.inp.flags),
            (self.phase, lambda phase: phase == q.phase),
            (self.units_upto, lambda bound: q.units <= q.bound(bound, f"{path}.units_upto")),
            (self.units_above, lambda bound: q.units > q.bound(bound, f"{path}.units_above")),
            (self.load_upto, lambda bound: q.load(f"{path}.load_upto") <= bound),
            (self.load_above, lambda bound: q.load(f"{path}.load_above") > bound),
        )
        return all(test(value) for value, test in conditions if value is not None)


@dataclass(frozen=True)
class Component:
    path: str  # "components[3]": quote-time errors name the place too
    code: str
    label: str
    when: When

    def quote_line(self, q: _Quoting) -> Line | None:
        if not self.when.holds(q, f"{self.path}.when"):
            return None
        return self.evaluate(q)

    def evaluate(self, q: _Quoting) -> Line | None:
        raise NotImplementedError


@dataclass(frozen=True)
class Slabs(Component):
    """Telescopic: each slab's units at that slab's rate."""

    slabs: tuple[Step, ...]

    def evaluate(self, q: _Quoting) -> Line:
        path = f"{self.path}.slabs"
        rates = q.rates(self.slabs, path)
        uppers = q.uppers(self.slabs, path, scaled=True)
        details = [Detail(units, rates[i], units * rates[i], *_range(uppers, i))
                   for i, units in _telescope(q.units, uppers)]
        return q.line(self, sum((d.amount for d in details), Decimal(0)), details)


@dataclass(frozen=True)
class Bands(Component):
    """Non-telescopic: all units at the rate of the band the consumption falls in."""

    bands: tuple[Step, ...]

    def evaluate(self, q: _Quoting) -> Line:
        path = f"{self.path}.bands"
        rates = q.rates(self.bands, path)
        uppers = q.uppers(self.bands, path, scaled=True)
        band = _band_index(q.units, uppers)
        rate = rates[band]
        details = [Detail(q.units, rate, q.units * rate, *_range(uppers, band))] if q.units > 0 else []
        return q.line(self, q.units * rate, details)


@dataclass(frozen=True)
class Fixed(Component):
    """rate × (1 or the sanctioned kW) × f; the rate written, or chosen from bands on units or load."""

    per: str  # "connection" | "kw"
    rate: Rate | None
    band_on: str | None  # "units" | "load", with bands
    bands: tuple[Step, ...] | None
    scaled: bool = True

    def evaluate(self, q: _Quoting) -> Line:
        quantity = Decimal(1) if self.per == "connection" else q.load(f"{self.path}.per")
        return q.line(self, q.money(self._rate(q) * quantity, self.scaled))

    def _rate(self, q: _Quoting) -> Decimal:
        if self.bands is None:
            return q.rate(self.rate, f"{self.path}.rate")
        path = f"{self.path}.bands"
        rates = q.rates(self.bands, path)
        if self.band_on == "units":
            return rates[_band_index(q.units, q.uppers(self.bands, path, scaled=True))]
        # load bands are kW, never scaled
        return rates[_band_index(q.load(f"{self.path}.band_on"), q.uppers(self.bands, path, scaled=False))]


@dataclass(frozen=True)
class Percent(Component):
    """percent / 100 × the rounded lines of earlier codes, its absolute value bounded by `cap` × f."""

    percent: Value
    of: tuple[str, ...]
    cap: Decimal | None = None
    scaled: bool = True

    def evaluate(self, q: _Quoting) -> Line:
        amount = q.value(self.percent, f"{self.path}.percent") / 100 * q.sum_of(self.of)
        if self.cap is not None:
            limit = q.money(self.cap, self.scaled)
            if abs(amount) > limit:
                amount = limit.copy_sign(amount)
        return q.line(self, amount)


@dataclass(frozen=True)
class Minimum(Component):
    """The shortfall of the codes in `of` below amount × f; no line when there is none."""

    amount: Decimal
    of: tuple[str, ...]
    scaled: bool = True

    def evaluate(self, q: _Quoting) -> Line | None:
        floor_amount = q.money(self.amount, self.scaled)
        charged = q.sum_of(self.of)
        return q.line(self, floor_amount - charged) if charged < floor_amount else None


def _check_given_params(tariff: Tariff, params: Mapping[str, Decimal]) -> None:
    """A parameter the tariff neither declares nor uses is a typo, never silently ignored."""
    unknown = sorted(set(params) - tariff.param_names)
    if unknown:
        known = ", ".join(sorted(tariff.param_names)) or "none"
        raise TariffError(
            *(f"params.{name}: not a parameter of tariff {tariff.code} (its parameters: {known})" for name in unknown)
        )


def quote(tariff: Tariff, inp: QuoteInput) -> Quote:
    """The bill lines of one consumer's period under one tariff version."""
    with localcontext(_CONTEXT):
        _check_given_params(tariff, inp.params)
        factor = period_factor(tariff.period, inp.days, inp.period_from, inp.period_to)
        q = _Quoting(tariff, inp, factor)
        for component in tariff.components:
            line = component.quote_line(q)
            if line is not None:
                q.add(line)
        return _finish(q, inp.period_days or 0)


@dataclass(frozen=True)
class SlabStep:
    upto: Decimal | None  # the slab's upper bound in units, scaled to this period; None for the open slab
    rate: Decimal


def slab_steps(tariff: Tariff, inp: QuoteInput, code: str = "energy") -> list[SlabStep]:
    """The telescopic slabs that price `inp`'s units under component `code` (its first `slabs` component whose
    `when` holds), with bounds scaled to the period: what a "units to the next slab" warning needs."""
    with localcontext(_CONTEXT):
        factor = period_factor(tariff.period, inp.days, inp.period_from, inp.period_to)
        q = _Quoting(tariff, inp, factor)
        for component in tariff.components:
            if isinstance(component, Slabs) and component.code == code and component.when.holds(
                    q, f"{component.path}.when"):
                path = f"{component.path}.slabs"
                uppers = q.uppers(component.slabs, path, scaled=True)
                return [SlabStep(upper, rate) for upper, rate in zip(uppers, q.rates(component.slabs, path),
                                                                     strict=True)]
    return []


def _finish(q: _Quoting, days: int) -> Quote:
    """Add the rounding line, refuse a negative total, list every code."""
    rounding = q.tariff.rounding
    lines_total = sum((line.amount for line in q.lines), Decimal(0))
    total = round_to(lines_total, rounding.total)
    if total != lines_total:
        q.add(Line(ROUNDING_CODE, ROUNDING_LABEL, round_to(total - lines_total, rounding.line)))
    if total < 0:
        _fail("total", f"{total} is below zero: tariff {q.tariff.code} gives more than it charges")
    quantum = _quantum(rounding.line)
    by_code = {code: q.totals.get(code, Decimal(0)).quantize(quantum) for code in q.tariff.codes}
    if q.totals.get(ROUNDING_CODE):
        by_code[ROUNDING_CODE] = q.totals[ROUNDING_CODE]
    return Quote(factor=q.factor, days=days, lines=q.lines, by_code=by_code, total=total, quantum=quantum)
