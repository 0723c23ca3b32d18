"""Production talks to the shards in other data centers over TLS only."""

import logging

import pytest

from marketplace import config

PRODUCTION = {
    "CPU_ENV": "production",
    "CPU_SECRET_KEY": "s" * 40,
    "CPU_EMAIL_LOOKUP_KEY": "l" * 40, "CPU_WEBHOOK_SEALING_KEY": "w" * 40,
    "CPU_RATE_LIMIT_STORAGE": "redis://limits.internal:6379/0",
    "CPU_PUBLIC_URL": "https://market.example",
    "CPU_MAIL_URL": "smtp://mail.internal:587?starttls=1",
}


def _production(tmp_path, template: str):
    environ = {**PRODUCTION, "CPU_DATABASE_URL_TEMPLATE": template}
    return config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ=environ)


@pytest.mark.parametrize("query", ["", "?sslmode=prefer", "?sslmode=disable", "?sslmode=allow"])
def test_production_refuses_postgresql_urls_that_allow_clear_text(tmp_path, query):
    with pytest.raises(config.ConfigError) as error:
        _production(tmp_path, f"postgresql://app:pw@db-{{name}}.internal/cpu{query}")
    message = str(error.value)
    assert "CPU_DATABASE_URL_KIN: production needs TLS to the database: add ?sslmode=verify-full" in message
    assert "CPU_DATABASE_URL_DIRECTORY: production needs TLS" in message
    assert "pw" not in message


def test_production_accepts_verify_full_silently(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="marketplace.config"):
        settings = _production(tmp_path, "postgresql://app@db-{name}.internal/cpu?sslmode=verify-full")
    assert settings.database_urls["kin"].endswith("?sslmode=verify-full")
    assert not caplog.records


def test_production_accepts_require_with_a_warning_naming_the_database(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="marketplace.config"):
        _production(tmp_path, "postgresql://app:pw@db-{name}.internal/cpu?sslmode=require")
    warnings = [r.getMessage() for r in caplog.records]
    assert any("CPU_DATABASE_URL_KIN uses sslmode=require" in w for w in warnings)
    assert not any("pw" in w for w in warnings)


def test_the_embedded_default_may_use_local_postgresql_without_tls(tmp_path):
    settings = config.load({"CPU_INSTANCE_PATH": str(tmp_path)},
                           environ={"CPU_DATABASE_URL_TEMPLATE": "postgresql://postgres@127.0.0.1/cpu_{name}"})
    assert settings.database_urls["kin"] == "postgresql+psycopg://postgres@127.0.0.1/cpu_kin"
