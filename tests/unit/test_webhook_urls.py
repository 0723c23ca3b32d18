"""Which URLs production sends webhooks to (no network: a fake resolver answers)."""

import pytest

from marketplace.webhooks import urls

NAMES = {"hooks.shop.example": ["93.184.216.34"], "sneaky.example": ["93.184.216.34", "10.1.2.3"],
         "metadata.example": ["169.254.169.254"], "v6.example": ["2606:4700::1111"], "mapped.example": ["::ffff:10.0.0.1"]}


def resolver(host, port):
    if host in NAMES:
        return NAMES[host]
    if host.replace(".", "").isdigit() or ":" in host:
        return [host]
    raise OSError("no such host")


@pytest.mark.parametrize("url", ["https://hooks.shop.example/cpu", "https://v6.example:8443/in", "https://93.184.216.34/x"])
def test_production_sends_to_public_https_urls(url):
    assert urls.refusal(url, allow_loopback=False, resolver=resolver) is None


@pytest.mark.parametrize("url, says", [
    ("http://hooks.shop.example/cpu", "https://"),
    ("https://127.0.0.1:8000/hook", "private"),
    ("https://localhost-like.invalid/", "does not resolve"),
    ("https://sneaky.example/", "10.1.2.3"),  # one private address among public ones is enough
    ("https://metadata.example/latest", "169.254.169.254"),
    ("https://mapped.example/", "private"),
    ("https://100.64.0.1/", "private"),  # carrier-grade NAT
    ("https://0.0.0.0/", "private"),
    ("https://224.0.0.1/", "private"),
    ("https://u:p@hooks.shop.example/", "password"),
    ("https://hooks.shop.example:99999/", "port"),
])
def test_production_refuses_what_only_our_network_reaches(url, says):
    assert says in urls.refusal(url, allow_loopback=False, resolver=resolver)


def test_the_embedded_default_also_sends_to_this_machine_but_nowhere_else_private():
    assert urls.refusal("http://127.0.0.1:8000/hook", allow_loopback=True, resolver=resolver) is None
    assert urls.refusal("http://[::1]:8000/hook", allow_loopback=True, resolver=resolver) is None
    assert "private" in urls.refusal("http://10.0.0.7/hook", allow_loopback=True, resolver=resolver)
