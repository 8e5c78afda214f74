"""The `dtech-tariff/1` engine: read and validate a tariff document, quote a bill from it.

Pure Python on purpose (no Flask, no database): the CLI, the admin pages and the bill run share it,
and it must be testable on its own. The format is specified in TARIFF_FORMAT.md; every rule below
cites it. Money is Decimal throughout, never float.
"""

from __future__ import annotations

import copy
import json
import re
from calendar import monthrange
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import date, timedelta
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from math import floor
from types import MappingProxyType
from typing import Any, NoReturn

__all__ = [
    "FORMAT",
    "NAME",
    "NUMBER",
    "PHASES",
    "Bands",
    "Component",
    "Detail",
    "Fixed",
    "Line",
    "Minimum",
    "Param",
    "PaymentTerms",
    "Percent",
    "PeriodRule",
    "PhaseRate",
    "Quote",
    "QuoteInput",
    "Rounding",
    "Slabs",
    "SplitPart",
    "Step",
    "Tariff",
    "TariffError",
    "When",
    "inclusive_days",
    "load_tariff",
    "parse_tariff",
    "period_factor",
    "quote",
    "quote_split",
    "round_to",
    "split_period",
]

FORMAT = "dtech-tariff/1"
PHASES = ("single", "three")
ROUNDING_CODE = "rounding"
ROUNDING_LABEL = "Rounding off"

NUMBER = re.compile(r"-?\d+(\.\d+)?")  # every number in a document is a string like this
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# Decimal's documented default (28 digits), pinned so that a caller's context cannot change a bill.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


class TariffError(ValueError):
    """A tariff that does not validate, or a quote that cannot be made.

    Every problem starts with the place it concerns, e.g. ``components[3].slabs[1].rate: not a decimal``.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


def _fail(path: str, message: str) -> NoReturn:
    raise TariffError(f"{path}: {message}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    return json.dumps(value, default=str)


# ---------------------------------------------------------------------------------------------
# The parsed tariff
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """`{"param": NAME}`: a value given with the bill, falling back to the tariff's `params`."""

    name: str


Value = Decimal | Param


@dataclass(frozen=True)
class PhaseRate:
    """`{"single": …, "three": …}`: a fixed-charge rate that depends on the supply phase."""

    single: Value
    three: Value


Rate = Value | PhaseRate


@dataclass(frozen=True)
class Step:
    """One slab or band: its inclusive upper bound (None = open) and its rate."""

    upto: Value | None
    rate: Rate


@dataclass(frozen=True)
class PeriodRule:
    base_days: int
    factor: str  # "days" | "calendar"
    factor_places: int | None
    bound_rounding: str  # "none" | "integer"


@dataclass(frozen=True)
class Rounding:
    line: Decimal
    total: Decimal


@dataclass(frozen=True)
class PromptRebate:
    within_days: int
    percent: Decimal


@dataclass(frozen=True)
class DigitalRebate:
    percent: Decimal
    cap: Decimal | None = None


@dataclass(frozen=True)
class LateSurcharge:
    percent_per_month: Decimal
    on: str = "arrears"


@dataclass(frozen=True)
class PaymentTerms:
    """Used by bills and payments, never by the amount."""

    due_days: int = 15
    prompt_rebate: tuple[PromptRebate, ...] = ()
    digital_rebate: DigitalRebate | None = None
    late_surcharge: LateSurcharge | None = None


@dataclass(frozen=True)
class Tariff:
    document: Mapping[str, Any] = field(repr=False)  # the document as written, for export and storage
    code: str
    name: str
    utility: str
    unit: str
    effective_from: date
    effective_to: date | None
    period: PeriodRule
    params: Mapping[str, Decimal]
    components: tuple[Component, ...]
    rounding: Rounding
    payment_terms: PaymentTerms
    sources: tuple[str, ...] = field(repr=False)

    @cached_property
    def codes(self) -> tuple[str, ...]:
        """Component codes in order of first appearance (what `by_code` lists)."""
        return tuple(dict.fromkeys(component.code for component in self.components))

    @cached_property  # a bill run asks for every bill; the walk over the components is done once
    def param_names(self) -> frozenset[str]:
        """Parameters a bill may give: those the tariff declares or uses."""
        return frozenset(self.params) | frozenset(_params_used(self.components))

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


def _params_used(node: Any) -> Iterator[str]:
    if isinstance(node, Param):
        yield node.name
    elif is_dataclass(node):
        for item in fields(node):
            yield from _params_used(getattr(node, item.name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _params_used(item)


# ---------------------------------------------------------------------------------------------
# Quote input and output
# ---------------------------------------------------------------------------------------------


def _input_decimal(value: Any, path: str) -> Decimal:
    """Accept Decimal, int or a decimal string; a float would bring binary rounding into a bill."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str) and NUMBER.fullmatch(value):
        return Decimal(value)
    _fail(path, f"not a decimal: {_show(value)}")


def _plain_date(value: Any, path: str) -> date | None:
    if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
        return value
    _fail(path, f"not a date: {value!r}")


def inclusive_days(first: date, last: date) -> int:
    """Days from `first` to `last`, both included."""
    return (last - first).days + 1


@dataclass(frozen=True)
class QuoteInput:
    """One consumer's period of use. The period is `days`, or `period_from`..`period_to` (inclusive)."""

    units: Decimal
    days: int | None = None
    period_from: date | None = None
    period_to: date | None = None
    load_kw: Decimal | None = None
    phase: str | None = None
    flags: frozenset[str] = frozenset()
    params: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("units", _input_decimal(self.units, "units"))
        if self.units < 0:
            _fail("units", "must not be negative")
        if self.load_kw is not None:
            put("load_kw", _input_decimal(self.load_kw, "load_kw"))
            if self.load_kw < 0:
                _fail("load_kw", "must not be negative")
        if self.phase is not None and self.phase not in PHASES:
            _fail("phase", f"must be one of {', '.join(PHASES)}")
        put("flags", frozenset(self.flags))
        put(
            "params",
            MappingProxyType({name: _input_decimal(value, f"params.{name}") for name, value in self.params.items()}),
        )
        self._check_period()

    def _check_period(self) -> None:
        if self.days is not None and (not isinstance(self.days, int) or isinstance(self.days, bool) or self.days < 1):
            _fail("days", f"must be a whole number of at least 1, not {self.days!r}")
        first = _plain_date(self.period_from, "period_from")
        last = _plain_date(self.period_to, "period_to")
        if (first is None) != (last is None):
            missing = "period_from" if first is None else "period_to"
            _fail(missing, "the period needs both its first and last day")
        if first is not None and last is not None:
            if last < first:
                _fail("period_to", f"{last} is before period_from {first}")
            counted = inclusive_days(first, last)
            if self.days is not None and self.days != counted:
                _fail("days", f"{self.days} given, but {first} to {last} (inclusive) is {counted} days")

    @property
    def period_days(self) -> int | None:
        if self.period_from is not None and self.period_to is not None:
            return inclusive_days(self.period_from, self.period_to)
        return self.days


@dataclass(frozen=True)
class Detail:
    """How a line was reached: exact quantity × rate, unrounded."""

    quantity: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Line:
    code: str
    label: str
    amount: Decimal  # rounded half-up to rounding.line
    details: list[Detail] = field(default_factory=list)

    def to_json(self, quantum: Decimal) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "amount": _money_text(self.amount, quantum),
            "details": [
                {"quantity": _text(d.quantity), "rate": _text(d.rate), "amount": _text(d.amount)} for d in self.details
            ],
        }


@dataclass(frozen=True)
class Quote:
    factor: Decimal
    days: int
    lines: list[Line]
    by_code: dict[str, Decimal]  # every component code; "rounding" only when nonzero
    total: Decimal
    quantum: Decimal  # amounts are written with the places of rounding.line
    parts: tuple[Quote, ...] = ()  # the per-version quotes of a split period

    def to_json(self) -> dict[str, Any]:
        """The `quote --json` shape of TARIFF_FORMAT.md: every number a decimal string."""
        return {
            "factor": _text(self.factor),
            "lines": [line.to_json(self.quantum) for line in self.lines],
            "by_code": {code: _money_text(amount, self.quantum) for code, amount in self.by_code.items()},
            "total": _money_text(self.total, self.quantum),
        }


def _unsigned_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value


def _text(value: Decimal) -> str:
    return format(_unsigned_zero(value), "f")


def _money_text(value: Decimal, quantum: Decimal) -> str:
    return _text(value.quantize(quantum))


def _quantum(step: Decimal) -> Decimal:
    """The places a rounding step is written with: "0.05" -> 0.01, "1" -> 1."""
    return Decimal(1).scaleb(min(step.as_tuple().exponent, 0))


def round_to(amount: Decimal, step: Decimal) -> Decimal:
    """Round half-up (ties away from zero, negatives too) to a multiple of `step`."""
    with localcontext(_CONTEXT):
        steps = (amount / step).to_integral_value(rounding=ROUND_HALF_UP)
        return _unsigned_zero((steps * step).quantize(_quantum(step)))


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
        slab_units = _telescope(q.units, q.uppers(self.slabs, path, scaled=True))
        details = [Detail(units, rates[i], units * rates[i]) for i, units in slab_units]
        return q.line(self, sum((d.amount for d in details), Decimal(0)), details)


@dataclass(frozen=True)
class Bands(Component):
    """Non-telescopic: all units at the rate of the band the consumption falls in."""

    bands: tuple[Step, ...]

    def evaluate(self, q: _Quoting) -> Line:
        path = f"{self.path}.bands"
        rates = q.rates(self.bands, path)
        rate = rates[_band_index(q.units, q.uppers(self.bands, path, scaled=True))]
        details = [Detail(q.units, rate, q.units * rate)] if q.units > 0 else []
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


# ---------------------------------------------------------------------------------------------
# A period that spans two versions of a tariff
# ---------------------------------------------------------------------------------------------


SplitPart = tuple[Tariff, int] | tuple[Tariff, date, date]


def split_period(versions: Sequence[Tariff], first: date, last: date) -> list[tuple[Tariff, date, date]]:
    """Cut first..last into (version, first, last) parts, one per version of the tariff in force.

    A version without `effective_to` ends the day before the next version starts.
    """
    ordered = sorted(versions, key=lambda version: version.effective_from)
    if len({version.code for version in ordered}) > 1:
        _fail("versions", "are not all versions of one tariff code")
    parts: list[tuple[Tariff, date, date]] = []
    day = first
    for index, version in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        end = version.effective_to
        if following is not None:
            if end is not None and end >= following.effective_from:
                _fail(
                    f"versions[{index}]",
                    f"{version.code} from {version.effective_from} overlaps the "
                    f"version from {following.effective_from}",
                )
            end = end or following.effective_from - timedelta(days=1)
        if day > last or (end is not None and end < day):
            continue
        if version.effective_from > day:
            break
        part_end = last if end is None else min(end, last)
        parts.append((version, day, part_end))
        day = part_end + timedelta(days=1)
    if day <= last:
        _fail("period", f"no version of the tariff covers {day}")
    return parts


def _part_period(part: SplitPart, index: int) -> tuple[Tariff, dict[str, Any]]:
    match part:
        case (Tariff() as tariff, int() as days):
            return tariff, {"days": days}
        case (Tariff() as tariff, date() as first, date() as last):
            if not (tariff.covers(first) and tariff.covers(last)):
                _fail(
                    f"parts[{index}]",
                    f"{first} to {last} is outside the window of {tariff.code} from {tariff.effective_from}",
                )
            return tariff, {"period_from": first, "period_to": last}
    _fail(f"parts[{index}]", "must be (tariff, days) or (tariff, first day, last day)")


def quote_split(parts: Sequence[SplitPart], units: Decimal | str | int, **common: Any) -> Quote:
    """Quote a period that spans versions of a tariff (TARIFF_FORMAT, Fine print).

    `parts` are (tariff, days) or (tariff, first, last), in order; `common` are the other QuoteInput
    fields (load_kw, phase, flags, params). Units are split in proportion to days, the last part
    taking the remainder so that they add up exactly; each part is quoted in full for its own days
    and the parts' lines are added.
    """
    if not parts:
        _fail("parts", "at least one part is needed")
    periods = [_part_period(part, index) for index, part in enumerate(parts)]
    if len({tariff.code for tariff, _ in periods}) > 1:
        _fail("parts", "are not all versions of one tariff code")
    params = dict(common.pop("params", {}))
    _check_given_params_of_any([tariff for tariff, _ in periods], params)
    inputs = [  # each version gets the parameters it knows; a parameter no version knows is a typo
        QuoteInput(
            Decimal(0),
            **period,
            **common,
            params={name: value for name, value in params.items() if name in tariff.param_names},
        )
        for tariff, period in periods
    ]
    _check_contiguous(inputs)
    if len(inputs) == 1:  # one version: an ordinary quote (the usual case, kept cheap for bill runs)
        return quote(periods[0][0], replace(inputs[0], units=_input_decimal(units, "units")))
    shares = _split_units(_input_decimal(units, "units"), [inp.period_days or 0 for inp in inputs])
    return _combine(
        [
            quote(tariff, replace(inp, units=share))
            for (tariff, _), inp, share in zip(periods, inputs, shares, strict=True)
        ]
    )


def _check_given_params_of_any(tariffs: list[Tariff], params: Mapping[str, Any]) -> None:
    known = frozenset().union(*(tariff.param_names for tariff in tariffs))
    unknown = sorted(set(params) - known)
    if unknown:
        raise TariffError(*(f"params.{name}: not a parameter of any version of {tariffs[0].code}" for name in unknown))


def _check_contiguous(inputs: list[QuoteInput]) -> None:
    for index, (before, after) in enumerate(pairwise(inputs), start=1):
        dated = before.period_to is not None and after.period_from is not None
        if dated and after.period_from != before.period_to + timedelta(days=1):
            _fail(f"parts[{index}]", f"starts {after.period_from}, not the day after {before.period_to}")


def _split_units(units: Decimal, days: list[int]) -> list[Decimal]:
    with localcontext(_CONTEXT):
        total_days = sum(days)
        shares = [units * part_days / total_days for part_days in days[:-1]]
        return [*shares, units - sum(shares, Decimal(0))]


def _combine(quotes: list[Quote]) -> Quote:
    by_code: dict[str, Decimal] = {}
    for part in quotes:
        for code, amount in part.by_code.items():
            by_code[code] = by_code.get(code, Decimal(0)) + amount
    if by_code.get(ROUNDING_CODE) == 0:  # the parts' rounding lines cancelled out
        del by_code[ROUNDING_CODE]
    return Quote(
        factor=sum((part.factor for part in quotes), Decimal(0)),
        days=sum(part.days for part in quotes),
        lines=[line for part in quotes for line in part.lines],
        by_code=by_code,
        total=sum((part.total for part in quotes), Decimal(0)),
        quantum=min(part.quantum for part in quotes),
        parts=tuple(quotes),
    )


# ---------------------------------------------------------------------------------------------
# Reading a document: every check names the place it concerns
# ---------------------------------------------------------------------------------------------


def _keys(raw: Any, path: str, required: Sequence[str] = (), optional: Sequence[str] = ()) -> dict[str, Any]:
    """An object with exactly the allowed keys: a typo must never be silently ignored."""
    if not isinstance(raw, dict):
        _fail(path or "document", "must be an object")
    allowed = (*required, *optional)
    problems = [f"{_join(path, key)}: unknown key (allowed: {', '.join(allowed)})" for key in raw if key not in allowed]
    problems += [f"{_join(path, key)}: required" for key in required if key not in raw]
    if problems:
        raise TariffError(*problems)
    return raw


def _decimal(raw: Any, path: str) -> Decimal:
    if not isinstance(raw, str) or not NUMBER.fullmatch(raw):
        _fail(path, f'not a decimal (write a string like "4.71"): {_show(raw)}')
    return Decimal(raw)


def _non_negative(raw: Any, path: str) -> Decimal:
    number = _decimal(raw, path)
    if number < 0:
        _fail(path, f"must not be negative: {raw}")
    return number


def _positive(raw: Any, path: str) -> Decimal:
    number = _decimal(raw, path)
    if number <= 0:
        _fail(path, f"must be above zero: {raw}")
    return number


def _whole(raw: Any, path: str, minimum: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
        _fail(path, f"must be a whole number of at least {minimum}: {_show(raw)}")
    return raw


def _text_value(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        _fail(path, f"must be a non-empty string: {_show(raw)}")
    return raw


def _name(raw: Any, path: str) -> str:
    if not isinstance(raw, str) or not NAME.fullmatch(raw):
        _fail(path, f"must match [A-Za-z_][A-Za-z0-9_]*: {_show(raw)}")
    return raw


def _choice(raw: Any, path: str, options: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in options:
        _fail(path, f"must be one of {', '.join(options)}: {_show(raw)}")
    return raw


def _boolean(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        _fail(path, f"must be true or false: {_show(raw)}")
    return raw


def _date(raw: Any, path: str) -> date:
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    _fail(path, f"not a date (YYYY-MM-DD): {_show(raw)}")


def _value(raw: Any, path: str) -> Value:
    """A number, or `{"param": NAME}`."""
    if isinstance(raw, dict):
        if set(raw) == set(PHASES):
            _fail(path, "a rate split by phase is only allowed on fixed charges")
        _keys(raw, path, required=("param",))
        return Param(_name(raw["param"], f"{path}.param"))
    return _decimal(raw, path)


def _rate(raw: Any, path: str, phased: bool) -> Rate:
    if phased and isinstance(raw, dict) and "param" not in raw:
        _keys(raw, path, required=PHASES)
        return PhaseRate(_value(raw["single"], f"{path}.single"), _value(raw["three"], f"{path}.three"))
    return _value(raw, path)


def _steps(raw: Any, path: str, kind: str, phased: bool = False) -> tuple[Step, ...]:
    """Slabs or bands: bounds strictly increase and only the last one is open."""
    if not isinstance(raw, list) or not raw:
        _fail(path, f"must be a non-empty list of {kind}s")
    steps = tuple(_step(item, f"{path}[{index}]", phased) for index, item in enumerate(raw))
    last = len(steps) - 1
    if steps[last].upto is not None:
        _fail(f"{path}[{last}].upto", f"the last {kind} must be open (null)")
    previous: Decimal | None = None
    for index, step in enumerate(steps[:last]):
        where = f"{path}[{index}].upto"
        if step.upto is None:
            _fail(where, f"only the last {kind} may be open")
        if isinstance(step.upto, Decimal):  # bounds from parameters are checked when quoting
            if previous is not None and step.upto <= previous:
                _fail(where, f"bounds must strictly increase ({previous} then {step.upto})")
            previous = step.upto
    return steps


def _step(raw: Any, path: str, phased: bool) -> Step:
    _keys(raw, path, required=("upto", "rate"))
    upto = raw["upto"]
    if upto is not None:
        upto = _value(upto, f"{path}.upto")
        if isinstance(upto, Decimal) and upto < 0:
            _fail(f"{path}.upto", f"must not be negative: {raw['upto']}")
    return Step(upto, _rate(raw["rate"], f"{path}.rate", phased))


_WHEN_KEYS = ("units_upto", "units_above", "load_upto", "load_above", "phase", "flag")


def _when(raw: Any, path: str) -> When:
    _keys(raw, path, optional=_WHEN_KEYS)

    def read(key: str, parse: Callable[[Any, str], Any]) -> Any:
        return None if key not in raw else parse(raw[key], f"{path}.{key}")

    return When(
        units_upto=read("units_upto", _value),
        units_above=read("units_above", _value),
        load_upto=read("load_upto", _decimal),
        load_above=read("load_above", _decimal),
        phase=read("phase", lambda value, where: _choice(value, where, PHASES)),
        flag=read("flag", _text_value),
    )


def _of(raw: Any, path: str, earlier: frozenset[str]) -> tuple[str, ...]:
    """Codes of earlier components, each once (the amounts they sum are known by then)."""
    if not isinstance(raw, list) or not raw:
        _fail(path, "must be a non-empty list of codes")
    seen: list[str] = []
    for index, code in enumerate(raw):
        where = f"{path}[{index}]"
        _name(code, where)
        if code in seen:
            _fail(where, f"{code} is listed twice")
        if code not in earlier:
            _fail(where, f"{code} is not the code of an earlier component")
        seen.append(code)
    return tuple(seen)


def _slabs(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Slabs:
    return Slabs(**common, slabs=_steps(raw["slabs"], f"{path}.slabs", "slab"))


def _bands(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Bands:
    return Bands(**common, bands=_steps(raw["bands"], f"{path}.bands", "band"))


def _fixed(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Fixed:
    per = _choice(raw["per"], f"{path}.per", ("connection", "kw"))
    scaled = _boolean(raw.get("scaled", True), f"{path}.scaled")
    if ("rate" in raw) == ("bands" in raw):
        _fail(path, "a fixed charge needs either rate, or band_on with bands")
    if "rate" in raw:
        if "band_on" in raw:
            _fail(f"{path}.band_on", "only goes with bands")
        return Fixed(
            **common,
            per=per,
            rate=_rate(raw["rate"], f"{path}.rate", phased=True),
            band_on=None,
            bands=None,
            scaled=scaled,
        )
    if "band_on" not in raw:
        _fail(f"{path}.band_on", "required with bands (units or load)")
    return Fixed(
        **common,
        per=per,
        rate=None,
        band_on=_choice(raw["band_on"], f"{path}.band_on", ("units", "load")),
        bands=_steps(raw["bands"], f"{path}.bands", "band", phased=True),
        scaled=scaled,
    )


def _percent(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Percent:
    cap = None if "cap" not in raw else _non_negative(raw["cap"], f"{path}.cap")
    return Percent(
        **common,
        percent=_value(raw["percent"], f"{path}.percent"),
        of=_of(raw["of"], f"{path}.of", earlier),
        cap=cap,
        scaled=_boolean(raw.get("scaled", True), f"{path}.scaled"),
    )


def _minimum(raw: dict[str, Any], path: str, common: dict[str, Any], earlier: frozenset[str]) -> Minimum:
    return Minimum(
        **common,
        amount=_decimal(raw["amount"], f"{path}.amount"),
        of=_of(raw["of"], f"{path}.of", earlier),
        scaled=_boolean(raw.get("scaled", True), f"{path}.scaled"),
    )


# type -> (reader, its required keys, its optional keys besides code, label, type and when)
_COMPONENT_TYPES: dict[str, tuple[Callable[..., Component], tuple[str, ...], tuple[str, ...]]] = {
    "slabs": (_slabs, ("slabs",), ()),
    "bands": (_bands, ("bands",), ()),
    "fixed": (_fixed, ("per",), ("rate", "band_on", "bands", "scaled")),
    "percent": (_percent, ("percent", "of"), ("cap", "scaled")),
    "minimum": (_minimum, ("amount", "of"), ("scaled",)),
}


def _component(raw: Any, path: str, earlier: frozenset[str]) -> Component:
    if not isinstance(raw, dict):
        _fail(path, "must be an object")
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in _COMPONENT_TYPES:
        _fail(
            f"{path}.type",
            "required" if "type" not in raw else f"must be one of {', '.join(_COMPONENT_TYPES)}: {_show(kind)}",
        )
    read, required, optional = _COMPONENT_TYPES[kind]
    if "scaled" in raw and not ("scaled" in optional and (kind != "percent" or "cap" in raw)):
        _fail(f"{path}.scaled", "only allowed on fixed, minimum, and percent with a cap")
    _keys(raw, path, required=("code", "label", "type", *required), optional=("when", *optional))
    code = _name(raw["code"], f"{path}.code")
    if code == ROUNDING_CODE:
        _fail(f"{path}.code", f"{ROUNDING_CODE} is reserved for the rounding line")
    common = {
        "path": path,
        "code": code,
        "label": _text_value(raw["label"], f"{path}.label"),
        "when": _when(raw.get("when", {}), f"{path}.when"),
    }
    return read(raw, path, common, earlier)


def _components(raw: Any, path: str, problems: _Problems) -> tuple[Component, ...]:
    """Each component is checked even when an earlier one is wrong, so that all problems show at once."""
    if not isinstance(raw, list) or not raw:
        problems.append(f"{path}: must be a non-empty list")
        return ()
    parsed: list[Component] = []
    earlier: set[str] = set()
    for index, item in enumerate(raw):
        component = problems.attempt(_component, item, f"{path}[{index}]", frozenset(earlier))
        if component is not None:
            parsed.append(component)
        code = item.get("code") if isinstance(item, dict) else None
        if isinstance(code, str):
            earlier.add(code)
    return tuple(parsed)


def _period(raw: Any, path: str) -> PeriodRule:
    _keys(raw, path, required=("base_days", "factor", "factor_places", "bound_rounding"))
    places = raw["factor_places"]
    return PeriodRule(
        base_days=_whole(raw["base_days"], f"{path}.base_days", 1),
        factor=_choice(raw["factor"], f"{path}.factor", ("days", "calendar")),
        factor_places=None if places is None else _whole(places, f"{path}.factor_places", 0),
        bound_rounding=_choice(raw["bound_rounding"], f"{path}.bound_rounding", ("none", "integer")),
    )


def _params(raw: Any, path: str) -> Mapping[str, Decimal]:
    if not isinstance(raw, dict):
        _fail(path, "must be an object")
    return MappingProxyType(
        {_name(name, f"{path}.{name}"): _decimal(value, f"{path}.{name}") for name, value in raw.items()}
    )


def _rounding(raw: Any, path: str) -> Rounding:
    _keys(raw, path, required=("line", "total"))
    line = _positive(raw["line"], f"{path}.line")
    total = _positive(raw["total"], f"{path}.total")
    if total % line:
        _fail(f"{path}.total", f"must be a whole multiple of rounding.line ({raw['line']})")
    return Rounding(line, total)


def _payment_terms(raw: Any, path: str) -> PaymentTerms:
    _keys(raw, path, optional=("due_days", "prompt_rebate", "digital_rebate", "late_surcharge"))
    digital = raw.get("digital_rebate")
    late = raw.get("late_surcharge")
    return PaymentTerms(
        due_days=_whole(raw.get("due_days", 15), f"{path}.due_days", 0),
        prompt_rebate=_prompt_rebates(raw.get("prompt_rebate", []), f"{path}.prompt_rebate"),
        digital_rebate=None if digital is None else _digital_rebate(digital, f"{path}.digital_rebate"),
        late_surcharge=None if late is None else _late_surcharge(late, f"{path}.late_surcharge"),
    )


def _prompt_rebates(raw: Any, path: str) -> tuple[PromptRebate, ...]:
    if not isinstance(raw, list):
        _fail(path, "must be a list")
    rebates = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        _keys(item, where, required=("within_days", "percent"))
        rebate = PromptRebate(
            _whole(item["within_days"], f"{where}.within_days", 0),
            _non_negative(item["percent"], f"{where}.percent"),
        )
        if rebates and rebate.within_days <= rebates[-1].within_days:
            _fail(f"{where}.within_days", "must increase")
        rebates.append(rebate)
    return tuple(rebates)


def _digital_rebate(raw: Any, path: str) -> DigitalRebate:
    _keys(raw, path, required=("percent",), optional=("cap",))
    cap = None if "cap" not in raw else _non_negative(raw["cap"], f"{path}.cap")
    return DigitalRebate(_non_negative(raw["percent"], f"{path}.percent"), cap)


def _late_surcharge(raw: Any, path: str) -> LateSurcharge:
    _keys(raw, path, required=("percent_per_month",), optional=("on",))
    return LateSurcharge(
        _non_negative(raw["percent_per_month"], f"{path}.percent_per_month"),
        _choice(raw.get("on", "arrears"), f"{path}.on", ("arrears", "bill")),
    )


def _sources(raw: Any, path: str) -> tuple[str, ...]:
    if not isinstance(raw, list):
        _fail(path, "must be a list of strings")
    return tuple(_text_value(item, f"{path}[{index}]") for index, item in enumerate(raw))


def _format(raw: Any, path: str) -> str:
    if raw != FORMAT:
        _fail(path, f"must be {FORMAT!r}: {_show(raw)}")
    return raw


def _optional_date(raw: Any, path: str) -> date | None:
    return None if raw is None else _date(raw, path)


# key -> reader; the optional keys' defaults are TARIFF_FORMAT's
_TOP_READERS: dict[str, Callable[[Any, str], Any]] = {
    "format": _format,
    "code": _text_value,
    "name": _text_value,
    "utility": lambda raw, path: _choice(raw, path, ("electricity", "water", "gas")),
    "unit": _text_value,
    "effective_from": _date,
    "effective_to": _optional_date,
    "period": _period,
    "params": _params,
    "rounding": _rounding,
    "payment_terms": _payment_terms,
    "sources": _sources,
}
_TOP_REQUIRED = ("format", "code", "name", "effective_from", "period", "components")
_TOP_DEFAULTS: dict[str, Any] = {
    "utility": "electricity",
    "unit": "kWh",
    "effective_to": None,
    "params": {},
    "rounding": {"line": "0.01", "total": "0.01"},
    "payment_terms": {"due_days": 15},
    "sources": [],
}


class _Problems(list[str]):
    """Collects problems so that a document shows all of them at once, not one per attempt."""

    def attempt(self, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except TariffError as error:
            self.extend(error.problems)
            return None


def load_tariff(doc: Mapping[str, Any]) -> Tariff:
    """Validate a decoded document fully and return the tariff; TariffError lists every problem."""
    if not isinstance(doc, Mapping):
        raise TariffError("document: must be an object")
    document = copy.deepcopy(dict(doc))
    problems = _Problems()
    problems.attempt(_keys, document, "", _TOP_REQUIRED, tuple(_TOP_DEFAULTS))
    raw = _TOP_DEFAULTS | document
    values = {key: problems.attempt(read, raw[key], key) for key, read in _TOP_READERS.items() if key in raw}
    components = _components(raw["components"], "components", problems) if "components" in raw else ()
    problems.attempt(_check_effective_window, values.get("effective_from"), values.get("effective_to"))
    if problems:
        raise TariffError(*problems)
    del values["format"]
    return Tariff(document=document, components=components, **values)


def _check_effective_window(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        _fail("effective_to", f"{end} is before effective_from {start}")


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """A decoded JSON object that had keys twice; found after decoding, so that the path is known."""

    duplicates: list[str]


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    decoded = dict(pairs)
    if len(decoded) == len(pairs):
        return decoded
    marked = _DuplicateKeys(decoded)
    marked.duplicates = [key for index, (key, _) in enumerate(pairs) if key in dict(pairs[:index])]
    return marked


def _duplicate_keys(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, _DuplicateKeys):
        yield from (f"{_join(path, key)}: duplicate key" for key in dict.fromkeys(node.duplicates))
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _duplicate_keys(value, _join(path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _duplicate_keys(item, f"{path}[{index}]")


def parse_tariff(text: str) -> Tariff:
    """Decode and validate a `dtech-tariff/1` JSON text (an object with a key twice is refused)."""
    try:
        document = json.loads(text, object_pairs_hook=_object_pairs)
    except json.JSONDecodeError as error:
        raise TariffError(f"line {error.lineno} column {error.colno}: not valid JSON: {error.msg}") from None
    duplicates = list(_duplicate_keys(document))
    if duplicates:
        raise TariffError(*duplicates)
    return load_tariff(document)
