from datetime import date
from decimal import Decimal as D

import pytest

from app.billing.estimation import NoBasisForEstimate, PastPeriod, estimate_units, settle_units
from app.metering.consumption import ConsumptionError, RegisterRead, register_advance


def read(meter, day, value, order=None, rollover=False, digits=5, factor="1"):
    return RegisterRead(meter, date(2026, 1, day) if isinstance(day, int) else day, order or day, D(value), rollover,
                        D(10) ** digits, D(factor))


def test_advance_of_one_meter():
    assert register_advance([read(1, 1, "1000"), read(1, 15, "1100.5"), read(1, 31, "1221")]) == D("221")


def test_register_rollover_counts_across_zero():
    assert register_advance([read(1, 1, "9900", digits=4), read(1, 31, "50", rollover=True, digits=4)]) == D("150")


def test_a_fall_without_rollover_is_refused():
    with pytest.raises(ConsumptionError, match="not marked as a rollover"):
        register_advance([read(1, 1, "1000"), read(1, 31, "900")])


def test_an_advance_larger_than_the_register_is_refused():
    with pytest.raises(ConsumptionError, match="more than the register holds"):
        register_advance([read(1, 1, "10", digits=2), read(1, 31, "20", rollover=True, digits=2)])


def test_meter_replaced_in_the_period_adds_both_runs():
    reads = [read(1, 1, "5000", order=1), read(1, 12, "5040", order=2),  # old meter's final reading
             read(2, 12, "0", order=3), read(2, 31, "150", order=4)]  # new meter from zero
    assert register_advance(reads) == D("190")


def test_multiplying_factor():
    assert register_advance([read(1, 1, "100", factor="40"), read(1, 31, "105", factor="40")]) == D("200")


def test_estimate_uses_the_last_three_actual_periods():
    recent = [PastPeriod(D("900"), 30), PastPeriod(D("300"), 30), PastPeriod(D("330"), 31), PastPeriod(D("290"), 29)]
    # (300 + 330 + 290) / 90 days × 30 days = 306.67 → 307
    assert estimate_units(30, recent, None) == D("307")


def test_estimate_uses_last_year_when_that_is_higher():
    recent = [PastPeriod(D("150"), 30)]
    assert estimate_units(31, recent, PastPeriod(D("420"), 30)) == D("434")  # 14/day × 31


def test_no_history_no_estimate():
    with pytest.raises(NoBasisForEstimate):
        estimate_units(30, [], None)


def test_settling_an_estimate():
    assert settle_units(D("500"), D("0"), D("200")) == (D("300"), D("0"))
    assert settle_units(D("150"), D("0"), D("200")) == (D("0"), D("-50"))  # over-estimated: carried
    assert settle_units(D("300"), D("-50"), D("0")) == (D("250"), D("0"))
