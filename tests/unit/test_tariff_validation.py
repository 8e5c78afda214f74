"""Every refusal names its place: tariff validation, quote inputs, and the CLI's errors."""

import copy
import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.billing import tariff as engine
from app.billing.cli import tariff_cli
from app.billing.tariff import QuoteInput, TariffError, load_tariff, parse_tariff, quote

TARIFFS = Path(engine.__file__).parents[1] / "tariffs"
D = Decimal

VALID = {
    "format": "dtech-tariff/1",
    "code": "T-TEST",
    "name": "Test tariff",
    "effective_from": "2024-04-01",
    "period": {"base_days": 30, "factor": "days", "factor_places": 2, "bound_rounding": "integer"},
    "params": {"fac_rate": "0"},
    "components": [
        {
            "code": "energy",
            "label": "Energy",
            "type": "slabs",
            "slabs": [
                {"upto": "100", "rate": "4.71"},
                {"upto": "300", "rate": "10.29"},
                {"upto": None, "rate": "16"},
            ],
        },
        {
            "code": "fixed",
            "label": "Fixed",
            "type": "fixed",
            "per": "connection",
            "rate": {"single": "1", "three": "2"},
        },
        {"code": "duty", "label": "Duty", "type": "percent", "percent": "16", "of": ["energy", "fixed"]},
    ],
}


def problems_of(change: Callable[[dict], object]) -> tuple[str, ...]:
    """The problems of VALID after `change` (which edits a copy in place)."""
    document = copy.deepcopy(VALID)
    change(document)
    with pytest.raises(TariffError) as raised:
        load_tariff(document)
    return raised.value.problems


def only_problem(change: Callable[[dict], object]) -> str:
    problems = problems_of(change)
    assert len(problems) == 1, problems
    return problems[0]


def component(index: int) -> Callable[[dict], dict]:
    return lambda document: document["components"][index]


def test_the_base_document_and_the_real_tariffs_validate() -> None:
    assert load_tariff(VALID).code == "T-TEST"
    for path in sorted(TARIFFS.glob("*.json")):
        tariff = parse_tariff(path.read_text(encoding="utf-8"))
        assert tariff.document == json.loads(path.read_text(encoding="utf-8"))


def test_defaults_of_optional_keys() -> None:
    tariff = load_tariff(VALID)
    assert (tariff.utility, tariff.unit, tariff.effective_to, tariff.sources) == (
        "electricity",
        "kWh",
        None,
        (),
    )
    assert (tariff.rounding.line, tariff.rounding.total) == (D("0.01"), D("0.01"))
    assert tariff.payment_terms.due_days == 15
    assert tariff.effective_from == date(2024, 4, 1)
    assert "utility" not in tariff.document  # the document is kept as written


# --- unknown and missing keys ------------------------------------------------------------------


def test_unknown_key_at_the_top() -> None:
    assert only_problem(lambda d: d.update(effective_fro="2024-01-01")).startswith("effective_fro: unknown key")


@pytest.mark.parametrize(
    ("change", "place"),
    [
        (lambda d: d["period"].update(base_day=30), "period.base_day"),
        (lambda d: d["components"][0].update(lable="x"), "components[0].lable"),
        (lambda d: d["components"][0]["slabs"][1].update(rat="1"), "components[0].slabs[1].rat"),
        (lambda d: d["components"][0].update(when={"units_upt": "5"}), "components[0].when.units_upt"),
        (
            lambda d: d["components"][1].update(rate={"single": "1", "three": "2", "tree": "3"}),
            "components[1].rate.tree",
        ),
        (
            lambda d: d["components"][2].update(percent={"param": "p", "default": "1"}),
            "components[2].percent.default",
        ),
        (lambda d: d.update(rounding={"line": "0.01", "total": "1", "mode": "up"}), "rounding.mode"),
        (lambda d: d.update(payment_terms={"due_day": 15}), "payment_terms.due_day"),
        (
            lambda d: d.update(payment_terms={"prompt_rebate": [{"within_days": 7, "percent": "1", "x": 1}]}),
            "payment_terms.prompt_rebate[0].x",
        ),
    ],
)
def test_unknown_key_at_nested_levels(change: Callable[[dict], object], place: str) -> None:
    assert only_problem(change).startswith(f"{place}: unknown key")


@pytest.mark.parametrize(
    ("change", "place"),
    [
        (lambda d: d.pop("period"), "period"),
        (lambda d: d.pop("effective_from"), "effective_from"),
        (lambda d: d["period"].pop("factor_places"), "period.factor_places"),
        (lambda d: d["components"][0].pop("label"), "components[0].label"),
        (lambda d: d["components"][1].pop("per"), "components[1].per"),
        (lambda d: d["components"][0]["slabs"][0].pop("upto"), "components[0].slabs[0].upto"),
        (lambda d: d.update(rounding={"line": "0.01"}), "rounding.total"),
    ],
)
def test_missing_required_key(change: Callable[[dict], object], place: str) -> None:
    assert only_problem(change) == f"{place}: required"


def test_all_problems_are_reported_at_once() -> None:
    def break_three_things(d: dict) -> None:
        d["colour"] = "red"
        d["components"][0]["slabs"][0]["rate"] = 4.71
        d["components"][2]["of"] = ["energy", "energy"]

    problems = problems_of(break_three_things)
    assert [problem.split(":")[0] for problem in problems] == [
        "colour",
        "components[0].slabs[0].rate",
        "components[2].of[1]",
    ]


# --- numbers, names, dates -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [4.71, 4, "4,71", "1e3", " 4.71", ".5", "5.", "+1", "", None, "NaN", "4.71\n"])
def test_not_a_decimal(bad: object) -> None:
    problem = only_problem(lambda d: d["components"][0]["slabs"][1].update(rate=bad))
    assert problem.startswith("components[0].slabs[1].rate: not a decimal")


def test_other_places_that_need_a_decimal() -> None:
    assert only_problem(lambda d: d["params"].update(fac_rate=0.1)).startswith("params.fac_rate: not a decimal")
    assert only_problem(lambda d: d["components"][2].update(percent="16%")).startswith(
        "components[2].percent: not a decimal"
    )
    assert only_problem(lambda d: d["components"][1]["rate"].update(three=2)).startswith(
        "components[1].rate.three: not a decimal"
    )
    assert only_problem(lambda d: d["components"][0].update(when={"load_upto": 5})).startswith(
        "components[0].when.load_upto: not a decimal"
    )


@pytest.mark.parametrize(
    ("change", "start"),
    [
        (lambda d: d["components"][0].update(code="energy-charges"), "components[0].code: must match"),
        (lambda d: d["components"][0].update(code="rounding"), "components[0].code: rounding is reserved"),
        (lambda d: d["params"].update({"fac rate": "1"}), "params.fac rate: must match"),
        (
            lambda d: d["components"][2].update(percent={"param": "9lives"}),
            "components[2].percent.param: must match",
        ),
        (lambda d: d.update(format="dtech-tariff/2"), "format: must be 'dtech-tariff/1'"),
        (lambda d: d.update(effective_from="2024-4-1"), "effective_from: not a date"),
        (lambda d: d.update(effective_from="20240401"), "effective_from: not a date"),
        (lambda d: d.update(effective_to="2024-03-31"), "effective_to: 2024-03-31 is before effective_from"),
        (lambda d: d.update(utility="steam"), "utility: must be one of electricity, water, gas"),
        (lambda d: d["period"].update(base_days=0), "period.base_days: must be a whole number of at least 1"),
        (lambda d: d["period"].update(base_days=True), "period.base_days: must be a whole number"),
        (lambda d: d["period"].update(factor="months"), "period.factor: must be one of days, calendar"),
        (lambda d: d["period"].update(factor_places="2"), "period.factor_places: must be a whole number"),
        (
            lambda d: d["period"].update(bound_rounding="floor"),
            "period.bound_rounding: must be one of none, integer",
        ),
        (lambda d: d.update(rounding={"line": "0", "total": "1"}), "rounding.line: must be above zero"),
        (
            lambda d: d.update(rounding={"line": "0.02", "total": "0.05"}),
            "rounding.total: must be a whole multiple",
        ),
        (
            lambda d: d["components"][0].update(type="tiered"),
            "components[0].type: must be one of slabs, bands",
        ),
        (
            lambda d: d["components"][0].update(when={"phase": "two"}),
            "components[0].when.phase: must be one of",
        ),
        (lambda d: d.update(components=[]), "components: must be a non-empty list"),
        (lambda d: d.update(sources="MERC"), "sources: must be a list"),
    ],
)
def test_values_are_checked_with_their_place(change: Callable[[dict], object], start: str) -> None:
    assert problems_of(change)[0].startswith(start)


# --- slabs and bands ---------------------------------------------------------------------------


def test_slabs_out_of_order() -> None:
    problem = only_problem(lambda d: d["components"][0]["slabs"][1].update(upto="50"))
    assert problem == "components[0].slabs[1].upto: bounds must strictly increase (100 then 50)"
    equal = only_problem(lambda d: d["components"][0]["slabs"][1].update(upto="100"))
    assert equal == "components[0].slabs[1].upto: bounds must strictly increase (100 then 100)"


def test_bounds_around_a_param_bound_still_increase() -> None:
    def param_between(d: dict) -> None:
        d["components"][0]["slabs"][0]["upto"] = "300"
        d["components"][0]["slabs"][1]["upto"] = {"param": "top"}
        d["components"][0]["slabs"].insert(2, {"upto": "200", "rate": "1"})

    assert only_problem(param_between) == "components[0].slabs[2].upto: bounds must strictly increase (300 then 200)"


def test_last_slab_must_be_open() -> None:
    problem = only_problem(lambda d: d["components"][0]["slabs"][2].update(upto="500"))
    assert problem == "components[0].slabs[2].upto: the last slab must be open (null)"
    middle = only_problem(lambda d: d["components"][0]["slabs"][1].update(upto=None))
    assert middle == "components[0].slabs[1].upto: only the last slab may be open"


def test_last_band_must_be_open_and_bounds_not_negative() -> None:
    def closed_bands(d: dict) -> None:
        d["components"][0] = {
            "code": "energy",
            "label": "E",
            "type": "bands",
            "bands": [{"upto": "5", "rate": "1"}],
        }

    assert only_problem(closed_bands) == "components[0].bands[0].upto: the last band must be open (null)"
    negative = only_problem(lambda d: d["components"][0]["slabs"][0].update(upto="-1"))
    assert negative.startswith("components[0].slabs[0].upto: must not be negative")
    assert only_problem(lambda d: d["components"][0].update(slabs=[])) == (
        "components[0].slabs: must be a non-empty list of slabs"
    )


def test_phase_split_rates_only_on_fixed_charges() -> None:
    problem = only_problem(lambda d: d["components"][0]["slabs"][0].update(rate={"single": "1", "three": "2"}))
    assert problem == "components[0].slabs[0].rate: a rate split by phase is only allowed on fixed charges"


# --- percent, minimum, fixed -------------------------------------------------------------------


def test_percent_of_a_later_or_unknown_code() -> None:
    def later(d: dict) -> None:
        d["components"].insert(1, {"code": "tax", "label": "T", "type": "percent", "percent": "5", "of": ["fixed"]})

    assert only_problem(later) == "components[1].of[0]: fixed is not the code of an earlier component"
    unknown = only_problem(lambda d: d["components"][2].update(of=["energy", "wheeling"]))
    assert unknown == "components[2].of[1]: wheeling is not the code of an earlier component"
    own = only_problem(lambda d: d["components"][2].update(of=["duty"]))
    assert own == "components[2].of[0]: duty is not the code of an earlier component"


def test_duplicate_code_in_of() -> None:
    problem = only_problem(lambda d: d["components"][2].update(of=["energy", "fixed", "energy"]))
    assert problem == "components[2].of[2]: energy is listed twice"


def test_minimum_of_must_name_earlier_codes() -> None:
    def add_minimum(d: dict) -> None:
        d["components"].insert(0, {"code": "min", "label": "M", "type": "minimum", "amount": "50", "of": ["energy"]})

    assert only_problem(add_minimum) == "components[0].of[0]: energy is not the code of an earlier component"


@pytest.mark.parametrize(
    ("index", "kind"),
    [(0, "slabs"), (2, "percent")],
)
def test_scaled_where_not_allowed(index: int, kind: str) -> None:
    problem = only_problem(lambda d: d["components"][index].update(scaled=False))
    assert problem == f"components[{index}].scaled: only allowed on fixed, minimum, and percent with a cap"


def test_scaled_where_allowed() -> None:
    document = copy.deepcopy(VALID)
    document["components"][1]["scaled"] = False
    document["components"][2].update(cap="100", scaled=False)
    document["components"].append(
        {"code": "min", "label": "M", "type": "minimum", "amount": "50", "of": ["energy"], "scaled": False}
    )
    tariff = load_tariff(document)
    assert [getattr(c, "scaled", None) for c in tariff.components] == [None, False, False, False]
    assert only_problem(lambda d: d["components"][1].update(scaled="no")).startswith(
        "components[1].scaled: must be true or false"
    )


def test_fixed_needs_exactly_one_way_to_its_rate() -> None:
    bands = [{"upto": "2", "rate": "20"}, {"upto": None, "rate": "50"}]
    both = only_problem(lambda d: d["components"][1].update(bands=bands, band_on="load"))
    assert both == "components[1]: a fixed charge needs either rate, or band_on with bands"

    def bands_without_band_on(d: dict) -> None:
        del d["components"][1]["rate"]
        d["components"][1]["bands"] = bands

    assert only_problem(bands_without_band_on) == "components[1].band_on: required with bands (units or load)"
    stray = only_problem(lambda d: d["components"][1].update(band_on="load"))
    assert stray == "components[1].band_on: only goes with bands"
    assert only_problem(lambda d: d["components"][1].update(per="meter")).startswith(
        "components[1].per: must be one of connection, kw"
    )


def test_negative_cap_is_refused() -> None:
    problem = only_problem(lambda d: d["components"][2].update(cap="-5"))
    assert problem.startswith("components[2].cap: must not be negative")


# --- JSON text ---------------------------------------------------------------------------------


def test_duplicate_json_key() -> None:
    text = json.dumps(VALID).replace('"rate": "4.71"', '"rate": "4.71", "rate": "5.00"')
    with pytest.raises(TariffError) as raised:
        parse_tariff(text)
    assert raised.value.problems == ("components[0].slabs[0].rate: duplicate key",)
    top = '{"code": "A", ' + json.dumps(VALID)[1:]
    with pytest.raises(TariffError, match=r"^code: duplicate key$"):
        parse_tariff(top)


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(TariffError, match=r"^line 2 column 1: not valid JSON"):
        parse_tariff('{"format": "dtech-tariff/1",\n}')
    with pytest.raises(TariffError, match=r"^document: must be an object"):
        parse_tariff("[]")


# --- quote-time errors -------------------------------------------------------------------------


def tariff_with(*components: dict, **top: object) -> engine.Tariff:
    document = copy.deepcopy(VALID)
    document.update(top)
    document["components"] = list(components) or document["components"]
    return load_tariff(document)


def test_missing_parameter() -> None:
    tariff = tariff_with(
        {
            "code": "fac",
            "label": "FAC",
            "type": "slabs",
            "slabs": [{"upto": None, "rate": {"param": "fac_month"}}],
        }
    )
    with pytest.raises(TariffError) as raised:
        quote(tariff, QuoteInput(D(10), days=30))
    assert str(raised.value) == (
        "components[0].slabs[0].rate: parameter fac_month has no value: give it with the bill or a default in params"
    )
    assert quote(tariff, QuoteInput(D(10), days=30, params={"fac_month": D("0.5")})).total == D("5.00")


def test_unknown_given_parameter() -> None:
    tariff = tariff_with()
    with pytest.raises(
        TariffError, match=r"^params\.fac_rat: not a parameter of tariff T-TEST \(its parameters: fac_rate\)"
    ):
        quote(tariff, QuoteInput(D(10), days=30, params={"fac_rat": D(1)}))


def test_per_kw_without_load() -> None:
    tariff = tariff_with({"code": "fixed", "label": "F", "type": "fixed", "per": "kw", "rate": "20"})
    with pytest.raises(TariffError, match=r"^components\[0\]\.per: needs the sanctioned load"):
        quote(tariff, QuoteInput(D(10), days=30))
    load_bands = tariff_with(
        {
            "code": "fixed",
            "label": "F",
            "type": "fixed",
            "per": "connection",
            "band_on": "load",
            "bands": [{"upto": "2", "rate": "20"}, {"upto": None, "rate": "50"}],
        }
    )
    with pytest.raises(TariffError, match=r"^components\[0\]\.band_on: needs the sanctioned load"):
        quote(load_bands, QuoteInput(D(10), days=30))
    load_when = tariff_with(
        {
            "code": "fixed",
            "label": "F",
            "type": "fixed",
            "per": "connection",
            "rate": "1",
            "when": {"load_above": "5"},
        }
    )
    with pytest.raises(TariffError, match=r"^components\[0\]\.when\.load_above: needs the sanctioned load"):
        quote(load_when, QuoteInput(D(10), days=30))


def test_calendar_factor_without_dates() -> None:
    tariff = tariff_with(
        period={"base_days": 30, "factor": "calendar", "factor_places": 4, "bound_rounding": "integer"}
    )
    with pytest.raises(TariffError, match=r"^period\.factor: 'calendar' needs the period's first and last day"):
        quote(tariff, QuoteInput(D(10), days=30))


def test_a_quote_needs_a_period() -> None:
    with pytest.raises(TariffError, match=r"^period: the quote needs the period"):
        quote(tariff_with(), QuoteInput(D(10)))


def test_days_inconsistent_with_dates() -> None:
    with pytest.raises(TariffError, match=r"^days: 31 given, but 2023-06-01 to 2023-06-30 \(inclusive\) is 30 days"):
        QuoteInput(D(10), days=31, period_from=date(2023, 6, 1), period_to=date(2023, 6, 30))
    assert QuoteInput(D(10), days=30, period_from=date(2023, 6, 1), period_to=date(2023, 6, 30)).period_days == 30


@pytest.mark.parametrize(
    ("given", "start"),
    [
        ({"units": D(-1), "days": 30}, "units: must not be negative"),
        ({"units": 1.5, "days": 30}, "units: not a decimal"),
        ({"units": D(1), "days": 0}, "days: must be a whole number of at least 1"),
        ({"units": D(1), "load_kw": D(-2), "days": 30}, "load_kw: must not be negative"),
        ({"units": D(1), "phase": "two", "days": 30}, "phase: must be one of single, three"),
        ({"units": D(1), "period_from": date(2024, 1, 1)}, "period_to: the period needs both"),
        (
            {"units": D(1), "period_from": date(2024, 1, 2), "period_to": date(2024, 1, 1)},
            "period_to: 2024-01-01 is before",
        ),
        ({"units": D(1), "days": 30, "params": {"x": "1,5"}}, "params.x: not a decimal"),
    ],
)
def test_quote_input_refusals(given: dict, start: str) -> None:
    with pytest.raises(TariffError) as raised:
        QuoteInput(**given)
    assert str(raised.value).startswith(start)


def test_negative_total() -> None:
    tariff = tariff_with(
        {"code": "energy", "label": "E", "type": "slabs", "slabs": [{"upto": None, "rate": "1"}]},
        {"code": "subsidy", "label": "S", "type": "percent", "percent": "-150", "of": ["energy"]},
    )
    with pytest.raises(TariffError, match=r"^total: -5.00 is below zero: tariff T-TEST gives more than it charges"):
        quote(tariff, QuoteInput(D(10), days=30))


def test_param_bounds_that_do_not_increase_are_a_quote_error() -> None:
    tariff = tariff_with(
        {
            "code": "energy",
            "label": "E",
            "type": "slabs",
            "slabs": [
                {"upto": "100", "rate": "1"},
                {"upto": {"param": "top"}, "rate": "2"},
                {"upto": None, "rate": "3"},
            ],
        },
        params={"top": "200"},
    )
    with pytest.raises(
        TariffError,
        match=r"^components\[0\]\.slabs\[1\]\.upto: bounds must strictly increase \(100 then 90\)",
    ):
        quote(tariff, QuoteInput(D(10), days=30, params={"top": D(90)}))
    with pytest.raises(TariffError, match=r"^components\[0\]\.slabs\[1\]\.upto: must not be negative"):
        quote(tariff, QuoteInput(D(10), days=30, params={"top": D(-1)}))


# --- the CLI -----------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(tariff_cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    return result.exit_code, result.output


DERC = str(TARIFFS / "derc-domestic-2019.json")
MSEDCL = str(TARIFFS / "msedcl-lt1b-2024-25.json")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((DERC, "--units=10", "--days=30", "--load-kw=2"), "Error: period.factor: 'calendar' needs"),
        (
            (DERC, "--units=10", "--from=2023-06-01", "--to=2023-06-30", "--days=31", "--load-kw=2"),
            "Error: --days: 31 given, but 2023-06-01 to 2023-06-30 (inclusive) is 30 days",
        ),
        (
            (
                DERC,
                "--units=10",
                "--from=2023-06-01",
                "--to=2023-06-30",
                "--param=ppac_percent=0",
                "--param=pension_percent=5",
            ),
            "Error: components[1].per: needs the sanctioned load (load_kw, --load-kw)",
        ),
        (
            (DERC, "--units=10", "--from=2023-06-01", "--to=2023-06-30", "--load-kw=2"),
            "Error: components[2].percent: parameter ppac_percent has no value",
        ),
        ((MSEDCL, "--units=10", "--days=30", "--param=fac_rat=1"), "Error: --param fac_rat: not a parameter"),
        (
            (MSEDCL, "--units=10", "--from=2024-06-01"),
            "Error: --to: the period needs both its first and last day",
        ),
        ((MSEDCL, "--units=10"), "Error: period: the quote needs the period"),
    ],
)
def test_cli_quote_errors_name_the_problem(args: tuple[str, ...], message: str) -> None:
    code, output = run("quote", *args)
    assert code == 1
    assert message in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((MSEDCL, "--units=-5", "--days=30"), "'-5' is not a non-negative decimal number"),
        ((MSEDCL, "--units=1.5e2", "--days=30"), "'1.5e2' is not a non-negative decimal number"),
        (
            (MSEDCL, "--units=1", "--from=1/6/2024", "--to=2024-06-30"),
            "'1/6/2024' is not a date like 2024-04-01",
        ),
        ((MSEDCL, "--units=1", "--days=30", "--param=fac_rate"), "is not NAME=VALUE"),
        (
            (MSEDCL, "--units=1", "--days=30", "--param=fac_rate=1", "--param=fac_rate=2"),
            "--param fac_rate is given twice",
        ),
        ((MSEDCL, "--units=1", "--days=0"), "Invalid value for '--days'"),
        ((MSEDCL, "--days=30"), "Missing option '--units'"),
        (("nonexistent.json", "--units=1", "--days=30"), "does not exist"),
    ],
)
def test_cli_quote_usage_errors(args: tuple[str, ...], message: str) -> None:
    code, output = run("quote", *args)
    assert code == 2
    assert message in output


def test_cli_quote_of_an_invalid_tariff(tmp_path: Path) -> None:
    broken = copy.deepcopy(VALID)
    broken["components"][0]["slabs"][1]["rate"] = 10.29
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    code, output = run("quote", str(path), "--units=10", "--days=30")
    assert code == 1
    assert f"Error: {path} does not validate:\n  components[0].slabs[1].rate: not a decimal" in output


def test_cli_validate(tmp_path: Path) -> None:
    good = [str(path) for path in sorted(TARIFFS.glob("*.json"))]
    code, output = run("validate", *good)
    assert code == 0
    assert output.count(": OK (") == 4

    duplicated = tmp_path / "duplicated.json"
    duplicated.write_text(json.dumps(VALID).replace('"code": "T-TEST"', '"code": "T-TEST", "code": "T2"'))
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({**VALID, "efective_to": None}))
    code, output = run("validate", good[0], str(duplicated), str(typo))
    assert code == 1
    assert f"{duplicated} does not validate:\n  code: duplicate key" in output
    assert f"{typo} does not validate:\n  efective_to: unknown key" in output
    assert "Error: 2 of 3 files do not validate" in output
