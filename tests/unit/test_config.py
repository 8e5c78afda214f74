import pytest

from config import ConfigError, DevelopmentConfig, ProductionConfig, config_from_env, normalise_database_url


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "too-short")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        ProductionConfig()


def test_production_refuses_sqlite_unless_allowed(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/prod.sqlite3")
    monkeypatch.setenv("DTECH_MESSAGE_SENDER", "mymodule:SmsSender")
    with pytest.raises(ConfigError, match="SQLite"):
        ProductionConfig()
    monkeypatch.setenv("DTECH_ALLOW_SQLITE", "1")
    assert ProductionConfig().SECRET_KEY == "x" * 40


def test_production_refuses_the_console_message_sender(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.delenv("DTECH_MESSAGE_SENDER", raising=False)
    with pytest.raises(ConfigError, match="SENDER"):
        ProductionConfig()


def test_development_generates_its_secret_into_the_instance_folder(monkeypatch, tmp_path):
    import config

    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = DevelopmentConfig().SECRET_KEY
    assert len(first) >= 48
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert first == DevelopmentConfig().SECRET_KEY  # kept, not regenerated


def test_unknown_environment_name_is_an_error():
    with pytest.raises(ConfigError):
        config_from_env("staging-typo")


def test_postgres_urls_get_the_psycopg3_driver():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x") == "sqlite:///x"


def test_production_needs_the_utilitys_own_upi_address(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.delenv("DTECH_UPI_VPA", raising=False)
    with pytest.raises(ConfigError, match="DTECH_UPI_VPA"):
        ProductionConfig()


def test_the_task_queue_is_redis_when_redis_url_is_set_else_a_file_in_the_instance_folder(monkeypatch):
    from config import INSTANCE_DIR, TestingConfig

    monkeypatch.delenv("REDIS_URL", raising=False)
    config = TestingConfig()
    queue_file = config.TASK_QUEUE_FILE
    assert config.REDIS_URL is None and queue_file == str(INSTANCE_DIR / "tasks.sqlite3")
    assert config.TASKS_IMMEDIATE  # the tests run each task as it is enqueued
    monkeypatch.setenv("REDIS_URL", "redis://queue.internal:6379/2")
    assert TestingConfig().REDIS_URL == "redis://queue.internal:6379/2"


def test_production_push_needs_a_subject_push_services_can_reach(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    monkeypatch.setenv("DTECH_MESSAGE_SENDER", "mymodule:SmsSender")
    monkeypatch.setenv("DTECH_PAYMENT_GATEWAY", "")
    monkeypatch.setenv("DTECH_VAPID_PRIVATE_KEY", "a-key")
    monkeypatch.delenv("DTECH_VAPID_SUBJECT", raising=False)
    with pytest.raises(ConfigError, match="VAPID_SUBJECT"):
        ProductionConfig()
    monkeypatch.setenv("DTECH_VAPID_SUBJECT", "mailto:push@utility.example")
    assert ProductionConfig().VAPID_SUBJECT == "mailto:push@utility.example"


def test_logs_are_json_in_production_and_text_in_development_unless_chosen(monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    for name, value in {"SECRET_KEY": "x" * 40, "DTECH_UPI_VPA": "utility@bank", "DATABASE_URL": "postgresql://db/d",
                        "DTECH_MESSAGE_SENDER": "mymodule:SmsSender"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DTECH_LOG_FORMAT", raising=False)
    assert (ProductionConfig().LOG_FORMAT, DevelopmentConfig().LOG_FORMAT) == ("json", "text")
    monkeypatch.setenv("DTECH_LOG_FORMAT", "TEXT")
    assert ProductionConfig().LOG_FORMAT == "text"
    monkeypatch.setenv("DTECH_LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="DTECH_LOG_FORMAT"):
        DevelopmentConfig()


def test_metrics_token_and_sentry_come_from_the_environment_only(monkeypatch, tmp_path):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    monkeypatch.delenv("DTECH_METRICS_TOKEN", raising=False)
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    assert (DevelopmentConfig().METRICS_TOKEN, DevelopmentConfig().SENTRY_DSN) == (None, None)
    monkeypatch.setenv("DTECH_METRICS_TOKEN", "short")
    with pytest.raises(ConfigError, match="DTECH_METRICS_TOKEN"):
        DevelopmentConfig()
    monkeypatch.setenv("DTECH_METRICS_TOKEN", "t" * 32)
    monkeypatch.setenv("SENTRY_DSN", "https://key@sentry.example.invalid/2")
    development = DevelopmentConfig()
    assert (development.METRICS_TOKEN, development.SENTRY_DSN) == ("t" * 32, "https://key@sentry.example.invalid/2")
    from config import TestingConfig

    assert TestingConfig().SENTRY_DSN is None  # the suite never reports, whatever the environment says


def test_production_refuses_to_start_without_data_keys_and_reads_them_in_order(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.delenv("DTECH_DATA_KEYS", raising=False)
    with pytest.raises(ConfigError, match="DTECH_DATA_KEYS"):
        ProductionConfig()
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("DTECH_DATA_KEYS", f" {new} , {old},")
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    monkeypatch.setenv("DTECH_MESSAGE_SENDER", "mymodule:SmsSender")
    keys = ProductionConfig().DATA_KEYS
    assert keys == (new, old)  # the current key first


@pytest.mark.parametrize("value", ["not-a-key", "x" * 44, "a2V5" * 11, "{k},{k}"])
def test_data_keys_that_are_no_fernet_keys_or_twice_the_same_stop_the_start(monkeypatch, value):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("DTECH_DATA_KEYS", value.format(k=Fernet.generate_key().decode()))
    with pytest.raises(ConfigError, match="DTECH_DATA_KEYS"):
        DevelopmentConfig()


def test_development_generates_its_data_key_into_the_instance_folder(monkeypatch, tmp_path):
    from cryptography.fernet import Fernet

    import config

    monkeypatch.delenv("DTECH_DATA_KEYS", raising=False)
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    (key,) = DevelopmentConfig().DATA_KEYS
    Fernet(key)  # a valid key
    assert (tmp_path / "data_key").read_text().strip() == key
    assert oct((tmp_path / "data_key").stat().st_mode & 0o777) == "0o600"
    again = DevelopmentConfig().DATA_KEYS
    assert again == (key,)  # kept, not regenerated


def test_production_needs_its_own_https_address_for_links(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/dtech")
    monkeypatch.setenv("DTECH_UPI_VPA", "utility@bank")
    monkeypatch.setenv("DTECH_MESSAGE_SENDER", "mymodule:SmsSender")
    for wrong in ("", "http://bills.utility.example", "https://bills.utility.example/reset", "bills.utility.example"):
        monkeypatch.setenv("DTECH_PUBLIC_URL", wrong)
        with pytest.raises(ConfigError, match="DTECH_PUBLIC_URL"):
            ProductionConfig()
    monkeypatch.setenv("DTECH_PUBLIC_URL", "https://bills.utility.example/")
    assert ProductionConfig().PUBLIC_URL == "https://bills.utility.example"
