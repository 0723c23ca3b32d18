import pytest

from marketplace import config


def test_the_embedded_default_needs_nothing_and_keeps_sqlite_files_in_the_instance_folder(tmp_path):
    settings = config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={})
    assert settings.env == "embedded"
    assert settings.database_urls["kin"] == f"sqlite:///{tmp_path / 'kin.db'}"
    assert settings.directory_url == f"sqlite:///{tmp_path / 'directory.db'}"
    assert settings.relay_in_process is True


def test_production_refuses_to_start_without_secrets_and_postgresql(tmp_path):
    with pytest.raises(config.ConfigError) as error:
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={"CPU_ENV": "production"})
    message = str(error.value)
    assert "CPU_SECRET_KEY" in message
    assert "CPU_DATABASE_URL_KIN" in message and "CPU_DATABASE_URL_DIRECTORY" in message
    assert "CPU_RATE_LIMIT_STORAGE must be a redis:// URL in production" in message
    assert "CPU_PUBLIC_URL (https://...) is required in production" in message


def test_production_runs_on_postgresql_urls_from_a_template(tmp_path):
    settings = config.load(
        {"CPU_INSTANCE_PATH": str(tmp_path)},
        environ={
            "CPU_ENV": "production",
            "CPU_SECRET_KEY": "s" * 40,
            "CPU_EMAIL_LOOKUP_KEY": "l" * 40, "CPU_WEBHOOK_SEALING_KEY": "w" * 40,
            "CPU_DATABASE_URL_TEMPLATE": "postgresql://app:pw@db-{name}.internal/cpu_{name}?sslmode=verify-full",
            "CPU_DATABASE_URL_FDF": "postgresql://app:pw@fdf.example/cpu?sslmode=verify-full",
            "CPU_RATE_LIMIT_STORAGE": "redis://limits.internal:6379/0",
            "CPU_PUBLIC_URL": "https://market.example/",
            "CPU_MAIL_URL": "smtps://cpu:mail-pw@mail.internal",
        },
    )
    assert settings.public_url == "https://market.example"
    assert settings.database_urls["sdq"] == "postgresql+psycopg://app:pw@db-sdq.internal/cpu_sdq?sslmode=verify-full"
    assert settings.database_urls["fdf"] == "postgresql+psycopg://app:pw@fdf.example/cpu?sslmode=verify-full"
    assert "pw" not in repr(settings) and "s" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("CPU_REGION_RETRY_AFTER", "soon", "CPU_REGION_RETRY_AFTER='soon' is not a whole number"),
        ("CPU_MAX_BODY_BYTES", "10", "CPU_MAX_BODY_BYTES='10' must be at least 1024"),
        ("CPU_RELAY_IN_PROCESS", "perhaps", "CPU_RELAY_IN_PROCESS='perhaps' is not true or false"),
        ("CPU_ENV", "staging", "CPU_ENV='staging' must be one of embedded, production"),
        ("CPU_DATABASE_URL_KIN", "mysql://x/y", "CPU_DATABASE_URL_KIN: only sqlite and postgresql"),
        ("CPU_DATABASE_URL_KIN", "not a url", "CPU_DATABASE_URL_KIN: '<unparseable url>' is not a database URL"),
        ("CPU_RATE_LIMIT_STORAGE", "memcached://cache:11211", "CPU_RATE_LIMIT_STORAGE must start with one of memory://, redis://"),
        ("CPU_PUBLIC_URL", "market.example", "CPU_PUBLIC_URL='market.example' must start with https://"),
        ("CPU_STRIPE_SECRET_KEY", "sk_test_x", "CPU_STRIPE_WEBHOOK_SECRET is required with CPU_STRIPE_SECRET_KEY"),
    ],
)
def test_a_malformed_setting_is_named_in_the_error(tmp_path, name, value, complaint):
    with pytest.raises(config.ConfigError) as error:
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={name: value})
    assert complaint in str(error.value)


def test_the_instance_file_is_read_and_the_environment_wins(tmp_path):
    (tmp_path / "config.toml").write_text('CPU_REGION_RETRY_AFTER = 9\nCPU_DB_POOL_SIZE = 3\n')
    settings = config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={"CPU_DB_POOL_SIZE": "7"})
    assert (settings.region_retry_after, settings.db_pool_size) == (9, 7)


def test_a_broken_instance_file_is_reported_by_path(tmp_path):
    (tmp_path / "config.toml").write_text("CPU_ENV = \n")
    with pytest.raises(config.ConfigError, match="config.toml: not valid TOML"):
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={})


def test_the_stand_in_card_is_on_by_default_only_for_the_embedded_default_on_sqlite_without_stripe(tmp_path):
    folder = {"CPU_INSTANCE_PATH": str(tmp_path)}
    assert config.load(folder, environ={}).standin_card is True
    on_postgres = {"CPU_DATABASE_URL_TEMPLATE": "postgresql://app@db.internal/cpu_{name}"}
    assert config.load(folder, environ=on_postgres).standin_card is False  # perhaps a real deployment left at embedded
    assert config.load(folder, environ={**on_postgres, "CPU_STANDIN_CARD": "true"}).standin_card is True  # a demo asks
    with_stripe = {"CPU_STRIPE_SECRET_KEY": "sk_test_x", "CPU_STRIPE_WEBHOOK_SECRET": "whsec_x"}
    assert config.load(folder, environ=with_stripe).standin_card is False


@pytest.mark.parametrize(("environ", "complaint"), [
    ({"CPU_ENV": "production"}, "CPU_STANDIN_CARD=true is refused in production"),
    ({"CPU_STRIPE_SECRET_KEY": "sk_test_x", "CPU_STRIPE_WEBHOOK_SECRET": "whsec_x"},
     "CPU_STANDIN_CARD=true is refused with CPU_STRIPE_SECRET_KEY"),
])
def test_the_start_refuses_the_stand_in_card_in_production_and_beside_stripe(tmp_path, environ, complaint):
    with pytest.raises(config.ConfigError) as error:
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={**environ, "CPU_STANDIN_CARD": "true"})
    assert complaint in str(error.value)
