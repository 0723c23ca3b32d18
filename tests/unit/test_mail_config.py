"""CPU_MAIL_URL and CPU_MAIL_FROM: the folder by default, a real server in production, and
the mail password in no error message and no repr."""

from __future__ import annotations

import pytest

from marketplace import config
from marketplace.mail.gateways import FileGateway, SmtpGateway, gateway_for

PRODUCTION = {
    "CPU_ENV": "production", "CPU_SECRET_KEY": "s" * 40, "CPU_EMAIL_LOOKUP_KEY": "l" * 40, "CPU_WEBHOOK_SEALING_KEY": "w" * 40,
    "CPU_DATABASE_URL_TEMPLATE": "postgresql://app@db-{name}.internal/cpu?sslmode=verify-full",
    "CPU_RATE_LIMIT_STORAGE": "redis://limits.internal:6379/0", "CPU_PUBLIC_URL": "https://market.example",
}


def load(tmp_path, **environ):
    return config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ=environ)


def test_the_embedded_default_writes_mail_into_the_instance_folder(tmp_path):
    gateway = gateway_for(load(tmp_path))
    assert isinstance(gateway, FileGateway) and gateway.folder == tmp_path / "mail"
    assert gateway.sender == "CPU Marketplace <no-reply@localhost>"


def test_an_smtp_url_gives_the_smtp_gateway_with_its_login(tmp_path):
    settings = load(tmp_path, CPU_MAIL_URL="smtp://cpu%40market:p%40ss%20word@mail.internal?starttls=1",
                    CPU_MAIL_FROM="Market <hello@market.example>")
    gateway = gateway_for(settings)
    assert isinstance(gateway, SmtpGateway) and gateway.sender == "Market <hello@market.example>"
    server = gateway.server
    assert (server.host, server.port, server.tls, server.username, server.password) == (
        "mail.internal", 587, "starttls", "cpu@market", "p@ss word")
    assert "p%40ss" not in repr(settings) and "p@ss" not in repr(settings) and "p@ss" not in repr(server)


def test_production_sends_from_the_public_host_through_a_server(tmp_path):
    settings = config.load({"CPU_INSTANCE_PATH": str(tmp_path)},
                           environ={**PRODUCTION, "CPU_MAIL_URL": "smtps://cpu:secret-pw@mail.internal"})
    assert settings.mail_from == "CPU Marketplace <no-reply@market.example>"
    assert gateway_for(settings).server.port == 465


@pytest.mark.parametrize(("url", "complaint"), [
    (None, "CPU_MAIL_URL (smtp://... or smtps://...) is required in production"),
    ("file:///var/mail/cpu", "CPU_MAIL_URL (smtp://... or smtps://...) is required in production"),
    ("smtp://cpu:secret-pw@mail.internal:25", "CPU_MAIL_URL: production sends mail (reset links) over TLS"),
    ("smtp://mail.internal:25", "CPU_MAIL_URL: production sends mail (reset links) over TLS"),
])
def test_production_refuses_a_mail_folder_or_mail_in_clear_text_across_a_network(tmp_path, url, complaint):
    environ = {**PRODUCTION, **({"CPU_MAIL_URL": url} if url else {})}
    with pytest.raises(config.ConfigError) as error:
        config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ=environ)
    assert complaint in str(error.value) and "secret-pw" not in str(error.value)


@pytest.mark.parametrize(("url", "complaint"), [
    ("imap://cpu:secret-pw@mail.internal", "CPU_MAIL_URL: must start with smtp://, smtps:// or file://"),
    ("smtp://cpu:secret-pw@mail.internal:99999", "CPU_MAIL_URL: the port is not a number from 1 to 65535"),
    ("smtp://cpu:secret-pw@mail.internal?tls=1", "CPU_MAIL_URL: unknown option 'tls' (only starttls)"),
    ("smtps://cpu:secret-pw@mail.internal?starttls=1", "CPU_MAIL_URL: smtps:// is TLS from the start"),
    ("file://mail", "CPU_MAIL_URL: a folder is written file:///absolute/path"),
])
def test_a_malformed_mail_url_is_named_without_its_password(tmp_path, url, complaint):
    with pytest.raises(config.ConfigError) as error:
        load(tmp_path, CPU_MAIL_URL=url)
    assert complaint in str(error.value) and "secret-pw" not in str(error.value)


def test_a_sender_that_is_not_an_address_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match="CPU_MAIL_FROM='the marketplace' is not an email address"):
        load(tmp_path, CPU_MAIL_FROM="the marketplace")


def test_production_may_hand_mail_in_clear_to_a_relay_on_its_own_host(tmp_path):
    settings = config.load({"CPU_INSTANCE_PATH": str(tmp_path)}, environ={**PRODUCTION, "CPU_MAIL_URL": "smtp://127.0.0.1:25"})
    assert settings.mail_url == "smtp://127.0.0.1:25"
