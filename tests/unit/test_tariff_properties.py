"""Properties of the dtech-tariff/1 engine that hold for every input, checked on the real tariffs."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.billing import tariff as engine
from app.billing.tariff import Bands, Fixed, Minimum, Percent, QuoteInput, Slabs, parse_tariff, quote

TARIFFS = Path(engine.__file__).parents[1] / "tariffs"
LOADED = {path.name: parse_tariff(path.read_text(encoding="utf-8")) for path in sorted(TARIFFS.glob("*.json"))}
KSEB, MSEDCL, TNPDCL, DERC = (
    LOADED[name]
    for name in (
        "kseb-lt1a-2023-11.json",
        "msedcl-lt1b-2024-25.json",
        "tnpdcl-lt1a-2022.json",
        "derc-domestic-2019.json",
    )
)
DAYS_FACTOR = [KSEB, MSEDCL, TNPDCL]
FEW = settings(max_examples=150, deadline=None)

units = st.decimals(min_value=0, max_value=3000, places=2)
whole_units = st.integers(min_value=0, max_value=1500).map(Decimal)
loads = st.decimals(min_value=0, max_value=40, places=1)
phases = st.sampled_from([None, "single", "three"])
percents = st.decimals(min_value=0, max_value=30, places=2)


@st.composite
def inputs(draw: st.DrawFn, tariff: engine.Tariff, amount: st.SearchStrategy[Decimal] = units) -> QuoteInput:
    """A quote input that `tariff` accepts: the period it needs, the load and parameters it asks for."""
    if tariff.period.factor == "calendar":
        first = draw(st.dates(min_value=date(2019, 8, 1), max_value=date(2030, 12, 31)))
        period = {"period_from": first, "period_to": first + timedelta(days=draw(st.integers(0, 92)))}
    else:
        period = {"days": draw(st.integers(min_value=1, max_value=120))}
    params = {}
    if tariff is DERC:
        params = {"ppac_percent": draw(percents), "pension_percent": draw(percents)}
    elif "fac_rate" in tariff.param_names and draw(st.booleans()):
        params = {"fac_rate": draw(st.decimals(min_value=0, max_value=2, places=2))}
    return QuoteInput(
        units=draw(amount),
        load_kw=draw(loads),
        phase=draw(phases),
        flags=frozenset(draw(st.sets(st.sampled_from(["subsidy_opted", "bpl", "unknown_flag"])))),
        params=params,
        **period,
    )


any_quote = st.sampled_from(list(LOADED.values())).flatmap(lambda t: st.tuples(st.just(t), inputs(t)))


def codes_of(tariff: engine.Tariff, *types: type) -> set[str]:
    return {component.code for component in tariff.components if isinstance(component, types)}


def has_negative_numbers(tariff: engine.Tariff) -> bool:
    def walk(node: object) -> bool:
        if isinstance(node, dict):
            return any(walk(value) for value in node.values())
        if isinstance(node, list):
            return any(walk(item) for item in node)
        return isinstance(node, str) and node.startswith("-")

    return walk(tariff.document["components"])


@FEW
@given(any_quote)
def test_total_is_the_sum_of_the_lines(case: tuple[engine.Tariff, QuoteInput]) -> None:
    tariff, inp = case
    result = quote(tariff, inp)
    assert result.total == sum(line.amount for line in result.lines)
    assert result.total == sum(result.by_code.values())
    assert result.total >= 0
    for code in tariff.codes:
        assert result.by_code[code] == sum(line.amount for line in result.lines if line.code == code)
    for line in result.lines:
        assert line.amount == line.amount.quantize(Decimal("0.01"))
        if line.details:
            assert line.amount == engine.round_to(sum(d.amount for d in line.details), Decimal("0.01"))
            assert all(d.amount == d.quantity * d.rate and d.quantity > 0 for d in line.details)
    data = result.to_json()
    assert "-0.00" not in str(data)
    assert all(isinstance(value, str) for value in data["by_code"].values())


@FEW
@given(any_quote)
def test_a_quote_is_deterministic(case: tuple[engine.Tariff, QuoteInput]) -> None:
    tariff, inp = case
    again = parse_tariff(Path(TARIFFS, next(n for n, t in LOADED.items() if t is tariff)).read_text(encoding="utf-8"))
    first = quote(tariff, inp)
    assert quote(tariff, inp) == first
    assert quote(again, inp) == first
    assert quote(tariff, QuoteInput(**{**inp.__dict__, "params": dict(inp.params)})).to_json() == first.to_json()


@FEW
@given(st.sampled_from(list(LOADED.values())).flatmap(lambda t: st.tuples(st.just(t), inputs(t, st.just(Decimal(0))))))
def test_zero_units_leave_only_fixed_and_minimum_lines(case: tuple[engine.Tariff, QuoteInput]) -> None:
    tariff, inp = case
    result = quote(tariff, inp)
    per_unit = codes_of(tariff, Slabs, Bands)
    assert per_unit.isdisjoint(codes_of(tariff, Fixed, Minimum, Percent))  # true of the real tariffs
    for line in result.lines:
        if line.code in per_unit:
            assert (line.amount, line.details) == (0, [])
        else:
            assert line.code in codes_of(tariff, Fixed, Minimum, Percent) | {"rounding"}
    fixed_and_minimum = sum(result.by_code[code] for code in codes_of(tariff, Fixed, Minimum))
    if fixed_and_minimum == 0:  # then percent lines have nothing to be a percent of
        assert result.total == 0


@FEW
@given(
    tariff=st.sampled_from(DAYS_FACTOR),
    cycles=st.integers(min_value=1, max_value=6),
    units=whole_units,
    phase=phases,
)
def test_whole_base_cycles_scale_the_one_cycle_quote(
    tariff: engine.Tariff, cycles: int, units: Decimal, phase: str | None
) -> None:
    """Over k base periods the factor is k, bounds are k times the written ones and so, with whole units and
    rates in paise (so that no line rounds), every per-unit and fixed line is k times the one-period line."""
    base = tariff.period.base_days
    one = quote(tariff, QuoteInput(units, days=base, phase=phase))
    many = quote(tariff, QuoteInput(units * cycles, days=base * cycles, phase=phase))
    assert one.factor == 1 and many.factor == cycles
    for code in codes_of(tariff, Slabs, Bands, Fixed):
        assert many.by_code[code] == cycles * one.by_code[code], code
    for line_one, line_many in zip(one.lines, many.lines, strict=True):
        assert line_one.code == line_many.code
        assert [cycles * d.quantity for d in line_one.details] == [d.quantity for d in line_many.details]
        assert [d.rate for d in line_one.details] == [d.rate for d in line_many.details]
    # a percent line is rounded once, after scaling: at most half a paisa per line and cycle apart
    tolerance = Decimal("0.005") * (cycles + 1) * len(codes_of(tariff, Percent))
    assert abs(many.total - cycles * one.total) <= tolerance


@FEW
@given(
    tariff=st.sampled_from([KSEB, MSEDCL, DERC]),
    data=st.data(),
    extra=st.decimals(min_value=0, max_value=500, places=2),
)
def test_more_units_never_lower_the_total(tariff: engine.Tariff, data: st.DataObject, extra: Decimal) -> None:
    inp = data.draw(inputs(tariff))
    if tariff is DERC:  # its only negative numbers are the subsidies, which need this flag
        inp = QuoteInput(**{**inp.__dict__, "flags": inp.flags - {"subsidy_opted"}})
    else:
        assert not has_negative_numbers(tariff)
    more = QuoteInput(**{**inp.__dict__, "units": inp.units + extra})
    assert quote(tariff, more).total >= quote(tariff, inp).total
