import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.auth.models import User
from app.billing.compose import Cycle
from app.billing.models import Bill, TariffParam, TariffVersion
from app.billing.runs import run_bills
from app.billing.services import BUNDLED_TARIFFS
from app.extensions import db
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
CASES = json.loads((ROOT / "tests" / "data" / "cases.json").read_text())


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def propose(app, path):
    """`tariff import` as a billing officer: the version waits for approval."""
    return cli(app, "tariff", "import", str(path), *factories.staff_cli_args("billing"))


def approve(app, version_id: int):
    result = cli(app, "tariff", "approve", str(version_id), *factories.staff_cli_args("admin"))
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_public_cases_through_flask_tariff_quote(app, case):
    inp = case["input"]
    args = ["tariff", "quote", str(BUNDLED_TARIFFS / case["tariff"]), "--units", inp["units"], "--json"]
    for key, option in (("days", "--days"), ("from", "--from"), ("to", "--to"), ("load_kw", "--load-kw"),
                        ("phase", "--phase")):
        if key in inp:
            args += [option, str(inp[key])]
    args += [arg for flag in inp.get("flags", []) for arg in ("--flag", flag)]
    args += [arg for name, value in inp.get("params", {}).items() for arg in ("--param", f"{name}={value}")]
    result = cli(app, *args)
    assert result.exit_code == 0, result.output
    quoted = json.loads(result.output)
    tolerance = Decimal(case.get("tolerance", "0"))
    assert abs(Decimal(quoted["total"]) - Decimal(case["expected"]["total"])) <= tolerance
    for code, amount in case["expected"]["by_code"].items():
        assert abs(Decimal(quoted["by_code"][code]) - Decimal(amount)) <= tolerance, code


def test_flask_command_line_itself():
    """The literal command a user types, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "tariff", "quote",
         str(BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json"), "--units", "221", "--days", "31", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "DTECH_ENV": "testing", "HOME": "/tmp"},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "2424.12"


def test_import_is_idempotent_and_export_returns_the_document(app):
    path = BUNDLED_TARIFFS / "kseb-lt1a-2023-11.json"
    first = propose(app, path)
    assert first.exit_code == 0 and "pending" in first.output
    again = propose(app, path)
    assert again.exit_code == 0
    version = db.session.scalar(select(TariffVersion))
    assert len(db.session.scalars(select(TariffVersion)).all()) == 1
    assert cli(app, "tariff", "export", "KL-KSEBL-LT1A").exit_code != 0  # not in force until approved
    approve(app, version.id)
    exported = cli(app, "tariff", "export", "KL-KSEBL-LT1A")
    assert exported.output == path.read_text()


def test_overlapping_version_is_refused(app, tmp_path):
    path = BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json"
    propose(app, path)  # waiting: it already holds its dates
    overlapping = json.loads(path.read_text()) | {"effective_from": "2025-01-01", "effective_to": None}
    (tmp_path / "overlap.json").write_text(json.dumps(overlapping))
    result = propose(app, tmp_path / "overlap.json")
    assert result.exit_code != 0 and "overlaps" in result.output


def test_invalid_tariff_import_names_the_place(app, tmp_path):
    broken = json.loads((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    broken["components"][0]["slabs"][1]["rate"] = "ten"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    result = propose(app, tmp_path / "broken.json")
    assert result.exit_code != 0 and "components[0].slabs[1].rate" in result.output
    assert db.session.scalar(select(TariffVersion)) is None


def test_a_new_version_never_changes_issued_bills(app, tmp_path):
    factories.make_read_connection(factories.make_tariff())
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    newer = json.loads((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    newer.update(effective_from="2025-04-01", effective_to=None)
    newer["components"][0]["slabs"][0]["rate"] = "9.99"
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert propose(app, tmp_path / "newer.json").exit_code == 0
    approve(app, db.session.scalar(select(func.max(TariffVersion.id))))
    db.session.expire_all()
    bill = db.session.scalar(select(Bill))
    assert bill.current_charges == Decimal("2424.12")
    assert db.session.get(TariffVersion, bill.tariff_version_id).effective_from == date(2024, 4, 1)


def test_monthly_parameters(app):
    factories.make_tariff("derc-domestic-2019.json")
    staff = factories.staff_cli_args()
    result = cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2026-10", "ppac_percent=8.75",
                 "pension_percent=3.8", *staff)
    assert result.exit_code == 0, result.output
    cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2026-10", "ppac_percent=9.1", *staff)
    values = dict(db.session.execute(select(TariffParam.name, TariffParam.value)).all())
    assert values == {"ppac_percent": Decimal("9.1"), "pension_percent": Decimal("3.8")}
    assert cli(app, "tariff", "set-param", "NOPE", "--month", "2026-10", "x=1", *staff).exit_code != 0
    absurd = cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2026-10", "ppac_percent=-99", *staff)
    assert absurd.exit_code != 0 and "ppac_percent cannot be below -10: -99 is refused." in absurd.output
    audited = db.session.scalars(select(AuditLog).where(AuditLog.action == "tariff.param_set")).all()
    assert len(audited) == 3 and {row.actor_id for row in audited} == {db.session.scalar(
        select(User.id).where(User.email == staff[1]))}  # each write names the person who made it
    nobody = cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2026-10", "ppac_percent=1",
                 "--by", staff[1], "--password", "wrong-password")
    assert nobody.exit_code != 0


def test_a_new_version_may_follow_an_open_ended_one_and_bills_split_between_them(app, tmp_path):
    tariff = factories.make_tariff("derc-domestic-2019.json")  # effective from 2019-08-01, open-ended
    newer = json.loads((BUNDLED_TARIFFS / "derc-domestic-2019.json").read_text())
    newer["effective_from"] = "2024-10-21"
    newer["components"][0]["slabs"][0]["rate"] = "3.50"
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    result = propose(app, tmp_path / "newer.json")
    assert result.exit_code == 0, result.output
    approve(app, db.session.scalar(select(func.max(TariffVersion.id))))
    same_day = dict(newer, components=newer["components"][:2] + newer["components"][2:])
    same_day["name"] = "Another name, same start"
    (tmp_path / "same.json").write_text(json.dumps(same_day))
    assert "two versions start on 2024-10-21" in propose(app, tmp_path / "same.json").output

    account = factories.make_account(tariff=tariff)
    meter = factories.make_meter(account)
    factories.make_reading(meter, date(2024, 10, 5), "1000")
    factories.make_reading(meter, date(2024, 11, 5), "1200")
    for name, value in (("ppac_percent", "8"), ("pension_percent", "3.8")):
        cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2024-11", f"{name}={value}",
            *factories.staff_cli_args())
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    bill = db.session.scalar(select(Bill))
    energy = [line for line in bill.lines if line.code == "energy"]
    assert len(energy) == 2  # 15 days under the old rates, 16 under the new
    assert {row["rate"] for line in energy for row in line.details} >= {"3.00", "3.50"}


def test_a_proposed_version_is_not_billed_until_another_person_approves_it(app, tmp_path):
    tariff = factories.make_tariff("derc-domestic-2019.json")  # open-ended from 2019-08-01
    old_version = db.session.scalar(select(TariffVersion.id))
    factories.make_read_connection(tariff)
    for name, value in (("ppac_percent", "8"), ("pension_percent", "3.8")):
        cli(app, "tariff", "set-param", "DL-DERC-DOMESTIC", "--month", "2024-11", f"{name}={value}",
            *factories.staff_cli_args())
    db.session.commit()
    newer = json.loads((BUNDLED_TARIFFS / "derc-domestic-2019.json").read_text())
    newer["effective_from"] = "2024-10-21"
    newer["components"][0]["slabs"][0]["rate"] = "9.99"
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    officer = factories.staff_cli_args("billing")
    assert cli(app, "tariff", "import", str(tmp_path / "newer.json"), *officer).exit_code == 0
    version = db.session.scalar(select(TariffVersion).where(TariffVersion.effective_from == date(2024, 10, 21)))
    own = cli(app, "tariff", "approve", str(version.id), *officer)
    assert own.exit_code != 0 and "imported it yourself" in own.output
    assert cli(app, "tariff", "approve", str(version.id), *factories.staff_cli_args("support")).exit_code != 0
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    db.session.commit()
    bill = db.session.scalar(select(Bill))
    assert bill.tariff_version_id == old_version  # priced by the version in force only, not split
    assert {line.code for line in bill.lines}.isdisjoint({"energy@2"}) and len(bill.lines) > 0
    approve(app, version.id)
    again = cli(app, "tariff", "approve", str(version.id), *factories.staff_cli_args("admin"))
    assert again.exit_code != 0 and "already decided" in again.output
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "tariff.approved"))
    assert audit.details["proposed_by"] == version.imported_by_id != audit.details["approved_by"]


def test_a_rejected_version_is_never_used_and_frees_its_dates(app, tmp_path):
    factories.make_tariff()
    newer = json.loads((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    newer.update(effective_from="2025-04-01", effective_to=None)
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    assert propose(app, tmp_path / "newer.json").exit_code == 0
    version_id = db.session.scalar(select(func.max(TariffVersion.id)))
    unexplained = cli(app, "tariff", "reject", str(version_id), *factories.staff_cli_args("admin"))
    assert unexplained.exit_code != 0 and "give the reason it is rejected" in unexplained.output
    rejected = cli(app, "tariff", "reject", str(version_id), "--note", "wrong rates",
                   *factories.staff_cli_args("admin"))
    assert rejected.exit_code == 0, rejected.output
    in_force = cli(app, "tariff", "export", "MH-MSEDCL-LT1B").output
    assert "2024-04-01" in in_force and "2025-04-01" not in in_force
    newer["name"] = "Corrected"
    (tmp_path / "fixed.json").write_text(json.dumps(newer))
    assert propose(app, tmp_path / "fixed.json").exit_code == 0  # the same start date is free again
