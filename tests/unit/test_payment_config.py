"""Payment settings come from the environment; production never runs the sandbox by accident."""


import pytest

from config import ConfigError, DevelopmentConfig, ProductionConfig


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.setenv("DTECH_MESSAGE_SENDER", "mymodule:SmsSender")
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    for name in ("DTECH_PAYMENT_GATEWAY", "RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET", "RAZORPAY_WEBHOOK_SECRET",
                 "DTECH_ALLOW_SANDBOX_GATEWAY"):
        monkeypatch.delenv(name, raising=False)


def test_production_has_online_payments_off_until_a_gateway_is_configured(production_env):
    assert ProductionConfig().PAYMENT_GATEWAY == ""


def test_production_refuses_the_sandbox_unless_a_demo_site_asks_for_it(production_env, monkeypatch):
    monkeypatch.setenv("DTECH_PAYMENT_GATEWAY", "sandbox")
    with pytest.raises(ConfigError, match="sandbox"):
        ProductionConfig()
    monkeypatch.setenv("DTECH_ALLOW_SANDBOX_GATEWAY", "1")
    assert ProductionConfig().PAYMENT_GATEWAY == "sandbox"


def test_razorpay_needs_its_three_secrets_from_the_environment(production_env, monkeypatch):
    monkeypatch.setenv("DTECH_PAYMENT_GATEWAY", "razorpay")
    monkeypatch.setenv("RAZORPAY_KEY_ID", "rzp_live_abc")
    monkeypatch.setenv("RAZORPAY_KEY_SECRET", "s3cret")
    with pytest.raises(ConfigError, match="RAZORPAY_WEBHOOK_SECRET"):
        ProductionConfig()
    monkeypatch.setenv("RAZORPAY_WEBHOOK_SECRET", "whsec")
    config = ProductionConfig()
    assert (config.PAYMENT_GATEWAY, config.RAZORPAY_KEY_ID) == ("razorpay", "rzp_live_abc")


def test_an_unknown_gateway_is_an_error(production_env, monkeypatch):
    monkeypatch.setenv("DTECH_PAYMENT_GATEWAY", "paypal")
    with pytest.raises(ConfigError, match="DTECH_PAYMENT_GATEWAY"):
        ProductionConfig()


def test_development_uses_the_sandbox_and_configurable_limits(monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("DTECH_PAYMENT_GATEWAY", raising=False)
    monkeypatch.setenv("DTECH_CASH_LIMIT", "5000")
    monkeypatch.setenv("DTECH_CHEQUE_BOUNCE_CHARGE", "250.50")
    monkeypatch.setenv("DTECH_RECONCILE_AFTER_MINUTES", "30")
    settings = DevelopmentConfig()
    assert settings.PAYMENT_GATEWAY == "sandbox"
    assert str(settings.CASH_LIMIT) == "5000"
    assert str(settings.CHEQUE_BOUNCE_CHARGE) == "250.50"
    assert settings.PAYMENT_RECONCILE_AFTER_MINUTES == 30


def test_the_sandbox_secrets_are_derived_from_the_secret_key_and_never_the_same_as_it(app):
    from app.payments.gateways.sandbox import SandboxGateway

    one = SandboxGateway.from_config({"SECRET_KEY": "a" * 40})
    again = SandboxGateway.from_config({"SECRET_KEY": "a" * 40})
    other = SandboxGateway.from_config({"SECRET_KEY": "b" * 40})
    assert one._key_secret == again._key_secret and one._webhook_secret == again._webhook_secret  # every worker
    assert one._key_secret != other._key_secret and one._key_secret != one._webhook_secret
    assert "a" * 40 not in (one._key_secret, one._webhook_secret)


def test_the_approval_limit_comes_from_the_environment(monkeypatch):
    from decimal import Decimal

    monkeypatch.delenv("DTECH_APPROVAL_LIMIT", raising=False)
    default = DevelopmentConfig().APPROVAL_LIMIT
    monkeypatch.setenv("DTECH_APPROVAL_LIMIT", "7500.50")
    configured = DevelopmentConfig().APPROVAL_LIMIT
    assert (default, configured) == (Decimal("5000"), Decimal("7500.50"))
    for wrong in ("five thousand", "-1", "NaN"):
        monkeypatch.setenv("DTECH_APPROVAL_LIMIT", wrong)
        with pytest.raises(ConfigError, match="DTECH_APPROVAL_LIMIT"):
            DevelopmentConfig()


def test_only_an_admin_acts_alone_and_only_up_to_the_limit(app, monkeypatch):
    from decimal import Decimal
    from types import SimpleNamespace

    from app.auth.models import Role
    from app.payments.base import may_act_alone

    monkeypatch.setitem(app.config, "APPROVAL_LIMIT", Decimal("5000"))
    admin, support = SimpleNamespace(role=Role.ADMIN), SimpleNamespace(role=Role.SUPPORT)
    assert may_act_alone(admin, Decimal("5000.00")) and not may_act_alone(admin, Decimal("5000.01"))
    assert not may_act_alone(support, Decimal("0.01")) and not may_act_alone(None, Decimal("1"))
