"""Targeted tests of the dtech-tariff/1 engine, one rule of TARIFF_FORMAT.md at a time."""

from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from app.billing import tariff as engine
from app.billing.tariff import (
    PeriodRule,
    QuoteInput,
    TariffError,
    load_tariff,
    parse_tariff,
    period_factor,
    quote,
    quote_split,
    round_to,
    split_period,
)

TARIFFS = Path(engine.__file__).parents[1] / "tariffs"
D = Decimal


def real(name: str) -> engine.Tariff:
    return parse_tariff((TARIFFS / name).read_text(encoding="utf-8"))


def steps(*pairs: tuple[object, object]) -> list[dict]:
    return [{"upto": upto, "rate": rate} for upto, rate in pairs]


def slabs(*pairs: tuple[object, object], code: str = "energy", **extra: object) -> dict:
    return {"code": code, "label": f"{code} slabs", "type": "slabs", "slabs": steps(*pairs), **extra}


def bands(*pairs: tuple[object, object], code: str = "energy", **extra: object) -> dict:
    return {"code": code, "label": f"{code} bands", "type": "bands", "bands": steps(*pairs), **extra}


def fixed(rate: object, code: str = "fixed", per: str = "connection", **extra: object) -> dict:
    return {"code": code, "label": "Fixed charge", "type": "fixed", "per": per, "rate": rate, **extra}


def percent(value: object, *of: str, code: str = "duty", **extra: object) -> dict:
    return {"code": code, "label": f"{code} %", "type": "percent", "percent": value, "of": list(of), **extra}


def minimum(amount: str, *of: str, code: str = "minimum", **extra: object) -> dict:
    return {
        "code": code,
        "label": "Minimum charge",
        "type": "minimum",
        "amount": amount,
        "of": list(of),
        **extra,
    }


def period(base_days: int = 30, factor: str = "days", places: int | None = 2, bounds: str = "integer") -> dict:
    return {"base_days": base_days, "factor": factor, "factor_places": places, "bound_rounding": bounds}


def tariff(*components: dict, **top: object) -> engine.Tariff:
    document = {
        "format": "dtech-tariff/1",
        "code": "T-TEST",
        "name": "Test tariff",
        "effective_from": "2024-01-01",
        "period": period(),
        "components": list(components),
    }
    return load_tariff(document | top)


def bill(t: engine.Tariff, units: str, days: int | None = 30, **given: object) -> engine.Quote:
    return quote(t, QuoteInput(D(units), days=days, **given))


# --- period factor ----------------------------------------------------------------------------


def test_calendar_factor_of_the_spec_example_is_6_30_plus_24_31() -> None:
    rule = PeriodRule(30, "calendar", None, "none")
    exact = period_factor(rule, first=date(2022, 6, 25), last=date(2022, 7, 24))
    assert Fraction(6, 30) + Fraction(24, 31) == Fraction(151, 155)
    assert exact == D(151) / D(155) == D("0.9741935483870967741935483871")
    four_places = PeriodRule(30, "calendar", 4, "integer")
    assert period_factor(four_places, first=date(2022, 6, 25), last=date(2022, 7, 24)) == D("0.9742")


def test_calendar_factor_sums_every_month_touched_and_halves_for_base_60() -> None:
    leap = (date(2024, 1, 15), date(2024, 3, 14))  # 17/31 + 29/29 + 14/31 = 2
    assert period_factor(PeriodRule(30, "calendar", None, "none"), None, *leap) == 2
    assert period_factor(PeriodRule(60, "calendar", None, "none"), None, *leap) == 1
    rule = PeriodRule(60, "calendar", 4, "none")
    assert period_factor(rule, first=date(2022, 6, 25), last=date(2022, 7, 24)) == D("0.4871")  # 151/310


def test_days_factor_and_factor_places() -> None:
    assert period_factor(PeriodRule(30, "days", 2, "none"), 31) == D("1.03")
    assert period_factor(PeriodRule(30, "days", 4, "none"), 31) == D("1.0333")
    assert period_factor(PeriodRule(30, "days", 0, "none"), 31) == D("1")
    assert period_factor(PeriodRule(30, "days", None, "none"), 31) == D(31) / D(30)
    assert period_factor(PeriodRule(60, "days", 2, "none"), 61) == D("1.02")
    # half-up, not Decimal's default half-even: 1/8 = 0.125 -> 0.13
    assert period_factor(PeriodRule(8, "days", 2, "none"), 1) == D("0.13")


def test_days_factor_counts_dates_inclusively() -> None:
    rule = PeriodRule(30, "days", 2, "none")
    assert period_factor(rule, first=date(2024, 1, 1), last=date(2024, 1, 31)) == D("1.03")


def test_calendar_factor_needs_dates() -> None:
    with pytest.raises(TariffError, match=r"^period\.factor: 'calendar' needs"):
        period_factor(PeriodRule(30, "calendar", 4, "none"), 30)


def test_a_quote_shows_its_factor_and_days() -> None:
    result = bill(tariff(slabs((None, "1"))), "10", days=31)
    assert (result.factor, result.days) == (D("1.03"), 31)
    assert result.to_json()["factor"] == "1.03"


# --- bounds -----------------------------------------------------------------------------------


def test_bound_rounding_integer_rounds_each_scaled_bound_half_up() -> None:
    derc = real("derc-domestic-2019.json")
    inp = QuoteInput(
        D("221"),
        period_from=date(2022, 6, 25),
        period_to=date(2022, 7, 24),
        load_kw=D("3"),
        params={"ppac_percent": D("0"), "pension_percent": D("0")},
    )
    result = quote(derc, inp)
    energy = result.lines[0]
    assert [(d.quantity, d.rate) for d in energy.details] == [(D(195), D("3.00")), (D(26), D("4.50"))]
    assert energy.amount == D("702.00")
    assert result.by_code["fixed"] == D("146.13")  # 3 kW x 50 x 0.9742, money is never bound-rounded


def test_bound_rounding_none_keeps_scaled_bounds_exact() -> None:
    t = tariff(slabs(("200", "1"), (None, "2")), period=period(factor="calendar", places=4, bounds="none"))
    result = quote(t, QuoteInput(D("200"), period_from=date(2022, 6, 25), period_to=date(2022, 7, 24)))
    assert [(d.quantity, d.rate) for d in result.lines[0].details] == [
        (D("194.8400"), D(1)),
        (D("5.1600"), D(2)),
    ]
    assert result.total == D("205.16")


def test_bounds_that_round_to_the_same_unit_leave_an_empty_slab() -> None:
    t = tariff(slabs(("10", "1"), ("10.4", "5"), (None, "2")), period=period(places=None))
    result = bill(t, "20")
    assert [(d.quantity, d.rate) for d in result.lines[0].details] == [(D(10), D(1)), (D(10), D(2))]


def test_slabs_are_telescopic_with_exact_detail_rows() -> None:
    msedcl = real("msedcl-lt1b-2024-25.json")
    energy = bill(msedcl, "350").lines[0]
    assert [(d.quantity, d.rate, d.amount) for d in energy.details] == [
        (D(100), D("4.71"), D("471.00")),
        (D(200), D("10.29"), D("2058.00")),
        (D(50), D("14.55"), D("727.50")),
    ]
    assert energy.amount == D("3256.50")


def test_detail_rows_carry_their_slab_or_band_range_as_scaled() -> None:
    """The bill prints "101–300 units" beside each slab row: the engine says which range a row charges."""
    msedcl = real("msedcl-lt1b-2024-25.json")
    energy = bill(msedcl, "600").lines[0]
    assert [(d.lower, d.upper) for d in energy.details] == [(0, 100), (100, 300), (300, 500), (500, None)]
    t = tariff(slabs(("200", "1"), (None, "2")), period=period(factor="calendar", places=4))
    scaled = quote(t, QuoteInput(D("250"), period_from=date(2022, 6, 25), period_to=date(2022, 7, 24))).lines[0]
    assert [(d.lower, d.upper) for d in scaled.details] == [(0, 195), (195, None)]  # 200 × 0.9742 → 195
    banded = bill(tariff(bands(("100", "3"), ("200", "5"), (None, "7"))), "150").lines[0]
    assert [(d.lower, d.upper) for d in banded.details] == [(100, 200)]
    assert bill(tariff(fixed("50")), "150").lines[0].details == []


@pytest.mark.parametrize(("on", "unpaid", "months", "expected"), [
    ("arrears", "2424.12", 1, "30.30"),  # 1.25% of the whole amount unpaid
    ("arrears", "2424.12", 2, "60.60"),
    ("bill", "5000.00", 1, "25.00"),  # on the bill's own charges (₹2,000) only
    ("bill", "1000.00", 1, "12.50"),  # or less, when less is unpaid
    ("arrears", "0", 1, "0.00"),
    ("arrears", "-50", 3, "0.00"),  # in credit: nothing
])
def test_the_late_payment_surcharge(on, unpaid, months, expected) -> None:
    surcharge = engine.LateSurcharge(D("1.25"), on)
    assert surcharge.amount(D(unpaid), D("2000.00"), months) == D(expected)


def test_detail_rows_are_exact_and_the_line_is_rounded_once() -> None:
    t = tariff(slabs(("1", "0.005"), (None, "0.005")))
    line = bill(t, "2").lines[0]
    assert [d.amount for d in line.details] == [D("0.005"), D("0.005")]
    assert line.amount == D("0.01")  # rounding each row first would give 0.02
    assert line.to_json(D("0.01"))["details"][0] == {"quantity": "1", "rate": "0.005", "amount": "0.005"}


def test_fractional_units_keep_exact_details() -> None:
    line = bill(tariff(slabs((None, "4.71"))), "12.345").lines[0]
    assert line.details[0].amount == D("58.14495")
    assert line.amount == D("58.14")


# --- bands, fixed, percent, minimum -------------------------------------------------------------


def test_bands_charge_all_units_at_the_first_band_not_exceeded() -> None:
    t = tariff(bands(("100", "3"), ("200", "5"), (None, "7")))
    assert bill(t, "100").total == D("300.00")  # on the bound: still the lower band
    assert bill(t, "101").total == D("505.00")
    assert bill(t, "250").total == D("1750.00")
    line = bill(t, "150").lines[0]
    assert [(d.quantity, d.rate, d.amount) for d in line.details] == [(D(150), D(5), D(750))]
    assert bill(t, "0").lines[0].details == []


def test_band_bounds_are_scaled() -> None:
    t = tariff(bands(("100", "3"), (None, "7")))
    assert bill(t, "200", days=60).total == D("600.00")  # bound 200 at f = 2
    assert bill(t, "201", days=60).total == D("1407.00")


def test_fixed_per_kw_with_bands_on_load_is_not_scaled_in_kw_but_is_in_money() -> None:
    derc = real("derc-domestic-2019.json")
    inp = dict(
        period_from=date(2023, 6, 1),
        period_to=date(2023, 6, 30),
        params={"ppac_percent": 0, "pension_percent": 0},
    )
    assert quote(derc, QuoteInput(D(0), load_kw=D("2"), **inp)).by_code["fixed"] == D("40.00")
    assert quote(derc, QuoteInput(D(0), load_kw=D("2.5"), **inp)).by_code["fixed"] == D("125.00")
    assert quote(derc, QuoteInput(D(0), load_kw=D("30"), **inp)).by_code["fixed"] == D("7500.00")
    two_months = dict(inp, period_from=date(2023, 6, 1), period_to=date(2023, 7, 31))
    assert quote(derc, QuoteInput(D(0), load_kw=D("2"), **two_months)).by_code["fixed"] == D("80.00")


def test_fixed_with_bands_on_units_uses_scaled_bounds() -> None:
    kseb = real("kseb-lt1a-2023-11.json")
    assert bill(kseb, "100", days=60).by_code["fixed"] == D("80.00")  # band <= 50/month
    assert bill(kseb, "101", days=60).by_code["fixed"] == D("130.00")  # band <= 100/month
    assert bill(kseb, "101", days=30).by_code["fixed"] == D("85.00")  # band <= 150/month


def test_fixed_is_scaled_by_the_factor_unless_scaled_false() -> None:
    assert bill(tariff(fixed("100")), "0", days=45).total == D("150.00")
    assert bill(tariff(fixed("100", scaled=False)), "0", days=45).total == D("100.00")
    assert bill(tariff(fixed("10", per="kw")), "0", days=60, load_kw=D("3.5")).total == D("70.00")


def test_rate_split_by_phase_uses_single_without_a_phase() -> None:
    msedcl = real("msedcl-lt1b-2024-25.json")
    assert bill(msedcl, "0", phase="three").by_code["fixed"] == D("424.00")
    assert bill(msedcl, "0", phase="single").by_code["fixed"] == D("128.00")
    assert bill(msedcl, "0").by_code["fixed"] == D("128.00")
    kseb = real("kseb-lt1a-2023-11.json")
    assert bill(kseb, "320", phase="three").by_code["fixed"] == D("210.00")


def test_percent_of_earlier_rounded_lines() -> None:
    t = tariff(slabs((None, "0.333")), fixed("10"), percent("16", "energy", "fixed"))
    result = bill(t, "10")  # energy 3.33 (3.33 exact), fixed 10.00
    assert result.by_code == {"energy": D("3.33"), "fixed": D("10.00"), "duty": D("2.13")}  # 16% of 13.33


def test_percent_counts_a_code_without_a_line_as_zero() -> None:
    t = tariff(
        slabs((None, "2")),
        fixed("50", code="meter", when={"flag": "rented_meter"}),
        percent("10", "energy", "meter"),
    )
    assert bill(t, "100").by_code == {"energy": D("200.00"), "meter": D("0.00"), "duty": D("20.00")}
    assert bill(t, "100", flags=frozenset({"rented_meter"})).by_code["duty"] == D("25.00")


def test_cap_bounds_the_absolute_amount_and_is_scaled() -> None:
    t = tariff(slabs((None, "10")), percent("-100", "energy", code="subsidy", cap="800"))
    assert bill(t, "50").by_code["subsidy"] == D("-500.00")
    assert bill(t, "100").by_code["subsidy"] == D("-800.00")
    assert bill(t, "200", days=60).by_code["subsidy"] == D("-1600.00")  # 800 x f
    unscaled = tariff(slabs((None, "10")), percent("-100", "energy", code="subsidy", cap="800", scaled=False))
    assert bill(unscaled, "200", days=60).by_code["subsidy"] == D("-800.00")
    positive = tariff(slabs((None, "10")), percent("50", "energy", code="tax", cap="30"))
    assert bill(positive, "10").by_code["tax"] == D("30.00")


def test_derc_subsidy_up_to_800_between_200_and_400_units() -> None:
    derc = real("derc-domestic-2019.json")
    inp = dict(
        period_from=date(2023, 6, 1),
        period_to=date(2023, 6, 30),
        load_kw=D(2),
        params={"ppac_percent": D(0), "pension_percent": D(7)},
    )
    opted = frozenset({"subsidy_opted"})
    assert quote(derc, QuoteInput(D(201), flags=opted, **inp)).by_code["subsidy"] == D("-773.41")
    assert quote(derc, QuoteInput(D(401), flags=opted, **inp)).by_code["subsidy"] == D("0.00")
    assert quote(derc, QuoteInput(D(100), **inp)).by_code["subsidy"] == D("0.00")


def test_minimum_adds_the_shortfall_or_nothing() -> None:
    t = tariff(slabs((None, "2")), minimum("100", "energy"))
    short = bill(t, "30")
    assert [(line.code, line.amount) for line in short.lines] == [
        ("energy", D("60.00")),
        ("minimum", D("40.00")),
    ]
    assert short.total == D("100.00")
    enough = bill(t, "60")
    assert [line.code for line in enough.lines] == ["energy"]
    assert enough.by_code["minimum"] == D("0.00")
    assert [line.code for line in bill(t, "50").lines] == ["energy"]  # exactly the minimum: no line
    assert bill(t, "30", days=60).by_code["minimum"] == D("140.00")  # 100 x f = 200
    unscaled = tariff(slabs((None, "2")), minimum("100", "energy", scaled=False))
    assert bill(unscaled, "30", days=60).by_code["minimum"] == D("40.00")


# --- when ----------------------------------------------------------------------------------------


def test_when_unit_bounds_are_scaled_and_rounded() -> None:
    t = tariff(
        fixed("10", code="low", when={"units_upto": "100"}),
        fixed("20", code="high", when={"units_above": "100"}),
    )
    assert bill(t, "103", days=31).by_code == {"low": D("10.30"), "high": D("0.00")}  # bound 103
    assert bill(t, "104", days=31).by_code == {"low": D("0.00"), "high": D("20.60")}


def test_when_load_phase_and_flag() -> None:
    t = tariff(
        fixed("1", code="small", when={"load_upto": "5"}),
        fixed("2", code="big", when={"load_above": "5"}),
        fixed("4", code="three", when={"phase": "three"}),
        fixed("8", code="single", when={"phase": "single"}),
        fixed("16", code="bpl", when={"flag": "bpl"}),
        fixed("32", code="both", when={"flag": "bpl", "phase": "three", "units_upto": "10"}),
    )
    assert bill(t, "0", load_kw=D(5)).total == D("9.00")  # small + single (no phase = single)
    assert bill(t, "0", load_kw=D("5.01"), phase="three").total == D("6.00")
    assert bill(t, "0", load_kw=D(1), phase="three", flags=frozenset({"bpl", "other"})).total == D("53.00")
    assert bill(t, "11", load_kw=D(1), phase="three", flags=frozenset({"bpl"})).total == D("21.00")


def test_a_component_that_does_not_apply_needs_no_inputs() -> None:
    t = tariff(slabs((None, "1")), fixed({"param": "meter_rent"}, per="kw", when={"flag": "rented"}))
    assert bill(t, "5").total == D("5.00")  # neither the load nor the parameter is asked for
    with pytest.raises(TariffError, match=r"components\[1\]\.per: needs the sanctioned load"):
        bill(t, "5", flags=frozenset({"rented"}))
    with pytest.raises(TariffError, match=r"components\[1\]\.rate: parameter meter_rent has no value"):
        bill(t, "5", flags=frozenset({"rented"}), load_kw=D(1))


# --- parameters ---------------------------------------------------------------------------------


def test_bill_params_override_tariff_params() -> None:
    msedcl = real("msedcl-lt1b-2024-25.json")
    assert bill(msedcl, "100").by_code["fac"] == D("0.00")
    result = bill(msedcl, "100", params={"fac_rate": D("0.25")})
    assert result.by_code["fac"] == D("25.00")
    assert result.by_code["duty"] == D("118.56")  # 16% of 471 + 117 + 25 + 128


def test_bounds_from_params_are_scaled_and_must_increase() -> None:
    t = tariff(
        slabs(({"param": "free_units"}, "0"), (None, "5"), code="energy"),
        fixed("10", code="low", when={"units_upto": {"param": "free_units"}}),
        params={"free_units": "50"},
    )
    # 100 units free at f = 2; 120 is above the scaled when-bound of 100
    assert bill(t, "120", days=60).by_code == {"energy": D("100.00"), "low": D("0.00")}
    assert bill(t, "120", days=60, params={"free_units": D(60)}).by_code == {
        "energy": D("0.00"),
        "low": D("20.00"),
    }
    increasing = tariff(slabs(("10", "1"), ({"param": "top"}, "2"), (None, "3")), params={"top": "20"})
    assert bill(increasing, "25").total == D("45.00")
    with pytest.raises(TariffError, match=r"components\[0\]\.slabs\[1\]\.upto: bounds must strictly increase"):
        bill(increasing, "25", params={"top": D(10)})


# --- rounding and total -----------------------------------------------------------------------


def test_round_to_is_half_up_away_from_zero() -> None:
    assert round_to(D("0.005"), D("0.01")) == D("0.01")
    assert round_to(D("-0.005"), D("0.01")) == D("-0.01")
    assert round_to(D("0.015"), D("0.01")) == D("0.02")
    assert round_to(D("12.5"), D("1")) == D("13")
    assert round_to(D("1.03"), D("0.05")) == D("1.05")
    assert str(round_to(D("-0.004"), D("0.01"))) == "0.00"


def test_total_rounding_adds_a_rounding_off_line() -> None:
    t = tariff(slabs((None, "1.17")), rounding={"line": "0.01", "total": "1"})
    up = bill(t, "10")  # 11.70 -> 12
    assert up.lines[-1] == engine.Line("rounding", "Rounding off", D("0.30"), [])
    assert (up.total, up.by_code["rounding"]) == (D("12"), D("0.30"))
    assert up.to_json()["total"] == "12.00"
    assert up.to_json()["by_code"]["rounding"] == "0.30"
    assert bill(t, "9").by_code["rounding"] == D("0.47")  # 10.53 -> 11
    down = bill(t, "2")  # 2.34 -> 2
    assert (down.total, down.by_code["rounding"]) == (D("2"), D("-0.34"))
    assert down.total == sum(line.amount for line in down.lines)
    exact = bill(tariff(slabs((None, "1")), rounding={"line": "0.01", "total": "1"}), "10")
    assert "rounding" not in exact.by_code
    assert [line.code for line in exact.lines] == ["energy"]


def test_no_amount_is_ever_minus_zero() -> None:
    t = tariff(slabs((None, "-0.001")), percent("10", "energy"), rounding={"line": "0.01", "total": "1"})
    data = bill(t, "1").to_json()  # energy -0.001 rounds to zero, which is written 0.00
    assert data["lines"][0]["details"][0]["amount"] == "-0.001"  # details stay exact
    assert [line["amount"] for line in data["lines"]] == ["0.00", "0.00"]
    assert data["by_code"] == {"energy": "0.00", "duty": "0.00"}
    assert data["total"] == "0.00"
    negative_zero_rate = tariff(slabs((None, "-0")))
    details = bill(negative_zero_rate, "5").to_json()["lines"][0]["details"]
    assert details == [{"quantity": "5", "rate": "0", "amount": "0"}]


def test_negative_total_is_an_error_checked_after_rounding() -> None:
    t = tariff(slabs((None, "1")), fixed("-10", code="rebate"))
    with pytest.raises(TariffError, match=r"^total: -5.00 is below zero"):
        bill(t, "5")
    rounded_to_zero = tariff(
        slabs((None, "1")), fixed("-10.40", code="rebate"), rounding={"line": "0.01", "total": "1"}
    )
    result = bill(rounded_to_zero, "10")  # -0.40 rounds to 0
    assert result.total == 0 and result.to_json()["total"] == "0.00"


def test_by_code_lists_every_code_once_in_order() -> None:
    kseb = real("kseb-lt1a-2023-11.json")
    assert list(bill(kseb, "0").by_code) == ["energy", "fac", "fixed", "duty"]
    assert list(bill(kseb, "600").by_code) == ["energy", "fac", "fixed", "duty"]
    assert [line.code for line in bill(kseb, "600").lines] == ["energy", "fac", "fixed", "duty"]


def test_to_json_is_the_documented_shape() -> None:
    result = bill(real("msedcl-lt1b-2024-25.json"), "221", days=31)
    data = result.to_json()
    assert set(data) == {"factor", "lines", "by_code", "total"}
    assert data["factor"] == "1.03"
    assert data["by_code"]["energy"] == "1699.35"
    assert data["total"] == "2424.12"
    assert data["lines"][0] == {
        "code": "energy",
        "label": "Energy charges",
        "amount": "1699.35",
        "details": [
            {"quantity": "103", "rate": "4.71", "amount": "485.13"},
            {"quantity": "118", "rate": "10.29", "amount": "1214.22"},
        ],
    }


def test_quote_input_is_immutable_and_takes_strings() -> None:
    inp = QuoteInput("12.5", days=30, load_kw="2", params={"fac_rate": "0.1"})
    assert inp.units == D("12.5") and inp.load_kw == D(2) and inp.params == {"fac_rate": D("0.1")}
    with pytest.raises(TypeError):
        inp.params["x"] = D(1)  # type: ignore[index]
    assert QuoteInput(D(1)).params == {} and QuoteInput(D(1)).flags == frozenset()


# --- a period that spans two versions ---------------------------------------------------------


def versions() -> tuple[engine.Tariff, engine.Tariff]:
    old = tariff(slabs(("100", "4"), (None, "6")), fixed("30"), effective_to="2024-03-31")
    new = tariff(slabs(("100", "5"), (None, "8")), fixed("40"), effective_from="2024-04-01")
    return old, new


def test_version_split_shares_units_by_days_and_quotes_each_part_in_full() -> None:
    old, new = versions()
    parts = split_period([new, old], date(2024, 3, 17), date(2024, 4, 15))
    assert [(p[1], p[2]) for p in parts] == [
        (date(2024, 3, 17), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 4, 15)),
    ]
    result = quote_split(parts, D("300"))
    # each part: 15 days (f = 0.5, first slab 50 units), 150 units
    assert [part.by_code for part in result.parts] == [
        {"energy": D("800.00"), "fixed": D("15.00")},  # 50 x 4 + 100 x 6
        {"energy": D("1050.00"), "fixed": D("20.00")},  # 50 x 5 + 100 x 8
    ]
    assert result.by_code == {"energy": D("1850.00"), "fixed": D("35.00")}
    assert result.total == D("1885.00")
    assert [line.code for line in result.lines] == ["energy", "fixed", "energy", "fixed"]
    assert (result.days, result.factor) == (30, D("1.00"))


def test_version_split_units_add_up_exactly() -> None:
    old, new = versions()
    result = quote_split([(old, 10), (new, 21)], D("100"))
    quantities = [d.quantity for part in result.parts for line in part.lines for d in line.details]
    assert sum(quantities) == D(100)
    assert quantities[0] == D(100) * 10 / 31
    thirds = quote_split([(old, 1), (old, 1), (new, 1)], D("1"))  # 3 x 0.333… would lose a unit's fraction
    assert sum(d.quantity for part in thirds.parts for line in part.lines for d in line.details) == 1


def test_version_split_takes_params_known_to_either_version() -> None:
    old = tariff(slabs((None, "1")), effective_to="2024-03-31")
    new = tariff(slabs((None, "1")), slabs((None, {"param": "fac"}), code="fac"), effective_from="2024-04-01")
    result = quote_split([(old, 15), (new, 15)], D("30"), params={"fac": D("0.5")})
    assert result.by_code == {"energy": D("30.00"), "fac": D("7.50")}
    with pytest.raises(TariffError, match="params.fca: not a parameter of any version"):
        quote_split([(old, 15), (new, 15)], D("30"), params={"fca": D("0.5")})


def test_version_split_refuses_gaps_overlaps_and_foreign_parts() -> None:
    old, new = versions()
    with pytest.raises(TariffError, match=r"parts\[1\]: starts 2024-04-02"):
        quote_split([(old, date(2024, 3, 1), date(2024, 3, 31)), (new, date(2024, 4, 2), date(2024, 4, 30))], D(1))
    with pytest.raises(TariffError, match=r"parts\[0\]: 2024-03-01 to 2024-04-01 is outside"):
        quote_split([(old, date(2024, 3, 1), date(2024, 4, 1))], D(1))
    with pytest.raises(TariffError, match="no version of the tariff covers 2023-12-31"):
        split_period([old, new], date(2023, 12, 31), date(2024, 1, 5))
    other = tariff(slabs((None, "1")), code="OTHER")
    with pytest.raises(TariffError, match="not all versions of one tariff code"):
        quote_split([(old, 10), (other, 10)], D(1))
    overlapping = tariff(slabs((None, "1")), effective_from="2024-03-15")
    with pytest.raises(TariffError, match="overlaps"):
        split_period([old, overlapping], date(2024, 3, 1), date(2024, 3, 31))


def test_split_period_closes_an_open_version_at_the_next_one() -> None:
    open_old = tariff(slabs((None, "1")))
    _, new = versions()
    parts = split_period([open_old, new], date(2024, 3, 30), date(2024, 4, 2))
    assert [(p[0].effective_from, p[1], p[2]) for p in parts] == [
        (date(2024, 1, 1), date(2024, 3, 30), date(2024, 3, 31)),
        (date(2024, 4, 1), date(2024, 4, 1), date(2024, 4, 2)),
    ]


def test_a_negative_minimum_is_refused_where_it_is_written() -> None:
    """A minimum charge below zero means nothing; a negative per-unit rate, percent or fixed rebate is allowed by
    the format (subsidies and rebates)."""
    with pytest.raises(TariffError, match=r"components\[1\]\.amount: must not be negative: -50"):
        tariff(slabs((None, "4")), minimum("-50", "energy"))
    subsidised = tariff(slabs((None, "4")), slabs(("100", "-3.60"), (None, "0"), code="subsidy"),
                        percent("-10", "energy"))
    assert bill(subsidised, "100").total == D("0.00")
