"""The privacy notice (English and Hindi, versioned) and the consent to it (DPDP Act 2023)."""

from sqlalchemy import select

from app.auth.models import PrivacyConsent
from app.extensions import db


def test_the_notice_names_the_version_the_retention_and_the_grievance_officer(app, client):
    app.config.update(GRIEVANCE_OFFICER_NAME="Meera Joshi", GRIEVANCE_OFFICER_EMAIL="dpo@dtech.example")
    try:
        page = client.get("/privacy").get_data(as_text=True)
    finally:
        app.config.update(GRIEVANCE_OFFICER_NAME="Grievance Officer", GRIEVANCE_OFFICER_EMAIL="grievance@example.in")
    assert f"Version {app.config['PRIVACY_NOTICE_VERSION']}" in page
    assert "Meera Joshi" in page and "mailto:dpo@dtech.example" in page
    assert f"Sign-in history: {app.config['KEEP']['sign_ins'].days} days" in page
    for right in ("Access:", "Correction:", "Erasure:", "Grievance redressal:"):
        assert right in page


def test_the_notice_is_in_hindi_for_a_hindi_visitor(client):
    client.post("/language", data={"language": "hi_IN", "next": "/privacy"})
    page = client.get("/privacy").get_data(as_text=True)
    assert "गोपनीयता सूचना" in page and "शिकायत अधिकारी" in page and "What we keep" not in page


def test_a_new_version_is_accepted_once_before_anything_else(app, client, login_as):
    user = login_as("customer")
    assert client.get("/connections").status_code == 200
    app.config["PRIVACY_NOTICE_VERSION"] = "2027-01-01"
    try:
        assert client.get("/connections").headers["Location"] == "/privacy/accept"
        assert client.get("/profile/data.json").status_code == 200  # their data, without accepting
        page = client.get("/privacy/accept").get_data(as_text=True)
        assert "Our privacy notice has changed" in page and "Version 2027-01-01" in page
        assert client.post("/privacy/accept").headers["Location"] == "/"
        assert client.get("/connections").status_code == 200
        versions = db.session.scalars(select(PrivacyConsent.version).where(PrivacyConsent.user_id == user.id)
                                      .order_by(PrivacyConsent.accepted_at)).all()
        assert versions == ["2026-12-01", "2027-01-01"]
        assert client.get("/privacy/accept").headers["Location"] == "/"  # asked once
    finally:
        app.config["PRIVACY_NOTICE_VERSION"] = "2026-12-01"


def test_a_customer_who_never_consented_is_asked_and_staff_are_not(client, login_as):
    login_as("customer", consented=False)
    assert client.get("/").headers["Location"] == "/privacy/accept"
    client.post("/logout")
    login_as("support")
    assert client.get("/staff").status_code == 200


def test_the_footer_links_the_notice(client):
    assert 'href="/privacy"' in client.get("/login").get_data(as_text=True)
