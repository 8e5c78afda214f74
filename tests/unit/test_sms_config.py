"""SMS settings: DLT template ids per message kind, the DLT header, MSG91's key from the environment only, and a
warning at start-up for the kinds that would not be sent by SMS."""

import logging

import pytest

from app.messaging.kinds import MessageKind
from app.messaging.sms import template_problems, warn_about_templates
from config import ConfigError, DevelopmentConfig, ProductionConfig, TestingConfig, parse_sms_templates


@pytest.fixture(autouse=True)
def no_sms_environment(monkeypatch):
    for name in ("DTECH_MESSAGE_SENDER", "DTECH_SMS_SENDER", "DTECH_SMS_TEMPLATES", "DTECH_SMS_SENDER_ID",
                 "MSG91_AUTH_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_templates_are_kind_equals_id_pairs():
    assert parse_sms_templates(" otp = 6571a1b2c3d4e5f6a7b8c9d1 , bill_issued=1207161234567890123,") == {
        "otp": "6571a1b2c3d4e5f6a7b8c9d1", "bill_issued": "1207161234567890123"}
    assert parse_sms_templates("") == {}


@pytest.mark.parametrize("text", ["otp", "otp=", "=123", "otp=12 34", "OTP=123", "otp=1,otp=2", "otp=1;bill=2"])
def test_malformed_templates_stop_the_start(text):
    with pytest.raises(ConfigError, match="DTECH_SMS_TEMPLATES"):
        parse_sms_templates(text)


def test_msg91_needs_its_key_and_templates_from_the_environment(monkeypatch):
    monkeypatch.setenv("DTECH_SMS_SENDER", "msg91")
    with pytest.raises(ConfigError, match="MSG91_AUTH_KEY"):
        DevelopmentConfig()
    monkeypatch.setenv("MSG91_AUTH_KEY", "from-the-environment")
    with pytest.raises(ConfigError, match="DTECH_SMS_TEMPLATES"):
        DevelopmentConfig()
    monkeypatch.setenv("DTECH_SMS_TEMPLATES", "otp=6571a1b2c3d4e5f6a7b8c9d1")
    config = DevelopmentConfig()
    assert (config.SMS_SENDER, config.MSG91_AUTH_KEY, config.SMS_TEMPLATES) == (
        "msg91", "from-the-environment", {"otp": "6571a1b2c3d4e5f6a7b8c9d1"})
    assert config.MESSAGE_SENDER == "console"  # email addresses still go there


def test_the_sender_id_is_a_six_letter_dlt_header(monkeypatch):
    monkeypatch.setenv("DTECH_SMS_SENDER_ID", "dtechp")
    assert DevelopmentConfig().SMS_SENDER_ID == "DTECHP"
    for wrong in ("DTECH", "DTECH1", "DTECHPW"):
        monkeypatch.setenv("DTECH_SMS_SENDER_ID", wrong)
        with pytest.raises(ConfigError, match="6 letters"):
            DevelopmentConfig()


def test_production_with_msg91_for_sms_starts(monkeypatch):
    for name, value in {"SECRET_KEY": "x" * 40, "DTECH_UPI_VPA": "utility@bank",
                        "DATABASE_URL": "postgresql://db/dtech", "DTECH_MESSAGE_SENDER": "mail.module:Mailer",
                        "DTECH_SMS_SENDER": "msg91", "MSG91_AUTH_KEY": "k", "DTECH_SMS_TEMPLATES": "otp=1"}.items():
        monkeypatch.setenv(name, value)
    config = ProductionConfig()
    assert config.SMS_SENDER == "msg91" and config.MESSAGE_SENDER == "mail.module:Mailer"


def test_the_tests_never_use_a_real_sms_sender(monkeypatch):
    monkeypatch.setenv("DTECH_SMS_SENDER", "msg91")
    monkeypatch.setenv("MSG91_AUTH_KEY", "k")
    monkeypatch.setenv("DTECH_SMS_TEMPLATES", "otp=1")
    config = TestingConfig()
    assert (config.MESSAGE_SENDER, config.SMS_SENDER) == ("memory", "")


def msg91_settings(templates: dict) -> dict:
    return {"MESSAGE_SENDER": "console", "SMS_SENDER": "msg91", "SMS_TEMPLATES": templates}


def test_start_up_warns_of_the_kinds_without_a_template_and_of_unknown_kinds(caplog):
    every_kind = {kind.value: "1" for kind in MessageKind}
    assert template_problems(msg91_settings(every_kind)) == []
    with caplog.at_level(logging.WARNING, logger="app.messaging.sms"):
        warn_about_templates(msg91_settings({"otp": "1", "bill_isued": "2"}))
    assert caplog.messages == [
        "SMS: no DLT template for message kinds " + ", ".join(k.value for k in MessageKind if k.value != "otp")
        + ": those are not sent by SMS",
        "SMS: DTECH_SMS_TEMPLATES names unknown message kinds bill_isued",
    ]


def test_no_warning_when_no_sender_uses_templates():
    assert template_problems({"MESSAGE_SENDER": "console", "SMS_SENDER": "", "SMS_TEMPLATES": {}}) == []
    assert template_problems({"MESSAGE_SENDER": "memory", "SMS_TEMPLATES": {}}) == []


def test_create_app_warns_at_start_up(caplog):
    from app import create_app

    config = TestingConfig()
    with caplog.at_level(logging.WARNING, logger="app.messaging.sms"):
        create_app(config, SMS_SENDER="msg91", SMS_TEMPLATES={"otp": "1"}, MSG91_AUTH_KEY="k")
    assert any("no DLT template for message kinds password_reset" in text for text in caplog.messages)
