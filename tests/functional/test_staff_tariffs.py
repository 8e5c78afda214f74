"""Tariffs from the pages: the versions listed, a version as a readable schedule with a what-if quote that agrees
with the format document's worked examples, import with the problems shown where they are, export exactly as
stored, and the monthly parameters."""

import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditLog
from app.billing.compose import Cycle
from app.billing.models import Tariff, TariffParam, TariffVersion
from app.billing.runs import run_bills
from app.billing.services import BUNDLED_TARIFFS, import_tariff
from app.extensions import db
from tests import factories


@pytest.fixture
def kseb():
    version = import_tariff((BUNDLED_TARIFFS / "kseb-lt1a-2023-11.json").read_text())
    db.session.commit()
    return version


def test_the_list_and_the_schedule_of_a_version(client, login_as, kseb):
    login_as("support")  # support may look; only billing staff change
    listing = client.get("/staff/tariffs").get_data(as_text=True)
    assert "KL-KSEBL-LT1A" in listing and f"/staff/tariffs/versions/{kseb.id}" in listing
    assert "Import a version" not in listing
    page = client.get(f"/staff/tariffs/versions/{kseb.id}").get_data(as_text=True)
    assert "Telescopic: each slab&#39;s units at its own rate" in page or "Telescopic: each slab's units" in page
    assert "Payment terms" in page and "Set for the month" not in page
    assert "above 200 units" in page  # the open last slab, named by where it starts
    assert "Not a valid choice" not in page and "₹" in page  # the first visit quotes the form's own example


def test_the_what_if_quote_agrees_with_the_worked_example(client, login_as, kseb):
    login_as("billing")
    # TARIFF_FORMAT's case KL-2023-02: 200 units over 60 days, single phase → ₹933.00.
    fragment = client.get(f"/staff/tariffs/versions/{kseb.id}",
                          query_string={"units": "200", "days": "60", "load_kw": "3", "phase": "single"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<h1>" not in fragment and "₹933.00" in fragment
    wrong = client.get(f"/staff/tariffs/versions/{kseb.id}", query_string={"units": "lots", "days": "60",
                                                                           "load_kw": "3", "phase": "single"})
    assert wrong.status_code == 200 and "Enter a number, like 221 or 0.35." in wrong.get_data(as_text=True)


def test_an_import_with_problems_names_each_place_and_stores_nothing(client, login_as, kseb):
    login_as("billing")
    document = json.loads(kseb.document)
    document["components"][0]["slabs"][0]["rate"] = "three"
    response = client.post("/staff/tariffs", data={"document": json.dumps(document)})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "The document was not stored:" in page
    assert "components[0].slabs[0].rate" in page
    assert client.post("/staff/tariffs", data={"document": "{not json"}).status_code == 422
    assert db.session.scalar(select(func.count(TariffVersion.id))) == 1


def test_a_new_version_is_imported_and_exported_exactly_as_written(client, login_as, kseb):
    officer = login_as("billing")
    document = json.loads(kseb.document)
    document["effective_from"] = "2099-04-01"
    document.pop("effective_to", None)
    text = json.dumps(document, indent=1, ensure_ascii=False)
    response = client.post("/staff/tariffs", data={"document": text})
    assert response.status_code == 303
    version = db.session.scalar(select(TariffVersion).order_by(TariffVersion.id.desc()))
    assert version.imported_by_id == officer.id
    exported = client.get(f"/staff/tariffs/versions/{version.id}.json")
    assert exported.get_data(as_text=True) == text
    assert "attachment" in exported.headers["Content-Disposition"]
    again = client.post("/staff/tariffs", data={"document": text})  # the same document: stored once
    assert again.status_code == 303 and db.session.scalar(select(func.count(TariffVersion.id))) == 2


def test_a_monthly_parameter_is_set_and_audited(client, login_as):
    version = import_tariff((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    db.session.commit()
    officer = login_as("billing")
    page = client.get(f"/staff/tariffs/versions/{version.id}").get_data(as_text=True)
    assert '<option value="fac_rate"' in page
    response = client.post(f"/staff/tariffs/versions/{version.id}/params",
                           data={"cycle": "2026-11", "name": "fac_rate", "value": "0.35"}, follow_redirects=True)
    assert "fac_rate for 2026-11 is now 0.35." in response.get_data(as_text=True)
    param = db.session.scalar(select(TariffParam))
    assert (param.month, param.value) == (date(2026, 11, 1), Decimal("0.35"))
    assert db.session.scalar(select(AuditLog.actor_id).where(AuditLog.action == "tariff.param_set")) == officer.id
    client.post(f"/staff/tariffs/versions/{version.id}/params",  # corrected: the audit keeps the value it replaced
                data={"cycle": "2026-11", "name": "fac_rate", "value": "0.4"})
    details = [row.details for row in db.session.scalars(select(AuditLog).where(
        AuditLog.action == "tariff.param_set").order_by(AuditLog.id))]
    assert [(d["before"] and Decimal(d["before"]), d["after"]) for d in details] == [(None, "0.35"),
                                                                                      (Decimal("0.35"), "0.4")]
    refused = client.post(f"/staff/tariffs/versions/{version.id}/params",
                          data={"cycle": "2026-11", "name": "made_up", "value": "x"}, follow_redirects=True)
    assert "Not a valid choice" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(TariffParam.id))) == 1
    assert db.session.scalar(select(TariffParam.value)) == Decimal("0.4")


def test_an_absurd_parameter_or_a_billed_months_is_refused(client, login_as):
    """fac_rate −99 ₹/unit is a typo; November 2024, already billed with the tariff, keeps its values."""
    version = import_tariff((BUNDLED_TARIFFS / "msedcl-lt1b-2024-25.json").read_text())
    factories.make_read_connection(db.session.get(Tariff, version.tariff_id))
    db.session.commit()
    run_bills(Cycle(2024, 11), issued_on=date(2024, 11, 12))
    login_as("billing")
    url = f"/staff/tariffs/versions/{version.id}/params"
    absurd = client.post(url, data={"cycle": "2026-11", "name": "fac_rate", "value": "-99"}, follow_redirects=True)
    assert "fac_rate cannot be below -10: -99 is refused." in absurd.get_data(as_text=True)
    billed = client.post(url, data={"cycle": "2024-11", "name": "fac_rate", "value": "0.5"}, follow_redirects=True)
    assert ("2024-11 is already billed with this tariff: its parameters can no longer change."
            in billed.get_data(as_text=True))
    assert db.session.scalar(select(func.count(TariffParam.id))) == 0
    allowed = client.post(url, data={"cycle": "2024-12", "name": "fac_rate", "value": "-0.25"}, follow_redirects=True)
    assert "fac_rate for 2024-12 is now -0.25." in allowed.get_data(as_text=True)


def test_a_version_imported_on_the_page_waits_for_a_second_person(client, login_as, kseb):
    from app.auth.maker_checker import ApprovalState
    from app.billing.services import find_version

    login_as("billing")
    document = json.loads(kseb.document)
    document["effective_from"] = "2099-04-01"
    document.pop("effective_to", None)
    client.post("/staff/tariffs", data={"document": json.dumps(document)})
    version = db.session.scalar(select(TariffVersion).order_by(TariffVersion.id.desc()))
    assert version.state == ApprovalState.PENDING
    assert find_version("KL-KSEBL-LT1A").id == kseb.id  # the new one is not in force
    assert "Waiting for approval" in client.get("/staff/tariffs").get_data(as_text=True)
    page = client.get(f"/staff/tariffs/versions/{version.id}").get_data(as_text=True)
    assert "You imported this version" in page and "/approve" not in page
    own = client.post(f"/staff/tariffs/versions/{version.id}/approve", follow_redirects=True)
    assert "another billing officer or administrator decides it" in own.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(TariffVersion, version.id).state == ApprovalState.PENDING

    client.post("/logout")
    login_as("support")
    assert client.post(f"/staff/tariffs/versions/{version.id}/approve").status_code == 403
    client.post("/logout")
    second = login_as("billing")
    assert f"/staff/tariffs/versions/{version.id}/approve" in client.get(
        f"/staff/tariffs/versions/{version.id}").get_data(as_text=True)
    assert client.post(f"/staff/tariffs/versions/{version.id}/approve").status_code == 303
    db.session.expire_all()
    approved = db.session.get(TariffVersion, version.id)
    assert approved.state == ApprovalState.APPROVED and approved.decided_by_id == second.id
    assert find_version("KL-KSEBL-LT1A").id == version.id
    again = client.post(f"/staff/tariffs/versions/{version.id}/reject", follow_redirects=True)
    assert "already decided" in again.get_data(as_text=True)


def test_a_version_rejected_on_the_page_is_never_in_force(client, login_as, kseb):
    from app.auth.maker_checker import ApprovalState

    login_as("admin")
    document = json.loads(kseb.document)
    document["effective_from"] = "2099-04-01"
    document.pop("effective_to", None)
    client.post("/staff/tariffs", data={"document": json.dumps(document)})
    version_id = db.session.scalar(select(func.max(TariffVersion.id)))
    client.post("/logout")
    login_as("admin")
    unexplained = client.post(f"/staff/tariffs/versions/{version_id}/reject", data={"note": "  "},
                              follow_redirects=True).get_data(as_text=True)
    assert "Give the reason this version is rejected" in unexplained
    db.session.expire_all()
    assert db.session.get(TariffVersion, version_id).state == ApprovalState.PENDING
    assert client.post(f"/staff/tariffs/versions/{version_id}/reject", data={"note": "typo"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(TariffVersion, version_id).state == ApprovalState.REJECTED
    page = client.get(f"/staff/tariffs/versions/{version_id}").get_data(as_text=True)
    assert "Rejected: this version is never used." in page and "typo" in page


def test_a_calendar_month_tariff_is_quoted_for_a_period_with_that_months_parameters(client, login_as):
    """Delhi's tariff prices by calendar month and needs the month's PPAC and pension surcharges: the quote takes
    the period's end and the parameters entered for its month (it once said to use --from/--to, a CLI hint)."""
    version = import_tariff((BUNDLED_TARIFFS / "derc-domestic-2019.json").read_text())
    db.session.commit()
    login_as("billing")
    query = {"units": "250", "days": "30", "period_to": "2026-11-30", "load_kw": "3", "phase": "single"}

    def quoted() -> str:
        return client.get(f"/staff/tariffs/versions/{version.id}", query_string=query,
                          headers={"HX-Request": "true"}).get_data(as_text=True)

    first = quoted()
    assert "--from" not in first and "ppac_percent has no value" in first  # says which month's figure is missing
    for name in ("ppac_percent", "pension_percent"):
        client.post(f"/staff/tariffs/versions/{version.id}/params",
                    data={"cycle": "2026-11", "name": name, "value": "5"})
    assert "₹1,201.69" in quoted()  # what the engine gives for these figures
    query["period_to"] = "2026-12-31"  # December has no figures entered yet
    assert "ppac_percent has no value" in quoted()
