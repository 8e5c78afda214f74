"""A period that spans two versions of a tariff: split, quoted part by part, combined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import (
    Decimal,
    localcontext,
)
from itertools import pairwise
from typing import Any

from app.billing.tariff.model import (
    _CONTEXT,
    ROUNDING_CODE,
    Quote,
    QuoteInput,
    Tariff,
    TariffError,
    _fail,
    _input_decimal,
)
from app.billing.tariff.quote import quote

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
