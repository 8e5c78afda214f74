"""The hand-computed bills of tests/data/cases.json, reproduced to the paisa by the engine and the CLI."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.billing import tariff as engine
from app.billing.cli import tariff_cli
from app.billing.tariff import QuoteInput, parse_tariff, quote

TARIFFS = Path(engine.__file__).parents[1] / "tariffs"
CASES = json.loads((Path(__file__).parents[1] / "data" / "cases.json").read_text(encoding="utf-8"))
INPUT_KEYS = {"units", "days", "from", "to", "load_kw", "phase", "flags", "params"}

by_id = pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])


def test_every_case_is_collected_and_uses_only_known_inputs() -> None:
    assert len(CASES) == 15
    assert len({case["id"] for case in CASES}) == len(CASES)
    for case in CASES:
        assert set(case["input"]) <= INPUT_KEYS, case["id"]  # an unknown input would be silently ignored
        assert (TARIFFS / case["tariff"]).is_file(), case["id"]


def quote_input(given: dict) -> QuoteInput:
    def day(key: str) -> date | None:
        return date.fromisoformat(given[key]) if key in given else None

    return QuoteInput(
        units=Decimal(given["units"]),
        days=given.get("days"),
        period_from=day("from"),
        period_to=day("to"),
        load_kw=Decimal(given["load_kw"]) if "load_kw" in given else None,
        phase=given.get("phase"),
        flags=frozenset(given.get("flags", [])),
        params={name: Decimal(value) for name, value in given.get("params", {}).items()},
    )


def cli_args(given: dict) -> list[str]:
    options = {"units": "--units", "days": "--days", "from": "--from", "to": "--to", "load_kw": "--load-kw"}
    args = [f"{option}={given[key]}" for key, option in options.items() if key in given]
    args += [f"--phase={given['phase']}"] if "phase" in given else []
    args += [f"--flag={flag}" for flag in given.get("flags", [])]
    args += [f"--param={name}={value}" for name, value in given.get("params", {}).items()]
    return args


def assert_matches_case(data: dict, case: dict, tariff: engine.Tariff) -> None:
    """`data` is a quote in the --json shape; amounts must be within the case's tolerance."""
    tolerance = Decimal(case["tolerance"])
    expected = case["expected"]
    for code, amount in expected["by_code"].items():
        assert abs(Decimal(data["by_code"][code]) - Decimal(amount)) <= tolerance, (code, data["by_code"])
    assert abs(Decimal(data["total"]) - Decimal(expected["total"])) <= tolerance, data["total"]
    # The format lists every component code; a code the case leaves out must have yielded nothing.
    assert set(data["by_code"]) - {"rounding"} == set(tariff.codes)
    for code in set(data["by_code"]) - set(expected["by_code"]):
        assert data["by_code"][code] == "0.00", code
    assert Decimal(data["total"]) == sum(Decimal(line["amount"]) for line in data["lines"])


def case_tariff(case: dict) -> engine.Tariff:
    return parse_tariff((TARIFFS / case["tariff"]).read_text(encoding="utf-8"))


@by_id
def test_case_through_quote(case: dict) -> None:
    tariff = case_tariff(case)
    result = quote(tariff, quote_input(case["input"]))
    assert_matches_case(result.to_json(), case, tariff)
    assert result.total == Decimal(case["expected"]["total"])
    assert result.total == sum(line.amount for line in result.lines)


@by_id
def test_case_through_the_cli(case: dict) -> None:
    path = TARIFFS / case["tariff"]
    result = CliRunner().invoke(tariff_cli, ["quote", str(path), *cli_args(case["input"]), "--json"])
    assert result.exit_code == 0, result.output
    assert_matches_case(json.loads(result.output), case, case_tariff(case))


@by_id
def test_case_in_human_form_shows_the_total(case: dict) -> None:
    path = TARIFFS / case["tariff"]
    result = CliRunner().invoke(tariff_cli, ["quote", str(path), *cli_args(case["input"])])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1].split()
    assert last == ["Total", case["expected"]["total"]]
