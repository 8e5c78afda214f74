"""The parsed tariff, what a quote is asked and what it answers; rounding to the paisa."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
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
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # only in annotations
    from app.billing.tariff.quote import Component


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

    def amount(self, unpaid: Decimal, bill_charges: Decimal, months: int) -> Decimal:
        """The surcharge on `unpaid` (the whole of it, or with `on: "bill"` no more than the bill's own charges),
        for `months` started months late, rounded half-up to the paisa."""
        if unpaid <= 0:
            return Decimal("0.00")
        base = min(unpaid, bill_charges) if self.on == "bill" else unpaid
        return (base * self.percent_per_month / 100 * months).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
    # The slab's or band's range of units (scaled to the period): above `lower`, up to `upper` (None: open).
    # None and None for a charge that has no range.
    lower: Decimal | None = None
    upper: Decimal | None = None


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
