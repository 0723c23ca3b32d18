"""Both mail gateways, through one suite: what a person's mail client would receive."""

from __future__ import annotations


import pytest

from marketplace.mail.compose import compose
from marketplace.mail.gateways import FileGateway, MailNotSent, SmtpGateway
from marketplace.mail.mail_url import SmtpServer
from marketplace.mail.message import Message
from tests.support.mail import parse, smtp_server

SENDER = "CPU Marketplace <no-reply@market.example>"
LINK = "https://market.example/dashboard/reset/stf_01JEXAMPLE0000000000000000." + "k" * 43


@pytest.fixture(params=["file", "smtp"])
def gateway_and_inbox(request, tmp_path):
    """(gateway, inbox): inbox() lists the messages the gateway delivered, as parsed mail."""
    if request.param == "file":
        folder = tmp_path / "mail"
        yield FileGateway(folder, sender=SENDER), lambda: [parse(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]
        return
    with smtp_server(username="cpu", password="p@ss word") as server:
        target = SmtpServer(host="127.0.0.1", port=server.port, tls="none", username="cpu", password="p@ss word")
        yield SmtpGateway(target, sender=SENDER, timeout=5), lambda: [r.message for r in server.received if r.logged_in]


def test_a_message_arrives_whole_with_its_link_unbroken(gateway_and_inbox):
    gateway, inbox = gateway_and_inbox
    gateway.send(compose("password_reset", to="owner@example.com", language="en", link=LINK))
    [received] = inbox()
    assert received["To"] == "owner@example.com" and received["From"] == SENDER
    assert received["Subject"] == "Choose a new password for the CPU Marketplace"
    assert received["Message-ID"].endswith("@market.example>") and received["Date"]
    assert LINK in received.get_content().splitlines()  # on a line of its own, not folded


def test_a_message_in_another_language_keeps_its_accents(gateway_and_inbox):
    gateway, inbox = gateway_and_inbox
    gateway.send(compose("password_reset", to="owner@example.com", language="fr", link=LINK))
    [received] = inbox()
    assert received["Subject"] == "Choisissez un nouveau mot de passe pour le Marché CPU"
    assert "Le lien fonctionne une seule fois, pendant une heure." in received.get_content()


def test_a_language_without_a_template_gets_english():
    assert compose("password_reset", to="a@example.com", language="pap", link=LINK).subject.startswith("Choose")


def test_the_file_gateway_writes_eml_files_into_its_folder(tmp_path):
    gateway = FileGateway(tmp_path / "mail", sender=SENDER)
    gateway.send(Message(to="a@example.com", subject="One", body="first\n"))
    gateway.send(Message(to="b@example.com", subject="Two", body="second\n"))
    files = sorted((tmp_path / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no half-written .part left behind
    assert [parse(f.read_bytes())["Subject"] for f in files] == ["One", "Two"]  # in the order sent


def test_a_folder_that_cannot_be_written_is_a_mail_not_sent(tmp_path):
    blocked = tmp_path / "mail"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(MailNotSent) as refused:
        FileGateway(blocked, sender=SENDER).send(Message(to="a@example.com", subject="x", body=LINK))
    assert LINK not in str(refused.value)


def test_a_refused_smtp_login_is_a_mail_not_sent_that_does_not_repeat_the_password():
    with smtp_server(username="cpu", password="the right one") as server:
        target = SmtpServer(host="127.0.0.1", port=server.port, tls="none", username="cpu", password="a wrong one")
        with pytest.raises(MailNotSent) as refused:
            SmtpGateway(target, sender=SENDER, timeout=5).send(Message(to="a@example.com", subject="x", body=LINK))
        assert server.received == []
    text = str(refused.value)
    assert text.startswith(f"127.0.0.1:{server.port} refused or failed: SMTP") and "a wrong one" not in text and LINK not in text
    assert refused.value.__suppress_context__  # a traceback of it does not print smtplib's own error


def test_a_message_repr_leaves_the_body_out():
    assert LINK not in repr(Message(to="a@example.com", subject="x", body=LINK))


def test_an_smtp_server_repr_leaves_the_password_out():
    assert "p@ss" not in repr(SmtpServer(host="h", port=25, tls="none", username="u", password="p@ss"))


def test_a_login_smtplib_cannot_send_is_a_mail_not_sent_not_a_crash():
    """smtplib logs in in ASCII only: a password with an accent must fail like any refusal,
    or the reset page answers 500 for a known email and 200 for an unknown one."""
    with smtp_server(username="cpu", password="contraseña") as server:
        target = SmtpServer(host="127.0.0.1", port=server.port, tls="none", username="cpu", password="contraseña")
        with pytest.raises(MailNotSent):
            SmtpGateway(target, sender=SENDER, timeout=5).send(Message(to="a@example.com", subject="x", body=LINK))
